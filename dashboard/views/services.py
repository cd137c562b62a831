"""Services: the feature mix over time, and which services each country and age group uses."""

from __future__ import annotations

import streamlit as st

from contract import AGE_GROUPS, FEATURES
from dashboard import charts, queries
from dashboard.gate import gate, margins
from dashboard.queries import complete
from dashboard.ui import Context, download, page_start

TOP_COUNTRIES = 15


def features_over_time(ctx: Context) -> None:
    frame = queries.counts(ctx.version, ctx.filters, ctx.start, ctx.end, by=("feature",), grain=ctx.filters.grain)
    if frame.empty:
        st.info(ctx.t("no_data_in_period"))
        return
    frame = complete(frame, {"period": list(frame["period"].drop_duplicates()), "feature": list(FEATURES)})
    # all the margins, as on the Overview (which shows the feature totals): the same cells are hidden on both
    gated = gate(frame, ["period", "feature"], totals_over=margins(["period", "feature"]), min_cell=ctx.min_cell)
    left, right = st.columns(2)
    with left:
        st.caption(ctx.t("submissions"))
        figure = charts.bars(gated.cells, "period", "feature", ctx.lang, min_cell=ctx.min_cell, x_title=ctx.t("date"))
        figure.update_traces(text=None)
        st.plotly_chart(figure, width="stretch", key="services_absolute")
    with right:
        st.caption(ctx.t("share"))
        st.plotly_chart(
            charts.share_bars(gated, "period", "feature", list(FEATURES), ctx.lang),
            width="stretch",
            key="services_share",
        )
    download(ctx, ["feature"], ctx.filters.grain, "services_over_time")


def features_by(ctx: Context, dimension: str, values: list[str], key: str) -> None:
    frame = queries.counts(ctx.version, ctx.filters, ctx.start, ctx.end, by=(dimension, "feature"))
    if frame.empty:
        st.info(ctx.t("no_data_in_period"))
        return
    frame = complete(frame, {dimension: values, "feature": list(FEATURES)})
    # the feature totals are on the Overview, the age totals on Demographics: protect every margin
    gated = gate(frame, [dimension, "feature"], totals_over=margins([dimension, "feature"]), min_cell=ctx.min_cell)
    st.plotly_chart(charts.share_bars(gated, dimension, "feature", list(FEATURES), ctx.lang), width="stretch", key=key)
    download(ctx, [dimension, "feature"], None, key)


def main() -> None:
    ctx = page_start("services")
    if ctx is None:
        return
    st.subheader(f"{ctx.t('feature')} ({ctx.t(ctx.filters.grain)})")
    features_over_time(ctx)
    left, right = st.columns(2)
    with left:
        st.subheader(f"{ctx.t('feature')} × {ctx.t('country')} ({ctx.t('top').format(n=TOP_COUNTRIES)})")
        by_country = queries.counts(ctx.version, ctx.filters, ctx.start, ctx.end, by=("country",))
        top = list(by_country.sort_values("visits", ascending=False)["country"].head(TOP_COUNTRIES))
        if top:
            features_by(ctx, "country", top, "services_by_country")
        else:
            st.info(ctx.t("no_data_in_period"))
    with right:
        st.subheader(f"{ctx.t('feature')} × {ctx.t('age_group')}")
        features_by(ctx, "age_group", list(AGE_GROUPS), "services_by_age")


main()
