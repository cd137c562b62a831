"""Load batches through the real CLI: idempotence, listing, removal, source destruction, the store lock."""

from __future__ import annotations

import fcntl
import re
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta

import blake3
import duckdb
import pytest
from conftest import (
    folder_snapshot,
    raw_row,
    run_etl,
    sha256_of,
    store_batches,
    store_rows,
    write_csv,
    write_jsonl,
)

FILE_A_ROWS = [
    raw_row(submitted_at="2025-03-04T10:00:00+09:00", feature="Coupon", gender="F", residing_country="CN"),
    raw_row(submitted_at="2025-03-04T11:00:00+09:00", feature="쿠폰", gender="여", residing_country="중국"),
    raw_row(submitted_at="2025-03-05T09:00:00+09:00", feature="Free Estimate", gender="M", date_of_birth="1990-01-01"),
    raw_row(submitted_at="not a time"),
]
FILE_A_COUNTS = [
    ("2025-03-04", "coupon", "CN", "female", "unknown", 2),
    ("2025-03-05", "free_estimate", "unknown", "male", "30-39", 1),
]
FILE_B_RECORDS = [
    {"submitted_at": "2025-03-04T10:30:00+09:00", "feature": "coupon", "gender": "female", "residing_country": "China"},
    {"submitted_at": "2025-03-06T10:30:00+09:00", "feature": "자가진단", "gender": "남", "residing_country": "미국"},
    {"submitted_at": "2025-03-06T10:30:00+09:00", "feature": "Self-Diagnosis", "gender": "M", "residing_country": "US"},
]
FILE_B_COUNTS = [
    ("2025-03-04", "coupon", "CN", "female", "unknown", 1),
    ("2025-03-06", "self_diagnosis", "US", "male", "unknown", 2),
]


def summed(*tables: list[tuple]) -> list[tuple]:
    """Counts of several batches added cell by cell."""
    total: Counter = Counter()
    for table in tables:
        for *cell, visits in table:
            total[tuple(cell)] += visits
    return sorted((*cell, visits) for cell, visits in total.items())


@pytest.fixture
def db(tmp_path):
    return tmp_path / "store" / "visitors.duckdb"


