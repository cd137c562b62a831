"""Demographics: gender by age group (a pyramid), and the age and gender mix over time."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import streamlit as st

from contract import AGE_GROUPS, FEATURES, GENDERS
from dashboard import charts, queries
from dashboard.gate import format_count, gate, margins
from dashboard.i18n import t
from dashboard.queries import complete
from dashboard.ui import Context, download, page_start

PYRAMID_SIDES = {"female": -1, "male": 1}


def pyramid(ctx: Context, feature: str) -> None:
    filters = ctx.filters if feature == "all" else replace(ctx.filters, features=(feature,))
    frame = queries.counts(ctx.version, filters, ctx.start, ctx.end, by=("gender", "age_group"))
    frame = complete(frame, {"gender": list(GENDERS), "age_group": list(AGE_GROUPS)})
    gated = gate(frame, ["gender", "age_group"], totals_over=[("gender",), ("age_group",), ()], min_cell=ctx.min_cell)
    cells = gated.cells
    sides = cells[cells["gender"].isin(PYRAMID_SIDES)].copy()
    sign = sides["gender"].map(PYRAMID_SIDES).astype(float)
    figure = charts.bars(
        sides,
        "age_group",
        "gender",
        ctx.lang,
        min_cell=ctx.min_cell,
        horizontal=True,
        stacked=True,
        x_title=ctx.t("submissions"),
        y_title="",
        signed=sign,
    )
    figure.update_layout(yaxis={"categoryorder": "array", "categoryarray": [t(a, ctx.lang) for a in AGE_GROUPS]})
    # both sides read as counts: the female side is drawn leftwards, not negative
    reach = float(sides["visits"].astype("Float64").fillna(ctx.min_cell).max() or ctx.min_cell)
    ticks = [round(reach * step / 2) for step in (-2, -1, 0, 1, 2)]
    figure.update_xaxes(tickvals=ticks, ticktext=[f"{abs(tick):,}" for tick in ticks])
    st.plotly_chart(figure, width="stretch", key="demographics_pyramid")
    download(ctx, ["gender", "age_group"], None, "demographics_pyramid", filters)
    # the whole table with its margins: the pyramid leaves out other and unknown
    table = cells.pivot(index="age_group", columns="gender", values="visits").reindex(
        index=list(AGE_GROUPS), columns=list(GENDERS)
    )
    status = cells.pivot(index="age_group", columns="gender", values="status").reindex(
        index=list(AGE_GROUPS), columns=list(GENDERS)
    )
    shown = pd.DataFrame(index=table.index)
    for gender in GENDERS:
        shown[t(gender, ctx.lang)] = [
            format_count(v, s, ctx.min_cell) for v, s in zip(table[gender], status[gender], strict=True)
        ]
    by_age = gated.totals[("age_group",)].set_index("age_group").reindex(list(AGE_GROUPS))
    shown[ctx.t("total")] = [
        format_count(v, s, ctx.min_cell) for v, s in zip(by_age["visits"], by_age["status"], strict=True)
    ]
    by_gender = gated.totals[("gender",)].set_index("gender").reindex(list(GENDERS))
    grand, grand_status = gated.grand_total()
    total_row = [
        format_count(v, s, ctx.min_cell) for v, s in zip(by_gender["visits"], by_gender["status"], strict=True)
    ]
    shown.loc[ctx.t("total")] = [*total_row, format_count(grand, grand_status, ctx.min_cell)]
    shown.index = [t(a, ctx.lang) if a in AGE_GROUPS else a for a in shown.index]
    shown.index.name = ctx.t("age_group")
    st.dataframe(shown, width="stretch")


@st.fragment  # another service redraws the pyramid only, not the mix over time below it
def pyramid_of_a_feature(ctx: Context) -> None:
    feature = st.radio(
        ctx.t("feature"),
        ["all", *FEATURES],
        format_func=lambda f: t(f, ctx.lang),
        horizontal=True,
        key="demographics_feature",
    )
    st.subheader(f"{ctx.t('gender')} × {ctx.t('age_group')}")
    pyramid(ctx, feature)


def mix_over_time(ctx: Context, dimension: str, values: list[str], key: str) -> None:
    frame = queries.counts(ctx.version, ctx.filters, ctx.start, ctx.end, by=(dimension,), grain=ctx.filters.grain)
    if frame.empty:
        st.info(ctx.t("no_data_in_period"))
        return
    frame = complete(frame, {"period": list(frame["period"].drop_duplicates()), dimension: values})
    # the age and gender totals are in the table above: protect every margin, not only the periods'
    gated = gate(frame, ["period", dimension], totals_over=margins(["period", dimension]), min_cell=ctx.min_cell)
    st.plotly_chart(charts.share_bars(gated, "period", dimension, values, ctx.lang), width="stretch", key=key)
    download(ctx, [dimension], ctx.filters.grain, key)


def main() -> None:
    ctx = page_start("demographics")
    if ctx is None:
        return
    pyramid_of_a_feature(ctx)
    left, right = st.columns(2)
    with left:
        st.subheader(f"{ctx.t('age_group')} ({ctx.t('share')})")
        mix_over_time(ctx, "age_group", list(AGE_GROUPS), "demographics_age_mix")
    with right:
        st.subheader(f"{ctx.t('gender')} ({ctx.t('share')})")
        mix_over_time(ctx, "gender", list(GENDERS), "demographics_gender_mix")


main()
