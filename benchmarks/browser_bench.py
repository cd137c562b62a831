"""Dashboard speed as a planner sees it: real `python -m dashboard` and headless Chromium on the demo store.

Each round opens a new browser context (a new user: a new session, an empty
browser cache) and times, in the page itself (performance.now()):
  - the first load: from navigation start to the first chart drawn, and until the page settled;
  - a return visit: a new tab of the same browser (a new session, Streamlit's code in the cache),
    to the first chart;
  - each sidebar page switch, from the click until the page settled;
  - filter changes, from the click until the page settled.

"Settled": the script run the click caused has ended, no element is stale or
still loading, every chart on the page has drawn its SVG, the page's title is
the one asked for, and the sidebar's filters are drawn.

The same rounds run against a baseline (another commit, served from a git
worktree of it with this checkout's Python and packages), alternating with
this tree, so that both sides meet the same machine. One warm-up round per
side is not counted: it pays the server's imports and cold caches, which a
server that has been up for a minute no longer pays. Results (median and worst
of the rounds) go to docs/performance.md.

    .venv/bin/python benchmarks/browser_bench.py
    .venv/bin/python benchmarks/browser_bench.py --rounds 5 --baseline 4e52089 --workdir /tmp/browser-bench
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from etl_bench import parse_size, write_section  # noqa: E402
from noise_cost import build_store  # noqa: E402  the demo store as `make run` builds it
from playwright.sync_api import Error as PlaywrightError  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from contract import korea_today  # noqa: E402
from dashboard.i18n import t  # noqa: E402
from harness.browser import context_options, runs_finished, watch_context  # noqa: E402
from harness.server import streamlit_server  # noqa: E402

SECTION = "Dashboard in the browser"
DEMO_ROWS = 300_000  # what `make run` generates
# main before the page-speed work of issue 13
DEFAULT_BASELINE = "4e52089"
TARGETS = {"first chart": 2.5, "return visit": 2.5, "page switch": 0.8, "filter change": 0.8}  # seconds, median

# the last press of a pointer: a switch or a filter change is timed from it
PRESS_JS = """document.addEventListener("pointerdown", () => { window.__pressed = performance.now(); }, true);"""
FIRST_CHART_JS = (
    """() => document.querySelector("[data-testid='stPlotlyChart'] svg.main-svg") ? performance.now() : false"""
)
# (runs ended before the press, the page title) -> ms since the press (or since navigation start), once settled
SETTLED_JS = """([after, title]) => {
    const app = document.querySelector("[data-testid='stApp']");
    if (!app || app.dataset.testScriptState !== "notRunning" || (window.__scriptRuns ?? 0) <= after) return false;
    if (document.querySelector("[data-stale='true'], [data-testid='stSkeleton']")) return false;
    for (const chart of document.querySelectorAll("[data-testid='stPlotlyChart']")) {
        if (!chart.querySelector("svg.main-svg")) return false;
    }
    const heading = document.querySelector("[data-testid='stMain'] h1");
    if (!heading || !heading.textContent.includes(title)) return false;
    if (!document.querySelector("[data-testid='stSidebar'] [data-testid='stRadio']")) return false;
    return performance.now() - (window.__pressed ?? 0);
}"""
STATE_JS = """() => ({
    runs: window.__scriptRuns, state: document.querySelector("[data-testid='stApp']")?.dataset.testScriptState,
    stale: document.querySelectorAll("[data-stale='true']").length,
    skeletons: document.querySelectorAll("[data-testid='stSkeleton']").length,
    charts: document.querySelectorAll("[data-testid='stPlotlyChart']").length,
    drawn: document.querySelectorAll("[data-testid='stPlotlyChart'] svg.main-svg").length,
    title: document.querySelector("[data-testid='stMain'] h1")?.textContent,
    radios: document.querySelectorAll("[data-testid='stSidebar'] [data-testid='stRadio']").length,
})"""
WAIT_MS = 120_000


@dataclass
class Side:
    name: str
    root: Path
    url: str = ""
    times: dict[str, list[float]] = field(default_factory=dict)
    cold: dict[str, float] = field(default_factory=dict)  # the warm-up round: the server's first user of each view

    def record(self, label: str, ms: float) -> None:
        self.times.setdefault(label, []).append(ms / 1000)

    def record_cold(self, label: str, ms: float) -> None:
        self.cold[label] = ms / 1000


def settle(page, after: int, title: str) -> float:
    """ms from the last press (or navigation start) until the page settled."""
    try:
        return page.wait_for_function(SETTLED_JS, arg=[after, title], polling="raf", timeout=WAIT_MS).json_value()
    except PlaywrightError as error:
        state = page.evaluate(STATE_JS)
        raise SystemExit(f"the page {title!r} did not settle: {state}") from error


def pressed(page, action, title: str) -> float:
    before = runs_finished(page)
    action()
    return settle(page, before, title)


def radio_option(page, index: int, option: str):
    """The option of the sidebar's radio group `index` (0 = the language switch) whose label is `option`."""
    return page.get_by_test_id("stSidebar").get_by_test_id("stRadio").nth(index).get_by_text(option, exact=True)


