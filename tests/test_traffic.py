"""The Traffic page and the traffic exports: web server access logs through the same gate as the rest.

Stores are built here by the real ETL (`etl.load.load`) from a generated form export and the access
log generated for it (seeded). Expected numbers come from SQL run directly on the store's page_views
(true counts and key sums) through tests/cellkey.py's reading of the ptable, never from the dashboard's
query layer or gate.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import shutil
import zipfile
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
    check_count_text,
    check_figure,
    check_free_text,
    decoded,
    go_to,
    query_params,
    sidebar_keys,
    signed_in_app,
    sql,
    start_app,
)

from audit import load_thresholds, run_audit
from contract import DEVICES, FEATURES, MIN_CELL
from contract.export_log import Author
from dashboard.export import applicable, build_export
from dashboard.export import main as export_main
from dashboard.filters import Filters
from dashboard.i18n import country_name, t
from dashboard.store import current_version
from dashboard.ui import ChartDownload
from etl.generate import generate
from etl.generate_log import generate_log
from etl.load import load

KEYS = {"views": "views_key_sum", "visitors": "visitors_key_sum"}
SMALL = cellkey.SMALL


# --- stores ----------------------------------------------------------------------------------------


def build(folder: Path, *, log: bool, forms: bool = True) -> Path:
    """A form export (and, with `log`, the access log of the same traffic) over the 120 days to yesterday."""
    folder.mkdir(parents=True, exist_ok=True)
    period = {"start": TODAY - timedelta(days=120), "end": TODAY - timedelta(days=1)}
    paths = [generate(folder / "demo.csv", 3000, seed=11, **period).path] if forms else []
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


@pytest.mark.parametrize("grain", ["day", "week"])
def test_no_count_from_1_to_9_on_the_page(monkeypatch, traffic_db, grain):
    # the countries with fewer than ten visitors who viewed in the window: small cells everywhere
    small = [code for (code,) in sql(
        traffic_db,
        "select country from page_views where event_date between ? and ? and step = 'view' group by country "
        "having sum(visitors) between 1 and 9 order by country limit 12",
        [START, END],
    )]  # fmt: skip
    assert len(small) == 12
    at = open_traffic(monkeypatch, traffic_db, {"country": ",".join(small), "grain": grain, "compare": "previous"})
    marks = 0
    for card in at.metric:
        if card.label != "Conversion":
            check_count_text(card.value, f"card {card.label}")
        check_free_text(card.proto.delta, "card delta")
    for frame in (element.value for element in at.dataframe):
        for column in frame.columns[1:4]:  # views, viewers, submitters; the first names, the last is a rate
            for text in frame[column]:
                check_count_text(text, column)
                marks += text == f"<{MIN_CELL}"
    for element in [*at.caption, *at.info, *at.subheader]:
        if element.value != t("perturbed_note", "en"):
            check_free_text(element.value, element.type)
    markers = sum(check_figure(chart.proto.spec, chart.key) for chart in at.get("plotly_chart"))
    assert marks > 0 and markers > 0


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


# --- exports ---------------------------------------------------------------------------------------------


def raw_export(db: Path, folder: Path, measure: str, by: str, period: str | None = None) -> bytes:
    args = cellkey.table_args(db, by.split(","), period, START, END)
    return cellkey.Exporter(db, folder).bytes_of([*args, "--count", measure])


@pytest.mark.parametrize(
    ("measure", "by", "period"),
    [("views", "feature,step", "week"), ("visitors", "feature,step", None), ("visitors", "country,step", None),
     ("visitors", "device,step", None), ("views", "device", "month")],
)  # fmt: skip
def test_a_traffic_export_is_the_store_through_the_gate(traffic_db, tmp_path, measure, by, period):
    content = raw_export(traffic_db, tmp_path, measure, by, period)
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
    dims = ([f"event_{period}"] if period else []) + ["country_code" if d == "country" else d for d in by.split(",")]
    assert rows[0] == [*dims, measure, "suppressed"]
    found = {tuple(row[:-2]): SMALL if row[-1] == "true" else int(row[-2]) for row in rows[1:]}
    assert found == published(traffic_db, measure, tuple(by.split(",")), grain=period)


def test_the_traffic_export_bytes(traffic_db, tmp_path):
    """The funnel by device as Excel reads it: every count what the rules publish, written out in full."""
    args = cellkey.table_args(traffic_db, ["device", "step"], None, START, END, fmt="excel")
    content = cellkey.Exporter(traffic_db, tmp_path).bytes_of([*args, "--count", "visitors"])
    cells = published(traffic_db, "visitors", ("device", "step"))
    lines = ["Device,Step,Visitors"]
    for device, step in sorted(cells):  # by code, as every export orders its rows
        lines.append(f"{t(device, 'en')},{t(step, 'en')},{cells[device, step]}")
    lines += [
        f"Total,,{published(traffic_db, 'visitors')[()]}",
        "",
        t("times_in", "en"),
        f"<{MIN_CELL}: {t('suppressed_small', 'en')}",
        t("perturbed_note", "en"),
        f'"{t("traffic_note", "en")}"',  # it holds commas
    ]
    assert content.decode("utf-8") == "\ufeff" + "".join(f"{line}\r\n" for line in lines)


def test_a_traffic_export_refuses_gender_and_age(traffic_db, tmp_path, capsys):
    args = cellkey.table_args(traffic_db, ["feature"], None, START, END)
    out, log = tmp_path / "x.csv", tmp_path / "exports.log"
    with pytest.raises(SystemExit) as refused:
        export_main([*args, "--count", "views", "--gender", "female", "--out", str(out), "--log", str(log)])
    assert refused.value.code == 2 and not out.exists() and not log.exists()
    assert "do not apply to web traffic" in capsys.readouterr().err


def test_a_page_download_is_the_export_of_the_same_selection(traffic_db, tmp_path):
    version = current_version(traffic_db)
    with_gender = Filters(preset="custom", start=START, end=END, genders=("female",), lang="en")
    request = ChartDownload(
        version, applicable(with_gender, "visitors"), ("country", "step"), None, START, END, "en", None,
        tmp_path / "exports.log", Author("u-1", None), "visitors",
    )  # fmt: skip
    # gender does not apply to web traffic: the file is that of the unfiltered selection
    unfiltered = build_export(
        version, Filters(preset="custom", start=START, end=END), ["country", "step"], None, START, END, "excel", "en",
        measure="visitors",
    )  # fmt: skip
    assert request() == unfiltered.content
    (line,) = (tmp_path / "exports.log").read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["selection"]["measure"] == "visitors"
    assert json.loads(line)["selection"]["filters"]["genders"] == []


# --- the officer's audit ---------------------------------------------------------------------------------


# the funnel in both flavours, by period and filtered: the Traffic page's tables with their conversion
TABLES = {
    "funnel-device.csv": ["--count", "funnel", "--by", "device", "--lang", "en"],
    "funnel-week.csv": ["--count", "funnel", "--by", "feature", "--period", "week", "--format", "raw"],
    "funnel-country.csv": ["--count", "funnel", "--by", "country", "--country", "US,CN,JP", "--lang", "ko"],
}


@pytest.fixture(scope="module")
def exported(traffic_db, tmp_path_factory) -> tuple[Path, Path]:
    """Traffic tables in both flavours, with a comparison and filters, and a month's pack, with their log."""
    folder = tmp_path_factory.mktemp("traffic_exports")
    log = folder / "exports.log"
    period = ["--from", START.isoformat(), "--to", END.isoformat()]
    tables = {
        **TABLES,
        "views-week.csv": ["--count", "views", "--by", "feature,step", "--period", "week", "--compare", "previous"],
        "visitors-country.csv": ["--count", "visitors", "--by", "country,step", "--format", "raw", "--country", "US,CN",
                                 "--country-mode", "exclude"],
        "visitors-device.csv": ["--count", "visitors", "--by", "device", "--lang", "en", "--feature", "coupon"],
    }  # fmt: skip
    for name, args in tables.items():
        out = ["--out", str(folder / name), "--log", str(log)]
        assert export_main(["table", "--db", str(traffic_db), *args, *period, *out]) == 0
    month = ["--month", END.strftime("%Y-%m"), "--out", str(folder), "--log", str(log)]
    assert export_main(["pack", "month", "--db", str(traffic_db), *month]) == 0
    return folder, log