def test_the_same_file_twice_is_counted_once(tmp_path, db):
    raw = write_csv(tmp_path, FILE_A_ROWS, name="a.csv")
    assert run_etl("load", raw, "--db", db, cwd=tmp_path)[0] == 0
    assert store_rows(db) == FILE_A_COUNTS
    stored = sha256_of(db)

    code, out, err = run_etl("load", raw, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"{raw}: skipped: already loaded as batch 1"
    assert out.splitlines()[1].startswith("0 file(s) loaded, 1 skipped, 0 refused; 0 rows loaded, 0 rejected in ")

    renamed = tmp_path / "renamed-copy.csv"
    renamed.write_bytes(raw.read_bytes())
    code, out, err = run_etl("load", renamed, "--db", db, cwd=tmp_path)
    assert (code, out.splitlines()[0]) == (0, f"{renamed}: skipped: already loaded as batch 1")

    assert store_rows(db) == FILE_A_COUNTS
    assert sha256_of(db) == stored
    assert [batch["file_name"] for batch in store_batches(db)] == ["a.csv"]


def test_a_store_from_another_version_is_refused_not_loaded_twice(tmp_path, db):
    raw = write_csv(tmp_path, FILE_A_ROWS, name="a.csv")
    assert run_etl("load", raw, "--db", db, cwd=tmp_path)[0] == 0
    # the batch log as an earlier version wrote it: the same content under another hash column
    with duckdb.connect(str(db)) as con:
        con.execute("alter table batches rename column content_blake3 to content_sha256")
    stored = sha256_of(db)
    for args in (["load", raw], ["batches"], ["remove-batch", "1"]):
        code, out, err = run_etl(*args, "--db", db, cwd=tmp_path)
        assert (code, out) == (2, ""), args
        assert err.strip() == (
            f"{db}: the store was written by another version of the ETL (its batch log differs); "
            "move it aside and load the raw files again"
        )
    assert sha256_of(db) == stored


def test_the_same_content_twice_in_one_command_is_counted_once(tmp_path, db):
    raw = write_csv(tmp_path, FILE_A_ROWS, name="a.csv")
    copy = tmp_path / "copy.csv"
    copy.write_bytes(raw.read_bytes())
    code, out, err = run_etl("load", raw, copy, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert re.fullmatch(rf"{re.escape(str(raw))}: batch 1: 4 rows read, 3 loaded, 1 rejected \([\d.]+ s\)", lines[0])
    assert lines[1:3] == [
        "  rejected bad_submitted_at: 1",
        f"{copy}: skipped: same content as {raw}, loaded in this run",
    ]
    assert lines[3].startswith("1 file(s) loaded, 1 skipped, 0 refused; 3 rows loaded, 1 rejected in ")
    assert store_rows(db) == FILE_A_COUNTS


def test_batches_add_up_are_listed_and_one_can_be_removed(tmp_path, db):
    file_a = write_csv(tmp_path, FILE_A_ROWS, name="a.csv")
    file_b = write_jsonl(tmp_path, FILE_B_RECORDS, name="b.jsonl")
    started = datetime.now(UTC)
    code, out, err = run_etl("load", file_a, file_b, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert store_rows(db) == summed(FILE_A_COUNTS, FILE_B_COUNTS)
    assert store_rows(db) == [
        ("2025-03-04", "coupon", "CN", "female", "unknown", 3),
        ("2025-03-05", "free_estimate", "unknown", "male", "30-39", 1),
        ("2025-03-06", "self_diagnosis", "US", "male", "unknown", 2),
    ]

    log = store_batches(db)
    assert [
        {
            key: batch[key]
            for key in ("batch_id", "file_name", "file_format", "rows_read", "rows_loaded", "rows_rejected")
        }
        for batch in log
    ] == [
        {
            "batch_id": 1,
            "file_name": "a.csv",
            "file_format": "csv",
            "rows_read": 4,
            "rows_loaded": 3,
            "rows_rejected": 1,
        },
        {
            "batch_id": 2,
            "file_name": "b.jsonl",
            "file_format": "jsonl",
            "rows_read": 3,
            "rows_loaded": 3,
            "rows_rejected": 0,
        },
    ]
    assert [batch["content_blake3"] for batch in log] == [
        blake3.blake3(file_a.read_bytes()).hexdigest(),
        blake3.blake3(file_b.read_bytes()).hexdigest(),
    ]
    assert [(str(b["first_event_date"]), str(b["last_event_date"])) for b in log] == [
        ("2025-03-04", "2025-03-05"),
        ("2025-03-04", "2025-03-06"),
    ]
    for batch in log:
        assert started - timedelta(seconds=1) <= batch["loaded_at"] <= datetime.now(UTC)
        assert (batch["source_destroyed"], batch["source_destroyed_at"]) == (False, None)

    code, out, err = run_etl("batches", "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    sha_a, sha_b = (batch["content_blake3"][:12] for batch in log)
    # the CLI separates fields by tabs
    lines = out.splitlines()
    assert len(lines) == 2
    assert re.fullmatch(
        rf"1\s+a\.csv\s+{when}\s+3 loaded, 1 rejected\s+2025-03-04\.\.2025-03-05\s+blake3 {sha_a}", lines[0]
    )
    assert re.fullmatch(
        rf"2\s+b\.jsonl\s+{when}\s+3 loaded, 0 rejected\s+2025-03-04\.\.2025-03-06\s+blake3 {sha_b}", lines[1]
    )

    code, out, err = run_etl("remove-batch", "1", "--db", db, cwd=tmp_path)
    assert (code, out, err) == (0, f"batch 1 (a.csv, 3 rows) removed from {db}\n", "")
    assert store_rows(db) == FILE_B_COUNTS
    assert [batch["batch_id"] for batch in store_batches(db)] == [2]

    # the removed file can be loaded again, as a new batch
    code, out, err = run_etl("load", file_a, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out.startswith(f"{file_a}: batch 3: ")
    assert store_rows(db) == summed(FILE_A_COUNTS, FILE_B_COUNTS)

    for batch_id in (2, 3):
        assert run_etl("remove-batch", batch_id, "--db", db, cwd=tmp_path)[0] == 0
    assert store_rows(db) == []
    assert run_etl("batches", "--db", db, cwd=tmp_path) == (0, "no batches\n", "")


def test_removing_an_unknown_batch_exits_2_and_changes_nothing(tmp_path, db):
    raw = write_csv(tmp_path, FILE_A_ROWS, name="a.csv")
    assert run_etl("load", raw, "--db", db, cwd=tmp_path)[0] == 0
    before = folder_snapshot(db.parent)
    assert run_etl("remove-batch", "9", "--db", db, cwd=tmp_path) == (2, "", f"{db}: there is no batch 9\n")
    assert folder_snapshot(db.parent) == before
    assert store_rows(db) == FILE_A_COUNTS


def test_batches_without_a_store_exits_2(tmp_path):
    missing = tmp_path / "nowhere" / "visitors.duckdb"
    assert run_etl("batches", "--db", missing, cwd=tmp_path) == (
        2,
        "",
        f"{missing}: no store here yet; load a raw export first\n",
    )


def test_purge_source_destroys_loaded_files_and_logs_it(tmp_path, db):
    file_a = write_csv(tmp_path, FILE_A_ROWS, name="a.csv")
    file_b = write_jsonl(tmp_path, FILE_B_RECORDS, name="b.jsonl")
    refused = write_csv(tmp_path, [["2025-03-04T10:00:00+09:00"]], header=["submitted_at"], name="refused.csv")
    refused_bytes = refused.read_bytes()
    started = datetime.now(UTC)
    code, out, err = run_etl("load", file_a, refused, file_b, "--db", db, "--purge-source", cwd=tmp_path)
    assert code == 2
    assert err == f"{refused}: refused: missing required column 'feature'\n"
    assert out.count("  source file destroyed (overwritten and deleted)\n") == 2
    assert not file_a.exists()
    assert not file_b.exists()
    # a file that was not loaded is never destroyed
    assert refused.read_bytes() == refused_bytes
    assert store_rows(db) == summed(FILE_A_COUNTS, FILE_B_COUNTS)

    log = store_batches(db)
    assert [(batch["file_name"], batch["source_destroyed"]) for batch in log] == [("a.csv", True), ("b.jsonl", True)]
    for batch in log:
        assert batch["loaded_at"] <= batch["source_destroyed_at"] <= datetime.now(UTC)
        assert batch["source_destroyed_at"] >= started - timedelta(seconds=1)
    code, out, _ = run_etl("batches", "--db", db, cwd=tmp_path)
    assert re.search(r"blake3 [0-9a-f]{12}, source destroyed \d{4}-\d\d-\d\d \d\d:\d\d:\d\d$", out.splitlines()[0])


def test_purge_source_leaves_a_refused_file_alone(tmp_path, db):
    raw = write_csv(tmp_path, [], name="header-only.csv")
    content = raw.read_bytes()
    code, _, err = run_etl("load", raw, "--db", db, "--purge-source", cwd=tmp_path)
    assert (code, err) == (2, f"{raw}: refused: no data rows (a header only)\n")
    assert raw.read_bytes() == content
    assert not db.exists()


def test_a_held_store_lock_refuses_a_second_run(tmp_path, db):
    raw = write_csv(tmp_path, FILE_A_ROWS, name="a.csv")
    assert run_etl("load", raw, "--db", db, cwd=tmp_path)[0] == 0
    other = write_jsonl(tmp_path, FILE_B_RECORDS, name="b.jsonl")
    before = folder_snapshot(db.parent)
    busy = f"{db}: another ETL run is changing this store; try again when it has finished\n"
    with open(f"{db}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, out, err = run_etl("load", other, "--db", db, "--purge-source", cwd=tmp_path)
        assert (code, out, err) == (2, "", busy)
        assert run_etl("remove-batch", "1", "--db", db, cwd=tmp_path) == (2, "", busy)
        # reading needs no lock
        assert run_etl("batches", "--db", db, cwd=tmp_path)[0] == 0
        fcntl.flock(lock, fcntl.LOCK_UN)
    assert folder_snapshot(db.parent) == before
    assert store_rows(db) == FILE_A_COUNTS
    assert other.exists()


def test_wait_lets_a_run_start_when_the_lock_is_released(tmp_path, db):
    raw = write_csv(tmp_path, FILE_A_ROWS, name="a.csv")
    db.parent.mkdir(parents=True)
    with open(f"{db}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        release = threading.Timer(1.0, fcntl.flock, (lock, fcntl.LOCK_UN))
        release.start()
        code, _, err = run_etl("load", raw, "--db", db, "--wait", "30", cwd=tmp_path)
        release.join()
    assert (code, err) == (0, "")
    assert store_rows(db) == FILE_A_COUNTS


def test_an_identifier_in_a_file_name_is_not_kept_in_the_batch_log(tmp_path, db):
    raw = write_csv(tmp_path, FILE_A_ROWS, name="960121-1021413 hong@example.com 2025-03-04.csv")
    code, out, err = run_etl("load", raw, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out.startswith(f"{raw}: batch 1: ")  # the operator is told of the file as named
    assert [batch["file_name"] for batch in store_batches(db)] == ["[kr_rrn] [email] 2025-03-04.csv"]
    data = db.read_bytes()
    assert b"1021413" not in data and b"hong@" not in data
