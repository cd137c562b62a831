"""Privacy audit: the officer's checks of the store and the exports, run here, with the report to download.

The page calls the same `run_audit` as `python -m audit`, through the audit's
public API only (`from audit import ...`), and formats its typed results
itself: checks by their `CheckKey`, figures by their attributes, every label
from dashboard/i18n.py. Its result is cached per store version and export log
state. Findings hold masked values only.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pandas as pd
import streamlit as st

from audit import AuditReport, CannotAudit, Check, Figures, PtableInUse, RiskFigures, run_audit
from contract import TIMEZONE_LABEL
from contract.export_log import export_log_path
from dashboard.store import StoreVersion
from dashboard.ui import Context, batch_log, page_start, require

# Where the exports to check are kept (optional): the files the export log gives a path for are checked anyway.
EXPORTS_ENV = "GANGNAM_EXPORTS_DIR"
# figures shown as a percentage; other ratios with three decimals, counts whole
SHARES = frozenset({"share_at_risk"})


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


def figure_label(ctx: Context, name: str) -> str:
    """The label of a figure, by its attribute name (`RiskFigures.smallest_class` -> audit_figure_smallest_class)."""
    return ctx.t(f"audit_figure_{name}")


def figure_value(name: str, value: int | float) -> str:
    if isinstance(value, float):
        return f"{value:.1%}" if name in SHARES else f"{value:.3f}"
    return f"{value:,}"


def figure_rows(ctx: Context, figures: Figures) -> list[tuple[str, str]]:
    """Every figure of a check as (label, value), in the order of its attributes."""
    rows = []
    for item in dataclasses.fields(figures):
        value = getattr(figures, item.name)
        if isinstance(value, dict):  # PatternFigures.found: pattern kind -> count
            rows += [(figure_label(ctx, item.name).format(kind=kind), f"{n:,}") for kind, n in value.items()]
        else:
            rows.append((figure_label(ctx, item.name), figure_value(item.name, value)))
    return rows


def show_risk(ctx: Context, risk: RiskFigures) -> None:
    st.subheader(ctx.t("audit_risk_title").format(k=risk.k))
    cards = (
        ("smallest_class", risk.smallest_class),
        ("share_at_risk", risk.share_at_risk),
        ("average_risk", risk.average_risk),
        ("highest_risk", risk.highest_risk),
    )
    for column, (name, value) in zip(st.columns(len(cards)), cards, strict=True):
        column.metric(figure_label(ctx, name), figure_value(name, value))


def ptable_rows(ctx: Context, ptable: PtableInUse) -> list[tuple[str, str]]:
    """The perturbation table's parameters as (label, value), in the order of its attributes."""
    rows = []
    for item in dataclasses.fields(ptable):
        value = getattr(ptable, item.name)
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        rows.append((ctx.t(f"audit_ptable_{item.name}"), shown))
    return rows


def show_ptable(ctx: Context, ptable: PtableInUse) -> None:
    st.subheader(ctx.t("audit_ptable_title"))
    st.caption(ctx.t("audit_ptable_intro"))
    st.dataframe(
        pd.DataFrame(ptable_rows(ctx, ptable), columns=[ctx.t("audit_figure"), ctx.t("audit_value")]),
        hide_index=True,
        width="stretch",
    )


def show_check(ctx: Context, check: Check) -> None:
    badge, text = st.columns([1, 9], vertical_alignment="center")
    with badge:
        if check.passed:
            st.badge(ctx.t("audit_passed"), icon=":material/check_circle:", color="green")
        else:
            st.badge(ctx.t("audit_failed"), icon=":material/error:", color="red")
    title = ctx.t(f"audit_{check.key.value}")
    text.markdown(f"**{check.number}. {title}**  \n{check.summary}")
    if not (check.findings or check.figures is not None or check.notes):
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
        if check.figures is not None:
            st.dataframe(
                pd.DataFrame(figure_rows(ctx, check.figures), columns=[ctx.t("audit_figure"), ctx.t("audit_value")]),
                hide_index=True,
                width="stretch",
            )
        for note in check.notes:
            st.caption(note)


def main() -> None:
    require("audit")
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

    risk = report.figures(RiskFigures)
    if risk is not None:
        show_risk(ctx, risk)
    show_ptable(ctx, report.ptable)

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
