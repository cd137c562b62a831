"""Traffic: the web server's access logs — service page views, visitors, and the funnel from viewing to submitting.

What shapes it: a log knows no gender or age group, so the sidebar does not
offer them and a link that carries them is told they do not apply (they stay
in the URL for the other pages); and every number passes the same gate as the
rest of the dashboard, a conversion rate only from two published counts.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import date

import pandas as pd
import streamlit as st

from contract import DEVICES, FEATURES, STEPS
from dashboard import charts, queries
from dashboard.gate import SHOWN, Gated, change_of, format_count, gate, margins, share
from dashboard.i18n import country_name
from dashboard.queries import complete
from dashboard.store import has_data, store_path
from dashboard.ui import Context, download, page_start, traffic_filters_note

# the dimension filters an access log has: the service (and the period and countries every page has)
TRAFFIC_FILTERS = ("feature",)


def gated(
    ctx: Context,
    measure: str,
    by: tuple[str, ...],
    start: date,
    end: date,
    *,
    grain: str | None = None,
    steps: tuple[str, ...] = (),
    values: dict[str, list] | None = None,
) -> Gated:
    """`measure` by `by` (and the grain) through the gate, every margin protected as the exports do.

    `values`: every value of these dimensions, so that a combination nobody made is a zero, not a gap;
    a dimension not given takes the values counted (none at all: nothing to complete, as in a period without data).
    """
    spec = queries.MEASURES[measure]
    frame = queries.counts(ctx.version, ctx.filters, start, end, by=by, grain=grain, measure=measure, steps=steps)
    dims = (["period"] if grain else []) + list(by)
    every = {dim: (values or {}).get(dim) or list(frame[dim].drop_duplicates()) for dim in dims}
    if values and all(every.values()):
        frame = complete(frame, every, [spec.column, spec.key])
    return gate(frame, dims, totals_over=margins(dims), value=spec.column, key=spec.key, min_cell=ctx.min_cell)


@dataclass(frozen=True)
class Funnel:
    """Page views and visitors who viewed and who submitted, by one dimension, with their totals."""

    views: Gated  # by the dimension, the view step only
    visitors: Gated  # by the dimension and the step

    def table(self, dimension: str) -> pd.DataFrame:
        """One row per value: the three published counts, their status, and the conversion."""
        visitors = self.visitors.cells
        viewed = visitors[visitors["step"] == "view"].drop(columns="step")
        submitted = visitors[visitors["step"] == "submit"].drop(columns="step")
        table = (
            self.views.cells.rename(columns={"visits": "views", "status": "views_status"})
            .merge(viewed.rename(columns={"visits": "viewers", "status": "viewers_status"}), on=dimension, how="left")
            .merge(submitted.rename(columns={"visits": "submitters", "status": "submitters_status"}), on=dimension)
        )
        return table.assign(conversion=conversion(table["submitters"], table["viewers"]))

    def totals(self) -> dict[str, tuple[int | None, str]]:
        """The grand total of page views and of each step's visitors, as published."""
        by_step = self.visitors.totals[("step",)].set_index("step")
        totals = {"views": self.views.grand_total()}
        for step, name in (("view", "viewers"), ("submit", "submitters")):
            row = by_step.loc[step]
            totals[name] = (None if pd.isna(row["visits"]) else int(row["visits"]), row["status"])
        return totals


def conversion(submitters: pd.Series, viewers: pd.Series) -> pd.Series:
    """Submitters / viewers where both are shown and viewers > 0, at most 100%: gate.share's rule.

    Both are published counts with noise of their own, so a rate near 100% can come out above it.
    """
    return share(submitters, viewers)


def funnel(ctx: Context, dimension: str, start: date, end: date, values: list[str] | None = None) -> Funnel:
    visitors_frame = queries.counts(ctx.version, ctx.filters, start, end, by=(dimension, "step"), measure="visitors")
    values = values or sorted(visitors_frame[dimension].unique())
    return Funnel(
        gated(ctx, "views", (dimension,), start, end, steps=("view",), values={dimension: values}),
        gated(ctx, "visitors", (dimension, "step"), start, end, values={dimension: values, "step": list(STEPS)}),
    )


def features(ctx: Context) -> list[str]:
    return [f for f in FEATURES if not ctx.filters.features or f in ctx.filters.features]


