"""Build the store and publish it atomically.

DuckDB allows one writer or many readers on a file, never both, so the store
is never changed in place: every change builds a new file next to it from the
old one, checkpoints and closes it, and `os.replace`s it over the old one. A
reader sees the old store or the new one, never half of either, and a crash at
any point leaves the old store as it was.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from contract import STORE_TABLES, TIMEZONE
from etl.errors import EtlError, StoreBusy
from etl.sql_files import sql

if TYPE_CHECKING:
    import pyarrow as pa

TEMP_MARK = ".building-"
# Each kind of batch: the table of its counts per batch, and the public table built from them.
BATCH_TABLES = {"export": ("batch_counts", "visit_counts"), "access_log": ("page_view_batch_counts", "page_views")}


@dataclass(frozen=True)
class NewBatch:
    """One file's contribution: its log row (without batch_id) and its counts by cell."""

    log: dict[str, object]
    counts: pa.Table  # a form export's: DIMENSIONS, visits and key_sum; an access log's: PAGE_VIEWS_COLUMNS
    kind: str = "export"  # or "access_log"


def lock_path(db: Path) -> Path:
    return db.with_name(db.name + ".lock")


@contextlib.contextmanager
def store_lock(db: Path, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the writer's lock of a store: one ETL run at a time, so counts are never doubled or lost."""
    try:
        db.parent.mkdir(parents=True, exist_ok=True)
        handle = open(lock_path(db), "a+")  # noqa: SIM115 (closed below, after the lock is released)
    except OSError as error:
        raise EtlError(f"{db}: cannot write in {db.parent} ({error.strerror}); the store is unchanged") from None
    with handle:
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise StoreBusy(
                        f"{db}: another ETL run is changing this store; try again when it has finished"
                    ) from None
                time.sleep(0.2)
        try:
            remove_stale_builds(db)
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def remove_stale_builds(db: Path) -> None:
    """Remove half-built stores left by a crashed run (they hold counts only, never raw data)."""
    for leftover in db.parent.glob(db.name + TEMP_MARK + "*"):
        leftover.unlink(missing_ok=True)


def _create_schema(con: duckdb.DuckDBPyConnection) -> None:
    for table, columns in STORE_TABLES.items():
        body = ", ".join(f"{name} {sql_type}" for name, sql_type in columns.items())
        con.execute(f"create table {table} ({body})")


def check_batch_log(con: duckdb.DuckDBPyConnection, db: Path, catalog: str | None = None) -> None:
    """Refuse a store whose batch log is not this version's: its hashes would not match, and files would load twice."""
    found = [name for (name,) in con.execute(sql("store/batch_log_columns"), {"catalog": catalog}).fetchall()]
    if found != list(STORE_TABLES["batches"]):
        raise EtlError(
            f"{db}: the store was written by another version of the ETL (its batch log differs); "
            "move it aside and load the raw files again"
        )


def read_batches(db: Path) -> list[dict[str, object]]:
    """The batch log of a published store, oldest first, times in Korea time ([] when there is no store)."""
    if not db.exists():
        return []
    with duckdb.connect(str(db), read_only=True) as con:
        check_batch_log(con, db)
        cursor = con.execute(sql("store/batch_log"), {"timezone": TIMEZONE})
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def rebuild(
    db: Path,
    *,
    add: list[NewBatch] = (),
    remove_ids: set[int] = frozenset(),
    destroyed: dict[int, datetime] | None = None,
) -> list[int]:
    """Publish a new store: the old one's batches less `remove_ids`, plus `add`.

    `destroyed` marks batches whose source file was destroyed. Returns the ids
    given to the added batches. The caller holds `store_lock`.
    """
    destroyed = destroyed or {}
    temp = db.with_name(f"{db.name}{TEMP_MARK}{os.getpid()}")
    temp.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(temp)) as con:
            _create_schema(con)
            next_id = 1
            if db.exists():
                con.execute("attach ? as old (read_only)", [str(db)])
                check_batch_log(con, db, "old")
                kept = "batch_id <> all($removed)"
                params = {"removed": sorted(remove_ids)}
                con.execute(f"insert into batches select * from old.batches where {kept}", params)
                # a store from before the access logs has no table of their counts
                old_tables = {
                    name
                    for (name,) in con.execute(
                        "select table_name from duckdb_tables() where database_name = 'old'"
                    ).fetchall()
                }
                for counts_table, _ in BATCH_TABLES.values():
                    if counts_table in old_tables:
                        con.execute(f"insert into {counts_table} select * from old.{counts_table} where {kept}", params)
                next_id = con.execute("select coalesce(max(batch_id), 0) + 1 from old.batches").fetchall()[0][0]
                con.execute("detach old")
            new_ids = []
            for batch in add:
                batch_id = next_id
                next_id += 1
                new_ids.append(batch_id)
                log = {**batch.log, "batch_id": batch_id}
                columns = list(STORE_TABLES["batches"])
                con.execute(
                    f"insert into batches ({', '.join(columns)}) values ({', '.join('?' for _ in columns)})",
                    [log.get(column) for column in columns],
                )
                # unsorted: only a rebuild reads batch_counts, and it reads it whole. from_arrow, not
                # register, which imports pandas to look for a DataFrame first
                counts_table = BATCH_TABLES[batch.kind][0]
                columns = [c for c in STORE_TABLES[counts_table] if c != "batch_id"]
                con.from_arrow(batch.counts).project(f"{batch_id}::bigint, {', '.join(columns)}").insert_into(
                    counts_table
                )
            for batch_id, when in destroyed.items():
                con.execute(
                    "update batches set source_destroyed = true, source_destroyed_at = ? where batch_id = ?",
                    [when, batch_id],
                )
            for _, public_table in BATCH_TABLES.values():
                con.execute(f"insert into {public_table} by name {sql(f'marts/{public_table}')}")
            con.execute("checkpoint")
        _fsync(temp)
        os.replace(temp, db)
        _fsync(db.parent)
        return new_ids
    except duckdb.Error as error:
        raise EtlError(
            f"{db}: the new store could not be written ({write_problem(error)}); the old store is unchanged"
        ) from None
    except OSError as error:
        raise EtlError(
            f"{db}: the new store could not be written ({error.strerror}); the old store is unchanged"
        ) from None
    finally:
        temp.unlink(missing_ok=True)
        Path(str(temp) + ".wal").unlink(missing_ok=True)


# Phrases of the operating system that DuckDB's I/O errors carry. A publish handles
# counts only, but the text is still not shown: only the phrase that names the cause.
WRITE_PROBLEMS = {
    "No space left on device": "the disk is full",
    "File too large": "a file size limit was reached",
    "Permission denied": "permission denied: the folder is not writable",
    "Read-only file system": "the file system is read-only",
    "Disk quota exceeded": "the disk quota is exceeded",
}


def write_problem(error: Exception) -> str:
    text = str(error)
    return next((reason for phrase, reason in WRITE_PROBLEMS.items() if phrase in text), type(error).__name__)


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
