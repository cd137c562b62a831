"""Reading while loading: the dashboard reruns while ETL loads publish new stores.

Six loads run at once in a subprocess (queued on the store's lock by
`--wait`); meanwhile the Overview page of the running app (AppTest, one
session, never restarted) reruns again and again. No rerun may fail or show
a lock error or the "no data" page, and the app ends on the final store's
total, computed here by SQL.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from cellkey import Ptable
from conftest import REPO, run_etl
from streamlit.testing.v1 import AppTest

pytestmark = pytest.mark.heavy

FIRST, LAST = "2025-01-01", "2025-03-31"
LOADS = 6
ROWS = 2_000
# Bounds against a hang, not a speed requirement: on a busy machine six loads queue for minutes.
LOCK_WAIT_SECONDS = 600
HANG_SECONDS = 900

# Starts every load at once, a little apart, and reports how each ended as JSON.
LOADER = """
import json, subprocess, sys, time
db, wait, files = sys.argv[1], sys.argv[2], sys.argv[3:]
running = []
for path in files:
    running.append(subprocess.Popen(
        [sys.executable, "-m", "etl", "load", path, "--db", db, "--wait", wait],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    ))
    time.sleep(0.2)
ended = []
for process in running:
    out, err = process.communicate()
    ended.append([process.returncode, out, err])
print(json.dumps(ended))
"""


def _exports(folder: Path, count: int) -> list[Path]:
    """`count` small raw exports over the same dates, all different: one generated file cut in parts."""
    whole = folder / "whole.csv"
    code, _, err = run_etl(
        "generate", "--rows", ROWS * count, "--start", FIRST, "--end", LAST, "--dirty-share", 0, "--out", whole
    )
    assert code == 0, err
    with whole.open(encoding="utf-8", newline="") as handle:
        header, *rows = csv.reader(handle)
    paths = []
    for part in range(count):
        path = folder / f"export_{part}.csv"
        with path.open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(header)
            writer.writerows(rows[part::count])
        paths.append(path)
    return paths


def _store_total(db: Path) -> int:
    """The total the Overview must publish: the store's true count and key sum through the ptable."""
    with duckdb.connect(str(db), read_only=True) as con:
        true, key_sum = con.execute(
            "select coalesce(sum(visits), 0)::bigint, coalesce(sum(key_sum), 0)::bigint from visit_counts "
            "where event_date between ? and ?",
            [FIRST, LAST],
        ).fetchone()
    return Ptable.shipped().publish([true], [key_sum])[0]


def _rerun(at: AppTest) -> int:
    """Rerun the page; it must draw the Overview without error and show a total."""
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    for element in (*at.warning, *at.markdown, *at.caption):
        assert "lock" not in str(element.value).lower()
    assert [title.value for title in at.title] == ["개요"]  # not the "no data" or "unreadable store" page
    return int(at.metric[0].value.replace(",", ""))


def test_dashboard_sees_each_new_load_without_restart(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, *later = _exports(tmp_path, LOADS + 1)
    db = tmp_path / "visitors.duckdb"
    code, _, err = run_etl("load", first, "--db", db)
    assert code == 0, err

    monkeypatch.setenv("GANGNAM_DB", str(db))
    monkeypatch.delenv("GANGNAM_LANG", raising=False)
    at = AppTest.from_file(str(REPO / "dashboard" / "app.py"), default_timeout=30)
    at.query_params.update({"period": "custom", "from": FIRST, "to": LAST})
    seen = [_rerun(at)]
    assert seen[0] == _store_total(db)

    loader = subprocess.Popen(
        [sys.executable, "-c", LOADER, str(db), str(LOCK_WAIT_SECONDS), *map(str, later)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + HANG_SECONDS
    try:
        while loader.poll() is None:
            if time.monotonic() > deadline:
                pytest.fail(f"the loads still run after {HANG_SECONDS} s: a hang")
            seen.append(_rerun(at))
        out, err = loader.communicate()
    finally:
        if loader.poll() is None:
            loader.kill()
            loader.wait()
    assert loader.returncode == 0, err
    for returncode, stdout, stderr in json.loads(out):
        assert returncode == 0, stderr
        assert "1 file(s) loaded" in stdout
        assert "lock" not in stderr.lower()

    final = _rerun(at)
    assert final == _store_total(db)
    assert final > seen[0]  # the same session, never restarted, sees the new data
    assert seen == sorted(seen)  # loads only add: no rerun ever saw an older or partial store
    assert len(seen) > LOADS // 2, f"too few reruns while loading: {seen}"
