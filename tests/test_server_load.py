"""The dashboard under concurrent sessions: 4 browser contexts, each with 2 pages opened at once (3 long).

Every page of every session renders without an error, each session keeps
its own filters (a different language and period in each link: the title,
the sidebar's period and the period under the title), and no request leaves
loopback. The long measurement is `benchmarks/server_load.py`
(docs/reliability.md).

Debian's Chromium is used, as in test_browser.py: without it the module is
skipped, except on CI (CI=true), where that is a failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from conftest import LONG, Server, Traffic
from playwright.sync_api import Browser, BrowserContext, Page, expect
from test_browser import APP_TITLE, PAGES, expect_no_error, heading, query_of

from contract import korea_today
from harness.browser import context_options, guard_context, wait_for_run

pytestmark = [pytest.mark.browser, pytest.mark.heavy]

PAGES_WITHOUT_PERIOD = ("audit", "about")  # no period caption, no data filters in their sidebar
# pages each session opens at once: 8 side by side by default, all 12 in the long mode
PAGES_PER_READER = 3 if LONG else 2


@dataclass(frozen=True)
class Reader:
    """One session's link: its language and period, and the pages it opens at once."""

    lang: str
    query: str
    preset_label: str
    start: date
    end: date
    pages: tuple[str, str, str]

    def expected_params(self) -> dict[str, list[str]]:
        return {key: values for key, values in _parse(self.query).items() if key in ("lang", "period", "from", "to")}


def _parse(query: str) -> dict[str, list[str]]:
    return {key: [value] for key, value in (part.split("=") for part in query.split("&"))}


def readers(server: Server) -> list[Reader]:
    today, store = korea_today(), server.store
    days = timedelta(days=1)
    return [
        Reader("ko", "period=last_7", "최근 7일", today - 6 * days, today, ("overview", "about", "audit")),
        Reader(
            "en", "period=last_30&lang=en", "Last 30 days", today - 29 * days, today, ("countries", "export", "about")
        ),
        Reader(
            "ko",
            f"period=custom&from={store.first}&to={store.last}",
            "직접 지정",
            store.first,
            store.last,
            ("demographics", "export", "audit"),
        ),
        Reader("en", "lang=en&grain=month", "Last 90 days", today - 89 * days, today, ("services", "audit", "about")),
    ]


@pytest.fixture
def sessions(browser: Browser, traffic: Traffic) -> Iterator[list[BrowserContext]]:
    """Four browser contexts (four readers), every request recorded and any to outside loopback aborted."""
    contexts = []
    for _ in range(4):
        context = browser.new_context(**context_options())
        guard_context(context, traffic.blocked)
        context.on("request", lambda request: traffic.urls.append(request.url))
        contexts.append(context)
    yield contexts
    for context in contexts:
        context.close()


def expect_reader_view(tab: Page, reader: Reader, path: str) -> None:
    """The page is drawn in the reader's language, with the reader's period, and without an error."""
    korean, english = PAGES[path]
    title = korean if reader.lang == "ko" else english
    wait_for_run(tab)  # the link's first run, in a new document
    expect(heading(tab)).to_have_text(title)
    expect(tab).to_have_title(f"{title} · {APP_TITLE[reader.lang]}")
    if path in PAGES_WITHOUT_PERIOD:  # the language switch only: no period to show, the link keeps it
        expect(tab.get_by_test_id("stSidebar").get_by_test_id("stSelectbox")).to_have_count(0)
    else:
        period = tab.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").first.locator("input")
        # widgets may draw a moment after the script ends (their code loads on first use): expect waits for them
        expect(period).to_have_value(reader.preset_label)
        caption = tab.get_by_test_id("stCaptionContainer").filter(has_text=f"{reader.start} – {reader.end}")
        expect(caption).to_have_count(1)
    assert {key: query_of(tab).get(key) for key in reader.expected_params()} == reader.expected_params()
    expect_no_error(tab)


def test_concurrent_sessions_keep_their_own_state(
    sessions: list[BrowserContext], server: Server, traffic: Traffic
) -> None:
    people = readers(server)
    tabs: list[tuple[Page, Reader, str]] = []
    for context, reader in zip(sessions, people, strict=True):
        for path in reader.pages[:PAGES_PER_READER]:
            tab = context.new_page()
            tab.on("websocket", lambda socket: traffic.urls.append(socket.url))
            tabs.append((tab, reader, path))
    # every navigation starts before any is waited for: the server runs them side by side
    for tab, reader, path in tabs:
        tab.goto(f"{server.url}/{path}?{reader.query}", wait_until="commit")
    for tab, reader, path in tabs:
        expect_reader_view(tab, reader, path)

    assert traffic.blocked == []
    assert traffic.foreign() == []
    assert any(urlsplit(url).path == "/_stcore/stream" for url in traffic.urls)