def choose(page, box_label: str, option: str) -> None:
    """Open the sidebar selectbox labelled `box_label` and pick `option` (the pick is the timed press)."""
    page.get_by_test_id("stSidebar").get_by_test_id("stSelectbox").filter(has_text=box_label).click()
    page.get_by_role("option", name=option, exact=True).click()


def one_round(browser, side: Side, lang: str, count: bool) -> None:
    """A new user's first load, every page switch and a few filter changes; times kept when `count`."""
    blocked: list[str] = []
    context = browser.new_context(**context_options())
    watch_context(context, blocked)
    context.set_default_timeout(WAIT_MS)
    context.add_init_script(PRESS_JS)
    record = side.record if count else side.record_cold
    try:
        page = context.new_page()
        page.goto(side.url)
        first = page.wait_for_function(FIRST_CHART_JS, polling="raf", timeout=WAIT_MS).json_value()
        record("first load: first chart", first)
        record("first load: settled", settle(page, 0, t("overview", lang)))
        nav = page.get_by_test_id("stSidebarNavLink")
        # a tree from before the access logs has no Traffic page
        traffic = ("traffic",) if (side.root / "dashboard" / "views" / "traffic.py").exists() else ()
        for key in ("countries", "demographics", "services", *traffic, "export", "about", "overview"):
            title = t(key, lang)
            record(f"switch to {title}", pressed(page, nav.filter(has_text=title).click, title))
        overview = t("overview", lang)
        for grain in ("month", "day", "week"):
            label = f"{overview}: {t('grain', lang)} → {t(grain, lang)}"
            record(label, pressed(page, radio_option(page, 1, t(grain, lang)).click, overview))
        preset = t("last_30", lang)
        record(
            f"{overview}: {t('period', lang)} → {preset}",
            pressed(page, lambda: choose(page, t("period", lang), preset), overview),
        )
        demographics = t("demographics", lang)
        pressed(page, nav.filter(has_text=demographics).click, demographics)
        exclude = t("exclude", lang)
        record(
            f"{demographics}: {t('country_mode', lang)} → {exclude}",
            pressed(page, radio_option(page, 2, exclude).click, demographics),
        )
        # a planner's next visit: a new tab (a new session), Streamlit's code already in the browser's cache
        page.close()
        page = context.new_page()
        page.goto(side.url)
        first = page.wait_for_function(FIRST_CHART_JS, polling="raf", timeout=WAIT_MS).json_value()
        record("return visit: first chart", first)
        if blocked:
            raise SystemExit(f"{side.name}: requests would have left loopback: {blocked[:3]}")
    finally:
        context.close()


def summary(times: dict[str, list[float]], kind: str) -> list[float]:
    """Every time of one kind, pooled over its labels and rounds."""
    if kind == "first chart":
        return times["first load: first chart"]
    if kind == "return visit":
        return times["return visit: first chart"]
    switch = kind == "page switch"
    return [
        value
        for label, values in times.items()
        if not label.startswith(("first load", "return visit")) and label.startswith("switch to ") == switch
        for value in values
    ]


