"""The privacy gate (DESIGN.md rule 4): every number shown or exported passes here.

A true count from 1 to min_cell - 1 is suppressed (`<10`); zero is shown as
zero; every other count is published perturbed by the cell key method
(contract/ptable.py): `true + pvalue(pcv(true), key_sum mod 256)`, where
key_sum is the sum of the record keys of exactly the stored cells that make
up the number. The same cells always give the same number, whichever page,
filter, link or export asks, and the difference of two published numbers is
the hidden count plus noise, never certain: users build their own tables, so
suppression inside one table could not protect a small count from another.
Totals are perturbed as cells of their own: a table's parts need not add up
to its total. Shares and changes are computed only from published numbers.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache

import numpy as np
import pandas as pd

from contract import MIN_CELL, small_mark
from contract.ptable import load_ptable, pcv

SHOWN, SMALL = "shown", "small"
_CODES = np.array([SHOWN, SMALL], dtype=object)


@dataclass(frozen=True)
class Gated:
    """A table after the gate.

    `cells`: the dimensions, `visits` (the published count, nullable Int64,
    <NA> where suppressed) and `status` (shown or small). `totals`: for each
    grouping whose totals are shown (a tuple of dimensions; () is the grand
    total), a frame of that grouping's dimensions, `visits` and `status`.
    """

    cells: pd.DataFrame
    totals: dict[tuple[str, ...], pd.DataFrame] = field(default_factory=dict)
    min_cell: int = MIN_CELL

    def grand_total(self) -> tuple[int | None, str]:
        row = self.totals[()].iloc[0]
        return (None if pd.isna(row["visits"]) else int(row["visits"])), row["status"]


def is_small(counts: pd.Series | np.ndarray, min_cell: int = MIN_CELL):
    """The counts from 1 to min_cell - 1: never published, not even perturbed."""
    return (counts >= 1) & (counts < min_cell)


@cache
def _noise() -> np.ndarray:
    """The ptable as a matrix: noise[pcv, ckey]."""
    ptable = load_ptable()
    matrix = np.zeros((ptable.params.max_pcv + 1, ptable.params.n_ckeys), dtype=np.int64)
    for row, ckey, pvalue in ptable.rows:
        matrix[row, ckey] = pvalue
    matrix.setflags(write=False)
    return matrix


def perturbed(true: np.ndarray, key_sum: np.ndarray) -> np.ndarray:
    """The cell key method on arrays: true + pvalue(pcv(true), key_sum mod 256), as contract.ptable.perturb."""
    true = np.asarray(true, dtype=np.int64)
    noise = _noise()
    # the row of each count by the contract's own rule, asked once per distinct count
    counts, where = np.unique(true, return_inverse=True)
    rows = np.array([pcv(int(count)) for count in counts], dtype=np.int64)[where.reshape(true.shape)]
    return true + noise[rows, np.asarray(key_sum, dtype=np.int64) % noise.shape[1]]


def _published(keys: pd.DataFrame, true: np.ndarray, key_sum: np.ndarray, min_cell: int) -> pd.DataFrame:
    small = is_small(true, min_cell)
    visits = pd.arrays.IntegerArray(perturbed(true, key_sum), small.copy())  # <NA> where small
    return keys.reset_index(drop=True).assign(visits=visits, status=_CODES[small.astype("int8")])


def _grouped(cells: pd.DataFrame, grouping: list[str], visits: np.ndarray, key_sum: np.ndarray):
    """The distinct values of `grouping` in order of first appearance, with the sums of their cells."""
    codes = np.zeros(len(cells), dtype=np.int64)
    for column in grouping:
        column_codes, uniques = pd.factorize(cells[column], use_na_sentinel=False)
        codes = codes * max(len(uniques), 1) + column_codes
    _, first, inverse = np.unique(codes, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    groups = rank[inverse]
    sums = np.zeros((2, len(order)), dtype=np.int64)  # exact: key sums outgrow a float's 53 bits
    np.add.at(sums[0], groups, visits)
    np.add.at(sums[1], groups, key_sum)
    return cells[grouping].iloc[first[order]], sums[0], sums[1]


def gate(
    frame: pd.DataFrame,
    dims: Sequence[str],
    *,
    totals_over: Sequence[tuple[str, ...]] = (),
    value: str = "visits",
    key: str = "key_sum",
    min_cell: int = MIN_CELL,
) -> Gated:
    """Publish a table of true counts by `dims`, with their key sums.

    `totals_over` lists the groupings whose totals the caller shows beside the
    cells (for example `[("feature",), ()]`: a total per feature and a grand
    total). Each total is the sum of its cells' true counts, with the sum of
    their key sums as its key, and is published as a cell of its own.
    """
    threshold = load_ptable().params.min_cell
    if min_cell != threshold:
        # the ptable keeps published counts out of 1..threshold-1 only: another threshold needs its own table
        raise ValueError(
            f"the perturbation table is built for min_cell {threshold}; for {min_cell}, generate one "
            f"(python -m contract.ptable_generate --min-cell {min_cell})"
        )
    dims = list(dims)
    # numpy rather than pandas operations: a page gates many small tables, and pandas' fixed cost per call dominated
    visits = frame[value].fillna(0).to_numpy(dtype=np.int64)
    key_sum = frame[key].fillna(0).to_numpy(dtype=np.int64)
    cells = frame[dims]
    totals = {}
    for grouping in dict.fromkeys(tuple(g) for g in totals_over if set(g) < set(dims)):
        if grouping:
            group_keys, summed_visits, summed_keys = _grouped(cells, list(grouping), visits, key_sum)
        else:
            group_keys = pd.DataFrame(index=[0])
            summed_visits, summed_keys = np.array([visits.sum()]), np.array([key_sum.sum()])
        totals[grouping] = _published(group_keys, summed_visits, summed_keys, min_cell)
    published = _published(cells, visits, key_sum, min_cell)
    return Gated(published, totals, min_cell)


def margins(dims: Sequence[str]) -> list[tuple[str, ...]]:
    """Every total of a table by `dims`, down to the grand total: `[("a",), ("b",), ()]` for two."""
    return [tuple(c) for size in range(len(dims) - 1, -1, -1) for c in itertools.combinations(dims, size)]


def share(part: pd.Series, whole: pd.Series | int | None) -> pd.Series:
    """part / whole where both are shown and whole > 0, at most 1; <NA> otherwise.

    Both are published numbers with their own noise, so a part that is all of its total can come out a
    little above it: a share is never shown above 100%.
    """
    part = part.astype("Float64")
    if isinstance(whole, pd.Series):
        whole_series = whole.astype("Float64")
    else:
        whole_series = pd.Series(pd.NA if whole is None else whole, index=part.index, dtype="Float64")
    return (part / whole_series).clip(upper=1.0).mask(whole_series.isna() | (whole_series == 0))


def change(current: pd.Series, previous: pd.Series) -> pd.Series:
    """Relative change where both counts are shown and the previous one is not zero; <NA> otherwise."""
    current = current.astype("Float64")
    previous = previous.astype("Float64")
    return ((current - previous) / previous).mask(previous.isna() | (previous == 0) | current.isna())


def change_of(current: object, previous: object) -> float | None:
    """`change` of two single counts (None or <NA> where hidden); None where no change is given."""
    value = change(pd.Series([current], dtype="Float64"), pd.Series([previous], dtype="Float64")).iloc[0]
    return None if pd.isna(value) else float(value)


def format_count(visits: object, status: str, min_cell: int = MIN_CELL) -> str:
    """A published count as a table shows it: `1,234`, or `<10` for a small count."""
    return small_mark(min_cell) if status == SMALL else f"{int(visits):,}"
