"""The comparison join: the rows of a period beside those of the period it is compared with.

What shapes it: the two periods need not have the same number of days,
weeks or months, so rows by period are paired by position (first week with
first week), never by date; and a zero is a fact while a missing position is
not, so a combination counted in one period only is a true zero in the other,
and a position one period lacks stays empty.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.gate import SHOWN, change


def period_starts(start: date, end: date, period: str) -> list[pd.Timestamp]:
    """The first day of every day, ISO week, month or year that [start, end] touches (as the store truncates)."""
    frequency = {"day": "D", "week": "W-MON", "month": "MS", "year": "YS"}[period]
    first = pd.Timestamp(start).to_period({"day": "D", "week": "W-SUN", "month": "M", "year": "Y"}[period]).start_time
    return list(pd.date_range(first, pd.Timestamp(end), freq=frequency))


def compared(
    current: pd.DataFrame,
    before: pd.DataFrame,
    by: list[str],
    period: str | None,
    span: tuple[date, date],
    comparison: tuple[date, date],
) -> pd.DataFrame:
    """The gated cells of both periods side by side, each with its own gate status, and the change.

    Rows are matched on the dimensions and, by period, on position. The
    comparison's columns are `before`, `before_status` and `before_period`.
    """
    keys = list(by)
    if period:
        now, then = period_starts(*span, period), period_starts(*comparison, period)
        current = current.assign(slot=current["period"].map({p: i for i, p in enumerate(now)}))
        before = before.assign(slot=before["period"].map({p: i for i, p in enumerate(then)}))
        keys = ["slot", *keys]
    before = before.rename(columns={"visits": "before", "status": "before_status", "period": "before_period"})
    merged = current.merge(before, on=keys, how="outer", sort=True)
    if period:
        merged["period"] = merged["slot"].map(dict(enumerate(now)))
        merged["before_period"] = merged["slot"].map(dict(enumerate(then)))
        merged = merged.drop(columns="slot")
    for column, status, stamp in (("visits", "status", "period"), ("before", "before_status", "before_period")):
        exists = merged[stamp].notna() if period else pd.Series(True, index=merged.index)
        absent = merged[status].isna() & exists
        merged.loc[absent, column] = 0
        merged.loc[absent, status] = SHOWN
    merged["change"] = change(merged["visits"], merged["before"])
    if period:
        # a position only the comparison period has: no current period, so it is dated by the comparison
        merged = merged.sort_values(["period", *by], na_position="last", kind="stable")
    return merged.reset_index(drop=True)
