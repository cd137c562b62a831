"""Check 7's second half: every logged export recomputed from the store's cells and the perturbation table.

A published count is `true + pvalue(pcv(true), sum of key_sum mod 256)` over
exactly the stored cells that make it up, and a true count from 1 to
min_cell - 1 is suppressed (DESIGN.md rule 4). The audit reads the export
log's selection (period, rows, filters, comparison), sums the store's cells
with its own SQL, perturbs them with `contract.ptable`, and compares the file
cell by cell: the rows, the grand total and the comparison columns. It knows
the two CSV flavours by their layout only (`excel`: labels, `<10`, a total
row; `raw`: codes, an empty count with `suppressed` = `true`), never by the
code that wrote them. Findings name the row and the column and may give the
count that should have been published, never a true count or a key sum. A
selection names its count (`measure`): submissions (visit_counts, the
default), or the access logs' page views or visitors (page_views), each with
its own key sum column and its own dimensions; a `funnel` is the visitors of
the view and the submit step side by side, with the conversion of the two
published counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from typing import Any

import duckdb

from contract import (
    AGE_GROUPS,
    COUNTRIES,
    FEATURES,
    GENDERS,
    PAGE_VIEW_DIMENSIONS,
    STORE_TABLES,
    TOTAL_LABELS,
    UNKNOWN,
    country_name,
    small_mark,
)
from contract.ptable import Ptable, cell_key

PERIODS = ("day", "week", "month", "year")
FORMATS = ("excel", "raw")
# the selection's filters: its key -> (the store's column, the column's domain)
FILTERS = {
    "features": ("feature", FEATURES),
    "countries": ("country", COUNTRIES),
    "genders": ("gender", GENDERS),
    "age_groups": ("age_group", AGE_GROUPS),
}
GROUPABLE = tuple(column for column, _ in FILTERS.values())


@dataclass(frozen=True)
class Count:
    """A count the store publishes: its table, its column and key sum column, its dimensions and filters."""

    table: str
    column: str
    key: str
    dimensions: tuple[str, ...]
    filters: tuple[str, ...]  # the selection's filter keys that apply to it
    funnel: bool = False  # its rows hold the view and the submit step's counts, and their conversion


# a log knows no gender or age group: a selection of page views or visitors that filters by them is not one
_LOG_FILTERS = ("features", "countries")
COUNTS = {
    "visits": Count("visit_counts", "visits", "key_sum", GROUPABLE, tuple(FILTERS)),
    "views": Count("page_views", "views", "views_key_sum", PAGE_VIEW_DIMENSIONS[1:], _LOG_FILTERS),
    "visitors": Count("page_views", "visitors", "visitors_key_sum", PAGE_VIEW_DIMENSIONS[1:], _LOG_FILTERS),
    "funnel": Count("page_views", "visitors", "visitors_key_sum", ("feature", "country", "device"), _LOG_FILTERS, True),
}
FUNNEL_STEPS = ("view", "submit")
COUNTRY_MODES = ("include", "exclude")
# what a change is rounded to: a percentage with one decimal (excel), a ratio with four (raw)
CHANGE_ROUNDING = {"excel": 0.05, "raw": 0.00005}

Where = tuple[str, str]  # (row and column, what is wrong)


class UnreadableSelection(ValueError):
    """An export log line's selection that names no table the store can give."""


@dataclass(frozen=True)
class Selection:
    """What an export log line says was asked for."""

    by: tuple[str, ...]
    period: str | None
    start: date
    end: date
    comparison: tuple[date, date] | None
    filters: tuple[tuple[str, tuple[str, ...]], ...]  # (column, allowed values), only those given
    exclude_countries: bool
    count: Count = COUNTS["visits"]


@dataclass(frozen=True)
class Cell:
    """A published number's true count and the sum of its stored cells' key sums (None: no such period)."""

    true: int
    key_sum: int


ZERO = Cell(0, 0)


@dataclass(frozen=True)
class Row:
    """One row of the recomputed table: where it is, and the cells of both periods."""

    period: date | None
    before_period: date | None
    codes: tuple[str, ...]
    now: Cell | None
    before: Cell | None


@dataclass(frozen=True)
class Table:
    rows: list[Row]
    total: Cell
    before_total: Cell | None


def _iso(raw: Mapping[str, Any], key: str) -> date:
    try:
        return date.fromisoformat(str(raw[key]))
    except (KeyError, ValueError):
        raise UnreadableSelection(f"'{key}' is not a date") from None