def kpis(ctx: Context, current: Funnel, previous: Funnel | None) -> None:
    """Cards: page views, visitors who viewed, who submitted, and the conversion; changes between shown numbers."""
    now = current.totals()
    before = previous.totals() if previous else {}
    columns = st.columns(4)
    for column, name in zip(columns, ("views", "viewers", "submitters"), strict=False):
        value, status = now[name]
        delta = change_of(value, before[name][0]) if name in before else None
        column.metric(
            ctx.t(name),
            format_count(value, status, ctx.min_cell),
            None if delta is None else f"{delta:+.1%}",
            help=None if status == SHOWN else ctx.t(f"suppressed_{status}"),
        )
    rate = conversion(pd.Series([now["submitters"][0]], dtype="Float64"), pd.Series([now["viewers"][0]])).iloc[0]
    columns[3].metric(ctx.t("conversion"), "–" if pd.isna(rate) else f"{rate:.1%}", help=ctx.t("conversion_note"))


def over_time(ctx: Context) -> None:
    """Page views and visitors who viewed, by service, over the period (the comparison period dashed)."""
    shift = pd.Timestamp(ctx.start) - pd.Timestamp(ctx.comparison[0]) if ctx.comparison else None
    left, right = st.columns(2)
    for column, measure in ((left, "views"), (right, "visitors")):
        current = gated(
            ctx, measure, ("feature",), ctx.start, ctx.end, grain=ctx.filters.grain, steps=("view",),
            values={"feature": features(ctx)},
        )  # fmt: skip
        comparison_cells = None
        if ctx.comparison:
            previous = gated(
                ctx, measure, ("feature",), *ctx.comparison, grain=ctx.filters.grain, steps=("view",),
                values={"feature": features(ctx)},
            )  # fmt: skip
            if len(previous.cells):  # drawn over the current period: shifted by the distance between the periods
                comparison_cells = previous.cells.assign(period=previous.cells["period"] + shift)
        with column:
            st.caption(ctx.t(measure if measure == "views" else "viewers"))
            figure = charts.lines(
                current.cells, "period", "feature", ctx.lang, min_cell=ctx.min_cell, comparison=comparison_cells,
                x_title=ctx.t("date"), y_title=ctx.t(measure),
            )  # fmt: skip
            # a legend of the services only, in one row at half width: the dotted lines are said below
            figure.update_traces(showlegend=False, selector=lambda trace: trace.line.dash == "dot")
            st.plotly_chart(figure, width="stretch", key=f"traffic_{measure}_over_time")
            # the file holds the submit step beside the view step the chart draws
            download(
                ctx, ["feature", "step"], ctx.filters.grain, f"traffic_{measure}_over_time", compared=True,
                measure=measure, note=False,
            )  # fmt: skip
    if ctx.comparison:
        start, end = ctx.comparison
        st.caption(ctx.t("comparison_dotted").format(start=start.isoformat(), end=end.isoformat()))


def funnel_table(ctx: Context, table: pd.DataFrame, dimension: str, totals: dict | None = None) -> pd.DataFrame:
    """The funnel as a page shows it: labels, counts or `<10`, the conversion where both counts are shown."""

    def label(code: str) -> str:
        return country_name(code, ctx.lang) if dimension == "country" else ctx.t(code)

    def counts(name: str) -> list[str]:
        return [format_count(v, s, ctx.min_cell) for v, s in zip(table[name], table[f"{name}_status"], strict=True)]

    shown = pd.DataFrame(
        {
            ctx.t(dimension): table[dimension].map(label),
            ctx.t("col_views"): counts("views"),
            ctx.t("col_viewers"): counts("viewers"),
            ctx.t("col_submitters"): counts("submitters"),
            ctx.t("conversion"): table["conversion"].map(lambda v: "" if pd.isna(v) else f"{v:.1%}"),
        }
    )
    if totals is not None:
        rate = conversion(pd.Series([totals["submitters"][0]], dtype="Float64"), pd.Series([totals["viewers"][0]]))
        total_row = {
            ctx.t(dimension): ctx.t("total"),
            **{
                ctx.t(f"col_{name}"): format_count(*totals[name], ctx.min_cell)
                for name in ("views", "viewers", "submitters")
            },
            ctx.t("conversion"): "" if pd.isna(rate.iloc[0]) else f"{rate.iloc[0]:.1%}",
        }
        shown = pd.concat([shown, pd.DataFrame([total_row])], ignore_index=True)
    return shown


