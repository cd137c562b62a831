"""The dashboard's pages through Streamlit's AppTest: rendering, filters, the URL, and the privacy gate.

Stores are built here from raw CSV rows by the real ETL (`etl.load.load`),
with dates relative to Korea's today. Expected numbers come from SQL run
directly on the store (true counts and key sums) through tests/cellkey.py's
reading of the ptable, never from the dashboard's own query layer or gate.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import cellkey
import duckdb
import numpy as np
import pytest
import streamlit as st
from conftest import REPO, raw_row, write_csv
from streamlit.testing.v1 import AppTest

from contract import AGE_GROUPS, FEATURES, GENDERS, MIN_CELL
from dashboard.filters import korea_today
from dashboard.i18n import country_name, t
from etl.generate import generate
from etl.load import load, remove_batch

APP = str(REPO / "dashboard" / "app.py")
PAGES = ("overview", "countries", "demographics", "services", "about")
# with the Export page and the Privacy audit, for the tests that only open pages
EVERY_PAGE = (*PAGES, "export", "audit")
# pages none of the data filters applies to: their sidebar holds the language switch only
NO_FILTER_PAGES = ("about", "audit")
TODAY = korea_today()
# a fixed four-week window that ends yesterday, so that no row is in the future
START, END = TODAY - timedelta(days=28), TODAY - timedelta(days=1)
WINDOW = {"period": "custom", "from": START.isoformat(), "to": END.isoformat(), "lang": "en"}
GENDER_SPELLING = {"female": "F", "male": "M", "other": "other", "unknown": ""}
AGE_OF = {"0-13": 10, "14-19": 16, "20-29": 25, "30-39": 35, "40-49": 45, "50-59": 55, "60-69": 65, "70+": 75}


# --- building stores -----------------------------------------------------------------------------


def submission(day: date, feature: str, country: str, gender: str = "female", age_group: str = "30-39") -> dict:
    """A raw row that lands in exactly the given cell of visit_counts."""
    birth = "" if age_group == "unknown" else f"{day.year - AGE_OF[age_group]}-01-01"
    return raw_row(
        submitted_at=f"{day.isoformat()}T12:00:00+09:00",
        feature=feature,
        residing_country=country,
        gender=GENDER_SPELLING[gender],
        date_of_birth=birth,
    )


def build_store(folder: Path, *files: list[dict]) -> Path:
    """Load each list of rows as one raw file (one batch) into a new store."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "visitors.duckdb"
    raws = [write_csv(folder, rows, name=f"export-{index}.csv") for index, rows in enumerate(files)]
    results = load(raws, db)
    assert [result.status for result in results] == ["loaded"] * len(files)
    return db


def sql(db: Path, query: str, params: list | None = None) -> list[tuple]:
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(query, params or []).fetchall()


def spread(count: int, country: str, days: list[date], seed: int) -> list[dict]:
    """`count` submissions from one country over days, services, genders and ages."""
    rng = np.random.default_rng(seed)
    return [
        submission(
            days[int(rng.integers(len(days)))],
            FEATURES[int(rng.integers(len(FEATURES)))],
            country,
            GENDERS[int(rng.integers(len(GENDERS)))],
            AGE_GROUPS[int(rng.integers(len(AGE_GROUPS)))],
        )
        for _ in range(count)
    ]


WINDOW_DAYS = [START + timedelta(days=offset) for offset in range((END - START).days + 1)]


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    """The demo generator's data (with its dirty rows) over the last 120 days."""
    folder = tmp_path_factory.mktemp("demo")
    raw = generate(folder / "demo.csv", 3000, seed=11, start=TODAY - timedelta(days=120), end=TODAY - timedelta(days=1))
    db = folder / "visitors.duckdb"
    load([raw.path], db)
    return db


@pytest.fixture(scope="module")
def counted_db(tmp_path_factory) -> Path:
    """Known counts, most of them large enough to be shown, inside WINDOW and a little before it."""
    rows = []
    plan = [
        # country, feature, gender, age group, count on each of two days
        ("CN", "coupon", "female", "30-39", 9),
        ("CN", "free_estimate", "female", "20-29", 8),
        ("CN", "self_diagnosis", "male", "40-49", 7),
        ("CN", "coupon", "male", "20-29", 6),
        ("US", "coupon", "female", "30-39", 7),
        ("US", "free_estimate", "male", "20-29", 6),
        ("US", "self_diagnosis", "other", "50-59", 5),
        ("JP", "free_estimate", "female", "20-29", 8),
        ("JP", "coupon", "unknown", "unknown", 6),
        ("TH", "self_diagnosis", "female", "0-13", 6),
        ("VN", "coupon", "male", "70+", 2),
    ]
    for country, feature, gender, age_group, count in plan:
        for day in (START + timedelta(days=3), END - timedelta(days=2)):
            rows += [submission(day, feature, country, gender, age_group)] * count
    # the comparison period: fewer of them, so that changes are shown
    for country, feature, gender, age_group, count in plan[:6]:
        rows += [submission(START - timedelta(days=10), feature, country, gender, age_group)] * count
    return build_store(tmp_path_factory.mktemp("counted"), rows)


@pytest.fixture(scope="module")
def small_db(tmp_path_factory) -> Path:
    """Many small counts: 40 countries with 1 to 9 submissions, a few with more, and a small second batch."""
    rows = []
    small_countries = ["AR", "AU", "BD", "BR", "CA", "CL", "CO", "DE", "EG", "ES", "FI", "FR", "GB", "GR", "ID", "IE",
                       "IL", "IN", "IT", "KE", "KZ", "MA", "MN", "MX", "MY", "NG", "NL", "NO", "NZ", "PE", "PH", "PK",
                       "PL", "PT", "SA", "SE", "SG", "TR", "UA", "ZA"]  # fmt: skip
    for index, country in enumerate(small_countries):
        rows += spread(1 + index % 9, country, WINDOW_DAYS, seed=index)
    for index, (country, count) in enumerate([("CN", 160), ("US", 55), ("JP", 23), ("TH", 12), ("VN", 10)]):
        rows += spread(count, country, WINDOW_DAYS, seed=100 + index)
    # the comparison period has small counts of its own
    rows += spread(30, "CN", [START - timedelta(days=d) for d in range(1, 28)], seed=7)
    rows += spread(4, "RU", [START - timedelta(days=3)], seed=8)
    small_batch = [submission(END - timedelta(days=1), "coupon", "MN", "male", "40-49")] * 3 + [
        raw_row(submitted_at="not a time")
    ]
    return build_store(tmp_path_factory.mktemp("small"), rows, small_batch)


