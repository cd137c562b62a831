"""Faults around the publish: a full disk, an unwritable store folder, two loads at once.

Each leaves the previous store as it was (byte for byte where nothing was
published), says what happened in one line without a raw value, and the next
load succeeds. `GANGNAM_LONG=1` repeats the concurrent runs (docs/reliability.md).
"""

from __future__ import annotations

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import pytest
from conftest import LONG, REPO, folder_snapshot, raw_row, run_etl, store_batches, store_rows, write_csv

# one submission per row, with personal markers that must never reach the store folder
MARKER = "zqfault"


def export(folder: Path, name: str, rows: int, day: int, feature: str = "coupon") -> tuple[Path, Counter]:
    """A raw CSV of `rows` submissions on 2025-02-<day>, with markers; returns it and its true counts."""
    data = [
        raw_row(
            submitted_at=f"2025-02-{day:02d}T10:00:00+09:00",
            feature=feature,
            gender="F" if n % 2 else "M",
            residing_country=("KR", "JP", "CN", "US")[n % 4],
            name=f"{MARKER}name{n}xk",
            email=f"{MARKER}{n}xk@privacy-test.example",
        )
        for n in range(rows)
    ]
    truth = Counter(
        (f"2025-02-{day:02d}", feature, ("KR", "JP", "CN", "US")[n % 4], "female" if n % 2 else "male", "unknown")
        for n in range(rows)
    )
    return write_csv(folder, data, name=name), truth


def rows_of(truth: Counter) -> list[tuple]:
    return sorted((*cell, visits) for cell, visits in truth.items())


def assert_clean_folder(db: Path) -> None:
    """No half-built store and no raw marker beside the store."""
    assert not list(db.parent.glob(f"{db.name}.building-*"))
    for path in db.parent.iterdir():
        assert MARKER.encode() not in path.read_bytes(), path


@pytest.fixture
def store(tmp_path) -> tuple[Path, list[tuple]]:
    raw, truth = export(tmp_path / "raw", "first.csv", 4, day=1)
    db = tmp_path / "store" / "visitors.duckdb"
    assert run_etl("load", raw, "--db", db, cwd=tmp_path)[0] == 0
    return db, rows_of(truth)


# --- a full disk ---------------------------------------------------------------------------------


@contextlib.contextmanager
def small_disk(folder: Path, free: int):
    """`folder` on a file system with about `free` bytes left: a tmpfs where we may mount one.

    Elsewhere (no CAP_SYS_ADMIN) the loader gets a file size limit instead, which DuckDB
    meets the same way: a write that fails half way through the new store.
    """
    used = sum(p.stat().st_size for p in folder.iterdir())
    size = used + free
    backup = Path(tempfile.mkdtemp())
    shutil.copytree(folder, backup / "store")
    mounted = (
        os.geteuid() == 0
        and subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True, check=False
        ).returncode
        == 0
    )
    try:
        if mounted:
            for path in (backup / "store").iterdir():
                shutil.copy2(path, folder / path.name)
            yield "tmpfs", None
        else:
            yield "file size limit", size
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
            # what the test saw on the small disk is checked; the folder returns to its old content
        shutil.rmtree(backup)


def limited(size: int | None):
    """A preexec_fn for the loader: a file size limit (and SIGXFSZ ignored, so that the write fails instead)."""

    def apply() -> None:
        if size is not None:
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
            resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))

    return apply