def exports_check(db: Path, folder: Path, log: Path):
    (check,) = [c for c in run_audit(db, folder, log, load_thresholds(None)).checks if c.key == "exports"]
    return check


def test_the_pack_holds_the_traffic_tables_when_the_store_has_a_log(exported, form_only_db, tmp_path):
    folder, _ = exported
    with zipfile.ZipFile(next(folder.glob("*.zip"))) as pack:
        names = [name.split("_20")[0] for name in pack.namelist() if name.endswith(".csv")]
    assert names == [
        "visits_by_feature_day", "visits_by_country_all", "visits_by_gender-age_group_all",
        "visits_by_feature-country_all", "views_by_feature-step_day", "visitors_by_feature-step_day",
        "funnel_by_feature_all", "funnel_by_country_all", "funnel_by_device_all",
    ]  # fmt: skip
    month = ["--month", END.strftime("%Y-%m"), "--out", str(tmp_path), "--log", str(tmp_path / "log")]
    assert export_main(["pack", "month", "--db", str(form_only_db), *month]) == 0
    with zipfile.ZipFile(next(tmp_path.glob("*.zip"))) as pack:
        assert not [name for name in pack.namelist() if name.startswith(("views", "visitors"))]


def test_the_audit_recomputes_traffic_exports_and_packs(traffic_db, exported):
    check = exports_check(traffic_db, *exported)
    assert check.passed, [f"{f.where}: {f.what}" for f in check.findings]
    assert check.figures.files_recomputed == len(TABLES) + 3 + 9  # the tables, then the pack's