@pytest.fixture(scope="module")
def empty_db(tmp_path_factory) -> Path:
    """A store whose tables exist but hold no rows: its only batch was removed."""
    folder = tmp_path_factory.mktemp("empty")
    db = build_store(folder, [submission(START, "coupon", "CN")])
    remove_batch(db, 1)
    assert sql(db, "select count(*) from visit_counts") == [(0,)]
    return db


# --- driving the app -----------------------------------------------------------------------------


def start_app(monkeypatch, db: Path, params: dict[str, str] | None = None, page: str = "overview") -> AppTest:
    monkeypatch.setenv("GANGNAM_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    for name, value in (params or {}).items():
        at.query_params[name] = value
    if page != "overview":
        at.switch_page(f"views/{page}.py")
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def go_to(at: AppTest, page: str) -> AppTest:
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def metric(at: AppTest, label: str) -> str:
    found = [m.value for m in at.metric if m.label == label]
    assert len(found) == 1, (label, [m.label for m in at.metric])
    return found[0]


def as_count(text: str) -> int:
    assert re.fullmatch(r"\d{1,3}(,\d{3})*", text), text
    return int(text.replace(",", ""))


def published(
    db: Path, condition: str = "", by: tuple[str, ...] = (), period: tuple[date, date] = (START, END)
) -> dict[tuple, int | str]:
    """What every page must show for the stored cells in `period` (WINDOW's) under `condition`, grouped by `by`.

    SQL on the store gives each group's true count and the sum of its cells' key sums; tests/cellkey.py's
    ptable turns them into the published count (`<10` for 1..9). A group with no stored cell is absent.
    """
    where = f"event_date between ? and ?{' and ' + condition if condition else ''}"
    columns = "".join(f"{dim}, " for dim in by)
    rows = sql(
        db,
        f"select {columns}coalesce(sum(visits), 0)::bigint, coalesce(sum(key_sum), 0)::bigint "
        f"from visit_counts where {where}{' group by all' if by else ''}",
        list(period),
    )
    return cellkey.published_from({tuple(row[:-2]): (row[-2], row[-1]) for row in rows})


def expected_text(value: int | str) -> str:
    """How a published count reads on a page: `<10`, or the number with thousands separators."""
    return value if value == cellkey.SMALL else f"{value:,}"


def sidebar_keys(at: AppTest) -> set[str]:
    """The keys of the widgets drawn in the sidebar."""
    bar = at.sidebar
    return {widget.key for kind in (bar.radio, bar.selectbox, bar.multiselect, bar.date_input) for widget in kind}


def query_params(at: AppTest) -> dict[str, str]:
    return {name: (value[-1] if isinstance(value, list) else value) for name, value in at.query_params.items()}


# --- every page renders --------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_page_renders_on_the_demo_store(monkeypatch, demo_db, page, lang):
    at = start_app(monkeypatch, demo_db, {"lang": lang}, page)
    assert [title.value for title in at.title] == [t(page, lang)]
    assert not at.sidebar.warning
    if page != "about":
        assert at.get("plotly_chart") or at.dataframe


@pytest.mark.parametrize(
    "params",
    [
        {"grain": "day", "compare": "last_year", "period": "last_90"},
        {"grain": "month", "compare": "none", "period": "this_year"},
        {"period": "last_7", "country": "CN,US", "country_mode": "exclude", "gender": "female", "age": "0-13"},
        {"period": "last_month", "feature": "coupon,self_diagnosis"},
        {"period": "this_month", "country": "unknown"},
        # a period with no data at all
        {"period": "custom", "from": "2001-01-01", "to": "2001-01-31"},
    ],
)
def test_every_page_renders_under_other_filters(monkeypatch, demo_db, params):
    at = start_app(monkeypatch, demo_db, {**params, "lang": "en"})
    for page in PAGES[1:]:
        go_to(at, page)
        assert not at.sidebar.warning


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_page_on_an_empty_store_shows_the_load_command(monkeypatch, empty_db, page):
    at = start_app(monkeypatch, empty_db, {"lang": "en"}, page)
    assert [title.value for title in at.title] == [t("no_store_title", "en")]
    assert t("no_store_body", "en") in [m.value for m in at.markdown]
    assert [code.value for code in at.code] == [f"python -m etl load data/raw/*.csv --db {empty_db}"]
    assert not at.get("plotly_chart") and not at.dataframe and not at.metric


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_every_page_without_a_store_shows_the_load_command(monkeypatch, tmp_path, page):
    missing = tmp_path / "nowhere" / "visitors.duckdb"
    at = start_app(monkeypatch, missing, {"lang": "en"}, page)
    assert [title.value for title in at.title] == [t("no_store_title", "en")]
    assert [code.value for code in at.code] == [f"python -m etl load data/raw/*.csv --db {missing}"]
    assert not missing.exists(), "the dashboard never creates a store"
    # the filters still work without data, on the pages they apply to
    if page in NO_FILTER_PAGES:
        assert sidebar_keys(at) == {"filter_lang"}
    else:
        assert at.selectbox(key="filter_preset").value == "last_90"


def test_a_file_that_is_not_a_store_says_so(monkeypatch, tmp_path):
    broken = tmp_path / "visitors.duckdb"
    broken.write_bytes(b"this is not a DuckDB file" * 100)
    at = start_app(monkeypatch, broken, {"lang": "en"})
    assert [title.value for title in at.title] == [t("no_store_title", "en")]
    assert t("unreadable_store", "en") in [m.value for m in at.markdown]


def test_the_empty_store_page_in_korean(monkeypatch, tmp_path):
    at = start_app(monkeypatch, tmp_path / "missing.duckdb")
    assert [title.value for title in at.title] == ["아직 데이터가 없습니다"]


# --- filters change the numbers as the store says --------------------------------------------------

FILTER_CASES = [
    ({}, ""),
    ({"country": "CN"}, "country in ('CN')"),
    ({"country": "CN,US"}, "country in ('CN', 'US')"),
    ({"country": "CN", "country_mode": "exclude"}, "country not in ('CN')"),
    ({"country": "CN,JP", "country_mode": "exclude"}, "country not in ('CN', 'JP')"),
    ({"gender": "female"}, "gender in ('female')"),
    ({"gender": "male,other"}, "gender in ('male', 'other')"),
    ({"feature": "coupon"}, "feature in ('coupon')"),
    ({"age": "20-29"}, "age_group in ('20-29')"),
    ({"age": "0-13,70+"}, "age_group in ('0-13', '70+')"),
    (
        {"country": "CN,US", "gender": "female", "feature": "coupon,free_estimate", "age": "30-39,20-29"},
        "country in ('CN', 'US') and gender in ('female') and feature in ('coupon', 'free_estimate') "
        "and age_group in ('30-39', '20-29')",
    ),
    ({"country": "VN"}, "country in ('VN')"),  # a small total
]


@pytest.mark.parametrize(("params", "condition"), FILTER_CASES)
def test_overview_numbers_follow_the_filters(monkeypatch, counted_db, params, condition):
    by_feature = published(counted_db, condition, ("feature",))
    at = start_app(monkeypatch, counted_db, {**WINDOW, **params})
    assert metric(at, "Submissions") == expected_text(published(counted_db, condition)[()])
    chosen = params.get("feature", ",".join(FEATURES)).split(",")
    for feature in FEATURES:
        shown = metric(at, t(feature, "en"))
        if feature not in chosen:
            assert shown == "0"
        else:  # each service's card is its own published total: the cards need not add up to Submissions
            assert shown == expected_text(by_feature.get((feature,), 0))


def test_the_share_of_under_14s(monkeypatch, counted_db):
    # the published under-14s over the published total (each a cell of its own), never the true ratio
    young = published(counted_db, "age_group = '0-13'")[()]
    total = published(counted_db)[()]
    assert young >= MIN_CELL and total >= MIN_CELL
    at = start_app(monkeypatch, counted_db, WINDOW)
    assert metric(at, "Share of under-14s") == f"{young / total:.1%}"
    assert metric(at, "Submissions") == f"{total:,}"
    # 12 under-14s among 16 (once a hidden complement `x`): now two published numbers and their ratio
    chosen = "age_group in ('0-13', '70+') and country in ('VN', 'TH')"
    young, total = published(counted_db, f"{chosen} and age_group = '0-13'")[()], published(counted_db, chosen)[()]
    at = start_app(monkeypatch, counted_db, {**WINDOW, "age": "0-13,70+", "country": "VN,TH"})
    assert metric(at, "Share of under-14s") == f"{young / total:.1%}"
    # fewer than 10 under-14s (the window's first days hold 6): no share, and no count either
    first_days = (START, START + timedelta(days=5))
    assert published(counted_db, "age_group = '0-13'", period=first_days)[()] == cellkey.SMALL
    assert published(counted_db, period=first_days)[()] >= MIN_CELL
    at = start_app(monkeypatch, counted_db, {**WINDOW, "to": first_days[1].isoformat()})
    assert metric(at, "Share of under-14s") == "<10"
    # no submissions at all: nothing to divide
    at = start_app(monkeypatch, counted_db, {**WINDOW, "country": "KR"})
    assert metric(at, "Submissions") == "0"
    assert metric(at, "Share of under-14s") == "–"


@pytest.mark.parametrize(("params", "condition"), FILTER_CASES)
def test_the_countries_table_follows_the_filters(monkeypatch, counted_db, params, condition):
    by_country = {code: value for (code,), value in published(counted_db, condition, ("country",)).items()}
    total = published(counted_db, condition)[()]
    at = start_app(monkeypatch, counted_db, {**WINDOW, **params}, "countries")
    table = at.dataframe[0].value
    names = {country_name(code, "en"): code for code in by_country}
    assert sorted(table["Country"]) == sorted(names)
    for name, text, share in zip(table["Country"], table["Submissions"], table["Share"], strict=True):
        value = by_country[names[name]]
        assert text == expected_text(value), (name, text)
        # the share: the published count over the published total
        shown = value != cellkey.SMALL and total != cellkey.SMALL and total > 0
        assert share == (f"{value / total:.1%}" if shown else ""), (name, share)
    assert [c.value for c in at.caption if c.value.startswith("Total")] == [f"Total: {expected_text(total)}"]


def test_the_comparison_shows_the_change_between_shown_counts(monkeypatch, counted_db):
    at = start_app(monkeypatch, counted_db, {**WINDOW, "country": "CN"})
    current = published(counted_db, "country = 'CN'")[()]
    length = END - START + timedelta(days=1)
    before = published(counted_db, "country = 'CN'", period=(START - length, END - length))[()]
    assert before >= MIN_CELL
    [card] = [m for m in at.metric if m.label == "Submissions"]
    assert card.value == f"{current:,}"
    assert card.proto.delta == f"{(current - before) / before:+.1%}"


def test_demographics_table_matches_the_store(monkeypatch, counted_db):
    at = start_app(monkeypatch, counted_db, WINDOW, "demographics")
    cells = published(counted_db, by=("gender", "age_group"))
    by_age, by_gender = published(counted_db, by=("age_group",)), published(counted_db, by=("gender",))
    table = at.dataframe[0].value
    assert list(table.columns) == [*(t(g, "en") for g in GENDERS), "Total"]
    # every cell and every total published on its own; a cell with nothing stored is a true zero
    for age in AGE_GROUPS:
        for gender in GENDERS:
            text = table.loc[t(age, "en"), t(gender, "en")]
            assert text == expected_text(cells.get((gender, age), 0)), (gender, age, text)
        assert table.loc[t(age, "en"), "Total"] == expected_text(by_age.get((age,), 0)), age
    for gender in GENDERS:
        assert table.loc["Total", t(gender, "en")] == expected_text(by_gender.get((gender,), 0)), gender
    assert table.loc["Total", "Total"] == expected_text(published(counted_db)[()])


# --- the URL --------------------------------------------------------------------------------------


def test_widgets_write_the_filters_to_the_url_and_a_link_reopens_them(monkeypatch, counted_db):
    at = start_app(monkeypatch, counted_db, {"lang": "en"})
    assert query_params(at) == {"lang": "en"}
    at.selectbox(key="filter_preset").set_value("last_30").run()
    assert query_params(at) == {"lang": "en", "period": "last_30"}
    at.selectbox(key="filter_comparison").set_value("last_year")
    at.radio(key="filter_grain").set_value("day")
    at.multiselect(key="filter_countries").set_value(["US", "CN"])
    at.radio(key="filter_country_mode").set_value("exclude")
    at.multiselect(key="filter_genders").set_value(["male"])
    at.multiselect(key="filter_age_groups").set_value(["20-29", "70+"])
    at.multiselect(key="filter_features").set_value(["coupon"])
    at.run()
    assert not at.exception
    written = query_params(at)
    assert written == {
        "lang": "en",
        "period": "last_30",
        "compare": "last_year",
        "grain": "day",
        "country": "US,CN",
        "country_mode": "exclude",
        "gender": "male",
        "age": "20-29,70+",
        "feature": "coupon",
    }
    # the link opens the same view in a new session
    again = start_app(monkeypatch, counted_db, written)
    for key, value in [
        ("filter_countries", ["US", "CN"]),
        ("filter_genders", ["male"]),
        ("filter_age_groups", ["20-29", "70+"]),
        ("filter_features", ["coupon"]),
    ]:
        assert again.multiselect(key=key).value == value
    assert again.selectbox(key="filter_preset").value == "last_30"
    assert again.selectbox(key="filter_comparison").value == "last_year"
    assert again.radio(key="filter_grain").value == "day"
    assert again.radio(key="filter_country_mode").value == "exclude"
    assert [m.value for m in again.metric] == [m.value for m in at.metric]


def test_a_custom_period_chosen_in_the_sidebar_is_written_to_the_url(monkeypatch, counted_db):
    at = start_app(monkeypatch, counted_db, {"lang": "en"})
    at.selectbox(key="filter_preset").set_value("custom").run()
    at.date_input(key="filter_start").set_value(START)
    at.date_input(key="filter_end").set_value(END)
    at.run()
    assert query_params(at) == WINDOW
    # an end before the start is refused with a warning, and the default period is used
    at.date_input(key="filter_end").set_value(START - timedelta(days=1)).run()
    assert not at.exception
    assert [w.value for w in at.sidebar.warning] == [t("end_before_start", "en")]
    assert "from" not in query_params(at)


def test_the_language_switch(monkeypatch, counted_db):
    at = start_app(monkeypatch, counted_db, WINDOW)
    at.radio(key="filter_lang").set_value("ko").run()
    assert [title.value for title in at.title] == ["개요"]
    assert "lang" not in query_params(at)  # Korean is the default
    assert at.metric[0].label == "신청 건수"


@pytest.mark.parametrize(
    ("params", "warned"),
    [
        ({"period": "yesterday"}, ["period"]),
        ({"country": "CN' OR 1=1 --"}, ["country"]),
        ({"gender": "<script>alert(1)</script>", "age": "../../etc/passwd"}, ["gender", "age"]),
        ({"period": "custom", "from": "2025-02-30", "to": "2025-01-01"}, ["from", "period"]),
        ({"period": "custom", "from": "2025-03-31", "to": "2025-03-01"}, ["to"]),
        ({"feature": "newsletter", "grain": "hour", "compare": "x", "country_mode": "all", "lang": "fr"},
         ["country_mode", "feature", "compare", "grain", "lang"]),
        ({"country": ",".join(["CN"] * 5000)}, ["country"]),
    ],
)  # fmt: skip
def test_an_invalid_link_shows_a_warning_and_the_defaults(monkeypatch, counted_db, params, warned):
    for page in ("overview", "countries"):
        at = start_app(monkeypatch, counted_db, params, page)
        warnings = [w.value for w in at.sidebar.warning]
        assert len(warnings) == len(warned), warnings
        for name, warning in zip(warned, warnings, strict=True):
            assert f"`{name}`" in warning
        # nothing of the hostile value is echoed back
        assert not any("<script>" in w or "1=1" in w or "passwd" in w for w in warnings)
        # the URL is rewritten to what is actually shown
        assert "yesterday" not in str(query_params(at)) and "1=1" not in str(query_params(at))
    # the warning is said once, not on every rerun
    at.run()
    assert not at.sidebar.warning


def test_switching_pages_keeps_the_filters(monkeypatch, counted_db):
    at = start_app(monkeypatch, counted_db, WINDOW)
    at.multiselect(key="filter_countries").set_value(["US"])
    at.multiselect(key="filter_genders").set_value(["female", "male"])
    at.radio(key="filter_grain").set_value("month")
    at.run()
    expected = {**WINDOW, "country": "US", "gender": "female,male", "grain": "month"}
    assert query_params(at) == expected
    for page in ("countries", "about", "demographics", "audit", "services", "overview"):
        go_to(at, page)
        assert query_params(at) == expected, page
        if page in NO_FILTER_PAGES:
            assert sidebar_keys(at) == {"filter_lang"}, page
            continue
        assert at.multiselect(key="filter_countries").value == ["US"]
        assert at.multiselect(key="filter_genders").value == ["female", "male"]
        assert at.radio(key="filter_grain").value == "month"
        assert at.date_input(key="filter_start").value == START
    go_to(at, "countries")
    assert list(at.dataframe[0].value["Country"]) == ["United States"]


# --- a store whose data ended long ago ------------------------------------------------------------

OLD_LAST = TODAY - timedelta(days=400)
OLD_DAYS = [OLD_LAST - timedelta(days=offset) for offset in range(60)]
OLD_PERIOD = (OLD_LAST - timedelta(days=89), OLD_LAST)


@pytest.fixture(scope="module")
def old_db(tmp_path_factory) -> Path:
    """Last year's export: two months of data that ended 400 days before today."""
    rows = spread(150, "CN", OLD_DAYS, seed=7) + spread(40, "US", OLD_DAYS, seed=8)
    rows.append(submission(OLD_LAST, "coupon", "JP"))
    return build_store(tmp_path_factory.mktemp("old"), rows)


def map_countries(at: AppTest) -> set[str]:
    """The ISO alpha-3 codes the Countries page's map draws (shown or greyed)."""
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    return {code for trace in figure["data"] if trace["type"] == "choropleth" for code in trace["locations"]}


def test_a_store_whose_data_ended_long_ago_opens_on_its_data(monkeypatch, old_db):
    at = start_app(monkeypatch, old_db, {"lang": "en"})
    caption = at.caption[0].value
    assert caption.startswith(f"{OLD_PERIOD[0]} – {OLD_PERIOD[1]}")
    assert t("anchored_period", "en").format(last=OLD_LAST) in caption
    assert metric(at, "Submissions") == expected_text(published(old_db, period=OLD_PERIOD)[()])
    assert query_params(at) == {"lang": "en"}, "the link stays the default one"
    go_to(at, "countries")
    assert {"CHN", "USA", "JPN"} <= map_countries(at)
    assert set(at.dataframe[0].value["Country"]) == {"China", "United States", "Japan"}


def test_a_store_with_todays_data_is_not_moved(monkeypatch, counted_db):
    at = start_app(monkeypatch, counted_db, {"lang": "en"})
    caption = at.caption[0].value
    assert caption.startswith(f"{TODAY - timedelta(days=89)} – {TODAY}")
    assert t("anchored_period", "en").format(last=END) not in caption


@pytest.mark.parametrize(
    "params",
    [{"period": "last_7"}, {"period": "this_year"}, {"period": "custom", "from": "2025-01-01", "to": "2025-01-31"}],
)
def test_a_period_without_data_says_so_and_one_click_shows_the_latest_data(monkeypatch, old_db, params):
    at = start_app(monkeypatch, old_db, {**params, "lang": "en"})
    first = min(OLD_DAYS)
    shown = [info.value for info in at.info if info.value != t("local_mode_banner", "en")]
    assert shown == [t("period_without_data", "en").format(first=first, last=OLD_LAST)]
    assert not at.metric and not at.get("plotly_chart")
    assert query_params(at) == {**params, "lang": "en"}, "a chosen period is never moved"
    (button,) = at.button
    assert button.label == t("show_latest_data", "en")
    button.click().run()
    assert query_params(at) == {"lang": "en"}
    assert at.caption[0].value.startswith(f"{OLD_PERIOD[0]} – {OLD_PERIOD[1]}")
    assert metric(at, "Submissions") == expected_text(published(old_db, period=OLD_PERIOD)[()])


@pytest.mark.parametrize("page", NO_FILTER_PAGES)
def test_the_language_switch_on_a_page_without_filters_keeps_the_filters(monkeypatch, counted_db, page):
    at = start_app(monkeypatch, counted_db, {**WINDOW, "country": "US"})
    go_to(at, page)
    at.radio(key="filter_lang").set_value("ko").run()
    assert [title.value for title in at.title] == [t(page, "ko")]
    expected = {name: value for name, value in WINDOW.items() if name != "lang"} | {"country": "US"}
    assert query_params(at) == expected
    go_to(at, "overview")
    assert [title.value for title in at.title] == [t("overview", "ko")]
    assert at.multiselect(key="filter_countries").value == ["US"]
    assert query_params(at) == expected


# --- who may see what -------------------------------------------------------------------------------

AUTH = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x" * 32,
                 "client_id": "gangnam", "client_secret": "s",
                 "server_metadata_url": "http://127.0.0.1:9/.well-known/openid-configuration"}}  # fmt: skip


