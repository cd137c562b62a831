"""Load: the Streamlit server under concurrent browser sessions, on loopback.

Builds (or takes with --db) a demo store, starts `streamlit run dashboard/app.py`
on a free loopback port, then ramps up concurrent sessions, each looping for
--seconds over every page with a few different filter links, with no pause
between pages. A round opens its first page by its link (a new websocket: a new
Streamlit session) and reaches the others through the sidebar's page links
(the same session), as a reader clicks through.

- Browser sessions: each an independent browser context of ONE headless
  Chromium (Debian's). A page is timed from the navigation to Streamlit's
  "script not running" signal with the page's own title drawn in the link's
  language (a session showing another's state fails), then checked for an
  exception, an error dialog and a dropped connection. Requests that would
  leave loopback are aborted and counted.
- Browser-free sessions: the same loop spoken straight to the server's
  websocket (`_stcore/stream`, Streamlit's own protobuf messages), timed from
  the rerun request to `script_finished`: the server's own cost, without a
  browser competing for the cores. The same checks, on the messages.

Per session count: sessions held, page views, errors, page time p50/p95/max,
the server's peak RSS and CPU (psutil on the streamlit process tree), and the
CPU of the browser and of other processes beside it. Results go to
docs/reliability.md.

    .venv/bin/python benchmarks/server_load.py     # 1M submissions; browsers 1,5,10,20; browser-free 1,5,10,20,50
    .venv/bin/python benchmarks/server_load.py --sessions 1,5 --direct-sessions 5 --seconds 20 --db data/visitors.duckdb

Bounded: at most 50 sessions (MAX_SESSIONS), --max-minutes in all (steps that
would not fit are skipped and said so), and a page that takes longer than
--page-timeout counts as an error and its session starts over with a new load.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import re
import shlex
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import psutil
import websockets
from playwright.async_api import Browser, async_playwright
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from dashboard_bench import build_store  # noqa: E402
from etl_bench import parse_size, write_section  # noqa: E402

from dashboard.filters import korea_today  # noqa: E402
from dashboard.i18n import t  # noqa: E402
from harness.browser import (  # noqa: E402
    CHROMIUM,
    SCRIPT_NOT_RUNNING,
    context_options,
    guard_context_async,
    launch_options,
)
from harness.server import ServerFailed, streamlit_server  # noqa: E402

SECTION = "Load: the Streamlit server under concurrent sessions"
DOC = ROOT / "docs" / "reliability.md"
MAX_SESSIONS = 50  # a hard cap, whatever the command line asks
# url path -> the i18n key of its title, in the order a round visits them
PAGES = {
    "": "overview",
    "countries": "countries",
    "demographics": "demographics",
    "services": "services",
    "export": "export",
    "about": "about",
    "audit": "audit",
}
SAMPLE_SECONDS = 0.5
SETTLE_SECONDS = 5  # between steps: let the closed sessions go
# Another's work on the machine skews the figures: a step waits (bounded) for idle cores and free memory.
QUIET_WAIT_SECONDS = 120
QUIET_BUSY = 0.25
QUIET_MEMORY = 50  # % of RAM in use

# Done: the script has run to its end and the page's own title is drawn (the old page's is not enough).
RENDERED_JS = f"""(title) => {{
    if (!document.querySelector("{SCRIPT_NOT_RUNNING}")) return false;
    const heading = document.querySelector("[data-testid='stMain'] h1");
    return !!heading && heading.textContent.includes(title);
}}"""
PAGE_STATE_JS = """() => ({
    state: document.querySelector("[data-testid='stApp']")?.getAttribute("data-test-script-state") ?? null,
    connection: document.querySelector("[data-testid='stApp']")?.getAttribute("data-test-connection-state") ?? null,
    heading: document.querySelector("[data-testid='stMain'] h1")?.textContent ?? null,
    elements: document.querySelectorAll("[data-testid='stMain'] [data-testid='stElementContainer']").length,
    exceptions: [...document.querySelectorAll("[data-testid='stException']")].map((e) => e.innerText.slice(0, 200)),
    dialogs: [...document.querySelectorAll("[role='dialog']")].map((e) => e.innerText.slice(0, 200)),
})"""


def filter_links(today: date, session: int, round_: int) -> dict[str, str]:
    """The filters a session's round opens with; rounds and sessions differ, so states differ side by side.

    The custom period's start moves with the session and round: queries the cache has not seen yet.
    """
    links = [
        {},  # the defaults: last 90 days by week, Korean
        {"period": "last_30", "grain": "day", "lang": "en"},
        {"period": "this_year", "grain": "month", "country": "CN"},
        {"period": "last_7", "grain": "day", "country": "KR", "country_mode": "exclude", "lang": "en"},
        {
            "period": "custom",
            "from": (today - timedelta(days=365 + 7 * ((session * 13 + round_) % 100))).isoformat(),
            "to": today.isoformat(),
            "grain": "month",
            "compare": "last_year",
        },
    ]
    return links[(session + round_) % len(links)]


# ---------------------------------------------------------------------------------------------- resources


def process_tree(pid: int) -> list[psutil.Process]:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


class Sampler(threading.Thread):
    """Samples the server's tree (RSS, CPU), the browser (every other child of ours) and this process."""

    GROUPS = ("server", "browser", "generator")

    def __init__(self, server_pid: int) -> None:
        super().__init__(daemon=True)
        self.server_pid = server_pid
        self.halt = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.peak_rss = 0
            self.cpu: dict[str, dict[int, float]] = {group: {} for group in self.GROUPS}
            self.started = self._cpu_now()
            self.machine = psutil.cpu_times()
            self.wall = time.perf_counter()

    def _cpu_now(self) -> dict[str, dict[int, float]]:
        server = {process.pid for process in process_tree(self.server_pid)}
        groups: dict[str, dict[int, float]] = {group: {} for group in self.GROUPS}
        for process in process_tree(os.getpid()):
            group = "server" if process.pid in server else "generator" if process.pid == os.getpid() else "browser"
            with suppress(psutil.NoSuchProcess):
                times = process.cpu_times()
                groups[group][process.pid] = times.user + times.system
        return groups

    def server_rss(self) -> int:
        total = 0
        for process in process_tree(self.server_pid):
            with suppress(psutil.NoSuchProcess):
                total += process.memory_info().rss
        return total

    def sample(self) -> None:
        rss, now = self.server_rss(), self._cpu_now()
        with self.lock:
            self.peak_rss = max(self.peak_rss, rss)
            for group, times in now.items():
                self.cpu[group].update(times)  # a process that ends keeps its last reading

    def run(self) -> None:
        while not self.halt.wait(SAMPLE_SECONDS):
            self.sample()

    def reading(self) -> dict[str, float]:
        """Since reset(): CPU seconds per group and of the whole machine, wall seconds, the server's peak RSS."""
        self.sample()
        with self.lock:
            used = {
                group: sum(total - self.started[group].get(pid, 0.0) for pid, total in times.items())
                for group, times in self.cpu.items()
            }
            before, after = self.machine, psutil.cpu_times()
            idle = (after.idle - before.idle) + (after.iowait - before.iowait)
            machine = sum(after) - sum(before) - idle  # CPU seconds of every process, ours or not
            return {**used, "machine": machine, "wall": time.perf_counter() - self.wall, "peak_rss": self.peak_rss}


