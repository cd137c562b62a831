"""Countries: where visitors come from, on a world map and in a table; a click filters every page."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import charts, queries
from dashboard.gate import change, format_count, gate, share
from dashboard.i18n import country_name
from dashboard.settings import TOPOJSON_URL
from dashboard.ui import Context, download, page_start, request_country, selection_key

SORTS = ("visits", "change", "country")


def country_table(ctx: Context):
    current = queries.counts(ctx.version, ctx.filters, ctx.start, ctx.end, by=("country",))
    gated = gate(current, ["country"], totals_over=[()], min_cell=ctx.min_cell)
    table = gated.cells.copy()
    total, _ = gated.grand_total()
    table["share"] = share(table["visits"], total)
    if ctx.comparison:
        previous = queries.counts(ctx.version, ctx.filters, *ctx.comparison, by=("country",))
        before = gate(previous, ["country"], totals_over=[()], min_cell=ctx.min_cell).cells
        table = table.merge(
            before.rename(columns={"visits": "before", "status": "before_status"}), on="country", how="left"
        )
        # a country absent before had zero submissions then: no change can be computed
        table["change"] = change(table["visits"], table["before"].astype("Float64"))
    else:
        table["change"] = pd.NA
    return gated, table


@st.fragment  # a new order reruns the table only, not the map above it
def show_table(ctx: Context, table: pd.DataFrame) -> None:
    label = {"visits": ctx.t("submissions"), "change": ctx.t("change"), "country": ctx.t("country")}
    order = st.radio(
        f"↕ {ctx.t('country')}",
        SORTS,
        format_func=label.get,
        horizontal=True,
        key="countries_sort",
        label_visibility="collapsed",
    )
    if order == "country":
        table = table.assign(_name=table["country"].map(lambda c: country_name(c, ctx.lang))).sort_values("_name")
    else:
        table = table.sort_values(order, ascending=False, na_position="last")
    shown = pd.DataFrame(
        {
            ctx.t("country"): table["country"].map(lambda c: country_name(c, ctx.lang)),
            ctx.t("submissions"): [
                format_count(v, s, ctx.min_cell) for v, s in zip(table["visits"], table["status"], strict=True)
            ],
            ctx.t("share"): table["share"].map(lambda v: "" if pd.isna(v) else f"{v:.1%}"),
            ctx.t("change"): table["change"].map(lambda v: "" if pd.isna(v) else f"{v:+.1%}"),
        }
    )
    event = st.dataframe(
        shown,
        hide_index=True,
        width="stretch",
        on_select="rerun",
        selection_mode="single-row",
        key=selection_key("countries_table"),
    )
    download(ctx, ["country"], None, "countries_table", compared=True)
    rows = event.selection.rows if event else []
    if rows:
        request_country(table.iloc[rows[0]]["country"])


def main() -> None:
    ctx = page_start("countries")
    if ctx is None:
        return
    gated, table = country_table(ctx)
    if table.empty:
        st.info(ctx.t("no_data_in_period"))
        return
    figure = charts.world_map(gated.cells, ctx.lang, min_cell=ctx.min_cell)
    event = st.plotly_chart(
        figure,
        width="stretch",
        key=selection_key("countries_map"),
        on_select="rerun",
        selection_mode="points",
        config={"topojsonURL": TOPOJSON_URL},
    )
    points = event.selection.points if event else []
    if points and points[0].get("customdata"):
        request_country(points[0]["customdata"])
    st.caption(ctx.t("map_note"))
    show_table(ctx, table)
    total, status = gated.grand_total()
    st.caption(f"{ctx.t('total')}: {format_count(total, status, ctx.min_cell)}")


main()