def signed_in_app(monkeypatch, db: Path, groups: list[str] | None, params: dict | None = None, **claims) -> AppTest:
    """The app with sign-in configured and a user signed in holding `groups` (None: signed out)."""
    monkeypatch.setenv("GANGNAM_DB", str(db))
    at = AppTest.from_file(APP, default_timeout=60)
    at.secrets = AUTH
    if groups is None:
        at.user = {"is_logged_in": False}
    else:
        at.user = {"is_logged_in": True, "sub": "u-1", "email": "user@office.example", "groups": groups, **claims}
    for name, value in {"lang": "en", **(params or {})}.items():
        at.query_params[name] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_signed_out_sees_the_sign_in_page_only(monkeypatch, counted_db):
    at = signed_in_app(monkeypatch, counted_db, None)
    assert [title.value for title in at.title] == [t("sign_in_title", "en")]
    assert [button.label for button in at.button] == [t("sign_in_button", "en")]
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe and not at.sidebar.multiselect


@pytest.mark.parametrize("groups", [[], ["visitors"], ["Planner"]])
def test_a_user_with_no_mapped_role_is_refused(monkeypatch, counted_db, groups):
    at = signed_in_app(monkeypatch, counted_db, groups, WINDOW)
    assert [title.value for title in at.title] == [t("no_role_title", "en")]
    assert [button.label for button in at.button] == [t("sign_out", "en")]
    assert not at.metric and not at.get("plotly_chart") and not at.dataframe and not at.sidebar.multiselect


