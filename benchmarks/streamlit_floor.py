"""Streamlit's floor on this machine: how soon a one-element app draws, beside the dashboard's targets.

Issue 13 asks for the first chart within 2.5 s. This measures what Streamlit
itself takes here, with no code of ours: three apps of one element each (a
line of text, one Vega-Lite chart, one Plotly chart), each served by
`streamlit run` and opened by headless Chromium in a new browser context per
round (a new user: a new session and an empty cache, as browser_bench's first
load). The time is the page's own performance.now() when the element is drawn.
Rounds alternate between the apps so that all three meet the same machine;
one warm-up round is not counted. Results go to docs/performance.md.

    .venv/bin/python benchmarks/streamlit_floor.py --rounds 7
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from etl_bench import write_section  # noqa: E402
from playwright.sync_api import sync_playwright  # noqa: E402

from harness.browser import context_options, launch_options  # noqa: E402
from harness.server import free_port, healthy  # noqa: E402

SECTION = "Streamlit's floor on this machine"
# app name -> (its script, the selector of its one element once drawn)
APPS = {
    "a line of text": ('st.write("floor")', "[data-testid='stMarkdownContainer'] >> text=floor"),
    "one Vega-Lite chart": (
        "st.vega_lite_chart({'mark': 'bar', 'data': {'values': [{'x': 'a', 'y': 3}, {'x': 'b', 'y': 4}]}, "
        "'encoding': {'x': {'field': 'x', 'type': 'nominal'}, 'y': {'field': 'y', 'type': 'quantitative'}}})",
        "[data-testid='stVegaLiteChart'] :is(canvas, svg)",
    ),
    "one Plotly chart": (
        "import plotly.graph_objects as go\nst.plotly_chart(go.Figure(go.Bar(x=['a', 'b'], y=[3, 4])))",
        "[data-testid='stPlotlyChart'] svg.main-svg",
    ),
}
WAIT_MS = 60_000


def serve(script: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    command = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true"]
    command += ["--server.port", str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"]
    command += ["--server.fileWatcherType", "none"]
    process = subprocess.Popen(command, cwd=script.parent, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while not healthy(url):
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"streamlit did not start for {script.name}")
        time.sleep(0.25)
    urllib.request.urlopen(url).read()  # the server's first answer, uncounted
    return process, url


def first_draw(browser, url: str, selector: str) -> float:
    context = browser.new_context(**context_options())
    try:
        page = context.new_page()
        page.goto(url)
        page.locator(selector).first.wait_for(timeout=WAIT_MS)
        return page.evaluate("performance.now()") / 1000
    finally:
        context.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in APPS}
    with tempfile.TemporaryDirectory(prefix="streamlit-floor-") as tmp, sync_playwright() as playwright:
        servers = {}
        try:
            for i, (name, (body, _)) in enumerate(APPS.items()):
                script = Path(tmp) / f"app_{i}.py"
                script.write_text(f"import streamlit as st\n{body}\n", encoding="utf-8")
                servers[name] = serve(script)
            browser = playwright.chromium.launch(**launch_options())
            for round_no in range(args.rounds + 1):
                for name, (_, selector) in APPS.items():
                    seconds = first_draw(browser, servers[name][1], selector)
                    if round_no:  # the first round warms the server and the browser
                        times[name].append(seconds)
                print(f"round {round_no}: " + ", ".join(f"{n} {t[-1]:.2f} s" for n, t in times.items() if t))
            browser.close()
        finally:
            for process, _ in servers.values():
                process.terminate()
                process.wait()
    rows = "\n".join(
        f"| {name} | {statistics.median(values):.2f} | {max(values):.2f} |" for name, values in times.items()
    )
    load = os.getloadavg()[0]
    section = f"""## {SECTION}

`benchmarks/streamlit_floor.py`, {date.today()}, {platform.node() or "this machine"} ({os.cpu_count()} cores, load
average {load:.1f} when it ended), {args.rounds} rounds after one warm-up, Streamlit's own apps of one element
each, no code of ours: seconds from navigation start to the element drawn, in a new browser context (an empty
cache, a new session), as `browser_bench.py`'s first load.

| app | median | worst |
|---|---:|---:|
{rows}

What Streamlit and Plotly take here before any query, widget or figure of ours is the floor under
issue 13's first-load target (2.5 s to the first chart).
"""
    print(write_section(SECTION, section))


if __name__ == "__main__":
    main()
