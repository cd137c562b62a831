"""Export: a manager picks the rows and the format, previews the table and downloads it as CSV.

The sidebar's period and filters apply. The file is exactly what `python -m
dashboard.export table` writes for the same selection, and each download
appends a line to the export log.
"""

from __future__ import annotations

import io

import pandas as pd
import streamlit as st

from dashboard.export import FORMATS, PERIODS, build_export
from dashboard.export.table import FUNNEL, groupable
from dashboard.i18n import t
from dashboard.queries import TRAFFIC_MEASURES
from dashboard.store import has_data
from dashboard.ui import download_button, page_start, require, traffic_filters_note

NO_PERIOD = "none"


def main() -> None:
    require("export")
    ctx = page_start("export")
    if ctx is None:
        return
    # submissions, and the access logs' page views and visitors when the store has a log
    counts = ["visits", *((*TRAFFIC_MEASURES, FUNNEL) if has_data(ctx.version, "page_views") else ())]
    measure = st.radio(
        ctx.t("export_count"),
        counts,
        format_func=lambda count: ctx.t("funnel_count" if count == FUNNEL else count),
        horizontal=True,
        key="export_count",
        disabled=len(counts) == 1,
    )
    if measure != "visits":
        traffic_filters_note(ctx)
    left, middle, right = st.columns([1, 2, 1])
    period = left.selectbox(
        ctx.t("export_period"),
        [NO_PERIOD, *PERIODS],
        index=3,
        format_func=lambda p: ctx.t("export_no_period") if p == NO_PERIOD else ctx.t(p),
        key="export_period",
    )
    by = middle.multiselect(
        ctx.t("export_rows"),
        list(groupable(measure)),
        default=["feature"],
        format_func=ctx.t,
        # a count's own dimensions: a choice made for another count is not carried over
        key="export_by" if measure == "visits" else f"export_by_{measure}",
    )
    fmt = right.radio(ctx.t("export_format"), FORMATS, format_func=lambda f: ctx.t(f"format_{f}"), key="export_format")
    if not by and period == NO_PERIOD:
        st.info(ctx.t("export_pick_rows"))
        return
    # the sidebar's comparison applies here as on every page
    export = build_export(
        ctx.version,
        ctx.filters,
        by,
        None if period == NO_PERIOD else period,
        ctx.start,
        ctx.end,
        fmt,
        ctx.lang,
        None if measure == FUNNEL else ctx.comparison,  # a funnel's rows compare its two steps
        measure=measure,
    )
    st.caption(f"{export.filename} · {export.rows:,} {ctx.t('export_rows_count')} · SHA-256 {export.sha256[:16]}…")
    preview = pd.read_csv(io.BytesIO(export.content), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    st.dataframe(preview, hide_index=True, width="stretch")
    download_button(ctx, export, "export", primary=True)
    st.caption(t("export_note", ctx.lang))


main()