def parse_selection(raw: object) -> Selection:
    """The selection of a log line, or UnreadableSelection naming what is wrong (never a value)."""
    if not isinstance(raw, dict):
        raise UnreadableSelection("no selection")
    measure = raw.get("measure", "visits")
    if measure not in COUNTS:
        raise UnreadableSelection(f"'measure' is none of {', '.join(COUNTS)}")
    count = COUNTS[measure]
    by = raw.get("by")
    if not isinstance(by, list) or any(dim not in count.dimensions for dim in by) or len(set(by)) != len(by):
        raise UnreadableSelection(f"'by' is not a list of distinct names among {', '.join(count.dimensions)}")
    period = raw.get("period")
    if period is not None and period not in PERIODS:
        raise UnreadableSelection(f"'period' is none of {', '.join(PERIODS)}")
    if not by and period is None:
        raise UnreadableSelection("neither rows nor a period")
    start, end = _iso(raw, "from"), _iso(raw, "to")
    comparison = raw.get("comparison")
    if comparison is not None:
        if not isinstance(comparison, dict):
            raise UnreadableSelection("'comparison' is not a period")
        comparison = (_iso(comparison, "from"), _iso(comparison, "to"))
    if end < start or (comparison is not None and comparison[1] < comparison[0]):
        raise UnreadableSelection("a period ends before it starts")
    if count.funnel and comparison is not None:
        raise UnreadableSelection("a funnel has no comparison period")
    given = raw.get("filters") or {}
    if not isinstance(given, dict) or set(given) - {*FILTERS, "country_mode"}:
        raise UnreadableSelection(f"'filters' holds other keys than {', '.join(FILTERS)} and country_mode")
    filters = []
    for key, (column, domain) in FILTERS.items():
        values = given.get(key) or []
        if not isinstance(values, list) or any(value not in domain for value in values):
            raise UnreadableSelection(f"the filter '{key}' holds a value outside its domain")
        if values and key not in count.filters:
            raise UnreadableSelection(f"the filter '{key}' does not apply to {measure} ({count.table})")
        if values:
            filters.append((column, tuple(values)))
    mode = given.get("country_mode", "include")
    if mode not in COUNTRY_MODES:
        raise UnreadableSelection(f"'country_mode' is none of {', '.join(COUNTRY_MODES)}")
    return Selection(tuple(by), period, start, end, comparison, tuple(filters), mode == "exclude", count)


# --- the store's side --------------------------------------------------------------------------------------------

CELLS_SQL = """
with selected as (
    -- the stored cells of the period under the selection's filters
    select * from {store}.{table}
    where event_date between $start and $end{filters}
),
published as (
    -- one row per published number: its true count and the key sums of exactly its stored cells
    select {period} as period, {by} sum({column})::bigint as true_count, sum({key})::bigint as key_sum
    from selected
    group by all
)
select * from published
"""


def can_recompute(columns: Mapping[str, Mapping[str, str]], table: str = "visit_counts") -> bool:
    """Whether the store has `table` (visit_counts, page_views) with every column the recomputation reads."""
    return set(STORE_TABLES[table]) <= set(columns.get(table, {}))


def _cells(
    con: duckdb.DuckDBPyConnection, store: str, selection: Selection, start: date, end: date
) -> dict[tuple, Cell]:
    """(period or None, *codes of `by`) -> Cell, for every published number of [start, end]."""
    params: dict[str, object] = {"start": start, "end": end}
    filters = ""
    for column, values in selection.filters:
        params[column] = list(values)
        negate = "not " if column == "country" and selection.exclude_countries else ""
        filters += f"\n        and {negate}list_contains(${column}, {column})"
    sql = CELLS_SQL.format(
        store=store,
        # the table and columns are the contract's, by the closed list COUNTS
        table=selection.count.table,
        column=selection.count.column,
        key=selection.count.key,
        filters=filters,
        # the period names are the closed list PERIODS, the columns those of the contract
        period=f"date_trunc('{selection.period}', event_date)::date" if selection.period else "null::date",
        by="".join(f"{column}, " for column in selection.by),
    )
    cells = {}
    for *key, true, key_sum in con.execute(sql, params).fetchall():
        cells[tuple(key)] = Cell(int(true or 0), int(key_sum or 0))
    return cells


def _truncate(day: date, period: str) -> date:
    if period == "week":  # ISO weeks start on Monday
        return day - timedelta(days=day.weekday())
    if period == "month":
        return day.replace(day=1)
    if period == "year":
        return day.replace(month=1, day=1)
    return day


