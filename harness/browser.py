"""Debian's Chromium for the dashboard: launch options, loopback-only traffic, and "the script has run".

Timeouts are sized for a busy 2-core machine (WAIT_MS): a wait that ends early
costs nothing, one that is too short fails CI. Nothing here sleeps a fixed time.

Waiting for Streamlit: `[data-testid='stApp']` carries `data-test-script-state`
(`running`, then `notRunning` when the script reaches its end). Right after a
click the attribute may still say `notRunning` from the run before, so a wait
for it alone can end before the click's run has even started; and a quick run
may never show `running` at all. RUN_COUNTER_JS, installed in every document
of a context, counts the runs the server says have finished (its websocket
messages); `wait_for_run(page, after=n)` waits for run n + 1.
Widgets (above all in the sidebar) may still draw a few seconds after the
script ends under load: look for them with `expect`, whose timeout is WAIT_MS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; never a downloaded browser
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
VIEWPORT = {"width": 1400, "height": 1000}
LOOPBACK = frozenset({"127.0.0.1", "localhost"})
# Every wait for the app: a cold page on a busy machine takes tens of seconds, a quiet one well under one.
WAIT_MS = 60_000

SCRIPT_NOT_RUNNING = "[data-testid='stApp'][data-test-script-state='notRunning']"

RUN_COUNTER_JS = """(() => {
    // Counts the script runs that ended in this document, in window.__scriptRuns: each ForwardMsg on the
    // app's websocket whose field 6 (script_finished) says the run or a fragment's run finished, counted
    // once the page has drawn it (two frames later). The stApp attribute alone misses a quick run:
    // React may draw "running" and "notRunning" in one commit, and the attribute never changes.
    window.__scriptRuns = 0;
    const FINISHED = new Set([0, 1, 3]);  // successfully, with a compile error, a fragment's run; not "early for rerun"
    const finished = (data) => {
        if (!(data instanceof ArrayBuffer)) return false;
        const bytes = new Uint8Array(data);
        let i = 0;
        const varint = () => {
            let value = 0, scale = 1, byte;
            do { byte = bytes[i++]; value += (byte & 0x7f) * scale; scale *= 128; } while (byte & 0x80 && i < bytes.length);
            return value;
        };
        while (i < bytes.length) {  // the top-level fields of one ForwardMsg
            const tag = varint(), field = Math.floor(tag / 8), wire = tag & 7;
            if (wire === 0) { const value = varint(); if (field === 6) return FINISHED.has(value); }
            else if (wire === 1) i += 8;
            else if (wire === 2) { const length = varint(); i += length; }  // not i += varint(): i is read first
            else if (wire === 5) i += 4;
            else return false;
        }
        return false;
    };
    const Native = window.WebSocket;
    window.WebSocket = class extends Native {
        constructor(...args) {
            super(...args);
            this.addEventListener("message", (event) => {
                if (finished(event.data)) {
                    requestAnimationFrame(() => requestAnimationFrame(() => { window.__scriptRuns += 1; }));
                }
            });
        }
    };
})();"""

RUNS_FINISHED_JS = "() => window.__scriptRuns ?? 0"
RUN_DONE_JS = f"""(after) => (window.__scriptRuns ?? 0) > after && !!document.querySelector("{SCRIPT_NOT_RUNNING}")"""


def launch_options() -> dict[str, Any]:
    """For `playwright.chromium.launch(**launch_options())`, sync or async."""
    return {"executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


def context_options() -> dict[str, Any]:
    """A reader in Seoul on a desktop screen, for `browser.new_context(**context_options())`."""
    return {"viewport": VIEWPORT, "locale": "ko-KR", "timezone_id": "Asia/Seoul"}


def is_foreign(url: str) -> bool:
    """A request that would leave loopback (the plotly CDN above all): the dashboard must need none.

    A URL without a host (data:, blob:, about:) stays in the browser.
    """
    host = urlsplit(url).hostname
    return host is not None and host not in LOOPBACK


def guard_context(context, blocked: list[str]) -> None:
    """Sync Playwright: abort every request that would leave loopback (recorded in `blocked`),
    count the script runs of every page, and wait up to WAIT_MS by default."""
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(RUN_COUNTER_JS)

    def abort(route) -> None:
        blocked.append(route.request.url)
        route.abort()

    context.route(is_foreign, abort)


def watch_context(context, left: list[str]) -> None:
    """guard_context without blocking: requests that would leave loopback are recorded in `left` only.

    Playwright's routing turns the browser's HTTP cache off; a benchmark of a planner's return
    visit needs it (Streamlit's code is cached for a year). The machine has no way out anyway.
    """
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(RUN_COUNTER_JS)
    context.on("request", lambda request: left.append(request.url) if is_foreign(request.url) else None)


async def guard_context_async(context, blocked: list[str]) -> None:
    """guard_context for async Playwright."""
    context.set_default_timeout(WAIT_MS)
    await context.add_init_script(RUN_COUNTER_JS)

    async def abort(route) -> None:
        blocked.append(route.request.url)
        await route.abort()

    await context.route(is_foreign, abort)


def runs_finished(page) -> int:
    """How many script runs have ended in the page's document so far (take it before an action)."""
    return page.evaluate(RUNS_FINISHED_JS)


def wait_for_run(page, after: int = 0) -> None:
    """Until a script run later than the first `after` has ended and none is running.

    After `page.goto` use after=0 (a new document counts from 0); after a click or a key,
    pass what runs_finished(page) said before it.
    """
    page.wait_for_function(RUN_DONE_JS, arg=after, timeout=WAIT_MS)


def rerun_after(page, action: Callable[[], object]) -> None:
    """Do `action` (a click, a key) and wait for the script run it causes to end."""
    before = runs_finished(page)
    action()
    wait_for_run(page, before)


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main area, so the viewport grows to its height."""
    height = page.evaluate(
        "() => Math.max(...['stMain', 'stSidebarContent'].map((id) => {"
        " const area = document.querySelector(`[data-testid='${id}']`);"
        " return area ? area.getBoundingClientRect().top + area.scrollHeight : 0; }))"
    )
    page.set_viewport_size({"width": VIEWPORT["width"], "height": max(VIEWPORT["height"], height)})
    page.wait_for_timeout(500)  # plotly redraws on resize
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=path, full_page=True)
    page.set_viewport_size(VIEWPORT)
