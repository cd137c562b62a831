"""What every page shares: the sidebar of filters, the store check, the page context."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import pandas as pd
import streamlit as st

from contract import AGE_GROUPS, FEATURES, FILE_FORMATS, GENDERS, MIN_CELL, TIMEZONE_LABEL
from contract.export_log import Author
from dashboard import queries
from dashboard.access import (
    ROLES,
    Settings,
    User,
    expired,
    local_mode_refusal,
    local_user,
    sign_in_configured,
    signed_in_user,
)
from dashboard.filters import (
    COMPARISONS,
    COUNTRY_MODES,
    GRAINS,
    LANGUAGES,
    PRESETS,
    Filters,
    korea_today,
    parse_params,
    to_params,
)
from dashboard.gate import format_count, gate
from dashboard.i18n import country_name, t
from dashboard.store import StoreUnreadable, StoreVersion, any_data, current_version, store_path
from etl.redact import redact

LANGUAGE_NAMES = {"ko": "한국어", "en": "English"}
WIDGETS = (
    "lang",
    "preset",
    "start",
    "end",
    "comparison",
    "grain",
    "countries",
    "country_mode",
    "genders",
    "age_groups",
    "features",
)
# the batch log's formats of a web server access log, whose rows are lines
LOG_FORMATS = tuple(fmt for fmt in FILE_FORMATS if fmt.startswith("access_log"))
# the dimension filters: (dimension, its values, the widget's name)
DIMENSION_FILTERS = (
    ("feature", FEATURES, "features"),
    ("gender", GENDERS, "genders"),
    ("age_group", AGE_GROUPS, "age_groups"),
)
EVERY_DIMENSION = tuple(dimension for dimension, _, _ in DIMENSION_FILTERS)


@dataclass(frozen=True)
class Context:
    """The state a page renders from."""

    filters: Filters
    version: StoreVersion
    today: date
    start: date
    end: date
    comparison: tuple[date, date] | None
    data: tuple[date, date]  # the store's first and last day of data
    anchored: bool = False  # the default period ends on the store's last day, not today
    min_cell: int = MIN_CELL

    @property
    def lang(self) -> str:
        return self.filters.lang

    def t(self, key: str) -> str:
        return t(key, self.lang)


# --- who is signed in -------------------------------------------------------------------------------


def signed_in(settings: Settings, lang: str) -> User:
    """The user of this session; otherwise draws the sign-in, refusal or local-mode refusal page and stops."""
    if not sign_in_configured():
        refusal = local_mode_refusal(st.get_option("server.address"), settings)
        if refusal:
            st.error(refusal)
            st.stop()
        user = local_user()
        banner = "local_mode_network_banner" if settings.allow_local_on_network else "local_mode_banner"
        st.info(t(banner, lang), icon=":material/person:")
    elif not st.user.is_logged_in:
        st.title(t("sign_in_title", lang))
        st.write(t("sign_in_body", lang))
        st.button(t("sign_in_button", lang), on_click=st.login, type="primary", icon=":material/login:")
        st.stop()
    else:
        claims = st.user.to_dict()
        if expired(claims):  # the session lasts as long as the provider's ID token
            st.logout()
            st.stop()
        user = signed_in_user(claims, settings)
        if not user.roles:
            st.title(t("no_role_title", lang))
            st.write(t("no_role_body", lang).format(who=user.email or user.name))
            st.button(t("sign_out", lang), on_click=st.logout, icon=":material/logout:")
            st.stop()
    st.session_state["user"] = user
    return user


def current_user() -> User:
    """The user app.py signed in for this run."""
    return st.session_state["user"]


def role_names(roles, lang: str) -> str:
    return ", ".join(t(f"role_{role}", lang) for role in ROLES if role in roles)


def refusal_page(title: str, needed: frozenset[str], user: User) -> None:
    """What a page's URL draws for a role that lacks its right: the sidebar (its links keep working) and why."""
    filters = sidebar(current_version(), data_filters=False)
    st.title(t("not_for_role_title", filters.lang))
    st.write(
        t("not_for_role_body", filters.lang).format(
            page=title, needed=role_names(needed, filters.lang), roles=role_names(user.roles, filters.lang)
        )
    )