def test_an_expired_id_token_signs_out(monkeypatch, counted_db):
    at = signed_in_app(monkeypatch, counted_db, ["officer"], WINDOW, exp=1_600_000_000)
    assert not at.title and not at.metric and not at.sidebar.multiselect
    assert at.user == {"is_logged_in": False}  # st.logout() ran; a browser is sent to the sign-in page
    at.run()
    assert [title.value for title in at.title] == [t("sign_in_title", "en")]


@pytest.mark.parametrize(
    ("groups", "downloads", "export_log"),
    [(["planner"], False, False), (["manager"], True, False), (["officer"], True, True),
     (["planner", "manager"], True, False)],
)  # fmt: skip
def test_each_role_sees_its_rights(monkeypatch, counted_db, groups, downloads, export_log):
    at = signed_in_app(monkeypatch, counted_db, groups, WINDOW, exp=4_000_000_000)  # an ID token valid till 2096
    assert [title.value for title in at.title] == [t("overview", "en")]
    assert metric(at, "Submissions")
    assert bool(at.download_button) == downloads
    # the line under a chart is shown to everyone; the button only to a role that may download
    assert any(caption.value == t("perturbed_note", "en") for caption in at.caption)
    assert any(caption.value.startswith("Signed in as user@office.example") for caption in at.sidebar.caption)
    assert [button.label for button in at.sidebar.button] == [t("sign_out", "en")]
    assert not any(info.value == t("local_mode_banner", "en") for info in at.info)
    go_to(at, "about")
    assert (t("last_exports", "en") in [header.value for header in at.subheader]) == export_log