def relogged(exported: tuple[Path, Path], folder: Path, log: Path, change) -> None:
    """The exports and their log copied to `folder` and `log`, each entry through `change` (entry, path)."""
    shutil.copytree(exported[0], folder)
    lines = []
    for line in exported[1].read_text(encoding="utf-8").splitlines():
        entry = json.loads(line)
        path = folder / Path(entry["path"]).name
        entry["path"] = str(path)
        change(entry, path)
        lines.append(json.dumps(entry))
    log.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_audit_finds_a_traffic_count_changed_after_export(traffic_db, exported, tmp_path):
    folder, log = tmp_path / "exports", tmp_path / "exports.log"
    planted = {}

    def change(entry, path):
        if path.name != "visitors-country.csv":
            return
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert rows[0][2:4] == ["visitors", "suppressed"]
        number = next(i for i, row in enumerate(rows[1:], 1) if row[3] == "false" and int(row[2]) >= 20)
        rows[number][2] = str(int(rows[number][2]) + 1)
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_bytes(out.getvalue().encode("utf-8"))
        # a careless writer's log line: the new bytes' hash
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        planted["where"] = f"{path} row {number + 1} visitors: published "

    relogged(exported, folder, log, change)
    findings = [f"{f.where}: {f.what}" for f in exports_check(traffic_db, folder, log).findings]
    assert len(findings) == 1 and findings[0].startswith(planted["where"]), findings


def test_the_audit_refuses_a_traffic_selection_by_gender(traffic_db, exported, tmp_path):
    def change(entry, path):
        if path.name == "visitors-device.csv":
            entry["selection"]["filters"]["genders"] = ["female"]

    folder, log = tmp_path / "exports", tmp_path / "exports.log"
    relogged(exported, folder, log, change)
    findings = [f"{f.where}: {f.what}" for f in exports_check(traffic_db, folder, log).findings]
    assert findings == [
        f"{folder / 'visitors-device.csv'}: its logged selection cannot be read: "
        "the filter 'genders' does not apply to visitors (page_views)"
    ]


def test_the_export_page_exports_a_traffic_count(monkeypatch, traffic_db, form_only_db):
    at = start_app(monkeypatch, traffic_db, {**WINDOW, "compare": "none", "gender": "female"}, "export")
    assert at.radio(key="export_count").options == [
        "Submissions",
        "Page views",
        "Visitors",
        "Funnel (viewed → submitted)",
    ]
    assert not at.info[1:]  # nothing said of gender while submissions are counted
    at.radio(key="export_count").set_value("visitors").run()
    at.multiselect(key="export_by_visitors").set_value(["device", "step"])
    at.selectbox(key="export_period").set_value("none")
    at.run()
    assert t("traffic_filters_not_apply", "en").format(names="Female") in [info.value for info in at.info]
    preview = at.dataframe[0].value
    assert list(preview.columns) == ["Device", "Step", "Visitors"]
    cells = published(traffic_db, "visitors", ("device", "step"))
    assert {(row[0], row[1]): row[2] for row in preview.itertuples(index=False) if row[1]} == {
        (t(device, "en"), t(step, "en")): str(value) for (device, step), value in cells.items()
    }
    # a store without a log offers submissions only
    at = start_app(monkeypatch, form_only_db, {**WINDOW, "compare": "none"}, "export")
    assert at.radio(key="export_count").options == ["Submissions"] and at.radio(key="export_count").disabled


def test_a_comparison_period_without_data_draws_the_page_without_changes(monkeypatch, traffic_db):
    first = sql(traffic_db, "select min(event_date) from page_views")[0][0]
    window = {"from": first.isoformat(), "to": (first + timedelta(days=27)).isoformat(), "compare": "previous"}
    at = open_traffic(monkeypatch, traffic_db, window)
    assert [m.label for m in at.metric] == ["Page views", "Visitors who viewed", "Visitors who submitted", "Conversion"]
    assert all(not m.delta for m in at.metric)  # nothing to change from
    assert len(at.get("plotly_chart")) == 4 and len(at.dataframe) == 3