def machine_busy(seconds: float = 3.0) -> float:
    """The share of all cores busy right now (others' work would skew the figures)."""
    return psutil.cpu_percent(interval=seconds) / 100


def wait_for_quiet(limit: float = QUIET_WAIT_SECONDS) -> bool:
    """Before a step: wait (a bounded time) until the machine is idle, as ours is between steps."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if machine_busy() < QUIET_BUSY and psutil.virtual_memory().percent < QUIET_MEMORY:
            return True
    print(f"  the machine is busy: starting anyway after {limit:.0f} s", flush=True)
    return False


# ---------------------------------------------------------------------------------------------- sessions


class PageFailed(Exception):
    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(detail)
        self.kind, self.detail = kind, detail


@dataclass
class View:
    page: str
    kind: str  # "link": opened by its link (a new session); "sidebar": by the sidebar's page link
    ms: float


@dataclass
class SessionResult:
    views: list[View] = field(default_factory=list)
    errors: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    loads: int = 0
    sockets_opened: int = 0
    socket_errors: int = 0
    page_errors: list[str] = field(default_factory=list)
    foreign: list[str] = field(default_factory=list)
    finished: bool = False

    def error(self, kind: str, detail: str) -> None:
        self.errors[kind] += 1
        if len(self.examples) < 3:
            self.examples.append(f"{kind}: {detail}")

    @property
    def reconnects(self) -> int:
        """Websockets opened that no page load asked for: Streamlit reconnecting after a drop."""
        return max(self.sockets_opened - self.loads, 0)

    @property
    def held(self) -> bool:
        return self.finished and not (self.reconnects or self.socket_errors or self.errors["disconnected"])


class BrowserSession:
    """One browser context: its own cookies, its own websocket, its own Streamlit session."""

    def __init__(self, browser: Browser, base: str, result: SessionResult, timeout_s: float) -> None:
        self.browser, self.base, self.result, self.timeout_ms = browser, base, result, timeout_s * 1000
        self.step = "starting"  # what the session was doing, for a script error in the browser

    async def start(self) -> None:
        self.context = await self.browser.new_context(**context_options())
        result = self.result
        await guard_context_async(self.context, result.foreign)
        self.context.set_default_timeout(self.timeout_ms)
        self.page = await self.context.new_page()

        def on_socket(ws) -> None:
            result.sockets_opened += 1
            ws.on("socketerror", lambda _: setattr(result, "socket_errors", result.socket_errors + 1))

        self.page.on("websocket", on_socket)
        self.page.on("pageerror", self._script_error)

    def _script_error(self, error) -> None:
        self.result.page_errors.append(f"{urlsplit(self.page.url).path} ({self.step}): {str(error)[:200]}")

    async def open(self, path: str, query: dict[str, str], title: str, fresh: bool) -> None:
        """Open a page (by its link when `fresh`, else by the sidebar) and wait until it is drawn and checked."""
        self.step = f"{'opening' if fresh else 'switching to'} /{path}"
        try:
            await asyncio.wait_for(self._navigate(path, query, title, fresh), self.timeout_ms / 1000)
        except Exception as error:  # a timeout above all: say what the page showed
            state = await self._state()
            kind = "disconnected" if state and state["connection"] != "CONNECTED" else "timeout"
            raise PageFailed(kind, f"{type(error).__name__}; the page showed {state}") from error
        state = await self._state()
        if state is None:
            raise PageFailed("timeout", "the page did not answer after it was drawn")
        if state["exceptions"]:
            raise PageFailed("exception", state["exceptions"][0])
        if state["dialogs"]:
            raise PageFailed("dialog", state["dialogs"][0])
        if state["connection"] != "CONNECTED":
            raise PageFailed("disconnected", f"connection {state['connection']}")
        if state["elements"] == 0:
            raise PageFailed("empty", "nothing drawn")

    async def _navigate(self, path: str, query: dict[str, str], title: str, fresh: bool) -> None:
        if fresh:
            await self.page.goto(f"{self.base}/{path}" + (f"?{urlencode(query)}" if query else ""))
        else:
            nav = self.page.get_by_test_id("stSidebarNav").get_by_test_id("stSidebarNavLink")
            await nav.filter(has_text=title).first.click()
        await self.page.wait_for_function(RENDERED_JS, arg=title)

    async def _state(self) -> dict | None:
        try:  # a starved renderer may not answer at all
            return await asyncio.wait_for(self.page.evaluate(PAGE_STATE_JS), 10)
        except Exception:
            return None

    async def close(self) -> None:
        with suppress(Exception):
            await asyncio.wait_for(self.context.close(), 30)


class DirectSession:
    """The browser's part spoken straight to the websocket: a rerun request per page, the deltas read back."""

    def __init__(self, base: str, result: SessionResult, timeout_s: float) -> None:
        self.url = base.replace("http://", "ws://") + "/_stcore/stream"
        self.result, self.timeout_s, self.socket = result, timeout_s, None

    async def start(self) -> None:
        pass

    async def open(self, path: str, query: dict[str, str], title: str, fresh: bool) -> None:
        try:
            await asyncio.wait_for(self._run(path, query, title, fresh), self.timeout_s)
        except TimeoutError as error:
            raise PageFailed("timeout", f"no script_finished within {self.timeout_s:.0f} s") from error
        except websockets.ConnectionClosed as error:
            self.result.socket_errors += 1
            raise PageFailed("disconnected", f"websocket closed: {error}") from error

    async def _run(self, path: str, query: dict[str, str], title: str, fresh: bool) -> None:
        if fresh or self.socket is None:
            await self.close()
            self.socket = await websockets.connect(self.url, subprotocols=["streamlit"], max_size=None)
            self.result.sockets_opened += 1
        request = BackMsg()
        request.rerun_script.query_string = urlencode(query)
        request.rerun_script.page_name = path
        await self.socket.send(request.SerializeToString())
        headings, problems, elements = [], [], 0
        while True:
            message = ForwardMsg()
            message.ParseFromString(await self.socket.recv())
            kind = message.WhichOneof("type")
            if kind == "delta" and message.delta.WhichOneof("type") == "new_element":
                elements += 1
                element = message.delta.new_element
                if element.WhichOneof("type") == "heading":
                    headings.append(element.heading.body)
                elif element.WhichOneof("type") == "exception":
                    problems.append(f"{element.exception.type}: {element.exception.message}"[:200])
            elif kind == "script_finished" and message.script_finished != ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                break
        if problems:
            raise PageFailed("exception", problems[0])
        if message.script_finished != ForwardMsg.FINISHED_SUCCESSFULLY:
            raise PageFailed("script", f"script_finished {message.script_finished}")
        if title not in headings:
            raise PageFailed("wrong page", f"wanted {title!r}, drawn {headings[:3]}")
        if elements == 0:
            raise PageFailed("empty", "nothing drawn")

    async def close(self) -> None:
        if self.socket is not None:
            with suppress(Exception):
                await asyncio.wait_for(self.socket.close(), 10)
            self.socket = None