def funnel_downloads(ctx: Context, by: list[str], key: str) -> None:
    """The files of a funnel table: its page views, and its visitors of each step with the conversion."""
    left, right = st.columns(2)
    for column, measure, rows in ((left, "views", by), (right, "funnel", by)):
        with column:
            label = f"CSV · {ctx.t(f'col_{measure}')}"  # two buttons side by side: short names
            download(ctx, rows, None, f"{key}_{measure}", measure=measure, note=False, label=label)


def by_service(ctx: Context, current: Funnel) -> None:
    left, right = st.columns(2)
    with left:
        figure = charts.bars(
            current.visitors.cells, "feature", "step", ctx.lang, min_cell=ctx.min_cell, stacked=False,
            y_title=ctx.t("visitors"),
        )  # fmt: skip
        figure.update_traces(text=None)
        st.plotly_chart(figure, width="stretch", key="traffic_funnel")
    with right:
        shown = funnel_table(ctx, current.table("feature"), "feature", current.totals())
        st.dataframe(shown, hide_index=True, width="stretch")
    funnel_downloads(ctx, ["feature"], "traffic_funnel")


def by_country(ctx: Context) -> None:
    table = funnel(ctx, "country", ctx.start, ctx.end).table("country")
    # most visitors first by their published numbers; a hidden count after every shown one
    table = table.assign(_name=table["country"].map(lambda c: country_name(c, ctx.lang)))
    table = table.sort_values(["viewers", "_name"], ascending=[False, True], na_position="last")
    st.dataframe(funnel_table(ctx, table, "country"), hide_index=True, width="stretch", height=390)
    funnel_downloads(ctx, ["country"], "traffic_country")


def by_device(ctx: Context) -> None:
    current = funnel(ctx, "device", ctx.start, ctx.end, list(DEVICES))
    figure = charts.bars(
        current.visitors.cells, "device", "step", ctx.lang, min_cell=ctx.min_cell, stacked=False,
        y_title=ctx.t("visitors"),
    )  # fmt: skip
    figure.update_traces(text=None)
    figure.update_layout(height=220)
    st.plotly_chart(figure, width="stretch", key="traffic_devices")
    st.dataframe(funnel_table(ctx, current.table("device"), "device"), hide_index=True, width="stretch")
    funnel_downloads(ctx, ["device"], "traffic_device")


def no_log(ctx: Context) -> None:
    st.subheader(ctx.t("no_log_title"))
    st.write(ctx.t("no_log_body"))
    st.code(f"python -m etl load access.log --db {store_path()}", language="bash")


def covered_comparison(ctx: Context) -> Context:
    """The context without its comparison when the access logs start inside it or after it.

    Logs are often kept for weeks, not years: a comparison period they only partly cover would show a
    rise that is the start of the logs, not of the traffic.
    """
    if ctx.comparison is None:
        return ctx
    first, _ = queries.data_dates(ctx.version, ("page_views",))
    start, end = ctx.comparison
    if start >= first:
        return ctx
    st.caption(
        ctx.t("comparison_before_logs").format(first=first.isoformat(), start=start.isoformat(), end=end.isoformat())
    )
    return dataclasses.replace(ctx, comparison=None)


def main() -> None:
    ctx = page_start("traffic", dimensions=TRAFFIC_FILTERS)
    if ctx is None:
        return
    traffic_filters_note(ctx)
    if not has_data(ctx.version, "page_views"):  # no log loaded, or a store from before the logs
        no_log(ctx)
        return
    ctx = covered_comparison(ctx)
    current = funnel(ctx, "feature", ctx.start, ctx.end, features(ctx))
    if current.visitors.grand_total() == (0, SHOWN):
        st.info(ctx.t("no_traffic_in_period"))
        return
    previous = funnel(ctx, "feature", *ctx.comparison, features(ctx)) if ctx.comparison else None
    kpis(ctx, current, previous)
    st.caption(ctx.t("traffic_note"))
    st.subheader(f"{ctx.t('traffic_over_time')} ({ctx.t(ctx.filters.grain)})")
    over_time(ctx)
    st.subheader(ctx.t("funnel"))
    by_service(ctx, current)
    st.caption(ctx.t("conversion_note"))
    left, right = st.columns([3, 2])
    with left:
        st.subheader(ctx.t("traffic_by_country"))
        by_country(ctx)
    with right:
        st.subheader(ctx.t("traffic_by_device"))
        by_device(ctx)
    st.caption(ctx.t("perturbed_note"))


main()