def require(right: str) -> None:
    """A view's own check of its right, besides the navigation's: stops the run for a role without it."""
    user = current_user()
    if not user.may(right):
        lang = st.session_state.get("filters", Filters()).lang
        st.error(t("not_for_role_title", lang))
        st.stop()


def may(right: str) -> bool:
    return current_user().may(right)


def _user_box(lang: str) -> None:
    user = current_user()
    if user.local:
        return
    bar = st.sidebar
    bar.caption(t("signed_in_as", lang).format(who=user.email or user.name, roles=role_names(user.roles, lang)))
    bar.button(t("sign_out", lang), on_click=st.logout, icon=":material/logout:", key="sign_out")


def _key(name: str) -> str:
    return f"filter_{name}"


def _load_widgets(filters: Filters) -> None:
    today = korea_today()
    start, end = filters.period(today)
    values = {
        "lang": filters.lang,
        "preset": filters.preset,
        "start": start,
        "end": end,
        "comparison": filters.comparison,
        "grain": filters.grain,
        "countries": list(filters.countries),
        "country_mode": filters.country_mode,
        "genders": list(filters.genders),
        "age_groups": list(filters.age_groups),
        "features": list(filters.features),
    }
    for name, value in values.items():
        st.session_state[_key(name)] = value


def _sync_from_url() -> list[tuple[str, str]]:
    """Take the filters from the URL when the session starts or the link changes."""
    params = st.query_params.to_dict()
    first = "filters" not in st.session_state
    if not first and (not params or params == st.session_state.get("written_params")):
        return []
    parsed = parse_params(params)
    st.session_state["filters"] = parsed.filters
    _load_widgets(parsed.filters)
    return parsed.notes


def _apply_pending() -> None:
    """A click on a chart asks for a country filter; it applies before the widgets are drawn."""
    pending = st.session_state.pop("pending_country", None)
    if pending:
        st.session_state[_key("countries")] = [pending]
        st.session_state[_key("country_mode")] = "include"


def request_country(code: str) -> None:
    """Filter every page to one country (from a click on the map or a table) and rerun."""
    st.session_state["pending_country"] = code
    # a selection outlives its rerun: new widget keys drop the click once it is used
    st.session_state["country_requests"] = st.session_state.get("country_requests", 0) + 1
    st.rerun()


def selection_key(name: str) -> str:
    """The key of a widget whose selection requests a country; a new one after each request."""
    round_ = st.session_state.get("country_requests", 0)
    return f"{name}_{round_}" if round_ else name


def _country_options(version: StoreVersion | None) -> list[str]:
    if version is None:
        return []
    try:
        frame = queries.country_list(version)
    except StoreUnreadable:
        return []
    return list(frame["country"])


def _always_drawn(dimensions: Sequence[str]) -> tuple[str, ...]:
    """The widgets a page with data filters always draws (the dates only under a custom period)."""
    left_out = {"start", "end", *(name for dim, _, name in DIMENSION_FILTERS if dim not in dimensions)}
    return tuple(name for name in WIDGETS if name not in left_out)


def _restore_widgets(dimensions: Sequence[str]) -> None:
    """Give this page's widgets the state the last page left.

    Streamlit forgets the values of widgets a run did not draw (a page with the
    language switch only draws no filter): the filter state then comes back
    from the last filters; otherwise writing the values back under their keys
    makes the new page's widgets take them over.
    """
    state = st.session_state
    if all(_key(name) in state for name in _always_drawn(dimensions)):
        for name in WIDGETS:
            if _key(name) in state:
                state[_key(name)] = state[_key(name)]
    else:
        lang = state.get(_key("lang"))  # a switch on a page without filters is newer than the last filters
        _load_widgets(state["filters"])
        if lang is not None:
            state[_key("lang")] = lang


