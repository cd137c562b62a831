"""The Traffic page and the traffic exports: web server access logs through the same gate as the rest.

Stores are built here by the real ETL (`etl.load.load`) from a generated form export and the access
log generated for it (seeded). Expected numbers come from SQL run directly on the store's page_views
(true counts and key sums) through tests/cellkey.py's reading of the ptable, never from the dashboard's
query layer or gate.
"""

from __future__ import annotations

import json
import shutil
from datetime import timedelta
from pathlib import Path

import cellkey
import duckdb
import pytest
from test_dashboard_pages import (
    END,
    START,
    TODAY,
    WINDOW,
    decoded,
    go_to,
    query_params,
    sidebar_keys,
    signed_in_app,
    sql,
    start_app,
)

from contract import DEVICES, FEATURES, MIN_CELL
from dashboard.i18n import country_name, t
from etl.generate import generate
from etl.generate_log import generate_log
from etl.load import load

KEYS = {"views": "views_key_sum", "visitors": "visitors_key_sum"}
SMALL = cellkey.SMALL


# --- stores ----------------------------------------------------------------------------------------


def build(folder: Path, *, log: bool) -> Path:
    """A form export (and, with `log`, the access log of the same traffic) over the 120 days to yesterday."""
    folder.mkdir(parents=True, exist_ok=True)
    period = {"start": TODAY - timedelta(days=120), "end": TODAY - timedelta(days=1)}
    paths = [generate(folder / "demo.csv", 3000, seed=11, **period).path]
    if log:
        generate_log(folder / "access.log", 3000, seed=11, **period)
        paths.append(folder / "access.log")
    db = folder / "visitors.duckdb"
    assert [result.status for result in load(paths, db)] == ["loaded"] * len(paths)
    return db


@pytest.fixture(scope="module")
def traffic_db(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("traffic"), log=True)


@pytest.fixture(scope="module")
def form_only_db(tmp_path_factory) -> Path:
    return build(tmp_path_factory.mktemp("form_only"), log=False)


@pytest.fixture(scope="module")
def old_db(tmp_path_factory, form_only_db) -> Path:
    """A store written before the access logs: no page_views, no page_view_batch_counts."""
    db = tmp_path_factory.mktemp("old") / "visitors.duckdb"
    shutil.copy(form_only_db, db)
    with duckdb.connect(str(db)) as con:
        for name, kind in con.execute(
            "select table_name, table_type from information_schema.tables where table_name like 'page_view%'"
        ).fetchall():
            con.execute(f"drop {'view' if kind == 'VIEW' else 'table'} {name}")
    return db


# --- what the rules publish --------------------------------------------------------------------------


def published(
    db: Path, measure: str, by: tuple[str, ...] = (), *, step: str | None = None, period=(START, END), grain=None
) -> dict[tuple, int | str]:
    """{(week?, *by): the published count} of page_views in `period`, from SQL and the ptable alone."""
    columns = ([f"date_trunc('{grain}', event_date)::date::varchar"] if grain else []) + list(by)
    select = "".join(f"{column}, " for column in columns)
    condition = " and step = ?" if step else ""
    rows = sql(
        db,
        f"select {select}coalesce(sum({measure}), 0)::bigint, coalesce(sum({KEYS[measure]}), 0)::bigint "
        f"from page_views where event_date between ? and ?{condition}{' group by all' if columns else ''}",
        [*period, *([step] if step else [])],
    )
    return cellkey.published_from({tuple(row[:-2]): (row[-2], row[-1]) for row in rows})


def text(value: int | str) -> str:
    return value if value == SMALL else f"{value:,}"


def rate_text(submitted: int | str, viewed: int | str) -> str:
    """The conversion the page may show: only of two shown counts, viewed above zero, at most 100%."""
    if SMALL in (submitted, viewed) or viewed == 0:
        return ""
    return f"{min(submitted / viewed, 1.0):.1%}"


def expected_funnel(db: Path, dimension: str) -> dict[str, tuple[str, str, str, str]]:
    """{code: (page views, visitors who viewed, visitors who submitted, conversion)} as the page reads them."""
    views = published(db, "views", (dimension,), step="view")
    viewed = published(db, "visitors", (dimension,), step="view")
    submitted = published(db, "visitors", (dimension,), step="submit")
    codes = {key[0] for key in viewed} | {key[0] for key in submitted}
    rows = {}
    for code in codes:
        v, s = viewed.get((code,), 0), submitted.get((code,), 0)
        rows[code] = (text(views.get((code,), 0)), text(v), text(s), rate_text(s, v))
    return rows


def table_rows(frame, label_of) -> dict[str, tuple[str, ...]]:
    return {label_of(row[0]): tuple(row[1:]) for row in frame.itertuples(index=False)}


# --- the page ------------------------------------------------------------------------------------------