async def run_session(session, number: int, deadline: float, result: SessionResult) -> None:
    """Rounds over every page until the deadline: the first by its link, the others through the sidebar."""
    await session.start()
    today = korea_today()
    paths = list(PAGES)
    try:
        round_ = 0
        while time.perf_counter() < deadline:
            query = filter_links(today, number, round_)
            lang = query.get("lang", "ko")
            # each round starts on another page, so that every page is opened by its link too
            order = paths[round_ % len(paths) :] + paths[: round_ % len(paths)]
            fresh = True
            for path in order:
                if time.perf_counter() >= deadline:
                    break
                started = time.perf_counter()
                result.loads += fresh
                try:
                    await session.open(path, query, t(PAGES[path], lang), fresh)
                except PageFailed as failed:
                    result.error(failed.kind, f"/{path}?{urlencode(query)}: {failed.detail}")
                    fresh = True  # start over with a new load, as a reader would
                    continue
                result.views.append(
                    View(PAGES[path], "link" if fresh else "sidebar", (time.perf_counter() - started) * 1000)
                )
                fresh = False
            round_ += 1
        result.finished = True
    finally:
        await session.close()


# ---------------------------------------------------------------------------------------------- steps


@dataclass
class Step:
    mode: str  # "browser" or "direct"
    sessions: int
    results: list[SessionResult]
    reading: dict[str, float]
    quiet: bool  # the machine was quiet before it started
    cut_off: bool  # some sessions did not end in time

    @property
    def views(self) -> list[View]:
        return [view for result in self.results for view in result.views]

    def ms(self, kind: str | None = None, page: str | None = None) -> list[float]:
        return [v.ms for v in self.views if kind in (None, v.kind) and page in (None, v.page)]

    @property
    def errors(self) -> Counter:
        return sum((result.errors for result in self.results), Counter())

    @property
    def held(self) -> int:
        return sum(result.held for result in self.results)

    def share(self, group: str) -> float:
        """CPU of a group over the wall time: 1.0 is one core."""
        return self.reading[group] / self.reading["wall"]

    @property
    def others(self) -> float:
        ours = sum(self.reading[group] for group in Sampler.GROUPS)
        return max(self.reading["machine"] - ours, 0.0) / self.reading["wall"]