def test_the_officer_reads_exact_batch_figures_the_others_perturbed(monkeypatch, small_db):
    def batch_rows(groups):
        at = signed_in_app(monkeypatch, small_db, groups)
        go_to(at, "about")
        return at.dataframe[0].value.set_index("Batch")

    exact = sql(small_db, "select batch_id, rows_read, rows_loaded, rows_rejected from batches order by batch_id")
    officer, planner = batch_rows(["officer"]), batch_rows(["planner"])
    for batch, read, loaded, rejected in exact:
        row = officer.loc[batch]
        assert (row["Rows read"], row["Rows loaded"], row["Rows rejected"]) == (
            f"{read:,}",
            f"{loaded:,}",
            f"{rejected:,}",
        )
    # the small second batch reads `<10` for a planner, as the privacy test of the batch log says
    assert "<10" in set(planner[["Rows loaded", "Rows rejected"]].to_numpy().ravel())


def test_local_mode_has_every_role_and_says_so(monkeypatch, counted_db):
    at = start_app(monkeypatch, counted_db, WINDOW)
    assert [info.value for info in at.info] == [t("local_mode_banner", "en")]
    assert at.download_button
    assert not at.sidebar.button  # no one to sign out
    go_to(at, "about")
    assert t("last_exports", "en") in [header.value for header in at.subheader]