def _following(start: date, period: str) -> date:
    if period == "day":
        return start + timedelta(days=1)
    if period == "week":
        return start + timedelta(days=7)
    if period == "month":
        return (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    return start.replace(year=start.year + 1)


def period_starts(start: date, end: date, period: str) -> list[date]:
    """The first day of every day, ISO week, month or year that [start, end] touches."""
    starts, current = [], _truncate(start, period)
    while current <= end:
        starts.append(current)
        current = _following(current, period)
    return starts


def _sum(cells: Mapping[tuple, Cell]) -> Cell:
    return Cell(sum(c.true for c in cells.values()), sum(c.key_sum for c in cells.values()))


def recompute(con: duckdb.DuckDBPyConnection, store: str, selection: Selection) -> Table:
    """The table the selection gives from the store, rows in the order of their period and codes.

    With a comparison, the two periods' rows are paired by position (first week with first week), and a
    combination counted in one period only is a true zero in the other; a position one period lacks is empty.
    """
    now = _cells(con, store, selection, selection.start, selection.end)
    if selection.comparison is None:
        rows = [Row(key[0], None, key[1:], cell, None) for key, cell in sorted(now.items())]
        return Table(rows, _sum(now), None)
    before = _cells(con, store, selection, *selection.comparison)
    if selection.period is None:
        codes = sorted({key[1:] for key in now} | {key[1:] for key in before})
        rows = [Row(None, None, c, now.get((None, *c), ZERO), before.get((None, *c), ZERO)) for c in codes]
        return Table(rows, _sum(now), _sum(before))
    ours = period_starts(selection.start, selection.end, selection.period)
    theirs = period_starts(*selection.comparison, selection.period)
    rows = []
    for slot in range(max(len(ours), len(theirs))):
        mine = ours[slot] if slot < len(ours) else None
        other = theirs[slot] if slot < len(theirs) else None
        codes = {key[1:] for key in now if key[0] == mine} | {key[1:] for key in before if key[0] == other}
        rows += [
            Row(
                mine,
                other,
                c,
                None if mine is None else now.get((mine, *c), ZERO),
                None if other is None else before.get((other, *c), ZERO),
            )
            for c in codes
        ]
    # by period, then codes; the positions only the comparison period has come last, by codes then position
    rows.sort(key=lambda row: (row.period is None, row.period or date.min, row.codes, row.before_period or date.min))
    return Table(rows, _sum(now), _sum(before))


@dataclass(frozen=True)
class FunnelRow:
    period: date | None
    codes: tuple[str, ...]
    steps: tuple[Cell, Cell]  # the visitors of the view and the submit step


@dataclass(frozen=True)
class FunnelTable:
    rows: list[FunnelRow]
    totals: tuple[Cell, Cell]


def recompute_funnel(con: duckdb.DuckDBPyConnection, store: str, selection: Selection) -> FunnelTable:
    """The funnel the selection gives: the visitors by its rows and step, a row's missing step a true zero."""
    by_step = replace(selection, by=(*selection.by, "step"))
    cells = _cells(con, store, by_step, selection.start, selection.end)
    keys = sorted({key[:-1] for key in cells})
    rows = [FunnelRow(key[0], key[1:], tuple(cells.get((*key, step), ZERO) for step in FUNNEL_STEPS)) for key in keys]
    totals = tuple(_sum({k: c for k, c in cells.items() if k[-1] == step}) for step in FUNNEL_STEPS)
    return FunnelTable(rows, totals)


# --- the file's side ---------------------------------------------------------------------------------------------


def published(cell: Cell | None, ptable: Ptable, min_cell: int) -> int | str | None:
    """What the rules publish for a cell: the perturbed count, None if suppressed, "" where there is no cell."""
    if cell is None:
        return ""
    if 1 <= cell.true < min_cell:
        return None
    return ptable.perturb(cell.true, cell_key(cell.key_sum))


@dataclass
class _Comparer:
    """Compares one file's cells with the recomputed table, gathering findings."""

    header: list[str]
    fmt: str
    ptable: Ptable
    min_cell: int
    found: list[Where]

    def where(self, number: int, column: int) -> str:
        name = self.header[column] if column < len(self.header) and self.header[column] else f"column {column + 1}"
        return f"row {number} {name}"

    def count(self, number: int, column: int, row: Sequence[str], cell: Cell | None) -> int | None:
        """Check the count at `column` (and, raw, its `suppressed` flag after it); returns what it should be."""
        expected = published(cell, self.ptable, self.min_cell)
        shown = row[column]
        flag = row[column + 1] if self.fmt == "raw" else None
        where = self.where(number, column)
        if expected == "":
            if shown or flag:
                self.found.append((where, "a count where the selection has no such period"))
            return None
        if expected is None:
            if self.fmt == "raw" and (shown, flag) != ("", "true"):
                self.found.append((where, "the store's cells give a small count: it must be empty and suppressed"))
            elif self.fmt == "excel" and shown != small_mark(self.min_cell):
                self.found.append(
                    (where, f"the store's cells give a small count: it must be {small_mark(self.min_cell)}")
                )
            return None
        if shown == str(expected) and flag in (None, "false"):
            return expected
        rule = f"the store's cells and ptable v{self.ptable.params.version} give {expected}"
        if shown == small_mark(self.min_cell) or flag == "true":
            self.found.append((where, f"suppressed, but {rule}"))
        elif shown.lstrip("-").isdigit():
            unperturbed = " (the true count, unperturbed)" if int(shown) == cell.true else ""
            self.found.append((where, f"published {shown}{unperturbed}; {rule}"))
        else:
            self.found.append((where, f"neither a count nor a mark; {rule}"))
        return expected

    def conversion(self, number: int, column: int, row: Sequence[str], viewers: int | None, submitters: int | None):
        """A conversion only where both counts are published and viewers are not zero, at most 100%."""
        shown = row[column]
        if viewers is None or submitters is None or viewers == 0:
            if shown:
                self.found.append((self.where(number, column), "a conversion where a count is hidden or zero"))
            return
        self._ratio(number, column, shown, min(submitters / viewers, 1.0), "conversion")

    def change(self, number: int, column: int, row: Sequence[str], now: int | None, before: int | None) -> None:
        """A change only where both counts are published and the earlier one is not zero, and the right one."""
        shown = row[column]
        if now is None or before is None or before == 0:
            if shown:
                self.found.append((self.where(number, column), "a change where a count is hidden, missing or zero"))
            return
        self._ratio(number, column, shown, (now - before) / before, "change")

    def _ratio(self, number: int, column: int, shown: str, ratio: float, what: str) -> None:
        """A ratio as the format writes it (excel: percent), within its rounding."""
        expected = ratio * 100 if self.fmt == "excel" else ratio
        try:
            ok = abs(float(shown) - expected) <= CHANGE_ROUNDING[self.fmt] + 1e-9
        except ValueError:
            ok = False
        if not ok:
            self.found.append((self.where(number, column), f"not the {what} of the two published counts"))


def _layout(selection: Selection, fmt: str) -> tuple[int, int, int | None, int | None]:
    """(width, count column, comparison period column, comparison count column) of a file of that selection."""
    dims = (1 if selection.period else 0) + len(selection.by)
    per_count = 2 if fmt == "raw" else 1  # raw: visits, suppressed
    width = dims + per_count
    before_period = before_count = None
    if selection.comparison is not None:
        if selection.period:
            before_period, width = width, width + 1
        before_count = width
        width += per_count + 1  # the count (and its flag), then the change
    return width, dims, before_period, before_count


def compare_with_store(
    rows: list[list[str]], fmt: str, selection: Selection, table: Table, ptable: Ptable, min_cell: int
) -> list[Where]:
    """Findings of one export against its recomputed table, as (where, what)."""
    if fmt not in FORMATS:
        return [_unknown_format(fmt)]
    width, count_at, before_period_at, before_at = _layout(selection, fmt)
    opened = _Opened.of(rows, fmt, width, len(table.rows), ptable, min_cell)
    if isinstance(opened, list):
        return opened
    found, compare, body, total, labels = opened.found, opened.compare, opened.body, opened.total, opened.labels
    dims = (["period"] if selection.period else []) + list(selection.by)
    for (number, row), expected in zip(body, table.rows, strict=True):
        codes = dict(zip(selection.by, expected.codes, strict=True))
        for column, dim in enumerate(dims):
            if dim == "period":
                labels.date(number, column, row[column], expected.period)
            else:
                labels.code(number, column, row[column], dim, codes[dim], fmt)
        now = compare.count(number, count_at, row, expected.now)
        if selection.comparison is not None:
            if before_period_at is not None:
                labels.date(number, before_period_at, row[before_period_at], expected.before_period)
            before = compare.count(number, before_at, row, expected.before)
            compare.change(number, before_at + (2 if fmt == "raw" else 1), row, now, before)
    if total is not None:
        number, row = total
        if any(row[1:count_at]):
            found.append((f"row {number}", "the total row holds more than its label and its counts"))
        now = compare.count(number, count_at, row, table.total)
        if selection.comparison is not None:
            if before_period_at is not None:
                labels.date(number, before_period_at, row[before_period_at], None)
            before = compare.count(number, before_at, row, table.before_total)
            compare.change(number, before_at + 1, row, now, before)
    return found


def _unknown_format(fmt: str) -> Where:
    return ("", f"its export log line gives the format {fmt!r}, neither excel nor raw")


@dataclass
class _Opened:
    """An export read far enough to compare its rows: its findings so far, its body and total row, and the
    checkers of its counts and labels."""

    found: list[Where]
    compare: _Comparer
    body: list
    total: tuple | None
    labels: _Labels

    @classmethod
    def of(
        cls, rows: list[list[str]], fmt: str, width: int, expected_rows: int, ptable: Ptable, min_cell: int
    ) -> _Opened | list[Where]:
        """The export opened, or the findings that stop its comparison (a header or a row count it cannot have)."""
        header = rows[0]
        if len(header) != width:
            return [("row 1", f"{len(header)} columns; its logged selection gives {width}")]
        found: list[Where] = []
        compare = _Comparer(header, fmt, ptable, min_cell, found)
        body, total = _body(rows, width, fmt, found)
        if len(body) != expected_rows:
            found.append(("", f"{len(body)} rows; the store's cells under its logged selection give {expected_rows}"))
            return found
        lang = next((lang for lang, label in TOTAL_LABELS.items() if total and total[1][0] == label), None)
        return cls(found, compare, body, total, _Labels(lang, found, compare.where))


def _body(rows: list[list[str]], width: int, fmt: str, found: list[Where]):
    """The numbered rows of a file's table, and its total row (excel; a finding when it has none)."""
    end = next((i for i, row in enumerate(rows[1:], 1) if not any(row)), len(rows))
    body = [(number, row + [""] * (width - len(row))) for number, row in enumerate(rows[1:end], 2)]
    total = body.pop() if fmt == "excel" and body and body[-1][1][0] in TOTAL_LABELS.values() else None
    if fmt == "excel" and total is None:
        found.append(("", "no total row"))
    return body, total


def compare_funnel(
    rows: list[list[str]], fmt: str, selection: Selection, table: FunnelTable, ptable: Ptable, min_cell: int
) -> list[Where]:
    """Findings of one funnel export against its recomputed funnel: each step's count, and the conversion."""
    if fmt not in FORMATS:
        return [_unknown_format(fmt)]
    dims = (["period"] if selection.period else []) + list(selection.by)
    per_count = 2 if fmt == "raw" else 1
    width = len(dims) + 2 * per_count + 1
    opened = _Opened.of(rows, fmt, width, len(table.rows), ptable, min_cell)
    if isinstance(opened, list):
        return opened
    found, compare, body, total, labels = opened.found, opened.compare, opened.body, opened.total, opened.labels
    steps_at = (len(dims), len(dims) + per_count)
    checked = [(number, row, expected.period, expected.codes, expected.steps) for (number, row), expected in
               zip(body, table.rows, strict=True)]  # fmt: skip
    if total is not None:
        checked.append((total[0], total[1], None, None, table.totals))
    for number, row, period, codes, steps in checked:
        if codes is None and any(row[1 : len(dims)]):
            found.append((f"row {number}", "the total row holds more than its label and its counts"))
        for column, dim in enumerate(dims if codes is not None else ()):
            if dim == "period":
                labels.date(number, column, row[column], period)
            else:
                labels.code(number, column, row[column], dim, codes[selection.by.index(dim)], fmt)
        viewers, submitters = (compare.count(number, at, row, cell) for at, cell in zip(steps_at, steps, strict=True))
        compare.conversion(number, width - 1, row, viewers, submitters)
    return found


@dataclass
class _Labels:
    """Checks the row labels: dates and codes as the store has them; in excel each code always under one label."""

    lang: str | None
    found: list[Where]
    where: Callable[[int, int], str]
    label_of: dict[tuple[int, str], str] = field(default_factory=dict)  # (column, code) -> label
    code_of: dict[tuple[int, str], str] = field(default_factory=dict)  # (column, label) -> code

    def date(self, number: int, column: int, shown: str, expected: date | None) -> None:
        if shown != ("" if expected is None else expected.isoformat()):
            self.found.append((self.where(number, column), "not the period of the store's row at this place"))

    def code(self, number: int, column: int, shown: str, dim: str, code: str, fmt: str) -> None:
        if fmt == "raw":
            ok = shown == code
        elif dim == "country" and code != UNKNOWN and self.lang is not None:
            ok = shown == country_name(code, self.lang)
        else:
            # the audit does not translate features, genders or age groups: one label for each code, both ways
            label = self.label_of.setdefault((column, code), shown)
            ok = label == shown and self.code_of.setdefault((column, shown), code) == code
        if not ok:
            self.found.append((self.where(number, column), f"not the {dim} of the store's row at this place"))