async def run_step(mode: str, make_session, sessions: int, seconds: float, timeout_s: float, sampler: Sampler) -> Step:
    quiet = await asyncio.to_thread(wait_for_quiet)
    sampler.reset()
    deadline = time.perf_counter() + seconds
    results = [SessionResult() for _ in range(sessions)]
    tasks = [
        asyncio.create_task(run_session(make_session(n, results[n]), n, deadline, results[n])) for n in range(sessions)
    ]
    # bounded: the loop stops at the deadline, the last page at its timeout, the close after that;
    # past that a session is cut off, and what it did so far still counts
    _, late = await asyncio.wait(tasks, timeout=seconds + timeout_s + 60)
    for task in late:
        task.cancel()
    if late:
        await asyncio.wait(late, timeout=30)
    reading = sampler.reading()
    for result, task in zip(results, tasks, strict=True):
        if task in late:
            result.error("cut off", f"still running {seconds + timeout_s + 60:.0f} s after the start")
        elif task.exception() is not None:
            result.error("session failed", f"{type(task.exception()).__name__}: {str(task.exception())[:200]}")
    step = Step(mode, sessions, results, reading, quiet, bool(late))
    print(f"  {mode} x{sessions}: " + summary_line(step), flush=True)
    await asyncio.sleep(SETTLE_SECONDS)
    return step