# --- the privacy test -----------------------------------------------------------------------------

# a count from 1 to 9 standing alone: not part of a larger number, a date, a decimal, a share or "<10"
SMALL_NUMBER = re.compile(r"(?<![\w.,:/+\-<])[1-9](?![\w.,:/%\-])")
COUNT_TEXT = re.compile(r"\d{1,3}(,\d{3})*")
COUNT_CARDS = {t(key, lang) for key in ("submissions", *FEATURES) for lang in ("ko", "en")}
BATCH_COUNTS = {t(f"col_{key}", lang) for key in ("rows_read", "rows_loaded", "rows_rejected") for lang in ("ko", "en")}
NAME_COLUMNS = {t("country", "ko"), t("country", "en")}
MAX_SHARE = (MIN_CELL + 2 * cellkey.Ptable.shipped().max_noise) / MIN_CELL
# the line under each chart and table states D ("at most ±3"), not a count
PERTURBED_NOTES = {t("perturbed_note", lang) for lang in ("ko", "en")}


def check_count_text(text: str, where: str) -> None:
    """A cell or card that holds a count shows zero, ten or more, or `<10`."""
    text = str(text)
    if text in (f"<{MIN_CELL}", ""):
        return
    assert COUNT_TEXT.fullmatch(text), f"{where}: {text!r} is not a count"
    value = int(text.replace(",", ""))
    assert value == 0 or value >= MIN_CELL, f"{where}: shows {value}"


def check_free_text(text: str, where: str) -> None:
    found = SMALL_NUMBER.findall(str(text))
    assert not found, f"{where}: {text!r} shows {found}"


def decoded(value: object) -> list:
    """A trace's data array as plain values: plotly writes numeric arrays as base64 typed arrays."""
    if isinstance(value, dict) and "bdata" in value:
        return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
    if isinstance(value, list):
        return [item for element in value for item in decoded(element)]
    return [] if value is None else [value]


SUPPRESSED_NAMES = tuple(f"({t('suppressed', lang)})" for lang in ("ko", "en"))


def drawn_as_suppressed(trace: dict):
    """position -> whether the trace draws that point as suppressed: a marker trace, or a hatched bar."""
    if str(trace.get("name", "")).endswith(SUPPRESSED_NAMES):
        return lambda position: True
    shapes = trace.get("marker", {}).get("pattern", {}).get("shape")
    return lambda position: isinstance(shapes, list) and shapes[position] == "/"


def check_figure(spec: str, where: str) -> int:
    """No count from 1 to 9 in the data of any trace; returns how many suppressed markers there are."""
    figure = json.loads(spec)
    shares = figure["layout"].get("yaxis", {}).get("tickformat") == ".0%"
    markers = 0
    for index, trace in enumerate(figure["data"]):
        here = f"{where} trace {index} ({trace.get('name')})"
        count_axes = ["z"] + (["x"] if trace.get("orientation") == "h" else ["y"])
        suppressed = drawn_as_suppressed(trace)
        for axis in count_axes:
            for position, value in enumerate(decoded(trace.get(axis))):
                if value is None or (isinstance(value, float) and np.isnan(value)):
                    continue
                if shares and axis == "y":
                    # a published part over a published total (each within D of its truth, a shown one >= 10):
                    # a part close to its total can pass 100% by the noise, at most (10 + 2D) / 10
                    assert 0 <= value <= MAX_SHARE, f"{here}: share {value}"
                    continue
                assert isinstance(value, int | float), f"{here}: {axis} holds {value!r}"
                assert abs(value) == int(abs(value)), f"{here}: {axis} holds {value}"
                assert not 1 <= abs(value) < MIN_CELL, f"{here}: {axis} shows {value}"
                # a marker: drawn at the threshold as suppressed (a published 10 is drawn at 10 too, as a count)
                markers += abs(value) == MIN_CELL and suppressed(position)
        for key in ("text", "customdata", "hovertext", "name", "hovertemplate"):
            for value in decoded(trace.get(key)):
                if isinstance(value, str) and COUNT_TEXT.fullmatch(value):
                    check_count_text(value, f"{here} {key}")
                else:
                    check_free_text(value, f"{here} {key}")
    return markers


def check_page(at: AppTest, page: str) -> dict[str, int]:
    """Every count on the page passes the gate; returns how often `<10` is shown (and other texts)."""
    seen = Counter()
    for card in at.metric:
        if page == "about":
            continue  # the load time, the dates covered, the number of batches and the time zone
        if card.label in COUNT_CARDS:
            check_count_text(card.value, f"{page} card {card.label}")
        else:
            assert card.value.endswith("%") or card.value in (f"<{MIN_CELL}", "–"), card.value
        check_free_text(card.proto.delta, f"{page} card delta")
        seen[card.value] += 1
    for frame_element in at.dataframe:
        frame = frame_element.value
        columns = [c for c in frame.columns if c in BATCH_COUNTS] if page == "about" else list(frame.columns)
        for column in columns:
            for text in frame[column].astype(str):
                if text.endswith("%"):
                    continue
                if column not in NAME_COLUMNS:
                    check_count_text(text, f"{page} table {column}")
                seen[text] += 1
        if frame.index.dtype.kind not in "iu":  # the row labels of a table that has them
            for label in frame.index.astype(str):
                check_free_text(label, f"{page} row label")
    texts = [*at.caption, *at.subheader, *at.info, *at.title, *at.warning]
    if page != "about":
        texts += list(at.markdown)  # the About page states the rule itself: "from 1 to 9"
    assert any(element.value in PERTURBED_NOTES for element in at.caption) or not at.get("plotly_chart"), page
    for element in texts:
        if element.value not in PERTURBED_NOTES:
            check_free_text(element.value, f"{page} {element.type}")
    for index, chart in enumerate(at.get("plotly_chart")):
        seen["markers"] += check_figure(chart.proto.spec, f"{page} chart {index}")
    return seen


