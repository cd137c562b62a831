"""Sign-in through a real OpenID Connect provider, in a real browser: each role sees and can do its rights.

An OpenID Connect provider (`oidc-provider-mock`, pinned) runs on the loopback with one predefined user
per case; `streamlit run` (through `python -m dashboard`) gets an `[auth]` section pointing at it. Chromium
signs in as a person does: the sign-in button, the provider's authorize page, the one-click user button,
back to the dashboard. Everything stays on the loopback.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO, Server
from playwright.sync_api import Browser, Page, expect

from contract.export_log import entries
from dashboard.i18n import t
from harness.browser import context_options, guard_context, is_foreign, rerun_after, screenshot, wait_for_run
from harness.server import STARTUP_SECONDS, free_port, healthy, stop, streamlit_server

pytestmark = [pytest.mark.browser, pytest.mark.heavy]

# sub -> the groups claim the provider puts in its ID token
USERS = {
    "pia": ["planner"],
    "max": ["manager"],
    "ona": ["officer"],
    "una": ["visitors"],  # signed in, but no role of this dashboard
}
# every page, by the English title of its navigation link, and the url path a link opens
LINKS = {
    "Overview": "",
    "Countries": "countries",
    "Demographics": "demographics",
    "Services": "services",
    "Traffic": "traffic",
    "Export": "export",
    "Privacy audit": "audit",
    "About the data": "about",
}
SEES = {
    "pia": ["Overview", "Countries", "Demographics", "Services", "Traffic", "About the data"],
    "max": ["Overview", "Countries", "Demographics", "Services", "Traffic", "Export", "About the data"],
    "ona": list(LINKS),
}


def email(sub: str) -> str:
    return f"{sub}@office.example"


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The identity provider's issuer URL, with one predefined user per entry of USERS."""
    port = free_port()
    log = tmp_path_factory.mktemp("oidc") / "provider.log"
    command = [sys.executable, "-m", "oidc_provider_mock", "--port", str(port)]
    for sub, groups in USERS.items():
        command += ["--user-claims", json.dumps({"sub": sub, "email": email(sub), "groups": groups})]
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _answers(f"{issuer}/.well-known/openid-configuration"):
            assert process.poll() is None, log.read_text(errors="replace")
            assert time.monotonic() < deadline, log.read_text(errors="replace")
            time.sleep(0.25)
        yield issuer
    finally:
        stop(process)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def signed_server(browser: Browser, provider: str, demo_store, tmp_path_factory) -> Iterator[Server]:
    """The dashboard over the demo store with `[auth]` pointing at the provider."""
    workdir = tmp_path_factory.mktemp("signed")
    port = free_port()
    secrets = workdir / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        f'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'
        f'cookie_secret = "{"c" * 48}"\n'
        'client_id = "gangnam-dashboard"\n'
        'client_secret = "not-a-secret-of-the-tests"\n'
        f'server_metadata_url = "{provider}/.well-known/openid-configuration"\n',
        encoding="utf-8",
    )
    with streamlit_server(demo_store.path, workdir, port=port, options=["--secrets.files", str(secrets)]) as running:
        assert healthy(running.url)
        yield Server(running.url, demo_store, workdir / "exports.log")


@pytest.fixture
def page(browser: Browser, provider: str, signed_server: Server) -> Iterator[Page]:
    """A fresh browser context: no cookie, a new Streamlit session; nothing beyond loopback.

    The provider's own authorize page asks a CDN for its stylesheet (aborted, like every request beyond
    loopback): that is the test provider's, so only a request from the dashboard's pages fails the test.
    """
    context = browser.new_context(**context_options())
    guard_context(context, [])
    from_dashboard: list[str] = []

    def abort(route) -> None:
        if not route.request.frame.url.startswith(provider):
            from_dashboard.append(route.request.url)
        route.abort()

    context.route(is_foreign, abort)
    tab = context.new_page()
    yield tab
    context.close()
    assert from_dashboard == []


def open_page(page: Page, server: Server, path: str = "", query: str = "lang=en") -> None:
    page.goto(f"{server.url}/{path}?{query}")
    wait_for_run(page)


def sign_in(page: Page, server: Server, sub: str) -> None:
    """From the dashboard's sign-in page through the provider's authorize page, back to the dashboard."""
    open_page(page, server)
    expect(page.get_by_role("heading", level=1)).to_have_text(t("sign_in_title", "en"))
    save_screenshot(page, "sign-in")
    page.get_by_role("button", name=t("sign_in_button", "en")).click()
    page.get_by_role("button", name=sub, exact=True).click()  # the provider's one-click user
    page.wait_for_url(f"{server.url}/**")
    wait_for_run(page)
    open_page(page, server)  # back at / in the default language: the tests read English