def test_a_comparison_period_the_logs_only_partly_cover_is_not_compared(monkeypatch, traffic_db):
    """Logs kept for weeks: a comparison reaching back before them would show the logs' start as a rise."""
    first = sql(traffic_db, "select min(event_date) from page_views")[0][0]
    window = {"from": (first + timedelta(days=10)).isoformat(), "to": (first + timedelta(days=37)).isoformat()}
    at = open_traffic(monkeypatch, traffic_db, {**window, "compare": "previous"})
    assert all(not m.delta for m in at.metric)
    before = (first - timedelta(days=18), first + timedelta(days=9))
    assert t("comparison_before_logs", "en").format(
        first=first.isoformat(), start=before[0].isoformat(), end=before[1].isoformat()
    ) in [caption.value for caption in at.caption]
    charts = {chart.key: json.loads(chart.proto.spec) for chart in at.get("plotly_chart")}
    assert not [tr for tr in charts["traffic_views_over_time"]["data"] if tr.get("line", {}).get("dash")]


def test_a_funnel_export_is_the_page_s_table(monkeypatch, traffic_db, exported):
    """The funnel by device: every count and conversion as the Traffic page's table shows them."""
    rows = list(csv.reader(io.StringIO((exported[0] / "funnel-device.csv").read_text(encoding="utf-8-sig"))))
    assert rows[0] == ["Device", "Visitors who viewed", "Visitors who submitted", "Conversion (%)"]
    page = table_rows(open_traffic(monkeypatch, traffic_db).dataframe[2].value, {t(d, "en"): d for d in DEVICES}.get)
    body = rows[1 : rows.index([])]
    total = body.pop()
    exported_rows = {
        label_code: (viewed, submitted, f"{float(rate):.1f}%" if rate else "")
        for (label_code, viewed, submitted, rate) in ((row[0], *row[1:]) for row in body)
    }
    assert exported_rows == {
        t(device, "en"): (viewed.replace(",", ""), submitted.replace(",", ""), rate)
        for device, (_, viewed, submitted, rate) in page.items()
        if (viewed, submitted) != ("0", "0")  # a device nobody used is on the page only
    }
    viewed, submitted = (
        published(traffic_db, "visitors", step="view")[()],
        published(traffic_db, "visitors", step="submit")[()],
    )
    assert total == ["Total", str(viewed), str(submitted), f"{min(submitted / viewed, 1) * 100:.1f}"]


def test_the_audit_finds_a_funnel_conversion_changed_after_export(traffic_db, exported, tmp_path):
    folder, log = tmp_path / "exports", tmp_path / "exports.log"
    planted = {}

    def change(entry, path):
        if path.name != "funnel-week.csv":
            return
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))
        assert rows[0][-1] == "conversion"
        number = next(i for i, row in enumerate(rows[1:], 1) if row[-1])
        rows[number][-1] = str(round(float(rows[number][-1]) + 0.01, 4))
        out = io.StringIO()
        csv.writer(out, lineterminator="\n").writerows(rows)
        path.write_bytes(out.getvalue().encode("utf-8"))
        entry["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
        planted["where"] = f"{path} row {number + 1} conversion"

    relogged(exported, folder, log, change)
    findings = [f"{f.where}: {f.what}" for f in exports_check(traffic_db, folder, log).findings]
    assert findings == [f"{planted['where']}: not the conversion of the two published counts"]


def test_a_store_of_access_logs_only_opens_on_its_traffic(monkeypatch, tmp_path):
    """An operator who loads the logs first: the Traffic page has its data, the form pages say they have none."""
    db = build(tmp_path / "log_only", log=True, forms=False)
    at = open_traffic(monkeypatch, db)
    assert [title.value for title in at.title] == ["Traffic"]
    assert {m.label: m.value for m in at.metric}["Page views"] == text(published(db, "views", step="view")[()])
    overview = start_app(monkeypatch, db, {**WINDOW, "compare": "none"})
    assert t("no_store_title", "en") not in [title.value for title in overview.title]
    assert not overview.exception


def test_without_a_store_the_page_says_how_to_make_one(monkeypatch, tmp_path):
    missing = tmp_path / "visitors.duckdb"
    at = open_traffic(monkeypatch, missing)
    assert [title.value for title in at.title] == [t("no_store_title", "en")]
    assert [code.value for code in at.code] == [f"python -m etl load data/raw/*.csv --db {missing}"]
    assert not missing.exists()
