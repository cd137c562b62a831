"""kill -9 in the middle of a load: the previous store survives whole, and the next run cleans up.

The store is never changed in place: a load builds a new file beside it and
`os.replace`s it over the old one. Whenever the writer dies, the store must
open read-only and hold exactly the counts of one of its published versions,
and no file beside it may hold raw data.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import LONG, REPO, SEED, raw_row, run_etl, store_batches, store_rows, write_csv

pytestmark = pytest.mark.heavy

# a load of it runs for seconds, so that kills land in the read (GANGNAM_LONG=1: twice as many rows)
BIG_ROWS = 2_000_000 if LONG else 1_000_000
KILLS = 25 if LONG else 3
BLOCK_ROWS = 100
HEADER = b"submission_id,submitted_at,feature,name,gender,date_of_birth,email,residing_country,ip_address,message\n"
# (raw spellings) -> the cell each row of the repeated block counts in
BLOCK_FEATURES = [(b"coupon", "coupon"), (b"Free Estimate", "free_estimate"), ("자가진단".encode(), "self_diagnosis")]
BLOCK_GENDERS = [(b"F", "female"), (b"M", "male")]


def write_big_export(path: Path) -> Counter:
    """A large raw CSV full of personal markers, written as one block repeated; returns its true counts."""
    lines, truth = [], Counter()
    for i in range(BLOCK_ROWS):
        feature, feature_code = BLOCK_FEATURES[i % 3]
        gender, gender_code = BLOCK_GENDERS[i % 2]
        day = i % 28 + 1
        lines.append(
            b"ZQCRID%03dXK,2025-02-%02dT10:00:00+09:00,%s,ZqCrashName%03dxk Kim,%s,1990-01-01,"
            b'zq.crash%03dxk@privacy-test.example,China,10.9.8.%d,"call 010-5555-%04d, ZQCRMSG%03dXK"\n'
            % (i, day, feature, i, gender, i, i, i, i)
        )
        truth[(f"2025-02-{day:02d}", feature_code, "CN", gender_code, "30-39")] += BIG_ROWS // BLOCK_ROWS
    block = b"".join(lines)
    with path.open("wb") as handle:
        handle.write(HEADER)
        for _ in range(BIG_ROWS // BLOCK_ROWS // 1000):
            handle.write(block * 1000)
    return truth


def start_load(big: Path, db: Path, cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "etl", "load", str(big), "--db", str(db)],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL


def assert_store_whole(db: Path, versions: dict[tuple[str, ...], list[tuple]]) -> tuple[str, ...]:
    """The store opens read-only and holds exactly one published version; returns which (its files)."""
    files = tuple(batch["file_name"] for batch in store_batches(db))
    assert files in versions
    assert store_rows(db) == versions[files]
    return files


def undo_finished_load(db: Path, versions: dict[tuple[str, ...], list[tuple]], cwd: Path) -> None:
    """A kill that came after the publish met a finished load: take its batch out to try again."""
    if assert_store_whole(db, versions) != ("small.csv",):
        assert run_etl("remove-batch", store_batches(db)[-1]["batch_id"], "--db", db, cwd=cwd)[0] == 0


def assert_no_marker_beside(db: Path) -> None:
    for path in db.parent.iterdir():
        data = path.read_bytes() if path.is_file() else b""
        assert b"ZQCR" not in data.upper() and b"privacy-test" not in data, path
        assert b"010-5555-" not in data, path


def test_kill_9_during_loads_leaves_the_previous_store_and_the_next_run_succeeds(tmp_path):
    db = tmp_path / "store" / "visitors.duckdb"
    small = write_csv(
        tmp_path / "raw",
        [raw_row(submitted_at="2025-01-02T10:00:00+09:00", gender="M", residing_country="JP")] * 3,
        name="small.csv",
    )
    assert run_etl("load", small, "--db", db, cwd=tmp_path)[0] == 0
    previous = [("2025-01-02", "coupon", "JP", "male", "unknown", 3)]
    big = tmp_path / "raw" / "big.csv"
    big_truth = write_big_export(big)
    with_big = sorted([*previous, *((*cell, visits) for cell, visits in big_truth.items())])
    versions = {("small.csv",): previous, ("small.csv", "big.csv"): with_big}
    assert assert_store_whole(db, versions) == ("small.csv",)

    # killed at random moments of the load (GANGNAM_LONG=1: 25 of them), mostly while the file is read in memory;
    # the moments come from the suite's seed (GANGNAM_SEED=N runs them again)
    rng = random.Random(SEED)
    delays = [rng.uniform(0.05, 1.2) for _ in range(KILLS)]
    print(f"\nkill -9 after {', '.join(f'{delay:.2f}' for delay in delays)} s (GANGNAM_SEED={SEED})")
    killed_running = 0
    for delay in delays:
        load = start_load(big, db, tmp_path)
        time.sleep(delay)
        if load.poll() is None:
            kill(load)
            killed_running += 1
        assert_store_whole(db, versions)
        assert_no_marker_beside(db)
        undo_finished_load(db, versions, tmp_path)
    assert killed_running >= KILLS // 2, f"only {killed_running} of {KILLS} kills met a running load"
    print(f"\n{KILLS} kill -9 at random moments, {killed_running} during the load: the previous store whole each time")

    # killed the moment the new store starts being built beside the old one
    load = start_load(big, db, tmp_path)
    building = f"{db.name}.building-{load.pid}"
    while load.poll() is None and not (db.parent / building).exists():
        time.sleep(0.001)
    assert load.poll() is None, "the load ended before its build file was seen"
    kill(load)
    leftovers = sorted(path.name for path in db.parent.glob(f"{db.name}.building-*"))
    published = assert_store_whole(db, versions)
    if published == ("small.csv",):
        assert building in leftovers  # the crash left a half-built store behind
    assert_no_marker_beside(db)
    undo_finished_load(db, versions, tmp_path)

    code, out, err = run_etl("load", big, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out.startswith(f"{big}: batch ")
    assert assert_store_whole(db, versions) == ("small.csv", "big.csv")
    assert list(db.parent.glob(f"{db.name}.building-*")) == []
    assert sorted(path.name for path in db.parent.iterdir()) == ["visitors.duckdb", "visitors.duckdb.lock"]
    assert_no_marker_beside(db)
    big.unlink()  # 95 MB (190 MB long): pytest keeps the last few temp folders