async def run_ramps(args: argparse.Namespace, base: str, server_pid: int, started: float):
    """The browser ramp, then the browser-free one, each step only if it fits in the time left."""
    sampler = Sampler(server_pid)
    sampler.start()
    steps: list[Step] = []
    skipped: list[str] = []
    worst = QUIET_WAIT_SECONDS + args.seconds + args.page_timeout + 90 + SETTLE_SECONDS

    def fits() -> bool:
        return time.perf_counter() - started + worst <= args.max_minutes * 60

    try:
        if args.sessions:
            async with async_playwright() as playwright:
                browsers = [await playwright.chromium.launch(**launch_options()) for _ in range(args.browsers)]

                def browser_session(n: int, result: SessionResult) -> BrowserSession:
                    return BrowserSession(browsers[n % len(browsers)], base, result, args.page_timeout)

                for sessions in args.sessions:
                    if not fits() or (steps and steps[-1].cut_off):
                        skipped.append(f"{sessions} browser sessions")
                        continue
                    steps.append(
                        await run_step("browser", browser_session, sessions, args.seconds, args.page_timeout, sampler)
                    )
                for browser in browsers:
                    await browser.close()

        def direct_session(n: int, result: SessionResult) -> DirectSession:
            return DirectSession(base, result, args.page_timeout)

        for sessions in args.direct_sessions:
            if not fits() or (steps and steps[-1].mode == "direct" and steps[-1].cut_off):
                skipped.append(f"{sessions} browser-free sessions")
                continue
            steps.append(await run_step("direct", direct_session, sessions, args.seconds, args.page_timeout, sampler))
    finally:
        sampler.halt.set()
    return steps, skipped


# ---------------------------------------------------------------------------------------------- the report


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[-1] if len(values) >= 2 else values[0]


def percentiles(values: list[float]) -> str:
    if not values:
        return "– | – | –"
    return f"{statistics.median(values):,.0f} ms | {p95(values):,.0f} ms | {max(values):,.0f} ms"


def errors_cell(step: Step) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(step.errors.items())) or "0"


def summary_line(step: Step) -> str:
    return (
        f"held {step.held}/{step.sessions}, {len(step.views)} views, errors {errors_cell(step)}, "
        f"p50/p95/max {percentiles(step.ms())}, server {step.share('server'):.0%} CPU, "
        f"browser {step.share('browser'):.0%}, others {step.others:.0%}, "
        f"peak RSS {step.reading['peak_rss'] / 1e6:,.0f} MB"
    )