@pytest.mark.parametrize(
    "params",
    [
        WINDOW,
        {**WINDOW, "grain": "day", "compare": "last_year"},
        {**WINDOW, "grain": "month", "gender": "female,male", "feature": "coupon,free_estimate"},
        {**WINDOW, "country": "CN,US", "country_mode": "exclude", "lang": "ko"},
    ],
)
def test_no_page_shows_a_count_from_1_to_9(monkeypatch, small_db, params):
    # a manager sees every published number and every download (the officer also reads exact batch figures)
    at = signed_in_app(monkeypatch, small_db, ["manager"], params)
    seen = {}
    for page in PAGES:
        go_to(at, page)
        seen[page] = check_page(at, page)
    assert seen["countries"][f"<{MIN_CELL}"] > 10
    assert seen["demographics"][f"<{MIN_CELL}"] > 0
    # where the trend by service holds a small count (it depends on how the window falls on weeks), it is marked
    if small_trend_cells(small_db, params):
        assert seen["overview"]["markers"] + seen["services"]["markers"] > 0


def small_trend_cells(db: Path, params: dict[str, str]) -> int:
    """Cells of the trend by service and period, under the link's filters, from 1 to MIN_CELL - 1 (by SQL)."""
    where, args = ["event_date between ? and ?"], [START, END]
    for name, column in (("gender", "gender"), ("feature", "feature"), ("age", "age_group"), ("country", "country")):
        if name in params:
            negate = "not " if name == "country" and params.get("country_mode") == "exclude" else ""
            where.append(f"{negate}{column} in ({', '.join('?' for _ in params[name].split(','))})")
            args += params[name].split(",")
    grain = {"day": "day", "week": "week", "month": "month"}[params.get("grain", "week")]
    return sql(
        db,
        f"select count(*) from (select date_trunc('{grain}', event_date), feature, sum(visits) as n "
        f"from visit_counts where {' and '.join(where)} group by all) where n between 1 and ?",
        [*args, MIN_CELL - 1],
    )[0][0]


def test_small_counts_read_as_below_ten_exactly_where_they_are_small(monkeypatch, small_db):
    truth = dict(
        sql(
            small_db,
            "select country, sum(visits)::int from visit_counts where event_date between ? and ? group by 1",
            [START, END],
        )
    )
    by_country = {code: value for (code,), value in published(small_db, by=("country",)).items()}
    at = start_app(monkeypatch, small_db, WINDOW, "countries")
    table = at.dataframe[0].value
    by_name = {country_name(code, "en"): code for code in truth}
    shown = dict(zip(table["Country"].map(by_name), table["Submissions"], strict=True))
    assert set(shown) == set(truth)
    for code, count in truth.items():
        if 1 <= count < MIN_CELL:
            assert shown[code] == f"<{MIN_CELL}", code
        else:  # the true count plus the ptable's noise: at most D away, never below 10
            assert shown[code] == expected_text(by_country[code]), code
            assert by_country[code] >= MIN_CELL and abs(by_country[code] - count) <= 3, code
    # the shares of small countries are not shown either
    assert set(table.loc[table["Submissions"] == f"<{MIN_CELL}", "Share"]) == {""}


@pytest.mark.parametrize("country", ["MN", "AR,AU", "FI,FR"])
def test_the_card_of_a_small_total_reads_below_ten(monkeypatch, small_db, country):
    at = start_app(monkeypatch, small_db, {**WINDOW, "country": country})
    assert metric(at, "Submissions") == f"<{MIN_CELL}"
    check_page(at, "overview")
    go_to(at, "countries")
    assert [c.value for c in at.caption if c.value.startswith("Total")] == [f"Total: <{MIN_CELL}"]


def test_the_batch_log_does_not_show_a_small_batch(monkeypatch, small_db):
    at = go_to(signed_in_app(monkeypatch, small_db, ["manager"]), "about")
    log = at.dataframe[0].value
    small = log[log["Batch"] == 2].iloc[0]
    # 3 loaded, 1 rejected, 4 read
    assert (small["Rows read"], small["Rows loaded"], small["Rows rejected"]) == ("<10", "<10", "<10")
    check_page(at, "about")


def cells_of_the_trend(at: AppTest) -> dict[tuple[str, str], str]:
    """{(feature, week): the count as it reads} of the Overview's trend: a drawn point, or `<10` for a marker."""
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    cells = {}
    for trace in figure["data"]:
        name = trace["name"]
        if "(" in name and name.endswith(f"({t('suppressed', 'en')})"):
            cells |= {(name.split(" (")[0], x[:10]): f"<{MIN_CELL}" for x in trace["x"]}
        elif "(" not in name:
            for x, y in zip(trace["x"], decoded(trace["y"]), strict=True):
                if not np.isnan(y):
                    cells[name, x[:10]] = f"{int(y):,}"
    return cells


def cells_of_the_services_bars(at: AppTest) -> dict[tuple[str, str], str]:
    """{(feature, week): the bar's label} of the Services page's bars."""
    figure = json.loads(at.get("plotly_chart")[0].proto.spec)
    cells = {}
    for trace in figure["data"]:
        if "customdata" not in trace:
            continue  # a legend-only entry, no bars
        for x, label in zip(trace["x"], trace["customdata"], strict=True):
            cells[trace["name"], x[:10]] = label
    return cells


def test_a_cell_published_on_one_page_is_the_same_number_on_every_page(monkeypatch, tmp_path):
    monday = TODAY - timedelta(days=TODAY.weekday() + 14)
    first, second = monday, monday + timedelta(days=7)
    # self-diagnosis: 3 in the first week, 20 in the second. The Overview's trend and the Services page's
    # bars show the same (week, service) cells: each must read the same on both (a second, different
    # number for one cell would be a second noisy look at it), and the 3 is `<10` on both.
    rows = (
        [submission(first, "self_diagnosis", "CN")] * 3
        + [submission(second, "self_diagnosis", "CN")] * 20
        + [submission(first, "coupon", "CN")] * 50
        + [submission(second, "coupon", "CN")] * 40
        + [submission(first, "free_estimate", "CN")] * 60
        + [submission(second, "free_estimate", "CN")] * 45
    )
    db = build_store(tmp_path, rows)
    window = (first, second + timedelta(days=6))
    params = {"period": "custom", "from": window[0].isoformat(), "to": window[1].isoformat()}
    at = start_app(monkeypatch, db, {**params, "lang": "en", "compare": "none"})
    by_week = published(db, by=("feature", "date_trunc('week', event_date)::date::varchar"), period=window)
    expected = {(t(feature, "en"), week): expected_text(value) for (feature, week), value in by_week.items()}
    assert expected["Self-diagnosis", first.isoformat()] == f"<{MIN_CELL}"
    assert metric(at, "Self-diagnosis") == expected_text(published(db, "feature = 'self_diagnosis'", period=window)[()])
    overview = cells_of_the_trend(at)
    total = metric(at, "Submissions")
    go_to(at, "services")
    assert cells_of_the_services_bars(at) == overview == expected
    check_page(at, "services")
    # the grand total, asked by the Countries page's own query: the same cells, the same number
    go_to(at, "countries")
    assert [c.value for c in at.caption if c.value.startswith("Total")] == [f"Total: {total}"]
    assert total == expected_text(published(db, period=window)[()])