def cell(values: list[float]) -> str:
    return f"{statistics.median(values):.2f} s / {max(values):.2f} s"


def report(sides: list[Side], rows: int, rounds: int, baseline: str | None, machine: str) -> str:
    head = "| | " + " | ".join(f"{side.name}: median / worst | warm-up" for side in sides) + " |"
    rule = "|---|" + "---:|---:|" * len(sides)
    lines = [
        f"## {SECTION}",
        "",
        f"Measured {date.today().isoformat()} by `benchmarks/browser_bench.py` on {machine}: "
        f"`python -m dashboard` over the demo store ({rows:,} submissions, as `make run` makes) and "
        f"Debian's headless Chromium, {rounds} rounds after one uncounted warm-up, each round a new browser "
        "context (a new session and an empty browser cache)"
        + (f", alternating with the baseline `{baseline}` served from a git worktree of it" if baseline else "")
        + ". Times are taken in the page: from navigation start (first load) or from the press of the "
        "pointer (switches and filter changes) until the page settled: the run ended, nothing stale or "
        "loading, every chart drawn, the page's title and the sidebar's filters there. *warm-up* is the "
        "uncounted first round: the first user of each view after the server started, who pays its imports "
        "and fills its query caches; the counted rounds meet warm caches, as every later user of a view does.",
        "",
        "Targets (median): " + ", ".join(f"{kind} <= {limit} s" for kind, limit in TARGETS.items()) + ".",
        "",
        head,
        rule,
    ]
    for kind, limit in TARGETS.items():
        values = [summary(side.times, kind) for side in sides]
        marks = ["met" if statistics.median(v) <= limit else "missed" for v in values]
        colds = [summary({k: [v] for k, v in side.cold.items()}, kind) for side in sides]
        lines.append(
            f"| **{kind}** (all) | "
            + " | ".join(
                f"**{cell(v)}** ({m}) | {statistics.median(c):.2f} s"
                for v, m, c in zip(values, marks, colds, strict=True)
            )
            + " |"
        )
    for label in sides[0].times:
        lines.append(
            f"| {label} | "
            + " | ".join(
                f"{cell(side.times[label])} | {side.cold[label]:.2f} s" if label in side.times else "(no such page) |"
                for side in sides
            )
            + " |"
        )
    return "\n".join(lines) + "\n"


def worktree(ref: str, folder: Path) -> Path:
    path = folder / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", "--force", str(path), ref], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=parse_size, default=DEMO_ROWS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="a commit to compare with; '' for none")
    parser.add_argument("--lang", default="ko", choices=("ko", "en"))
    parser.add_argument("--workdir", type=Path, help="keep the demo store here (default: a temp folder)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md")
    args = parser.parse_args()

    from harness.browser import launch_options

    with ExitStack() as stack:
        temp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="browser-bench-")))
        workdir = args.workdir or temp
        workdir.mkdir(parents=True, exist_ok=True)
        db = build_store(args.rows, workdir, korea_today())
        sides = [Side("this tree", ROOT)]
        if args.baseline:
            base = worktree(args.baseline, temp)
            stack.callback(subprocess.run, ["git", "worktree", "remove", "--force", str(base)], cwd=ROOT, check=False)
            sides.append(Side(f"baseline {args.baseline}", base))
        env = {"GANGNAM_LANG": args.lang}
        for side in sides:
            running = stack.enter_context(
                streamlit_server(db, temp / side.name.replace(" ", "-"), env=env, root=side.root)
            )
            side.url = running.url
        playwright = stack.enter_context(sync_playwright())
        browser = playwright.chromium.launch(**launch_options())
        stack.callback(browser.close)
        for round_ in range(args.rounds + 1):
            for side in sides if round_ % 2 == 0 else reversed(sides):
                one_round(browser, side, args.lang, count=round_ > 0)
            print(f"round {round_ or 'warm-up'} done", flush=True)
        machine = f"{os.cpu_count()} cores ({platform.machine()}, Python {platform.python_version()})"
        section = report(sides, args.rows, args.rounds, args.baseline or None, machine)
    print(section)
    if not args.no_write:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