def open_traffic(monkeypatch, db: Path, params: dict | None = None):
    return start_app(monkeypatch, db, {**WINDOW, "compare": "none", **(params or {})}, "traffic")


def test_the_page_shows_what_the_gate_publishes_from_the_store(monkeypatch, traffic_db):
    at = open_traffic(monkeypatch, traffic_db)
    assert [title.value for title in at.title] == ["Traffic"]
    cards = {m.label: m.value for m in at.metric}
    viewed = published(traffic_db, "visitors", step="view")[()]
    submitted = published(traffic_db, "visitors", step="submit")[()]
    assert cards == {
        "Page views": text(published(traffic_db, "views", step="view")[()]),
        "Visitors who viewed": text(viewed),
        "Visitors who submitted": text(submitted),
        "Conversion": rate_text(submitted, viewed) or "–",
    }
    funnel, countries, devices = (frame.value for frame in at.dataframe)
    # the funnel by service, and its total row: the grand totals, each a cell of its own
    by_feature = expected_funnel(traffic_db, "feature")
    labels = {t(code, "en"): code for code in (*FEATURES, *DEVICES)}
    assert table_rows(funnel, lambda label: labels.get(label, label)) == {
        **by_feature,
        "Total": (
            cards["Page views"],
            cards["Visitors who viewed"],
            cards["Visitors who submitted"],
            cards["Conversion"],
        ),
    }
    # every device, a device nobody used as zeros
    assert table_rows(devices, labels.get) == {
        device: expected_funnel(traffic_db, "device").get(device, ("0", "0", "0", "")) for device in DEVICES
    }
    names = {country_name(code, "en"): code for (code,) in sql(traffic_db, "select distinct country from page_views")}
    assert table_rows(countries, names.get) == expected_funnel(traffic_db, "country")
    assert len(countries) > 20  # the demo log's addresses are spread over many countries


def test_the_lines_over_time_are_the_published_weekly_counts(monkeypatch, traffic_db):
    at = open_traffic(monkeypatch, traffic_db)
    charts = {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}
    for measure in ("views", "visitors"):
        expected = published(traffic_db, measure, ("feature",), step="view", grain="week")
        drawn = {}
        for trace in charts[f"traffic_{measure}_over_time"]["data"]:
            if trace["name"] in {t(f, "en") for f in FEATURES}:
                for x, y in zip(trace["x"], decoded(trace["y"]), strict=True):
                    drawn[x[:10], trace["name"]] = y
            else:  # a suppressed point: a marker at the threshold
                drawn |= {(x[:10], trace["name"].split(" (")[0]): SMALL for x in trace["x"]}
        assert drawn == {(week, t(feature, "en")): value for (week, feature), value in expected.items()}


def test_a_rate_is_shown_only_where_both_counts_are(monkeypatch, traffic_db):
    at = open_traffic(monkeypatch, traffic_db)
    countries = at.dataframe[1].value
    rates = 0
    for _, _views, viewed, submitted, rate in countries.itertuples(index=False):
        hidden = f"<{MIN_CELL}" in (viewed, submitted) or viewed == "0"
        assert (rate == "") == hidden, (viewed, submitted, rate)
        rates += rate != ""
    # the demo log has both: countries with a rate, and small ones without
    assert rates and (countries.iloc[:, 4] == "").any()


def test_the_comparison_period_gives_changes_of_published_numbers(monkeypatch, traffic_db):
    at = open_traffic(monkeypatch, traffic_db, {"compare": "previous"})
    before_period = (START - (END - START) - timedelta(days=1), START - timedelta(days=1))
    for label, measure, step in (
        ("Page views", "views", "view"),
        ("Visitors who viewed", "visitors", "view"),
        ("Visitors who submitted", "visitors", "submit"),
    ):
        now = published(traffic_db, measure, step=step)[()]
        before = published(traffic_db, measure, step=step, period=before_period)[()]
        card = next(m for m in at.metric if m.label == label)
        assert card.delta == f"{(now - before) / before:+.1%}", label
    charts = {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}
    dashed = [tr for tr in charts["traffic_views_over_time"]["data"] if tr.get("line", {}).get("dash")]
    assert len(dashed) == len(FEATURES)


