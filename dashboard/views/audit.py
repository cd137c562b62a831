"""Privacy audit: the officer's checks of the store and the exports, run here, with the report to download.

The page calls the same `audit.run_audit` as `python -m etl audit`; its
result is cached per store version and export log state. Findings hold masked
values only.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from contract import TIMEZONE_LABEL
from contract.export_log import export_log_path
from dashboard.store import StoreVersion
from dashboard.ui import batch_log, page_start
from audit import AuditReport, CannotAudit, run_audit
from audit.report import format_figure

# Where the exports to check are kept (optional): the files the export log gives a path for are checked anyway.
EXPORTS_ENV = "GANGNAM_EXPORTS_DIR"
RISK_FIGURES = {
    "audit_smallest_class": ("smallest class", "{:,}"),
    "audit_share_at_risk": ("records at risk (prosecutor risk above 1/k), share", "{:.1%}"),
    "audit_average_risk": ("average prosecutor risk (classes / records)", "{:.3f}"),
    "audit_highest_risk": ("highest prosecutor risk (1 / smallest class)", "{:.3f}"),
}


def _state(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@st.cache_data(max_entries=8, show_spinner=False)
def audited(version: StoreVersion, log: str, log_state: tuple | None, exports: str | None, run: int) -> AuditReport:
    # log_state and run are part of the cache key only: a new export, or the button, runs it again
    return run_audit(Path(version.path), Path(exports) if exports else None, Path(log))


def show_check(ctx, check) -> None:
    badge, text = st.columns([1, 9], vertical_alignment="center")
    with badge:
        if check.passed:
            st.badge(ctx.t("audit_passed"), icon=":material/check_circle:", color="green")
        else:
            st.badge(ctx.t("audit_failed"), icon=":material/error:", color="red")
    text.markdown(f"**{check.number}. {ctx.t('audit_' + check.key)}**  \n{check.summary}")
    if not (check.findings or check.figures or check.notes):
        return
    with st.expander(ctx.t("audit_details"), expanded=not check.passed):
        if check.findings:
            st.markdown(f"**{ctx.t('audit_findings')}** ({len(check.findings):,})")
            st.dataframe(
                pd.DataFrame(
                    [(f.where, f.what) for f in check.findings],
                    columns=[ctx.t("audit_where"), ctx.t("audit_what")],
                ),
                hide_index=True,
                width="stretch",
            )
        if check.figures:
            st.dataframe(
                pd.DataFrame(
                    [(name, format_figure(value)) for name, value in check.figures.items()],
                    columns=[ctx.t("audit_figure"), ctx.t("audit_value")],
                ),
                hide_index=True,
                width="stretch",
            )
        for note in check.notes:
            st.caption(note)


def main() -> None:
    ctx = page_start("audit", with_period=False)
    if ctx is None:
        return
    st.caption(ctx.t("audit_intro"))
    log = export_log_path()
    exports = os.environ.get(EXPORTS_ENV) or None
    runs = st.session_state.setdefault("audit_runs", 0)
    with st.spinner(ctx.t("audit")):
        try:
            report = audited(ctx.version, str(log), _state(log), exports, runs)
        except CannotAudit as error:
            st.error(str(error))
            return
    st.markdown(
        ctx.t("audit_store_line").format(
            path=report.store.path,
            sha=report.store.sha256[:16] + "…",
            when=report.when.strftime(f"%Y-%m-%d %H:%M {TIMEZONE_LABEL}"),
        )
    )
    if report.passed:
        st.success(ctx.t("audit_pass"), icon=":material/verified_user:")
    else:
        st.error(ctx.t("audit_fail"), icon=":material/gpp_bad:")
    for check in report.checks:
        show_check(ctx, check)

    risk = next(check for check in report.checks if check.key == "risk")
    if risk.figures:
        st.subheader(ctx.t("audit_risk_title").format(k=report.thresholds.k))
        for column, (label, (figure, shown)) in zip(st.columns(len(RISK_FIGURES)), RISK_FIGURES.items(), strict=True):
            column.metric(ctx.t(label), shown.format(risk.figures[figure]))

    st.subheader(ctx.t("batch_log"))
    batch_log(ctx)

    st.subheader(ctx.t("audit_report"))
    stamp = report.when.strftime("%Y%m%d-%H%M")
    markdown, data = st.columns(2)
    markdown.download_button(
        "Markdown", report.to_markdown().encode(), f"privacy-audit_{stamp}.md", "text/markdown", key="audit_md"
    )
    data.download_button(
        "JSON", report.to_json().encode(), f"privacy-audit_{stamp}.json", "application/json", key="audit_json"
    )
    if st.button(ctx.t("audit_rerun"), icon=":material/refresh:"):
        st.session_state["audit_runs"] = runs + 1
        st.rerun()


main()
