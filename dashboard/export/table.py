"""One table's export: check the selection, gate the counts, join the comparison, render the CSV.

What shapes it: every exported number passes the same gate as the dashboard
(DESIGN.md rule 4), with every total of the table protected, not only the one
the file shows; and building writes nothing, so the page can preview a file
and log it only when it is downloaded (`logged.py` logs).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date

import pandas as pd

from contract import LANGUAGES, MIN_CELL
from dashboard import queries
from dashboard.export.compare import compared
from dashboard.export.render import (
    FORMATS,
    csv_bytes,
    excel_rows,
    export_filename,
    funnel_excel_rows,
    funnel_raw_rows,
    raw_rows,
)
from dashboard.filters import Filters
from dashboard.gate import SHOWN, Gated, gate, margins, share
from dashboard.store import StoreVersion

PERIODS = tuple(queries.PERIOD_SQL)  # day, week, month, year
# the funnel: visitors who viewed and who submitted side by side, and the conversion, as the Traffic page's tables
FUNNEL = "funnel"
COUNTS = (*queries.MEASURES, FUNNEL)


def groupable(measure: str) -> tuple[str, ...]:
    """What a count's rows can be by: a funnel's steps are its columns."""
    if measure == FUNNEL:
        return tuple(dim for dim in queries.MEASURES["visitors"].groupable if dim != "step")
    return queries.MEASURES[measure].groupable


@dataclass(frozen=True)
class Export:
    """One exported file and what the log says of it."""

    filename: str
    content: bytes
    rows: int
    selection: dict[str, object]
    fmt: str
    min_cell: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def build_export(
    version: StoreVersion,
    filters: Filters,
    by: Sequence[str],
    period: str | None,
    start: date,
    end: date,
    fmt: str = "excel",
    lang: str = "ko",
    comparison: tuple[date, date] | None = None,
    min_cell: int = MIN_CELL,
    measure: str = "visits",
) -> Export:
    """The gated CSV of counts by `by` (and `period`) in [start, end] under `filters`; writes nothing.

    With `comparison` (first and last day of another period), each row also
    holds the comparison period's count and the relative change: see
    `compare.compared` for how the rows of the two periods are matched.
    `measure`: submissions (`visits`), or a web traffic count (`views`, `visitors`, or the `funnel` of
    visitors from viewing to submitting), whose tables have no gender or age group: those filters do not
    apply to them.
    """
    by = list(by)
    _check(by, period, start, end, fmt, lang, comparison, measure)
    filters = applicable(filters, measure)
    if measure == FUNNEL:
        return _funnel_export(version, filters, by, period, start, end, fmt, lang, min_cell)
    gated = _gated(version, filters, by, period, start, end, min_cell, measure)
    if comparison is None:
        before, cells = None, gated.cells
    else:
        before = _gated(version, filters, by, period, *comparison, min_cell, measure)
        cells = compared(gated.cells, before.cells, by, period, (start, end), comparison)

    if fmt == "excel":
        before_total = None if before is None else before.grand_total()
        rows = excel_rows(cells, by, period, lang, min_cell, gated.grand_total(), comparison, before_total, measure)
    else:
        rows = raw_rows(cells, by, period, compared=before is not None, measure=measure)
    return Export(
        filename=export_filename(by, period, start, end, fmt, lang, filters.filtered, comparison, measure),
        content=csv_bytes(rows, excel=fmt == "excel"),
        rows=len(cells),
        selection=_selection(filters, by, period, start, end, comparison, measure),
        fmt=fmt,
        min_cell=min_cell,
    )


def applicable(filters: Filters, measure: str) -> Filters:
    """The filters that apply to `measure`'s table: a web traffic count has no gender or age group."""
    dims = groupable(measure)
    return replace(
        filters,
        genders=filters.genders if "gender" in dims else (),
        age_groups=filters.age_groups if "age_group" in dims else (),
    )