def save_screenshot(page: Page, name: str) -> None:
    """With SCREENSHOTS=1, the page as docs/screenshots/<name>.png."""
    if os.environ.get("SCREENSHOTS") == "1":
        screenshot(page, REPO / "docs" / "screenshots" / f"{name}.png")


def nav_titles(page: Page) -> list[str]:
    """The titles of the navigation's links (a link's text starts with its icon's name)."""
    return [text.strip().splitlines()[-1] for text in page.get_by_test_id("stSidebarNavLink").all_inner_texts()]


@pytest.mark.parametrize("sub", ["pia", "max", "ona"])
def test_each_role_sees_exactly_its_pages(page: Page, signed_server: Server, sub: str) -> None:
    sign_in(page, signed_server, sub)
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(len(SEES[sub]))
    if sub == "pia":
        page.locator(".js-plotly-plot .main-svg").first.wait_for()  # the trend drawn
        save_screenshot(page, "signed-in-planner")
    assert nav_titles(page) == SEES[sub]
    roles = t(f"role_{USERS[sub][0]}", "en")
    expect(page.get_by_text(f"Signed in as {email(sub)} · roles: {roles}")).to_be_visible()
    expect(page.get_by_text(t("local_mode_banner", "en"))).to_have_count(0)
    # a download button under the charts: only for a role that may export
    expect(page.get_by_test_id("stDownloadButton")).to_have_count(0 if sub == "pia" else 1)
    # a page outside the role, by its URL: refused, with no data of that page
    for title, path in LINKS.items():
        if title in SEES[sub]:
            continue
        open_page(page, signed_server, path)
        expect(page.get_by_role("heading", level=1)).to_have_text(t("not_for_role_title", "en"))
        if (sub, path) == ("pia", "export"):
            save_screenshot(page, "refused-planner-export")
        expect(page.get_by_test_id("stDownloadButton")).to_have_count(0)
        expect(page.get_by_test_id("stDataFrame")).to_have_count(0)


def test_a_manager_downloads_and_the_log_names_them(page: Page, signed_server: Server) -> None:
    sign_in(page, signed_server, "max")
    open_page(page, signed_server, "export", "lang=en&period=last_30")
    expect(page.get_by_role("heading", level=1)).to_have_text("Export")
    before = len(entries(signed_server.export_log))
    with page.expect_download() as download:
        rerun_after(page, page.get_by_test_id("stDownloadButton").first.click)
    content = Path(download.value.path()).read_bytes()
    logged = entries(signed_server.export_log)
    assert len(logged) == before + 1
    last = logged[-1]
    assert (last.author, last.author_email) == ("max", email("max"))
    assert last.file == download.value.suggested_filename
    assert last.sha256 == hashlib.sha256(content).hexdigest()


def test_the_officer_runs_the_audit_and_reads_the_export_log(page: Page, signed_server: Server) -> None:
    sign_in(page, signed_server, "ona")
    open_page(page, signed_server, "audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Privacy audit")
    expect(
        page.get_by_test_id("stAlert")
        .filter(has_text=t("audit_pass", "en"))
        .or_(page.get_by_test_id("stAlert").filter(has_text=t("audit_fail", "en")))
    ).to_be_visible()
    open_page(page, signed_server, "about")
    expect(page.get_by_role("heading", name=t("last_exports", "en"))).to_be_visible()


def test_a_user_without_a_role_is_refused(page: Page, signed_server: Server) -> None:
    sign_in(page, signed_server, "una")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("no_role_title", "en"))
    expect(page.get_by_test_id("stSidebarNavLink")).to_have_count(0)
    expect(page.get_by_test_id("stMetric")).to_have_count(0)
    open_page(page, signed_server, "countries")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("no_role_title", "en"))
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)


def test_sign_out_ends_the_session(page: Page, signed_server: Server) -> None:
    sign_in(page, signed_server, "pia")
    expect(page.get_by_role("heading", level=1)).to_have_text("Overview")
    page.get_by_role("button", name=t("sign_out", "en")).click()
    # the provider ends its session too (its end_session_endpoint), then sends the browser back
    page.get_by_role("button", name="End session").click()
    page.wait_for_url(f"{signed_server.url}/**")
    wait_for_run(page)
    expect(page.get_by_role("heading", level=1)).to_have_text(t("sign_in_title", "ko"))  # a new session, in Korean
    # the cookie is gone: a new visit starts signed out too
    open_page(page, signed_server, "countries")
    expect(page.get_by_role("heading", level=1)).to_have_text(t("sign_in_title", "en"))
    expect(page.get_by_test_id("stDataFrame")).to_have_count(0)