def server_log_problems(log_path: Path) -> list[str]:
    """Lines of the server's log that say something went wrong."""
    lines = log_path.read_text(encoding="utf-8", errors="replace").splitlines()
    pattern = re.compile(r"Traceback|Error|Exception|WARNING|CRITICAL", re.I)
    return [line.strip()[:200] for line in lines if pattern.search(line)]


def memory_per_session(ramp: list[Step]) -> float | None:
    """MB of peak RSS per extra session, from the smallest to the largest count of a ramp."""
    low, high = min(ramp, key=lambda s: s.sessions), max(ramp, key=lambda s: s.sessions)
    if high.sessions == low.sessions:
        return None
    return (high.reading["peak_rss"] - low.reading["peak_rss"]) / (high.sessions - low.sessions) / 1e6


def limits(steps: list[Step]) -> str:
    """What ran out first, from the figures themselves."""
    cores = os.cpu_count() or 1
    parts = []
    browser = [step for step in steps if step.mode == "browser"]
    direct = [step for step in steps if step.mode == "direct"]
    if browser:
        step = browser[-1]
        busy = (step.share("server") + step.share("browser") + step.others) / cores
        parts.append(
            f"With browsers, at {sessions_text(step.sessions)} the {cores} cores were {busy:.0%} busy: the server "
            f"used {step.share('server'):.0%} of one core, Chromium and its driver {step.share('browser'):.0%}, other "
            f"processes {step.others:.0%}. The browser, drawing the charts, takes "
            f"{step.share('browser') / max(step.share('server'), 1e-9):.1f}x the server's CPU, so these page times "
            "measure the machine shared with the browser, not the server alone."
        )
    if direct:
        step = max(direct, key=lambda s: len(s.views) / s.reading["wall"])
        last = direct[-1]
        parts.append(
            f"Without a browser the server peaked at {len(step.views) / step.reading['wall']:.1f} page runs/s "
            f"({sessions_text(step.sessions)}, {step.share('server'):.0%} of one core); at "
            f"{sessions_text(last.sessions)} it used {last.share('server'):.0%} of one core with page p50 "
            f"{statistics.median(last.ms() or [0]):,.0f} ms. "
            "Every session's script runs in a thread of the one server process: past one core (the GIL, "
            "DuckDB's own threads aside) more sessions only queue, and page times grow with the count."
        )
    rss = [step.reading["peak_rss"] / 1e6 for step in steps]
    slopes = [
        f"{name} {slope:+,.1f} MB per extra session"
        for name, ramp in (("in browsers", browser), ("browser-free", direct))
        if ramp and (slope := memory_per_session(ramp)) is not None
    ]
    parts.append(
        f"Memory is not the limit: the server's peak RSS stayed between {min(rss):,.0f} and {max(rss):,.0f} MB "
        f"(of {psutil.virtual_memory().total / 2**30:.0f} GB) whatever the count"
        + (f" (from the smallest count to the largest: {', '.join(slopes)})" if slopes else "")
        + "; it follows the query cache and the pages' frames more than the sessions."
    )
    return " ".join(parts)


def step_rows(steps: list[Step], browser: bool) -> list[str]:
    rows = []
    for step in steps:
        r = step.reading
        by_link, by_sidebar = step.ms("link"), step.ms("sidebar")
        cells = [
            f"{step.sessions}{'' if step.quiet else ' (busy)'}",
            f"{step.held}/{step.sessions}",
            f"{len(step.views):,}",
            f"{len(step.views) / r['wall']:.1f}",
            errors_cell(step),
            percentiles(step.ms()),
            f"{statistics.median(by_link):,.0f} ms" if by_link else "–",
            f"{statistics.median(by_sidebar):,.0f} ms" if by_sidebar else "–",
            f"{r['peak_rss'] / 1e6:,.0f} MB",
            f"{step.share('server'):.0%}",
            f"{r['server'] * 1000 / max(len(step.views), 1):,.0f} ms",
        ]
        cells += [f"{step.share('browser'):.0%}"] if browser else [f"{step.share('generator'):.0%}"]
        cells += [f"{step.others:.0%}"]
        rows.append("| " + " | ".join(cells) + " |")
    return rows