def sidebar(
    version: StoreVersion | None, *, data_filters: bool = True, dimensions: Sequence[str] = EVERY_DIMENSION
) -> Filters:
    """Draw the shared filters; returns the state they describe and writes it to the URL.

    `data_filters=False`: a page none of the data filters applies to draws the
    language switch only; `dimensions`: the dimension filters the page's data
    has (web traffic has no gender or age group). A filter not drawn keeps its
    state, and the URL keeps it, for the pages it applies to.
    """
    notes = _sync_from_url()
    _restore_widgets(dimensions)
    _apply_pending()
    lang = st.session_state.get(_key("lang"), "ko")
    bar = st.sidebar
    bar.radio(t("language", lang), LANGUAGES, format_func=LANGUAGE_NAMES.get, horizontal=True, key=_key("lang"))
    lang = st.session_state[_key("lang")]
    filters = (
        _data_filters(version, lang, dimensions) if data_filters else replace(st.session_state["filters"], lang=lang)
    )
    for name, reason in notes:
        bar.warning(t("link_note", lang).format(name=name, reason=t(reason, lang)))
    written = to_params(filters)
    if st.query_params.to_dict() != written:
        st.query_params.from_dict(written)
    state = st.session_state
    state["written_params"] = written
    state["filters"] = filters
    bar.caption(t("times_in", lang))
    _user_box(lang)
    return filters


def _data_filters(version: StoreVersion | None, lang: str, dimensions: Sequence[str]) -> Filters:
    """The period, comparison, grain and dimension filters, drawn in the sidebar."""
    bar = st.sidebar
    bar.subheader(t("filters", lang))
    preset = bar.selectbox(t("period", lang), PRESETS, format_func=lambda p: t(p, lang), key=_key("preset"))
    if preset == "custom":
        left, right = bar.columns(2)
        left.date_input(t("from", lang), key=_key("start"), format="YYYY-MM-DD")
        right.date_input(t("to", lang), key=_key("end"), format="YYYY-MM-DD")
    bar.selectbox(t("comparison", lang), COMPARISONS, format_func=lambda c: t(c, lang), key=_key("comparison"))
    bar.radio(t("grain", lang), GRAINS, format_func=lambda g: t(g, lang), horizontal=True, key=_key("grain"))
    options = sorted(
        set(_country_options(version)) | set(st.session_state.get(_key("countries"), [])),
        key=lambda code: country_name(code, lang),
    )
    everything = t("all", lang)
    bar.multiselect(
        t("country", lang),
        options,
        format_func=lambda c: country_name(c, lang),
        key=_key("countries"),
        placeholder=everything,
    )
    bar.radio(
        t("country_mode", lang),
        COUNTRY_MODES,
        format_func=lambda m: t(m, lang),
        horizontal=True,
        key=_key("country_mode"),
    )
    for dimension, values, name in DIMENSION_FILTERS:
        if dimension in dimensions:
            bar.multiselect(
                t(dimension, lang), values, format_func=lambda v: t(v, lang), key=_key(name), placeholder=everything
            )
    state = st.session_state
    kept = state["filters"]  # a filter this page does not draw keeps its last value
    chosen = {
        name: tuple(state[_key(name)]) if dimension in dimensions else getattr(kept, name)
        for dimension, _, name in DIMENSION_FILTERS
    }
    start, end = state.get(_key("start")), state.get(_key("end"))
    custom = preset == "custom" and isinstance(start, date) and isinstance(end, date) and start <= end
    if preset == "custom" and not custom:
        bar.warning(t("end_before_start", lang))
    return Filters(
        preset=preset if custom or preset != "custom" else Filters().preset,
        start=start if custom else None,
        end=end if custom else None,
        countries=tuple(state[_key("countries")]),
        country_mode=state[_key("country_mode")],
        genders=chosen["genders"],
        age_groups=chosen["age_groups"],
        features=chosen["features"],
        comparison=state[_key("comparison")],
        grain=state[_key("grain")],
        lang=lang,
    )


def empty_store_page(lang: str, unreadable: bool = False) -> None:
    st.title(t("no_store_title", lang))
    st.write(t("unreadable_store" if unreadable else "no_store_body", lang))
    st.code(f"python -m etl load data/raw/*.csv --db {store_path()}", language="bash")