# --- downloads -----------------------------------------------------------------------------------


@pytest.fixture
def media(monkeypatch) -> list:
    """The in-memory media stores AppTest's runs create, where a download button's bytes are kept."""
    import streamlit.testing.v1.app_test as app_test
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    stores: list[MemoryMediaFileStorage] = []

    class Recorded(MemoryMediaFileStorage):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            stores.append(self)

    monkeypatch.setattr(app_test, "MemoryMediaFileStorage", Recorded)
    return stores


def downloaded(at: AppTest, media: list, key: str) -> tuple[str, bytes]:
    """The file name and bytes a download button of the last run hands over."""
    (button,) = [b for b in at.download_button if b.key == key]
    file = media[-1].get_file(button.proto.url.rsplit("/", 1)[-1])
    return file.filename, file.content


def command_line_export(tmp_path: Path, db: Path, *args: str) -> bytes:
    from dashboard.export import main

    out = tmp_path / "cli.csv"
    assert main(["--db", str(db), *args, "--out", str(out), "--log", str(tmp_path / "cli.log")]) == 0
    return out.read_bytes()


def test_the_export_page_download_is_the_command_line_file_and_the_click_is_logged(
    monkeypatch, counted_db, tmp_path, media
):
    log = tmp_path / "exports.log"
    monkeypatch.setenv("GANGNAM_EXPORT_LOG", str(log))
    at = start_app(monkeypatch, counted_db, {**WINDOW, "country": "CN,US", "gender": "female,male"}, page="export")
    at.selectbox(key="export_period").set_value("week")
    at.multiselect(key="export_by").set_value(["feature", "gender"])
    at.radio(key="export_format").set_value("raw")
    at.run()
    assert not at.exception
    name, content = downloaded(at, media, "download_export")
    period = ["--from", START.isoformat(), "--to", END.isoformat(), "--lang", "en", "--format", "raw"]
    filters = ["--country", "CN,US", "--gender", "female,male", "--compare", "previous"]
    assert content == command_line_export(tmp_path, counted_db, "--by", "feature,gender", "--period", "week",
                                          *period, *filters)  # fmt: skip
    assert name == f"visits_by_feature-gender_week_{START}_{END}_vs_{START - (END - START) - timedelta(days=1)}_" \
        f"{START - timedelta(days=1)}_filtered_raw.csv"  # fmt: skip
    assert not log.exists()  # showing a download is not exporting

    at.download_button(key="download_export").click().run()
    (entry,) = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert entry["sha256"] == hashlib.sha256(content).hexdigest()
    assert (entry["file"], entry["format"]) == (name, "raw")
    assert entry["selection"]["filters"]["countries"] == ["CN", "US"]


@pytest.fixture
def chart_downloads(monkeypatch) -> dict:
    """The file maker each chart's download button was given, by key: what a click would hand over.

    A chart's file is built when the browser asks for it, which AppTest cannot do; the maker is called here instead.
    """
    made = {}
    original = st.download_button

    def recorded(label, data, *args, **kwargs):
        made[kwargs["key"]] = (kwargs["file_name"], data)
        return original(label, data, *args, **kwargs)

    monkeypatch.setattr(st, "download_button", recorded)
    return made


def test_a_table_download_is_the_command_line_file_built_and_logged_when_asked_for(
    monkeypatch, counted_db, tmp_path, chart_downloads
):
    log = tmp_path / "exports.log"
    monkeypatch.setenv("GANGNAM_EXPORT_LOG", str(log))
    at = start_app(monkeypatch, counted_db, {**WINDOW, "compare": "none", "age": "20-29,30-39"}, page="countries")
    assert not at.exception
    name, make = chart_downloads["download_countries_table"]
    assert not log.exists()  # drawing the page builds and logs no file
    content = make()
    period = ["--from", START.isoformat(), "--to", END.isoformat(), "--lang", "en"]
    assert content == command_line_export(tmp_path, counted_db, "--by", "country", *period, "--age", "20-29,30-39")
    assert b"China" in content and content.startswith(b"\xef\xbb\xbf")
    assert name == f"visits_by_country_all_{START}_{END}_filtered_en.csv"
    (entry,) = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    assert (entry["file"], entry["sha256"]) == (name, hashlib.sha256(content).hexdigest())
    assert entry["author"].startswith("local:")


HOSTILE_LINK = {
    "period": "custom",
    "from": "2025-01-01' OR '1'='1",
    "to": "../../../../etc/passwd",
    "country": "KR'); DROP TABLE visit_counts; --",
    "country_mode": "<img src=x onerror=alert(1)>",
    "gender": "<script>alert(document.cookie)</script>",
    "age": "0-13 UNION SELECT * FROM batches",
    "feature": "coupon\x00; ATTACH '/etc/passwd'",
    "compare": "${7*7}",
    "grain": "{{7*7}}",
    "lang": "../../../dashboard/app.py",
}


@pytest.mark.parametrize("page", EVERY_PAGE)
def test_a_hostile_link_changes_nothing_but_the_warnings(monkeypatch, counted_db, page):
    before = hashlib.sha256(counted_db.read_bytes()).hexdigest()
    at = start_app(monkeypatch, counted_db, HOSTILE_LINK, page)
    assert [title.value for title in at.title] == [t(page, "ko")]  # the page, in the default language
    warned = [w.value for w in at.sidebar.warning]
    for name in ("from", "to", "country", "country_mode", "gender", "age", "feature", "compare", "grain", "lang"):
        assert any(f"`{name}`" in warning for warning in warned), name
    shown = " ".join(str(getattr(element, "value", "")) for element in at.main) + " ".join(warned)
    for fragment in ("DROP TABLE", "<script>", "onerror", "UNION", "passwd", "ATTACH", "${7", "{{7"):
        assert fragment not in shown, fragment
    assert not any(fragment in str(query_params(at)) for fragment in ("DROP", "script", "passwd"))
    assert hashlib.sha256(counted_db.read_bytes()).hexdigest() == before