def sessions_text(count: int) -> str:
    return f"{count} session{'' if count == 1 else 's'}"


def busiest(ramp: list[Step]) -> str:
    return sessions_text(max(ramp, key=lambda step: len(step.views)).sessions) if ramp else "not run"


def write_report(args, steps: list[Step], skipped: list[str], store: dict, problems: list[str], busy: float) -> str:
    cores = os.cpu_count()
    command = shlex.join([".venv/bin/python", "benchmarks/server_load.py", *args.argv])
    browser = [step for step in steps if step.mode == "browser"]
    direct = [step for step in steps if step.mode == "direct"]
    head = (
        "| sessions | held | page views | views/s | errors | page p50 | p95 | max | by link p50 | by sidebar p50 "
        "| server peak RSS | server CPU | server CPU per view | {} CPU | others' CPU |"
    )
    rule = "|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    lines = [
        f"## {SECTION}",
        "",
        f"Measured {date.today().isoformat()} by `{command}` on {cores} cores ({platform.machine()}, Python "
        f"{platform.python_version()}, {psutil.virtual_memory().total / 2**30:.0f} GB; the cores were "
        f"{busy:.0%} busy just before): `streamlit run` on loopback over a store of {store['rows']} "
        f"({store['mb']:.1f} MB, {store['cells']:,} cells). Each session loops for {args.seconds:.0f} s over the 7 "
        "pages with no pause (one session is a reader clicking as fast as the pages come, several times a "
        "real one). A round opens its first page by a link (a new websocket, a new Streamlit session) and "
        "the others through the sidebar (the same session), with one of 5 filter links: the defaults; last "
        "30 days by day in English; this year by month, China; last 7 days, all but Korea, English; a custom "
        "period of 1 to 3 years by month against last year, whose start moves with the session and round so "
        "that its queries miss the cache.",
        "",
        f"**In browsers**: one headless Chromium ({args.browsers} process), one browser context per session. A "
        "page is timed from the navigation to Streamlit's `notRunning` with the page's own title drawn in the "
        "link's language, then checked (no exception, no error dialog, still connected, something drawn).",
        "",
        *([head.format("browser"), rule, *step_rows(browser, browser=True)] if browser else ["(not run)"]),
        "",
        "**Browser-free**: the same sessions spoken straight to the server's websocket (`_stcore/stream`, "
        "Streamlit's protobuf messages: a rerun request per page, as the browser sends), timed from the "
        "request to `script_finished`; checked for an exception element, the page's title among the "
        "headings, and the websocket staying open. This is the server's own cost, no browser on the cores.",
        "",
        *([head.format("load generator"), rule, *step_rows(direct, browser=False)] if direct else ["(not run)"]),
        "",
        "*held*: sessions that ran to the end on their websockets (no reconnect, no socket error, never "
        f"disconnected). *errors*: a page not drawn within {args.page_timeout:.0f} s (*timeout*), an exception "
        "or error dialog on the page, a dropped connection, the wrong page or language, an empty page. *server "
        "CPU* is the streamlit process tree's CPU time over the wall time (100% = one core); *server CPU per "
        "view* that CPU time divided by the page views (higher in browsers: their page loads also fetch the "
        "app's static files and media, which the browser-free client does not); *browser CPU* the same for "
        "Chromium and its Playwright driver; *others' CPU* what the rest of the machine used meanwhile "
        "(anything above a few % skews the times). Page times by page, at the count of each ramp with the "
        "most page views:",
        "",
        f"| page | in browsers ({busiest(browser)}): views | p50 | p95 | max "
        f"| browser-free ({busiest(direct)}): views | p50 | p95 | max |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in PAGES.values():
        cells = []
        for ramp in (browser, direct):
            values = max(ramp, key=lambda step: len(step.views)).ms(page=key) if ramp else []
            cells.append(f"{len(values)} | {percentiles(values)}")
        lines.append(f"| {key} | " + " | ".join(cells) + " |")
    foreign = sum(len(result.foreign) for step in steps for result in step.results)
    page_errors = [error for step in steps for result in step.results for error in result.page_errors]
    examples = [f"{step.mode} x{step.sessions}: {ex}" for step in steps for r in step.results for ex in r.examples]
    lines += [
        "",
        limits(steps),
        "",
        f"Requests that would have left loopback (aborted): {foreign}. Script errors in the browser: "
        f"{len(page_errors)}. Lines of the server's log reporting a problem: {len(problems)}.",
    ]
    if any(not step.quiet for step in steps):
        lines += [
            "",
            f"*(busy)*: the machine was still busy with other work after {QUIET_WAIT_SECONDS} s of waiting "
            "when the step started; its times are not the server's alone (see *others' CPU*).",
        ]
    if skipped:
        lines += [
            "",
            f"Skipped: {', '.join(skipped)} (past --max-minutes {args.max_minutes:.0f}, or after a step whose "
            "sessions were cut off).",
        ]
    if examples or page_errors or problems:
        lines += ["", "What went wrong (the first few):", ""]
        shown = list(dict.fromkeys(examples))[:8] + page_errors[:3] + problems[:5]
        lines += ["- `" + text.replace("`", "'") + "`" for text in shown]
    return "\n".join(lines) + "\n"


