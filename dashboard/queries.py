"""Parametrized SQL behind every page, cached per store version.

Dimensions and grains come from fixed tables in this module and the
contract; filter values are always bound as parameters, never pasted in.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import pandas as pd
import streamlit as st

from contract import DIMENSIONS, TIMEZONE
from dashboard.filters import Filters
from dashboard.store import StoreVersion, query

PERIOD_SQL = {
    "day": "event_date",
    "week": "date_trunc('week', event_date)::date",  # ISO weeks start on Monday
    "month": "date_trunc('month', event_date)::date",
    "year": "date_trunc('year', event_date)::date",
}
GROUPABLE = tuple(d for d in DIMENSIONS if d != "event_date")


@st.cache_data(max_entries=1024, show_spinner=False)
def _cached(version: StoreVersion, sql: str, params: tuple) -> pd.DataFrame:
    return query(version, sql, [list(p) if isinstance(p, tuple) else p for p in params])


def where(filters: Filters, start: date, end: date) -> tuple[str, list]:
    clauses, params = ["event_date between ? and ?"], [start, end]
    for column, values in (
        ("feature", filters.features),
        ("gender", filters.genders),
        ("age_group", filters.age_groups),
    ):
        if values:
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
) -> pd.DataFrame:
    """True submissions in [start, end] under the filters, by the given dimensions (and period), with their
    key sums: for the gate only, which publishes them."""
    unknown = [dim for dim in by if dim not in GROUPABLE]
    if unknown or (grain is not None and grain not in PERIOD_SQL):
        raise ValueError(f"cannot group by {unknown or grain}")
    columns = ([f"{PERIOD_SQL[grain]} as period"] if grain else []) + list(by)
    condition, params = where(filters, start, end)
    # the cell key comes with the count: the sum of the key sums of exactly the stored cells counted
    select = ", ".join([*columns, "sum(visits)::bigint as visits", "sum(key_sum)::bigint as key_sum"])
    group = " group by all order by all" if columns else ""
    sql = f"select {select} from visit_counts where {condition}{group}"
    frame = _cached(version, sql, tuple(_hashable(p) for p in params))
    if not columns and frame["visits"].isna().all():
        frame[["visits", "key_sum"]] = 0
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


def data_dates(version: StoreVersion) -> tuple[date, date]:
    """The store's first and last day of data (a store with data only: see store.has_data)."""
    first, last = _cached(version, "select min(event_date), max(event_date) from visit_counts", ()).iloc[0]
    return pd.Timestamp(first).date(), pd.Timestamp(last).date()


def batches(version: StoreVersion) -> pd.DataFrame:
    """The batch log, newest first, with the key sums of each batch's loaded and rejected rows (for the gate)."""
    return _cached(
        version,
        "select batch_id, file_name, file_format, strftime(timezone(?, loaded_at), '%Y-%m-%d %H:%M') "
        "as loaded_at, rows_read, rows_loaded, rows_rejected, first_event_date::varchar as first_event_date, "
        "last_event_date::varchar as last_event_date, source_destroyed, "
        "strftime(timezone(?, source_destroyed_at), '%Y-%m-%d %H:%M') as destroyed_at, "
        "coalesce(loaded.key_sum, 0) as loaded_key_sum, rejected_key_sum "
        "from batches left join (select batch_id, sum(key_sum)::bigint as key_sum from batch_counts group by all) "
        "as loaded using (batch_id) order by batch_id desc",
        (TIMEZONE, TIMEZONE),
    )


def country_list(version: StoreVersion) -> pd.DataFrame:
    """The countries present in the store, for the filter's options."""
    return _cached(version, "select distinct country from visit_counts order by country", ())


def complete(frame: pd.DataFrame, dims: dict[str, list]) -> pd.DataFrame:
    """Every combination of the given dimension values, with zeros where nothing was counted.

    A zero is a published number too: without this, an empty cell would be
    left out of a chart silently instead of drawn as zero.
    """
    full = pd.MultiIndex.from_product(list(dims.values()), names=list(dims)).to_frame(index=False)
    return full.merge(frame, on=list(dims), how="left").fillna({"visits": 0, "key_sum": 0})