def page_context(*, data_filters: bool = True, dimensions: Sequence[str] = EVERY_DIMENSION) -> Context | None:
    """The context of the page being drawn, or None (with a friendly page) when there is no data."""
    version = current_version()
    filters = sidebar(version, data_filters=data_filters, dimensions=dimensions)
    lang = filters.lang
    if version is None:
        empty_store_page(lang)
        return None
    try:
        if not any_data(version):
            empty_store_page(lang)
            return None
        first, last = queries.data_dates(version)
    except StoreUnreadable:
        empty_store_page(lang, unreadable=True)
        return None
    today = korea_today()
    anchor = data_anchor(filters, today, last)
    start, end = filters.period(anchor)
    comparison = filters.comparison_period(anchor)
    return Context(filters, version, today, start, end, comparison, data=(first, last), anchored=anchor != today)


def data_anchor(filters: Filters, today: date, last: date) -> date:
    """The day the period ends on: today, or the store's last day when its data ended before the default period.

    Only the default view moves, so that a store loaded from an old export opens on its data;
    a chosen preset or a link with dates is never moved.
    """
    if filters.preset == Filters().preset and last < filters.period(today)[0]:
        return last
    return today


def page_start(
    title_key: str, *, with_period: bool = True, dimensions: Sequence[str] = EVERY_DIMENSION
) -> Context | None:
    """The sidebar, then the page's title and period; None (after a friendly page) when there is no data.

    A page without a period (About, the Privacy audit) draws no data filters.
    A period that holds no day of the store's data says so, offers the latest
    period with data, and draws nothing else.
    """
    ctx = page_context(data_filters=with_period, dimensions=dimensions)
    if ctx is None:
        return None
    st.title(ctx.t(title_key))
    if not with_period:
        return ctx
    st.caption(period_caption(ctx))
    first, last = ctx.data
    if ctx.end < first or ctx.start > last:
        st.info(ctx.t("period_without_data").format(first=first.isoformat(), last=last.isoformat()))
        st.button(ctx.t("show_latest_data"), on_click=show_latest_data, type="primary", icon=":material/update:")
        return None
    return ctx


def show_latest_data() -> None:
    """The default period, which ends on the store's last day when its data ended before today's."""
    st.session_state[_key("preset")] = Filters().preset


def period_caption(ctx: Context) -> str:
    text = f"{ctx.start.isoformat()} – {ctx.end.isoformat()}"
    if ctx.comparison:
        text += f"  ·  {ctx.t('comparison')}: {ctx.comparison[0].isoformat()} – {ctx.comparison[1].isoformat()}"
    text += f"  ·  {ctx.t('times_in')}"
    if ctx.anchored:
        text += "  \n" + ctx.t("anchored_period").format(last=ctx.data[1].isoformat())
    return text


def traffic_filters_note(ctx: Context) -> None:
    """Gender and age filters (a link from another page may carry them) said plainly not to apply to web traffic."""
    chosen = [ctx.t(value) for name in ("genders", "age_groups") for value in getattr(ctx.filters, name)]
    if chosen:
        st.info(ctx.t("traffic_filters_not_apply").format(names=", ".join(chosen)), icon=":material/filter_alt_off:")


def download(
    ctx: Context,
    by: list[str],
    period: str | None,
    key: str,
    filters: Filters | None = None,
    *,
    compared: bool = False,
    measure: str = "visits",
    note: bool = True,
    label: str | None = None,
) -> None:
    """A download of what the chart or table above shows: the same selection and the same gate (Excel flavour).

    `compared`: the view shows the sidebar's comparison period too, so the file holds it as well.
    `measure`: the count shown (submissions, or a web traffic count: dashboard.export.table.COUNTS).
    `note=False`: the page states the noise once for several buttons; `label`: the button's, when a view has two.
    The file is built when it is asked for (ChartDownload), not on every run of the page.
    """
    from dashboard.export import applicable, export_filename, log_path

    if may("export"):  # never built for a role without the right: the file never reaches that browser
        comparison = ctx.comparison if compared else None
        filters = applicable(filters or ctx.filters, measure)
        request = ChartDownload(
            ctx.version, filters, tuple(by), period, ctx.start, ctx.end, ctx.lang, comparison,
            log_path(), current_user().author, measure,
        )  # fmt: skip
        name = export_filename(by, period, ctx.start, ctx.end, "excel", ctx.lang, filters.filtered, comparison, measure)
        st.download_button(
            label or ctx.t("download_csv"),
            data=request,
            file_name=name,
            mime="text/csv",
            on_click="ignore",
            icon=":material/download:",
            key=f"download_{key}",
        )
    if note:
        st.caption(ctx.t("perturbed_note"))