def store_facts(db: Path, rows: str) -> dict:
    import duckdb

    with duckdb.connect(str(db), read_only=True) as con:
        cells = con.execute("select count(*) from visit_counts").fetchone()[0]
    return {"rows": rows, "mb": db.stat().st_size / 1e6, "cells": cells}


def session_counts(text: str) -> list[int]:
    counts = [int(part) for part in text.split(",") if part.strip()]
    if counts and (min(counts) < 1 or max(counts) > MAX_SESSIONS):
        raise argparse.ArgumentTypeError(f"session counts from 1 to {MAX_SESSIONS}, e.g. 1,5,10,20")
    return counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=session_counts, default=[1, 5, 10, 20], help="browser ramp ('' for none)")
    parser.add_argument(
        "--direct-sessions", type=session_counts, default=[1, 5, 10, 20, 50], help="browser-free ramp ('' for none)"
    )
    parser.add_argument("--seconds", type=float, default=60, help="how long each step runs")
    parser.add_argument("--rows", type=parse_size, default=1_000_000, help="submissions in the demo store")
    parser.add_argument("--db", type=Path, help="use this store instead of building one")
    parser.add_argument("--workdir", type=Path, help="keep the store and the server's log here")
    parser.add_argument("--browsers", type=int, default=1, choices=range(1, 5), help="Chromium processes")
    parser.add_argument("--page-timeout", type=float, default=60, help="seconds before a page counts as failed")
    parser.add_argument("--max-minutes", type=float, default=25, help="the whole run's bound")
    parser.add_argument("--no-doc", action="store_true", help="print the section, do not write docs/reliability.md")
    args = parser.parse_args()
    args.argv = [arg for arg in sys.argv[1:] if arg != "--no-doc"]
    if args.sessions and not CHROMIUM.exists():
        raise SystemExit(f"{CHROMIUM} is missing (apt-get install chromium)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="server-load-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        if args.db:
            db, rows = args.db.resolve(), f"`{args.db}`"
        else:
            db = build_store(args.rows, workdir, korea_today())
            rows = f"{args.rows:,} generated submissions over three years"
        store = store_facts(db, rows)
        busy = machine_busy()
        print(f"the cores are {busy:.0%} busy before the run", flush=True)
        try:
            with streamlit_server(db, workdir) as server:
                steps, skipped = asyncio.run(run_ramps(args, server.url, server.process.pid, started))
                problems = server_log_problems(server.log_path)
        except ServerFailed as failed:
            raise SystemExit(f"streamlit did not come up: {failed}") from failed
    if not steps:
        raise SystemExit("no step fitted in --max-minutes")
    section = write_report(args, steps, skipped, store, problems, busy)
    print(section if args.no_doc else write_section(SECTION, section, doc=DOC))


if __name__ == "__main__":
    main()