def _check(
    by: list[str],
    period: str | None,
    start: date,
    end: date,
    fmt: str,
    lang: str,
    comparison: tuple[date, date] | None,
    measure: str = "visits",
) -> None:
    """Raise ValueError, naming the problem, for a selection no export can have."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    if measure not in COUNTS:
        raise ValueError(f"unknown count {measure!r}: use one of {', '.join(COUNTS)}")
    dims = groupable(measure)
    unknown = [dim for dim in by if dim not in dims]
    if unknown or len(set(by)) != len(by):
        raise ValueError(f"cannot group {measure} by {','.join(by)}: use distinct names among {', '.join(dims)}")
    if measure == FUNNEL and comparison is not None:
        raise ValueError("a funnel has no comparison period: export the visitors by step to compare")
    if period is not None and period not in PERIODS:
        raise ValueError(f"unknown period {period!r}: use one of {', '.join(PERIODS)}")
    if not by and period is None:
        raise ValueError("choose at least one dimension or a period")
    if end < start:
        raise ValueError("the end date is before the start date")
    if comparison is not None and comparison[1] < comparison[0]:
        raise ValueError("the comparison period ends before it starts")


def _gated(
    version: StoreVersion,
    filters: Filters,
    by: list[str],
    period: str | None,
    start: date,
    end: date,
    min_cell: int,
    measure: str = "visits",
) -> Gated:
    spec = queries.MEASURES[measure]
    frame = queries.counts(version, filters, start, end, by=tuple(by), grain=period, measure=measure)
    dims = (["period"] if period else []) + by
    # every total of this table is protected, not only the grand total the file shows: the
    # dashboard shows the others for the same selection, and a manager could subtract
    return gate(frame, dims, totals_over=margins(dims), value=spec.column, key=spec.key, min_cell=min_cell)


def _funnel_export(
    version: StoreVersion,
    filters: Filters,
    by: list[str],
    period: str | None,
    start: date,
    end: date,
    fmt: str,
    lang: str,
    min_cell: int,
) -> Export:
    """The funnel: the visitors table by `by` and step, through the same gate, its two steps side by side."""
    gated = _gated(version, filters, [*by, "step"], period, start, end, min_cell, "visitors")
    dims = (["period"] if period else []) + by
    steps = {}
    for step, name in (("view", "viewers"), ("submit", "submitters")):
        cells = gated.cells[gated.cells["step"] == step].drop(columns="step")
        steps[name] = cells.rename(columns={"visits": name, "status": f"{name}_status"})
    cells = steps["viewers"].merge(steps["submitters"], on=dims, how="outer", sort=True)
    for name in ("viewers", "submitters"):  # a step nobody took in a row's cells: a true zero
        absent = cells[f"{name}_status"].isna()
        cells.loc[absent, name], cells.loc[absent, f"{name}_status"] = 0, SHOWN
    cells["conversion"] = share(cells["submitters"], cells["viewers"])
    by_step = gated.totals[("step",)].set_index("step")
    totals = {  # a step with no cell at all: a true zero
        name: _total(by_step.loc[step]) if step in by_step.index else (0, SHOWN)
        for step, name in (("view", "viewers"), ("submit", "submitters"))
    }
    if fmt == "excel":
        rows = funnel_excel_rows(cells, by, period, lang, min_cell, totals)
    else:
        rows = funnel_raw_rows(cells, by, period)
    return Export(
        filename=export_filename(by, period, start, end, fmt, lang, filters.filtered, None, FUNNEL),
        content=csv_bytes(rows, excel=fmt == "excel"),
        rows=len(cells),
        selection=_selection(filters, by, period, start, end, None, FUNNEL),
        fmt=fmt,
        min_cell=min_cell,
    )


def _total(row: pd.Series) -> tuple[int | None, str]:
    return (None if pd.isna(row["visits"]) else int(row["visits"])), row["status"]


def _selection(
    filters: Filters,
    by: Sequence[str],
    period: str | None,
    start: date,
    end: date,
    comparison: tuple[date, date] | None,
    measure: str = "visits",
) -> dict[str, object]:
    # a submissions export's line reads as before the logs; a traffic export names its count
    return {
        **({} if measure == "visits" else {"measure": measure}),
        "by": list(by),
        "period": period,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "comparison": None
        if comparison is None
        else {"from": comparison[0].isoformat(), "to": comparison[1].isoformat()},
        "filters": {
            "features": list(filters.features),
            "countries": list(filters.countries),
            "country_mode": filters.country_mode,
            "genders": list(filters.genders),
            "age_groups": list(filters.age_groups),
        },
    }