def test_filters_narrow_the_numbers(monkeypatch, traffic_db):
    at = open_traffic(monkeypatch, traffic_db, {"country": "US", "feature": "coupon"})
    condition = "country = 'US' and feature = 'coupon'"
    rows = sql(
        traffic_db,
        f"select sum(visitors)::bigint, sum(visitors_key_sum)::bigint from page_views "
        f"where event_date between ? and ? and step = 'view' and {condition}",
        [START, END],
    )
    expected = cellkey.published_from({(): rows[0]})[()]
    assert next(m.value for m in at.metric if m.label == "Visitors who viewed") == text(expected)
    assert list(at.dataframe[0].value.iloc[:, 0]) == [t("coupon", "en"), "Total"]
    assert list(at.dataframe[1].value.iloc[:, 0]) == ["United States"]


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_gender_and_age_in_the_link_are_said_not_to_apply_and_kept(monkeypatch, traffic_db, lang):
    params = {**WINDOW, "compare": "none", "gender": "female", "age": "0-13", "lang": lang}
    plain = open_traffic(monkeypatch, traffic_db, {"lang": lang})
    at = start_app(monkeypatch, traffic_db, params, "traffic")
    note = t("traffic_filters_not_apply", lang).format(names=f"{t('female', lang)}, {t('0-13', lang)}")
    assert note in [info.value for info in at.info]
    assert not any("web traffic" in info.value or "웹 트래픽" in info.value for info in plain.info)
    # the sidebar does not offer them here; the numbers are those of every visitor
    assert {"filter_genders", "filter_age_groups"}.isdisjoint(sidebar_keys(at))
    assert {"filter_features", "filter_countries"} <= sidebar_keys(at)
    assert [m.value for m in at.metric] == [m.value for m in plain.metric]
    # the URL keeps them for the other pages, where they still filter
    assert query_params(at)["gender"] == "female" and query_params(at)["age"] == "0-13"
    at.radio(key="filter_grain").set_value("month").run()
    assert query_params(at)["gender"] == "female" and query_params(at)["grain"] == "month"
    go_to(at, "demographics")
    assert at.multiselect(key="filter_genders").value == ["female"]
    assert at.multiselect(key="filter_age_groups").value == ["0-13"]
    assert query_params(at)["grain"] == "month"


@pytest.mark.parametrize("store", ["form_only_db", "old_db"])
def test_without_an_access_log_the_page_says_how_to_load_one(monkeypatch, request, store):
    db = request.getfixturevalue(store)
    at = open_traffic(monkeypatch, db)
    assert [title.value for title in at.title] == ["Traffic"]
    assert [header.value for header in at.main.subheader] == [t("no_log_title", "en")]
    assert [code.value for code in at.code] == [f"python -m etl load access.log --db {db}"]
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe and not at.error
    # the other pages are as before
    go_to(at, "overview")
    assert at.metric


def test_a_selection_without_traffic_says_so(monkeypatch, traffic_db):
    # submissions from North Korea, perhaps; page views from its addresses, none
    assert not sql(traffic_db, "select 1 from page_views where country = 'KP'")
    at = open_traffic(monkeypatch, traffic_db, {"country": "KP"})
    assert t("no_traffic_in_period", "en") in [info.value for info in at.info]
    assert not at.metric and not at.get("plotly_chart")


def test_downloads_only_for_a_role_with_the_export_right(monkeypatch, traffic_db):
    planner = go_to(signed_in_app(monkeypatch, traffic_db, ["planner"], {**WINDOW, "compare": "none"}), "traffic")
    assert planner.metric and not planner.download_button
    manager = go_to(signed_in_app(monkeypatch, traffic_db, ["manager"], {**WINDOW, "compare": "none"}), "traffic")
    assert len(manager.download_button) == 8


# --- the About page ------------------------------------------------------------------------------------


def test_the_batch_log_counts_a_log_by_its_lines(monkeypatch, traffic_db):
    planner = go_to(signed_in_app(monkeypatch, traffic_db, ["planner"]), "about")
    log = planner.dataframe[0].value.set_index("Batch")
    ((loaded, key_sum, rejected, rejected_key),) = sql(
        traffic_db,
        "select rows_loaded, (select sum(views_key_sum) from page_view_batch_counts where batch_id = 2), "
        "rows_rejected, rejected_key_sum from batches where batch_id = 2",
    )
    assert loaded == sql(traffic_db, "select sum(views) from page_view_batch_counts where batch_id = 2")[0][0]
    expected = cellkey.published_from({("loaded",): (loaded, key_sum), ("rejected",): (rejected, rejected_key)})
    row = log.loc[2]
    assert row["Format"] == "access_log"
    assert (row["Rows loaded"], row["Rows rejected"]) == (text(expected["loaded",]), text(expected["rejected",]))
    # lines read also count lines no key was kept for (crawlers, assets): not published to a planner
    assert row["Rows read"] == "–"
    assert t("log_lines_note", "en") in [caption.value for caption in planner.caption]
    officer = go_to(signed_in_app(monkeypatch, traffic_db, ["officer"]), "about")
    exact = officer.dataframe[0].value.set_index("Batch").loc[2]
    read = sql(traffic_db, "select rows_read from batches where batch_id = 2")[0][0]
    assert (exact["Rows read"], exact["Rows loaded"]) == (f"{read:,}", f"{loaded:,}")


def test_the_about_page_reads_an_old_store(monkeypatch, old_db):
    at = go_to(signed_in_app(monkeypatch, old_db, ["planner"]), "about")
    assert len(at.dataframe[0].value) == 1
