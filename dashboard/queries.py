"""Parametrized SQL behind every page, cached per store version.

Dimensions and grains come from fixed tables in this module and the
contract; filter values are always bound as parameters, never pasted in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from contract import DIMENSIONS, PAGE_VIEW_DIMENSIONS, TIMEZONE
from dashboard.filters import Filters
from dashboard.store import PUBLIC_TABLES, StoreVersion, query, store_tables

PERIOD_SQL = {
    "day": "event_date",
    "week": "date_trunc('week', event_date)::date",  # ISO weeks start on Monday
    "month": "date_trunc('month', event_date)::date",
    "year": "date_trunc('year', event_date)::date",
}
GROUPABLE = tuple(d for d in DIMENSIONS if d != "event_date")


@dataclass(frozen=True)
class Measure:
    """A count the store keeps: its table, its column, the column of its key sum, and what it can be grouped by."""

    table: str
    column: str
    key: str
    groupable: tuple[str, ...]


# the form exports' submissions, and the access logs' page views and visitors (contract.PAGE_VIEWS_COLUMNS)
MEASURES = {
    "visits": Measure("visit_counts", "visits", "key_sum", GROUPABLE),
    "views": Measure("page_views", "views", "views_key_sum", PAGE_VIEW_DIMENSIONS[1:]),
    "visitors": Measure("page_views", "visitors", "visitors_key_sum", PAGE_VIEW_DIMENSIONS[1:]),
}
TRAFFIC_MEASURES = ("views", "visitors")
# the filters a table has columns for: a log knows no gender or age group
FILTER_COLUMNS = (("feature", "features"), ("gender", "genders"), ("age_group", "age_groups"))


@st.cache_data(max_entries=1024, show_spinner=False)
def _cached(version: StoreVersion, sql: str, params: tuple) -> pd.DataFrame:
    return query(version, sql, [list(p) if isinstance(p, tuple) else p for p in params])


def where(filters: Filters, start: date, end: date, columns: Sequence[str] = GROUPABLE) -> tuple[str, list]:
    """The period and the filters of `filters` that `columns` (a table's) has."""
    clauses, params = ["event_date between ? and ?"], [start, end]
    for column, name in FILTER_COLUMNS:
        values = getattr(filters, name)
        if values and column in columns:
            clauses.append(f"list_contains(?, {column})")
            params.append(list(values))
    if filters.countries:
        negate = "not " if filters.country_mode == "exclude" else ""
        clauses.append(f"{negate}list_contains(?, country)")
        params.append(list(filters.countries))
    return " and ".join(clauses), params


def counts(
    version: StoreVersion,
    filters: Filters,
    start: date,
    end: date,
    by: Sequence[str] = (),
    grain: str | None = None,
    measure: str = "visits",
    steps: Sequence[str] = (),
) -> pd.DataFrame:
    """True counts of `measure` in [start, end] under the filters, by the given dimensions (and period), with
    their key sums in the measure's key column: for the gate only, which publishes them.

    `steps`: only these steps of a log's funnel (page_views only; empty: both).
    """
    spec = MEASURES[measure]
    unknown = [dim for dim in by if dim not in spec.groupable]
    if unknown or (grain is not None and grain not in PERIOD_SQL):
        raise ValueError(f"cannot group by {unknown or grain}")
    columns = ([f"{PERIOD_SQL[grain]} as period"] if grain else []) + list(by)
    condition, params = where(filters, start, end, spec.groupable)
    if steps:
        condition += " and list_contains(?, step)"
        params.append(list(steps))
    # the cell key comes with the count: the sum of the key sums of exactly the stored cells counted
    sums = [f"sum({spec.column})::bigint as {spec.column}", f"sum({spec.key})::bigint as {spec.key}"]
    select = ", ".join([*columns, *sums])
    group = " group by all order by all" if columns else ""
    sql = f"select {select} from {spec.table} where {condition}{group}"
    frame = _cached(version, sql, tuple(_hashable(p) for p in params))
    if not columns and frame[spec.column].isna().all():
        frame[[spec.column, spec.key]] = 0
    return frame.copy()


def _hashable(value: object) -> object:
    return tuple(value) if isinstance(value, list) else value


def store_facts(version: StoreVersion) -> dict[str, object]:
    """What the About page says of the store: its date range and its batches."""
    facts = _cached(
        version,
        "select min(event_date) as first_date, max(event_date) as last_date, sum(visits)::bigint as visits, "
        "(select count(*) from batches) as batches, "
        "(select strftime(timezone(?, max(loaded_at)), '%Y-%m-%d %H:%M') from batches) as last_load "
        "from visit_counts",
        (TIMEZONE,),
    )
    return facts.iloc[0].to_dict()


def data_dates(version: StoreVersion, tables: Sequence[str] = PUBLIC_TABLES) -> tuple[date, date]:
    """The store's first and last day of data, over its public tables or the ones named (with data only: see
    store.any_data and store.has_data)."""
    present = [table for table in tables if table in store_tables(version)]
    days = " union all ".join(f"select event_date from {table}" for table in present)
    first, last = _cached(version, f"select min(event_date), max(event_date) from ({days})", ()).iloc[0]
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def batches(version: StoreVersion) -> pd.DataFrame:
    """The batch log, newest first, with the key sums of each batch's loaded and rejected rows (for the gate).

    A form export's loaded rows are its submissions (batch_counts); an access log's are its lines counted as
    a view or a submit, whose keys are page_view_batch_counts' views_key_sum (a store from before the logs
    has no such table).
    """
    loaded = "select batch_id, sum(key_sum)::bigint as key_sum from batch_counts group by all"
    if "page_view_batch_counts" in store_tables(version):
        loaded += " union all select batch_id, sum(views_key_sum)::bigint from page_view_batch_counts group by all"
    return _cached(
        version,
        "select batch_id, file_name, file_format, strftime(timezone(?, loaded_at), '%Y-%m-%d %H:%M') "
        "as loaded_at, rows_read, rows_loaded, rows_rejected, first_event_date::varchar as first_event_date, "
        "last_event_date::varchar as last_event_date, source_destroyed, "
        "strftime(timezone(?, source_destroyed_at), '%Y-%m-%d %H:%M') as destroyed_at, "
        "coalesce(loaded.key_sum, 0) as loaded_key_sum, rejected_key_sum "
        f"from batches left join ({loaded}) as loaded using (batch_id) order by batch_id desc",
        (TIMEZONE, TIMEZONE),
    )


def country_list(version: StoreVersion) -> pd.DataFrame:
    """The countries present in the store, for the filter's options."""
    return _cached(version, "select distinct country from visit_counts order by country", ())


def complete(frame: pd.DataFrame, dims: dict[str, list], counts: Sequence[str] = ("visits", "key_sum")) -> pd.DataFrame:
    """Every combination of the given dimension values, with zeros where nothing was counted.

    A zero is a published number too: without this, an empty cell would be
    left out of a chart silently instead of drawn as zero.
    """
    full = pd.MultiIndex.from_product(list(dims.values()), names=list(dims)).to_frame(index=False)
    return full.merge(frame, on=list(dims), how="left").fillna(dict.fromkeys(counts, 0))