def test_a_full_disk_during_publish_leaves_the_old_store(store, tmp_path):
    db, before = store
    raw, truth = export(tmp_path / "raw", "second.csv", 30_000, day=2)
    with small_disk(db.parent, free=200_000) as (how, limit):
        snapshot = folder_snapshot(db.parent)
        done = subprocess.run(
            [sys.executable, "-m", "etl", "load", str(raw), "--db", str(db)],
            cwd=tmp_path,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=120,
            preexec_fn=limited(limit),
            check=False,
        )
        assert done.returncode == 2, (how, done.stdout, done.stderr)
        reason = "the disk is full" if how == "tmpfs" else "a file size limit was reached"
        assert done.stderr.strip().splitlines() == [
            f"{db}: the new store could not be written ({reason}); the old store is unchanged"
        ]
        assert MARKER not in done.stdout + done.stderr
        after = folder_snapshot(db.parent)
        assert after == snapshot, how
        assert store_rows(db) == before
        assert_clean_folder(db)
    # with room again, the same load goes through
    code, _, err = run_etl("load", raw, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert store_rows(db) == sorted(before + rows_of(truth))


# --- an unwritable store folder ------------------------------------------------------------------


def without_override() -> list[str]:
    """A command prefix under which permissions hold: root would write anywhere, so it loses that power."""
    if os.geteuid() != 0:
        return []
    return ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner", "--"]


@pytest.mark.parametrize("lock_file", ["writable", "missing"])
def test_an_unwritable_store_folder_leaves_the_old_store(tmp_path, lock_file):
    first, truth = export(tmp_path / "raw", "first.csv", 4, day=1)
    second, _ = export(tmp_path / "raw", "second.csv", 50, day=2)
    db = tmp_path / "store" / "visitors.duckdb"
    assert run_etl("load", first, "--db", db, cwd=tmp_path)[0] == 0
    lock = Path(f"{db}.lock")
    if lock_file == "writable":
        lock.chmod(0o666)  # the lock can be taken: the publish is what fails
    else:
        lock.unlink()
    db.parent.chmod(0o555)
    snapshot = folder_snapshot(db.parent)
    done = subprocess.run(
        [*without_override(), sys.executable, "-m", "etl", "load", str(second), "--db", str(db)],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    if lock_file == "writable":
        expected = (
            f"{db}: the new store could not be written (permission denied: the folder is not writable); "
            "the old store is unchanged"
        )
    else:
        expected = f"{db}: cannot write in {db.parent} (Permission denied); the store is unchanged"
    assert done.stderr.strip().splitlines() == [expected]
    assert folder_snapshot(db.parent) == snapshot
    db.parent.chmod(0o755)
    assert store_rows(db) == rows_of(truth)
    assert_clean_folder(db)
    assert run_etl("load", second, "--db", db, cwd=tmp_path)[0] == 0


# --- two loads at once ---------------------------------------------------------------------------


def start(raw: Path, db: Path, cwd: Path, *options: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "etl", "load", str(raw), "--db", str(db), *options],
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=180)
    return process.returncode, out, err


RUNS = 10 if LONG else 1


@pytest.mark.parametrize("run", range(RUNS))
def test_two_loads_at_once_with_wait_count_both_once(store, tmp_path, run):
    db, before = store
    a, truth_a = export(tmp_path / "raw", f"a{run}.csv", 40_000, day=3)
    b, truth_b = export(tmp_path / "raw", f"b{run}.csv", 40_000, day=4, feature="free_estimate")
    first, second = start(a, db, tmp_path, "--wait", "120"), start(b, db, tmp_path, "--wait", "120")
    results = [finish(first), finish(second)]
    assert [(code, err) for code, _, err in results] == [(0, ""), (0, "")]
    assert store_rows(db) == sorted(before + rows_of(truth_a) + rows_of(truth_b))
    assert sorted(batch["file_name"] for batch in store_batches(db)) == sorted(
        ["first.csv", f"a{run}.csv", f"b{run}.csv"]
    )
    assert_clean_folder(db)


def test_a_second_load_without_wait_is_refused_while_the_first_runs(store, tmp_path):
    db, before = store
    a, truth_a = export(tmp_path / "raw", "a.csv", 120_000, day=3)
    b, _ = export(tmp_path / "raw", "b.csv", 10, day=4)
    first = start(a, db, tmp_path)
    lock = Path(f"{db}.lock")
    # the second starts once the first holds the lock
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and first.poll() is None and not lock_is_held(lock, first.pid):
        time.sleep(0.01)
    assert first.poll() is None, "the first load ended before the second could start"
    code, out, err = finish(start(b, db, tmp_path))
    assert (code, out) == (2, "")
    assert err.strip() == f"{db}: another ETL run is changing this store; try again when it has finished"
    assert finish(first)[0] == 0
    assert store_rows(db) == sorted(before + rows_of(truth_a))


def lock_is_held(lock: Path, pid: int) -> bool:
    """Whether process `pid` holds the flock on `lock` (from /proc/locks: looking must not take it)."""
    if not lock.exists():
        return False
    inode = lock.stat().st_ino
    for line in Path("/proc/locks").read_text().splitlines():
        fields = line.split()
        # 1: FLOCK  ADVISORY  WRITE 12345 00:2f:1234 0 EOF
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[4] == str(pid) and fields[5].endswith(f":{inode}"):
            return True
    return False


def test_the_same_file_twice_at_once_is_counted_once(store, tmp_path):
    db, before = store
    a, truth = export(tmp_path / "raw", "a.csv", 40_000, day=3)
    copy = tmp_path / "raw" / "a-copy.csv"
    shutil.copy(a, copy)
    results = sorted(
        finish(p) for p in [start(a, db, tmp_path, "--wait", "120"), start(copy, db, tmp_path, "--wait", "120")]
    )
    assert [code for code, _, _ in results] == [0, 0]
    outputs = " ".join(out for _, out, _ in results)
    assert outputs.count("skipped: already loaded as batch 2") == 1
    assert store_rows(db) == sorted(before + rows_of(truth))
