"""The dashboard in a real browser: `streamlit run` on a free port, driven by headless Chromium.

What only a browser shows: the pages render without an error, the charts and
the world map draw (the map with the CDN blocked, from the files the
dashboard serves itself), a shared link opens the same view, a click on the
map or the table filters every page, and the language switch. With
SCREENSHOTS=1 each page is also saved to docs/screenshots/<page>.png.

Debian's Chromium is used (never a downloaded browser). Without it the module
is skipped, except on CI (CI=true), where that is a failure.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pycountry
import pytest
from conftest import REPO, Server, Traffic, build_demo_store
from playwright.sync_api import Browser, Page, expect

from contract import korea_today
from dashboard.i18n import t
from harness.browser import WAIT_MS, context_options, guard_context, rerun_after, screenshot, wait_for_run
from harness.server import streamlit_server

# one demo store, one server and one Chromium per xdist worker (the session fixtures of conftest.py)
pytestmark = [pytest.mark.browser, pytest.mark.heavy]

SCREENSHOTS = REPO / "docs" / "screenshots"

# url path -> (Korean title, English title), as a planner reads them
PAGES = {
    "overview": ("개요", "Overview"),
    "countries": ("국가", "Countries"),
    "demographics": ("인구통계", "Demographics"),
    "services": ("서비스", "Services"),
    "traffic": ("웹 트래픽", "Traffic"),
    "export": ("내보내기", "Export"),
    "audit": ("개인정보 감사", "Privacy audit"),
    "about": ("데이터 안내", "About the data"),
}
APP_TITLE = {"ko": "강남 방문자 분석", "en": "Gangnam visitor analytics"}
PAGES_WITH_CHARTS = ("overview", "countries", "demographics", "services", "traffic")
# their sidebar holds the language switch only; the URL keeps the filters through them
NO_FILTER_PAGES = ("audit", "about")


@pytest.fixture
def page(browser: Browser, server: Server, traffic: Traffic) -> Iterator[Page]:
    """A fresh browser context (a new Streamlit session), nothing beyond loopback, every request recorded."""
    context = browser.new_context(**context_options())
    guard_context(context, traffic.blocked)
    tab = context.new_page()
    tab.on("request", lambda request: traffic.urls.append(request.url))
    tab.on("websocket", lambda socket: traffic.urls.append(socket.url))
    yield tab
    context.close()


def open_page(page: Page, server: Server, path: str, query: str = "") -> None:
    """Open a link and wait until its script has run to its end (a new document counts its runs from 0)."""
    page.goto(f"{server.url}/{path}{'?' + query if query else ''}")
    wait_for_run(page)


def heading(page: Page):
    return page.get_by_role("heading", level=1)


def expect_no_error(page: Page) -> None:
    """No exception on the page, and no error dialog (such as Streamlit's "Page not found")."""
    expect(page.get_by_test_id("stException")).to_have_count(0)
    expect(page.get_by_role("dialog")).to_have_count(0)


def query_of(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def download_button(page: Page, key: str, label: str):
    """The button of `ui.download(..., key)`: Streamlit marks a keyed element with the class st-key-<its key>,
    so a view's own button is found whatever others share its label."""
    return page.locator(f".st-key-download_{key}").get_by_role("button", name=label)


def country_filter(page: Page):
    """The sidebar's country multiselect (the first multiselect of the sidebar)."""
    return page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").first


def country_tags(page: Page):
    """The countries chosen in the sidebar's filter, one tag each."""
    return country_filter(page).locator("[data-testid='stMultiSelectTagsContainer'] [data-tag]")


def save_screenshot(page: Page, name: str) -> None:
    screenshot(page, SCREENSHOTS / f"{name}.png")


@pytest.mark.parametrize("path", list(PAGES))
def test_page_loads_with_its_title_and_charts(page: Page, server: Server, traffic: Traffic, path: str) -> None:
    open_page(page, server, path)
    korean = PAGES[path][0]
    expect(heading(page)).to_have_text(korean)
    expect(page).to_have_title(f"{korean} · {APP_TITLE['ko']}")
    if path in PAGES_WITH_CHARTS:
        charts = page.get_by_test_id("stPlotlyChart")
        expect(charts.first).to_be_visible()
        for index in range(charts.count()):
            expect(charts.nth(index).locator("svg.main-svg").first).to_be_attached()
    if path == "countries":
        expect(page.locator("path.choroplethlocation").first).to_be_attached()
    expect_no_error(page)
    assert traffic.foreign() == []
    if os.environ.get("SCREENSHOTS") == "1":
        save_screenshot(page, path)


def test_map_draws_offline(page: Page, server: Server, traffic: Traffic) -> None:
    """Every request to cdn.plot.ly is blocked: the map's topojson comes from the dashboard itself."""
    store = server.store
    open_page(page, server, "countries", f"period=custom&from={store.first}&to={store.last}")
    page.wait_for_function("() => document.querySelectorAll('path.choroplethlocation').length > 100")
    assert page.locator("path.choroplethlocation").count() > 100
    # colored by count (Blues), not only grey: the figure's data reached the map
    fills = page.locator("path.choroplethlocation").evaluate_all(
        "(paths) => paths.map((p) => getComputedStyle(p).fill)"
    )
    assert len(set(fills)) > 10
    expect_no_error(page)
    assert any(urlsplit(url).path == "/app/static/world_110m.json" for url in traffic.urls)
    assert traffic.blocked == []  # nothing even tried the CDN
    assert traffic.foreign() == []


@pytest.fixture(scope="module")
def old_server(browser: Browser, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A server over last year's export: data that ended 400 days before today."""
    folder = tmp_path_factory.mktemp("old_store")
    store = build_demo_store(folder, 20_000, korea_today() - timedelta(days=400))
    with streamlit_server(store.path, folder) as running:
        yield Server(running.url, store, folder / "exports.log")


def test_a_store_whose_data_ended_long_ago_draws_its_map_at_the_default_link(page: Page, old_server: Server) -> None:
    open_page(page, old_server, "countries")
    last = old_server.store.last
    expect(page.get_by_text(t("anchored_period", "ko").format(last=last))).to_be_visible()
    # the map draws the store's countries of those days in colour, not an empty world
    page.wait_for_function("() => document.querySelectorAll('path.choroplethlocation').length >= 10")
    fills = page.locator("path.choroplethlocation").evaluate_all(
        "(paths) => paths.map((p) => getComputedStyle(p).fill)"
    )
    assert len(set(fills)) > 3
    if os.environ.get("SCREENSHOTS") == "1":
        save_screenshot(page, "countries-old-store")
    expect(page.get_by_test_id("stDataFrame")).to_be_visible()
    expect_no_error(page)
    assert query_of(page) == {}, "the default link stays the default one"


def test_shared_link_reproduces_the_filters(page: Page, server: Server) -> None:
    open_page(page, server, "overview", "period=last_30&country=CN&lang=en")
    expect(heading(page)).to_have_text("Overview")
    expect(page).to_have_title("Overview · Gangnam visitor analytics")
    sidebar = page.get_by_test_id("stSidebar")
    for label in ("Language", "Filters", "Period", "Compare with", "Time unit", "Service", "Gender", "Age group"):
        expect(sidebar.get_by_text(label, exact=True).first).to_be_visible()
    # the page links too are in English on the link's first run
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("Demographics")
    expect(sidebar.get_by_test_id("stSelectbox").first.locator("input")).to_have_value("Last 30 days")
    today = korea_today()
    period = f"{today - timedelta(days=29)} – {today}"
    expect(page.get_by_test_id("stCaptionContainer").filter(has_text=period)).to_have_count(1)
    expect(country_filter(page)).to_contain_text("Country")
    expect(country_filter(page)).to_contain_text("China")
    expect_no_error(page)
    query = query_of(page)
    assert query["period"] == ["last_30"] and query["country"] == ["CN"] and query["lang"] == ["en"]


def _expect_filtered_everywhere(page: Page, code: str, total: int | None = None) -> None:
    """After a click on the Countries page (its run awaited): the URL names the country, the map draws it
    alone, and every other page keeps the filter (the Overview's total is the country's published count, when
    given: the same cells as the table's row, so the same number)."""
    expect(page).to_have_url(re.compile(rf"[?&]country={code}(&|$)"))
    expect_no_error(page)
    iso3 = pycountry.countries.get(alpha_2=code).alpha_3
    page.wait_for_function(
        "(iso3) => { const p = document.querySelectorAll('path.choroplethlocation');"
        " return p.length === 1 && p[0].__data__.loc === iso3; }",
        arg=iso3,
    )
    expect(country_tags(page)).to_have_count(1)
    expect_no_error(page)
    for path, (title, _) in PAGES.items():
        if path == "countries":
            continue
        rerun_after(page, page.get_by_test_id("stSidebarNavLink").filter(has_text=title).click)
        expect(heading(page)).to_have_text(title)
        shown_path = "" if path == "overview" else path  # the default page is at /
        expect(page).to_have_url(re.compile(rf":\d+/{shown_path}\?(.*&)?country={code}(&|$)"))
        if path in NO_FILTER_PAGES:
            expect(page.get_by_test_id("stSidebar").get_by_test_id("stRadio")).to_have_count(1)
            expect(page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect")).to_have_count(0)
            continue
        expect(country_tags(page)).to_have_count(1)
        if path == "overview" and total is not None:
            expect(page.get_by_test_id("stMetricValue").first).to_have_text(f"{total:,}")
        expect_no_error(page)


def _click_first_table_row(page: Page, server: Server) -> tuple[str, int]:
    """On the Countries page over every stored date; returns the first row's country and its published count
    (the table sorts by published counts: the true count plus the ptable's noise, tests/cellkey.py)."""
    store = server.store
    (top, visits), (_, runner_up) = store.top_countries(store.first, store.last)[:2]
    assert visits > runner_up, "the table's first row must be one country for this test"
    open_page(page, server, "countries", f"period=custom&from={store.first}&to={store.last}")
    table = page.get_by_test_id("stDataFrame")
    table.scroll_into_view_if_needed()
    box = table.bounding_box()
    # the row marker (checkbox) of the first row, under the 35 px header; sorted by submissions
    rerun_after(page, lambda: page.mouse.click(box["x"] + 15, box["y"] + 35 + 17))
    return top, visits


def test_table_row_click_filters_every_page(page: Page, server: Server) -> None:
    top, visits = _click_first_table_row(page, server)
    _expect_filtered_everywhere(page, top, visits)


def test_a_used_click_does_not_come_back(page: Page, server: Server) -> None:
    """Once the filter is cleared, the row clicked before must not filter again."""
    top, _ = _click_first_table_row(page, server)
    expect(page).to_have_url(re.compile(rf"[?&]country={top}(&|$)"))
    expect(country_tags(page)).to_have_count(1)
    rerun_after(page, country_filter(page).get_by_role("button", name=re.compile(r"^Remove ")).click)
    expect(page).not_to_have_url(re.compile(r"[?&]country="))
    expect(country_tags(page)).to_have_count(0)
    # a stale selection would ask for the country again on the next rerun: run the script again (Streamlit's
    # "r" key reruns with every widget's state as it is, the table's selection included; it is ignored in
    # a text field, and the focus may still be in the country filter's)
    page.evaluate("() => document.activeElement?.blur()")
    rerun_after(page, lambda: page.keyboard.press("r"))
    expect(country_tags(page)).to_have_count(0)
    assert "country" not in query_of(page)
    expect_no_error(page)


def test_map_click_filters_every_page(page: Page, server: Server) -> None:
    open_page(page, server, "countries")
    page.wait_for_function("() => document.querySelectorAll('path.choroplethlocation').length > 10")
    # the largest shown (non-grey) country whose box centre lies inside its own shape
    target = page.evaluate(
        """() => {
            const inside = (el, x, y) => el.isPointInFill(new DOMPoint(x, y).matrixTransform(el.getScreenCTM().inverse()));
            const shown = [...document.querySelectorAll('path.choroplethlocation')]
                .filter((el) => el.__data__ && el.__data__.z > 0)
                .map((el) => ({ el, box: el.getBoundingClientRect() }))
                .map(({ el, box }) => ({ el, x: box.x + box.width / 2, y: box.y + box.height / 2, area: box.width * box.height }))
                .filter(({ el, x, y }) => inside(el, x, y))
                .sort((a, b) => b.area - a.area);
            return shown.length ? { loc: shown[0].el.__data__.loc, x: shown[0].x, y: shown[0].y } : null;
        }"""
    )
    assert target, "no country on the map to click"
    code = pycountry.countries.get(alpha_3=target["loc"]).alpha_2
    rerun_after(page, lambda: page.mouse.click(target["x"], target["y"]))
    _expect_filtered_everywhere(page, code)


def test_language_switch_changes_the_titles(page: Page, server: Server) -> None:
    open_page(page, server, "countries")
    expect(heading(page)).to_have_text("국가")
    expect(page).to_have_title("국가 · 강남 방문자 분석")
    language = page.get_by_test_id("stSidebar").get_by_test_id("stRadio").first
    rerun_after(page, language.get_by_text("English", exact=True).click)
    expect(heading(page)).to_have_text("Countries")
    expect(page).to_have_title("Countries · Gangnam visitor analytics")
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("About the data")
    expect(page).to_have_url(re.compile(r"[?&]lang=en(&|$)"))
    rerun_after(page, language.get_by_text("한국어", exact=True).click)
    expect(heading(page)).to_have_text("국가")
    expect(page).to_have_title("국가 · 강남 방문자 분석")
    expect(page.get_by_test_id("stSidebarNav")).to_contain_text("데이터 안내")
    expect(page).not_to_have_url(re.compile(r"[?&]lang="))
    expect_no_error(page)
    assert "lang" not in query_of(page)


def cli_export(server: Server, tmp_path: Path, period: str, start: date, lang: str, compare: str | None) -> bytes:
    """What `python -m dashboard.export` writes for submissions by service from `start` to today."""
    out = tmp_path / "cli.csv"
    command = [sys.executable, "-m", "dashboard.export", "--db", server.store.path, "--by", "feature"]
    command += ["--period", period, "--from", start.isoformat(), "--to", korea_today().isoformat()]
    command += ["--compare", compare] if compare else []
    command += ["--format", "excel", "--lang", lang, "--out", out, "--log", tmp_path / "cli.log"]
    done = subprocess.run([str(part) for part in command], cwd=REPO, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    return out.read_bytes()


def test_export_page_download_equals_the_command_line_and_is_logged(page: Page, server: Server, tmp_path: Path) -> None:
    open_page(page, server, "export", "period=last_30&lang=en&compare=none")
    expect_no_error(page)
    logged_before = _log_lines(server.export_log)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download CSV").click()
    download = info.value
    downloaded = Path(download.path()).read_bytes()
    today = korea_today()
    assert downloaded == cli_export(server, tmp_path, "month", today - timedelta(days=29), "en", None)
    assert downloaded.startswith(b"\xef\xbb\xbf")  # the Excel flavour: a BOM, so Hangul opens right
    assert download.suggested_filename == f"visits_by_feature_month_{today - timedelta(days=29)}_{today}_en.csv"
    # the click appended one line to the export log, with the file's hash (the server may write it a moment
    # after the download; other tests of this worker's server log downloads too)
    deadline = time.monotonic() + WAIT_MS / 1000
    while len(_log_lines(server.export_log)) == len(logged_before) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(_log_lines(server.export_log)) == len(logged_before) + 1
    entry = json.loads(_log_lines(server.export_log)[-1])
    assert entry["sha256"] == hashlib.sha256(downloaded).hexdigest()
    assert entry["file"] == download.suggested_filename


def _log_lines(export_log: Path) -> list[str]:
    return export_log.read_text(encoding="utf-8").splitlines() if export_log.exists() else []


def test_a_chart_download_is_what_the_chart_shows(page: Page, server: Server, tmp_path: Path) -> None:
    # the Overview's trend: by service and week over the last 90 days beside the 90 days before, Korean labels
    open_page(page, server, "", "period=last_90&grain=week")
    with page.expect_download() as info:
        download_button(page, "overview_trend", "CSV 내려받기").click()
    downloaded = Path(info.value.path()).read_bytes()
    assert downloaded == cli_export(server, tmp_path, "week", korea_today() - timedelta(days=89), "ko", "previous")
    assert "서비스".encode() in downloaded and "비교 기간 신청 건수".encode() in downloaded


def test_a_link_with_script_tags_runs_no_script(page: Page, server: Server, traffic: Traffic) -> None:
    alerts: list[str] = []
    page.on("dialog", lambda dialog: (alerts.append(dialog.message), dialog.dismiss()))
    hostile = quote("<script>alert('x')</script>")
    image = quote("<img src=x onerror=alert('y')>")
    for path in ("", "countries", "export", "audit"):
        open_page(
            page, server, path, f"gender={hostile}&country={image}&lang={hostile}&from={quote(chr(39) + ' OR 1=1')}"
        )
        expect_no_error(page)
        expect(page.get_by_test_id("stSidebar").get_by_test_id("stAlert").first).to_be_visible()
        # nor echoes the values back, even as text
        text = page.inner_text("body")
        assert "alert(" not in text and "onerror" not in text
        # an injected <img onerror> would have fired once every image of the page has loaded or failed
        page.wait_for_function("() => [...document.images].every((image) => image.complete)")
    assert alerts == []
    assert traffic.foreign() == []


def test_the_traffic_page_says_gender_and_age_do_not_apply_and_keeps_them(page: Page, server: Server) -> None:
    open_page(page, server, "traffic", "lang=en&gender=female&age=0-13")
    expect(heading(page)).to_have_text("Traffic")
    expect(
        page.get_by_text("The gender and age group filters (Female, 0-13) do not apply to web traffic")
    ).to_be_visible()
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Service", exact=True)).to_be_visible()
    for label in ("Gender", "Age group"):
        expect(sidebar.get_by_text(label, exact=True)).to_have_count(0)
    # the views and visitors over time, the funnel by service and by device, each drawn
    charts = page.get_by_test_id("stPlotlyChart")
    expect(charts).to_have_count(4)
    for index in range(4):
        expect(charts.nth(index).locator("svg.main-svg").first).to_be_attached()
    expect(page.get_by_test_id("stDataFrame")).to_have_count(3)
    expect(page.get_by_test_id("stMetricValue")).to_have_count(4)
    if os.environ.get("SCREENSHOTS") == "1":
        save_screenshot(page, "traffic-en")
    expect_no_error(page)
    # the link keeps them, and the Demographics page filters by them again
    assert query_of(page)["gender"] == ["female"] and query_of(page)["age"] == ["0-13"]
    rerun_after(page, page.get_by_test_id("stSidebarNavLink").filter(has_text="Demographics").click)
    expect(heading(page)).to_have_text("Demographics")
    expect(page.get_by_test_id("stSidebar").get_by_text("Female", exact=True)).to_be_visible()
    assert query_of(page)["gender"] == ["female"]
    expect_no_error(page)


def test_a_traffic_download_is_the_command_lines_file(page: Page, server: Server, tmp_path: Path) -> None:
    open_page(page, server, "traffic", "period=last_30&lang=en")
    with page.expect_download() as info:  # the funnel by service's: two more buttons below share its label
        download_button(page, "traffic_funnel_funnel", "CSV · Funnel").click()
    first = korea_today() - timedelta(days=29)
    assert info.value.suggested_filename == f"funnel_by_feature_all_{first}_{korea_today()}_en.csv"
    downloaded = Path(info.value.path()).read_bytes()
    out = tmp_path / "cli.csv"
    command = [sys.executable, "-m", "dashboard.export", "table", "--db", server.store.path, "--count", "funnel"]
    command += ["--by", "feature", "--from", first.isoformat()]
    command += ["--to", korea_today().isoformat(), "--lang", "en", "--out", out, "--log", tmp_path / "cli.log"]
    done = subprocess.run([str(part) for part in command], cwd=REPO, capture_output=True, text=True)
    assert (done.returncode, done.stderr) == (0, "")
    assert downloaded == out.read_bytes()
    assert b"Visitors who submitted" in downloaded and b"Conversion (%)" in downloaded
