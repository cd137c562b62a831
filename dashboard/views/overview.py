"""Overview: submissions in the period, by service, and their trend."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from contract import FEATURES, UNDER_14_GROUP
from dashboard import charts, queries
from dashboard.gate import SHOWN, change_of, format_count, gate, margins, share
from dashboard.ui import Context, download, page_start

FEATURE_TOTALS = ("feature",)
# every margin of the (period, feature) table, as on the Services page: its period totals show there
# (as shares), the feature totals and the grand total here; a cell hidden on one page is hidden on both
TREND_TOTALS = margins(["period", "feature"])


def trend_table(ctx: Context, start, end) -> pd.DataFrame:
    frame = queries.counts(ctx.version, ctx.filters, start, end, by=("feature",), grain=ctx.filters.grain)
    features = [f for f in FEATURES if not ctx.filters.features or f in ctx.filters.features]
    periods = frame["period"].drop_duplicates() if len(frame) else pd.Series([], dtype="datetime64[ns]")
    # every (period, feature) pair, so a period with no submission shows as a zero, not as a gap
    full = pd.MultiIndex.from_product([periods, features], names=["period", "feature"]).to_frame(index=False)
    return full.merge(frame, on=["period", "feature"], how="left").fillna({"visits": 0})


def kpis(ctx: Context, current, previous) -> None:
    """Cards: total, each service, share of under-14s; changes only between shown numbers."""
    columns = st.columns(2 + len(FEATURES))
    total, total_status = current.grand_total()
    prev_total = previous.grand_total()[0] if previous else None
    delta = change_of(total, prev_total) if previous else None
    columns[0].metric(
        ctx.t("submissions"),
        format_count(total, total_status, ctx.min_cell),
        None if delta is None else f"{delta:+.1%}",
        help=None if total_status == SHOWN else ctx.t(f"suppressed_{total_status}"),
    )
    cur = current.totals[FEATURE_TOTALS].set_index("feature")
    prev = previous.totals[FEATURE_TOTALS].set_index("feature") if previous else None
    for column, feature in zip(columns[1:], FEATURES, strict=False):
        if feature not in cur.index:
            column.metric(ctx.t(feature), "0")
            continue
        value, status = cur.loc[feature, "visits"], cur.loc[feature, "status"]
        d = None
        if prev is not None and feature in prev.index:
            d = change_of(value, prev.loc[feature, "visits"])
        column.metric(
            ctx.t(feature),
            format_count(value, status, ctx.min_cell),
            None if d is None else f"{d:+.1%}",
            help=None if status == SHOWN else ctx.t(f"suppressed_{status}"),
        )
    under = queries.counts(ctx.version, ctx.filters, ctx.start, ctx.end, by=("age_group",))
    # under-14s and everyone else, with their total: a small count hides the share
    groups = under.assign(group=(under["age_group"] == UNDER_14_GROUP).map({True: "under", False: "rest"}))
    groups = groups.groupby("group")[["visits", "key_sum"]].sum().reindex(["under", "rest"], fill_value=0)
    split = gate(groups.reset_index(), ["group"], totals_over=[()], min_cell=ctx.min_cell)
    young_row = split.cells.iloc[0]
    ratio = share(pd.Series([young_row["visits"]]), split.grand_total()[0]).iloc[0]
    status = young_row["status"]
    if not pd.isna(ratio):
        value = f"{ratio:.1%}"
    elif status == SHOWN:
        value = "–"  # no submissions at all, or a hidden total: there is no share to show
    else:
        value = format_count(None, status, ctx.min_cell)
    columns[-1].metric(ctx.t("under_14_share"), value, help=None if status == SHOWN else ctx.t(f"suppressed_{status}"))


def main() -> None:
    ctx = page_start("overview")
    if ctx is None:
        return
    current_frame = trend_table(ctx, ctx.start, ctx.end)
    current = gate(current_frame, ["period", "feature"], totals_over=TREND_TOTALS, min_cell=ctx.min_cell)
    previous = comparison_cells = None
    if ctx.comparison:
        previous_frame = trend_table(ctx, *ctx.comparison)
        previous = gate(previous_frame, ["period", "feature"], totals_over=TREND_TOTALS, min_cell=ctx.min_cell)
        # drawn over the current period: shifted by the distance between the two periods
        comparison_cells = previous.cells.copy()
        comparison_cells["period"] = comparison_cells["period"] + (
            pd.Timestamp(ctx.start) - pd.Timestamp(ctx.comparison[0])
        )
    kpis(ctx, current, previous)
    st.subheader(f"{ctx.t('trend')} ({ctx.t(ctx.filters.grain)})")
    if current.cells.empty:
        st.info(ctx.t("no_data_in_period"))
        return
    figure = charts.lines(
        current.cells,
        "period",
        "feature",
        ctx.lang,
        min_cell=ctx.min_cell,
        comparison=comparison_cells,
        x_title=ctx.t("date"),
    )
    st.plotly_chart(figure, width="stretch", key="overview_trend")
    download(ctx, ["feature"], ctx.filters.grain, "overview_trend", compared=True)
    st.caption(ctx.t("partial_periods"))


main()
