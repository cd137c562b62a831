"""The dashboard's query layer under load while the ETL publishes: 8 threads of page queries, 10 loads in a row.

Every answer must come from one whole published store (its total and its
breakdown by service both equal one of the versions the loads produce, never
a mix), no query may fail, each thread only ever moves forward, and after
each load the next query sees it. `GANGNAM_LONG=1` makes the loads larger;
run with `-s` to see the figures (docs/reliability.md).
"""

from __future__ import annotations

import statistics
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import LONG, raw_row, run_etl, write_csv

from contract import FEATURES
from dashboard.store import current_version, query

pytestmark = pytest.mark.heavy

THREADS = 8
LOADS = 10 if LONG else 5
ROWS = 20_000 if LONG else 2_000
# each load adds a different mix of services, so that a version is known by its breakdown
PAGE_QUERY = "select feature, sum(visits)::bigint as visits from visit_counts group by feature"


def load_file(folder: Path, number: int) -> tuple[Path, Counter]:
    mix = Counter({feature: ROWS // (index + 1) + number for index, feature in enumerate(FEATURES)})
    rows = [
        raw_row(submitted_at=f"2025-03-{number % 28 + 1:02d}T09:00:00+09:00", feature=feature, gender="F")
        for feature, count in mix.items()
        for _ in range(count)
    ]
    return write_csv(folder, rows, name=f"load-{number:02d}.csv"), mix


def etl_load(raw: Path, db: Path) -> None:
    code, _, err = run_etl("load", raw, "--db", db, "--wait", "60")
    assert code == 0, err


def breakdown(db: Path) -> tuple[tuple[str, int], ...]:
    frame = query(current_version(db), PAGE_QUERY)
    return tuple(sorted((feature, int(visits)) for feature, visits in frame.itertuples(index=False)))


def test_page_queries_under_publishes_see_whole_stores_and_every_new_one(tmp_path):
    db = tmp_path / "store" / "visitors.duckdb"
    files = [load_file(tmp_path / "raw", number) for number in range(LOADS + 1)]
    etl_load(files[0][0], db)
    versions = []  # the breakdown after each load, in order
    total = Counter()
    for _, mix in files:
        total += mix
        versions.append(tuple(sorted(total.items())))
    index_of = {version: index for index, version in enumerate(versions)}

    stop = threading.Event()
    errors: list[str] = []
    seen: list[list[int]] = [[] for _ in range(THREADS)]
    latencies: list[float] = []

    def reader(number: int) -> None:
        while not stop.is_set():
            started = time.perf_counter()
            try:
                answer = breakdown(db)
            except Exception as error:  # every failure is counted, none may happen
                errors.append(type(error).__name__)
                continue
            latencies.append(time.perf_counter() - started)
            if answer not in index_of:
                errors.append(f"not a published store: {answer}")
                continue
            seen[number].append(index_of[answer])

    threads = [threading.Thread(target=reader, args=(n,), daemon=True) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    started = time.monotonic()
    try:
        for number, (raw, _) in enumerate(files[1:], 1):
            etl_load(raw, db)
            # the next query after a publish sees it
            assert breakdown(db) == versions[number]
        # and so does every reader, without a restart
        deadline = time.monotonic() + 120  # a bound against a hang; readers see it within a query or two
        while not all(history and history[-1] == LOADS for history in seen) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=60)
    seconds = time.monotonic() - started

    assert errors == []
    for history in seen:
        assert history, "a reader answered nothing"
        assert history == sorted(history), "a reader went back to an older store"
    assert all(history[-1] == LOADS for history in seen), "a reader never saw the last load"
    assert 0 in {index for history in seen for index in history}
    p50, p95 = statistics.quantiles(latencies, n=20)[9], statistics.quantiles(latencies, n=20)[18]
    print(
        f"\n{len(latencies):,} page queries by {THREADS} threads during {LOADS} publishes in {seconds:.1f} s: "
        f"0 errors, {len({i for h in seen for i in h})} store versions seen, "
        f"query p50 {p50 * 1000:.1f} ms, p95 {p95 * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )
