"""Dashboard speed: every query behind every page, and a full rerun of each page.

Builds (or reuses) a store from generated submissions over three years, then
times each page's queries, uncached, over the common filter combinations
(p50 and p95), and a full AppTest rerun of each page with cold caches.
Results go to docs/performance.md.

    .venv/bin/python benchmarks/dashboard_bench.py                 # 10M submissions
    .venv/bin/python benchmarks/dashboard_bench.py --rows 1M --workdir /tmp/dash-bench
"""

from __future__ import annotations

import argparse
import itertools
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from etl_bench import parse_size, write_section  # noqa: E402

SECTION = "Dashboard queries"
PAGES = ("overview", "countries", "demographics", "services", "about")


def build_store(rows: int, workdir: Path, end: date) -> Path:
    db = workdir / f"store-{rows}.duckdb"
    if db.exists():
        return db
    raw = workdir / f"raw-{rows}.csv"
    start = end - timedelta(days=3 * 365 - 1)
    print(f"generating {rows:,} submissions over three years ...", flush=True)
    subprocess.run(
        [sys.executable, "-m", "etl", "generate", "--rows", str(rows), "--seed", "3", "--out", str(raw),
         "--start", start.isoformat(), "--end", end.isoformat()],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    subprocess.run([sys.executable, "-m", "etl", "load", str(raw), "--db", str(db)], cwd=ROOT, check=True)
    raw.unlink()
    return db


def filter_sets(today: date):
    from dashboard.filters import Filters

    base = [
        Filters(preset="last_7", grain="day"),
        Filters(preset="last_30", grain="day"),
        Filters(preset="last_90", grain="week"),
        Filters(preset="this_year", grain="month"),
        Filters(preset="custom", start=today - timedelta(days=3 * 365 - 1), end=today, grain="month"),
    ]
    narrowing = [
        {},
        {"countries": ("CN",)},
        {"countries": ("KR",), "country_mode": "exclude"},
        {"features": ("coupon",)},
        {"genders": ("female",), "age_groups": ("20-29", "30-39")},
    ]
    return [replace(f, **n) for f, n in itertools.product(base, narrowing)]


def page_queries(version, ctx_filters, today):
    """The queries each page runs, as (page, name, callable)."""
    from dashboard import queries

    f = ctx_filters
    start, end = f.period(today)
    comparison = f.comparison_period(today)
    g = f.grain
    return [
        ("overview", "trend by feature", lambda: queries.counts(version, f, start, end, by=("feature",), grain=g)),
        ("overview", "trend, comparison", lambda: queries.counts(version, f, *comparison, by=("feature",), grain=g)),
        ("overview", "age groups (under-14 share)", lambda: queries.counts(version, f, start, end, by=("age_group",))),
        ("countries", "by country", lambda: queries.counts(version, f, start, end, by=("country",))),
        ("countries", "by country, comparison", lambda: queries.counts(version, f, *comparison, by=("country",))),
        ("demographics", "gender x age", lambda: queries.counts(version, f, start, end, by=("gender", "age_group"))),
        (
            "demographics",
            "age mix over time",
            lambda: queries.counts(version, f, start, end, by=("age_group",), grain=g),
        ),
        (
            "demographics",
            "gender mix over time",
            lambda: queries.counts(version, f, start, end, by=("gender",), grain=g),
        ),
        ("services", "feature x country", lambda: queries.counts(version, f, start, end, by=("country", "feature"))),
        ("services", "feature x age", lambda: queries.counts(version, f, start, end, by=("age_group", "feature"))),
        ("sidebar", "country list", lambda: queries.country_list(version)),
        ("about", "store facts", lambda: queries.store_facts(version)),
        ("about", "batch log", lambda: queries.batches(version)),
    ]


def time_queries(db: Path, today: date, repeats: int) -> dict[tuple[str, str], list[float]]:
    from dashboard import queries
    from dashboard.store import current_version

    version = current_version(db)
    timings: dict[tuple[str, str], list[float]] = {}
    for filters in filter_sets(today):
        for page, name, run in page_queries(version, filters, today):
            for _ in range(repeats):
                queries._cached.clear()  # time the query, not the cache
                started = time.perf_counter()
                run()
                timings.setdefault((page, name), []).append((time.perf_counter() - started) * 1000)
    return timings


def page_settings(today: date) -> dict[str, dict[str, str]]:
    three_years = {"period": "custom", "from": str(today - timedelta(days=3 * 365 - 1)), "to": str(today)}
    return {
        "this year, by week": {"period": "this_year", "grain": "week"},
        "3 years, by day": {**three_years, "grain": "day"},
    }


def time_pages(db: Path, runs: int, params: dict[str, str]) -> dict[str, list[float]]:
    from streamlit.testing.v1 import AppTest

    os.environ["GANGNAM_DB"] = str(db)
    timings: dict[str, list[float]] = {}
    for page in PAGES:
        for _ in range(runs):
            at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=120)
            at.query_params.update(params)
            at.run()
            if page != "overview":
                at.switch_page(f"views/{page}.py")
            from dashboard import queries

            queries._cached.clear()
            started = time.perf_counter()
            at.run()
            timings.setdefault(page, []).append((time.perf_counter() - started) * 1000)
            if at.exception:
                raise SystemExit(f"{page}: {at.exception[0].value}")
    return timings


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[-1] if len(values) >= 2 else values[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=parse_size, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3, help="runs of each query per filter set")
    parser.add_argument("--page-runs", type=int, default=5)
    parser.add_argument("--workdir", type=Path)
    args = parser.parse_args()
    from dashboard.filters import korea_today

    today = korea_today()
    with tempfile.TemporaryDirectory(prefix="dash-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        db = build_store(args.rows, workdir, today)
        store_mb = db.stat().st_size / 1e6
        import duckdb

        with duckdb.connect(str(db), read_only=True) as con:
            cells = con.execute("select count(*) from visit_counts").fetchall()[0][0]
        queries_ms = time_queries(db, today, args.repeats)
        pages_ms = {name: time_pages(db, args.page_runs, params) for name, params in page_settings(today).items()}
    lines = [
        f"## {SECTION}",
        "",
        f"Measured {date.today().isoformat()} by `benchmarks/dashboard_bench.py` on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}): a store from {args.rows:,} generated "
        f"submissions over three years ({store_mb:.1f} MB, {cells:,} cells in `visit_counts`). Each query runs "
        f"uncached, {args.repeats} time(s) for each of {len(filter_sets(today))} filter sets (5 periods from 7 days "
        "to 3 years, by day/week/month, x no filter, one country, all but Korea, one service, women in their "
        "20s and 30s). Targets: every query p95 under 50 ms, every page rerun under 1 s.",
        "",
        "| page | query | p50 | p95 | max |",
        "|---|---|---:|---:|---:|",
    ]
    for (page, name), values in queries_ms.items():
        lines.append(
            f"| {page} | {name} | {statistics.median(values):.1f} ms | {p95(values):.1f} ms | {max(values):.1f} ms |"
        )
    lines += [
        "",
        f"Full AppTest rerun of each page with cold query caches, {args.page_runs} run(s) each:",
        "",
        "| page | " + " | ".join(f"{name}: p50 | max" for name in pages_ms) + " |",
        "|---|" + "---:|---:|" * len(pages_ms),
    ]
    for page in PAGES:
        cells = [f"{statistics.median(by[page]):.0f} ms | {max(by[page]):.0f} ms" for by in pages_ms.values()]
        lines.append(f"| {page} | " + " | ".join(cells) + " |")
    print(write_section(SECTION, "\n".join(lines) + "\n"))


if __name__ == "__main__":
    main()