@dataclass(frozen=True)
class ChartDownload:
    """A chart's file, built and logged when the browser asks for it (a click on its button).

    Called by Streamlit's media handler outside the page's run: it holds all it needs, the author included.
    """

    version: StoreVersion
    filters: Filters
    by: tuple[str, ...]
    period: str | None
    start: date
    end: date
    lang: str
    comparison: tuple[date, date] | None
    log: Path
    author: Author
    measure: str = "visits"

    def __call__(self) -> bytes:
        from dashboard.export import build_export, log_export

        export = build_export(
            self.version, self.filters, self.by, self.period, self.start, self.end, "excel", self.lang,
            self.comparison, measure=self.measure,
        )  # fmt: skip
        log_export(export, self.log, self.author)
        return export.content


def download_button(ctx: Context, export, key: str, *, primary: bool = False) -> None:
    """The button that hands over an export already built (the Export page previews it); the click logs it."""
    from dashboard.export import log_export, log_path

    if not may("export"):  # never built: the file's bytes never reach the browser
        return
    st.download_button(
        ctx.t("download_csv"),
        data=export.content,
        file_name=export.filename,
        mime="text/csv",
        on_click=log_export,
        args=(export, log_path(), current_user().author),
        icon=":material/download:",
        type="primary" if primary else "secondary",
        key=f"download_{key}",
    )


def gated_batch_counts(log: pd.DataFrame, min_cell: int) -> pd.DataFrame:
    """The rows read, loaded and rejected of each batch, through the gate.

    A small file is a small count of submissions over its dates; read = loaded + rejected
    is a sum shown beside its parts. An access log's lines read also hold lines counted as
    neither (crawlers, assets, health checks) whose keys the store does not keep: not published.
    """
    counts = log.melt(id_vars="batch_id", value_vars=["rows_loaded", "rows_rejected"], var_name="kind")
    keys = log.melt(id_vars="batch_id", value_vars=["loaded_key_sum", "rejected_key_sum"], value_name="key_sum")
    parts = counts.assign(key_sum=keys["key_sum"].to_numpy())
    gated = gate(parts, ["batch_id", "kind"], totals_over=[("batch_id",)], value="value", min_cell=min_cell)
    text = {
        (batch, kind): format_count(visits, status, min_cell)
        for batch, kind, visits, status in gated.cells.itertuples(index=False)
    }
    read = gated.totals[("batch_id",)]
    read_text = {
        batch: format_count(visits, status, min_cell) for batch, visits, status in read.itertuples(index=False)
    }
    log = log.drop(columns=["loaded_key_sum", "rejected_key_sum"])
    for kind in ("rows_loaded", "rows_rejected"):
        log[kind] = [text[batch, kind] for batch in log["batch_id"]]
    log["rows_read"] = log["batch_id"].map(read_text).where(~log["file_format"].isin(LOG_FORMATS), "–")
    return log


def batch_log(ctx: Context) -> None:
    """The batch log as a table: what was loaded, when, rows rejected, whether the source was destroyed."""
    log = queries.batches(ctx.version)
    if may("exact_batches"):  # the officer's record of what was loaded: exact, as the ETL's batch log has it
        log = log.drop(columns=["loaded_key_sum", "rejected_key_sum"])
        for kind in ("rows_read", "rows_loaded", "rows_rejected"):
            log[kind] = log[kind].map("{:,}".format)
    else:
        log = gated_batch_counts(log, ctx.min_cell)
    # the ETL keeps no identifier in a file name; a store written otherwise is not shown one either
    log["file_name"] = log["file_name"].map(redact)
    log["source_destroyed"] = [
        f"✔ {when} ({TIMEZONE_LABEL})" if destroyed else ""
        for destroyed, when in zip(log["source_destroyed"], log.pop("destroyed_at"), strict=True)
    ]
    st.dataframe(
        log.rename(columns={column: ctx.t(f"col_{column}") for column in log.columns}), hide_index=True, width="stretch"
    )
    if log["file_format"].isin(LOG_FORMATS).any():
        st.caption(ctx.t("log_lines_note"))
