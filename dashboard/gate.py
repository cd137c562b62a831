"""The privacy gate (DESIGN.md rule 4): every number shown or exported passes here.

A count from 1 to min_cell - 1 is suppressed (primary suppression); zero is
shown. Where a table shows totals, more cells are suppressed (complementary
suppression, as tau-ARGUS does for tables with margins) until, in every sum
that the table shows, either no part is hidden, or at least two are and what
they add up to is not itself a small count. A hidden total likewise keeps at
least one of its parts hidden. Sums that are each safe can still give a
small count away together (a row, a column and the grand total); a last check
finds every small count that follows exactly from all the shown sums at once,
and hides one more number beside it. Shares and changes are computed only from
numbers that are shown.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from contract import HIDDEN_MARK, MIN_CELL, small_mark

SHOWN, SMALL, COMPLEMENT = "shown", "small", "complement"
_CODES = np.array([SHOWN, SMALL, COMPLEMENT], dtype=object)


@dataclass(frozen=True)
class Gated:
    """A table after the gate.

    `cells`: the dimensions, `visits` (nullable Int64, <NA> where suppressed)
    and `status` (shown, small or complement). `totals`: for each grouping
    whose totals are shown (a tuple of dimensions; () is the grand total), a
    frame of that grouping's dimensions, `visits` and `status`.
    """

    cells: pd.DataFrame
    totals: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)
    min_cell: int = MIN_CELL

    def grand_total(self) -> tuple[int | None, str]:
        row = self.totals[()].iloc[0]
        return (None if pd.isna(row["visits"]) else int(row["visits"])), row["status"]


def is_small(counts: pd.Series | np.ndarray, min_cell: int = MIN_CELL):
    """Primary suppression: the counts from 1 to min_cell - 1."""
    return (counts >= 1) & (counts < min_cell)


@dataclass
class _Level:
    keys: pd.DataFrame
    raw: np.ndarray
    status: np.ndarray  # 0 shown, 1 small, 2 complement


def _level(cells: pd.DataFrame, dims: list[str], grouping: tuple[str, ...], min_cell: int) -> _Level:
    if grouping:
        summed = cells.groupby(list(grouping), observed=True, sort=False, dropna=False)["visits"].sum().reset_index()
        keys, raw = summed[list(grouping)], summed["visits"].to_numpy(dtype="int64")
    else:
        keys, raw = pd.DataFrame(index=[0]), np.array([int(cells["visits"].sum())], dtype="int64")
    return _Level(keys.reset_index(drop=True), raw, is_small(raw, min_cell).astype("int8"))


def _parents(fine: _Level, coarse: _Level, coarse_dims: tuple[str, ...]) -> np.ndarray:
    """For each row of the finer level, the row of the coarser level it adds up into."""
    if not coarse_dims:
        return np.zeros(len(fine.raw), dtype="int64")
    index = coarse.keys.reset_index().rename(columns={"index": "_parent"})
    merged = fine.keys[list(coarse_dims)].merge(index, on=list(coarse_dims), how="left", sort=False)
    return merged["_parent"].to_numpy(dtype="int64")


def _protect(fine: _Level, coarse: _Level, parent: np.ndarray, min_cell: int) -> bool:
    """One pass over the sums `coarse = sum(fine)`; returns whether anything more was hidden."""
    hidden = fine.status != 0
    n_hidden = np.bincount(parent, weights=hidden, minlength=len(coarse.raw))
    sum_hidden = np.bincount(parent, weights=np.where(hidden, fine.raw, 0), minlength=len(coarse.raw))
    total_shown = coarse.status == 0
    exposed = (n_hidden == 1) | ((n_hidden >= 1) & (sum_hidden >= 1) & (sum_hidden < min_cell))
    need = np.flatnonzero((total_shown & exposed) | (~total_shown & (n_hidden == 0) & (coarse.raw > 0)))
    if not len(need):
        return False
    candidates = pd.DataFrame({"parent": parent, "raw": fine.raw})
    candidates = candidates[(fine.status == 0) & (fine.raw > 0) & np.isin(parent, need)]
    # the smallest shown part loses the least information
    chosen = candidates.sort_values("raw", kind="stable").groupby("parent", sort=False).head(1)
    fine.status[chosen.index.to_numpy()] = 2
    # a shown total whose other parts are all zero can only be protected by hiding it
    uncovered = np.setdiff1d(need, chosen["parent"].to_numpy())
    coarse.status[uncovered[total_shown[uncovered]]] = 2
    return True


def _unit_vectors_in_span(matrix: np.ndarray) -> np.ndarray:
    """For each column j, whether the unit vector e_j is a combination of the rows."""
    # an orthonormal basis of the row space from the smaller Gram matrix: much faster than an SVD
    if matrix.shape[0] < matrix.shape[1]:
        values, vectors = np.linalg.eigh(matrix @ matrix.T)
        keep = values > 1e-9 * max(values.max(), 1.0)
        basis = matrix.T @ vectors[:, keep] / np.sqrt(values[keep])
    else:
        values, vectors = np.linalg.eigh(matrix.T @ matrix)
        basis = vectors[:, values > 1e-9 * max(values.max(), 1.0)]
    return (basis**2).sum(axis=1) > 1 - 1e-6


def _hide_recoverable(levels: list[_Level], sums: list[tuple[_Level, _Level, np.ndarray]]) -> bool:
    """Hide one more part of the sums from which a small count follows exactly; returns whether it did.

    Each shown sum is a linear equation over the hidden numbers. A hidden
    number follows from them exactly when its unit vector lies in the span of
    the equations (for example a row, a column and the grand total together).
    """
    unknown = {id(level): np.full(len(level.raw), -1) for level in levels}
    small: list[bool] = []
    for level in levels:
        hidden = np.flatnonzero(level.status != 0)
        unknown[id(level)][hidden] = np.arange(len(small), len(small) + len(hidden))
        small.extend(level.status[hidden] == 1)
    if not any(small):
        return False
    rows, equations = [], []
    for fine, coarse, parent in sums:
        for group in range(len(coarse.raw)):
            row = np.zeros(len(small))
            parts = np.flatnonzero(parent == group)
            hidden_parts = parts[fine.status[parts] != 0]
            row[unknown[id(fine)][hidden_parts]] = 1.0
            if coarse.status[group] != 0:
                row[unknown[id(coarse)][group]] = -1.0
            if row.any():
                rows.append(row)
                equations.append((fine, coarse, parts, group))
    if not rows:
        return False
    matrix = np.array(rows)
    determined = np.flatnonzero(_unit_vectors_in_span(matrix) & np.array(small))
    hid = False
    for column in determined:
        # the smallest shown part of an equation it is in; the total itself if it has none
        best = None
        for (fine, coarse, parts, group), row in zip(equations, matrix, strict=True):
            if row[column] == 0:
                continue
            open_parts = parts[(fine.status[parts] == 0) & (fine.raw[parts] > 0)]
            for index in open_parts:
                if best is None or fine.raw[index] < best[0].raw[best[1]]:
                    best = (fine, index)
            if best is None and coarse.status[group] == 0 and coarse.raw[group] > 0:
                best = (coarse, group)
        if best is not None and best[0].status[best[1]] == 0:
            best[0].status[best[1]] = 2
            hid = True
    return hid


def gate(
    frame: pd.DataFrame,
    dims: Sequence[str],
    *,
    totals_over: Sequence[tuple[str, ...]] = (),
    value: str = "visits",
    min_cell: int = MIN_CELL,
) -> Gated:
    """Apply the gate to a table of counts by `dims`.

    `totals_over` lists the groupings whose totals the caller shows beside the
    cells (for example `[("feature",), ()]`: a total per feature and a grand
    total). Every sum among the cells and those totals is protected.
    """
    dims = list(dims)
    cells = frame[[*dims, value]].rename(columns={value: "visits"}).reset_index(drop=True)
    cells["visits"] = cells["visits"].fillna(0).astype("int64")
    groupings = list(dict.fromkeys(tuple(g) for g in totals_over if set(g) < set(dims)))
    # two shown margins imply the totals they share (the row totals and the column totals
    # both add up to the grand total), so those are protected as if shown too
    implied = True
    while implied:
        implied = False
        for one, other in itertools.combinations(groupings, 2):
            common = tuple(d for d in dims if d in one and d in other)
            if set(common) not in [set(g) for g in groupings]:
                groupings.append(common)
                implied = True
    levels = {tuple(dims): _Level(cells[dims], cells["visits"].to_numpy(copy=True), None)}
    levels[tuple(dims)].status = is_small(levels[tuple(dims)].raw, min_cell).astype("int8")
    for grouping in groupings:
        levels[grouping] = _level(cells, dims, grouping, min_cell)
    # every shown sum: each total over the cells, and each coarser total over a finer one
    sums = [
        (levels[fine], levels[coarse], _parents(levels[fine], levels[coarse], coarse))
        for coarse in groupings
        for fine in levels
        if set(coarse) < set(fine)
    ]
    while True:
        while any([_protect(fine, coarse, parent, min_cell) for fine, coarse, parent in sums]):
            pass
        # sums that are each safe can still give a small count away together
        if not _hide_recoverable(list(levels.values()), sums):
            break

    def published(level: _Level) -> pd.DataFrame:
        out = level.keys.copy()
        out["visits"] = pd.array(level.raw, dtype="Int64")
        out.loc[level.status != 0, "visits"] = pd.NA
        out["status"] = _CODES[level.status]
        return out

    result = published(levels[tuple(dims)])
    for column in cells.columns:
        if column in dims:
            result[column] = cells[column]
    return Gated(result, {grouping: published(levels[grouping]) for grouping in groupings}, min_cell)


def margins(dims: Sequence[str]) -> list[tuple[str, ...]]:
    """Every total of a table by `dims`, down to the grand total: `[("a",), ("b",), ()]` for two."""
    return [tuple(c) for size in range(len(dims) - 1, -1, -1) for c in itertools.combinations(dims, size)]


def share(part: pd.Series, whole: pd.Series | int | None) -> pd.Series:
    """part / whole where both are shown and whole > 0; <NA> otherwise."""
    part = part.astype("Float64")
    if isinstance(whole, pd.Series):
        whole_series = whole.astype("Float64")
    else:
        whole_series = pd.Series(pd.NA if whole is None else whole, index=part.index, dtype="Float64")
    return (part / whole_series).mask(whole_series.isna() | (whole_series == 0))


def change(current: pd.Series, previous: pd.Series) -> pd.Series:
    """Relative change where both counts are shown and the previous one is not zero; <NA> otherwise."""
    current = current.astype("Float64")
    previous = previous.astype("Float64")
    return ((current - previous) / previous).mask(previous.isna() | (previous == 0) | current.isna())


def change_of(current: object, previous: object) -> float | None:
    """`change` of two single counts (None or <NA> where hidden); None where no change is given."""
    value = change(pd.Series([current], dtype="Float64"), pd.Series([previous], dtype="Float64")).iloc[0]
    return None if pd.isna(value) else float(value)


def format_count(visits: object, status: str, min_cell: int = MIN_CELL, hidden_label: str = HIDDEN_MARK) -> str:
    """A count as a table shows it: `1,234`, `<10` for a small count, `x` for a complement."""
    if status == SMALL:
        return small_mark(min_cell)
    if status == COMPLEMENT:
        return hidden_label
    return f"{int(visits):,}"
