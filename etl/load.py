"""Load raw exports into the store: read in memory, aggregate, publish.

Raw rows only ever live in an in-memory DuckDB connection that may not spill
to disk; what leaves it is counts by cell and, for rejected rows, a row number
and a reason. Those go into a new store file published by `etl.publish`.
"""

from __future__ import annotations

import csv
import gzip
import os
import resource
import threading
import time
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import cache
from pathlib import Path

import blake3
import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from contract import AGE_BANDS, DIMENSIONS, EARLIEST_BIRTH_YEAR, EARLIEST_EVENT_DATE, TIMEZONE, korea_today
from etl.audit.patterns import redact
from etl.errors import EtlError, FileRefused, describe_duckdb_failure
from etl.lookups import KEY_MACRO_SQL, lookup_tables
from etl.publish import NewBatch, read_batches, rebuild, store_lock
from etl.sources import (
    CSV_ERROR_REASONS,
    DIAGNOSED_ROWS,
    LINE_TOO_LONG_ERROR,
    OTHER_CSV_ERROR,
    SCAN_CHUNK,
    SourceFile,
    first_malformed_row,
    inspect_source,
)

SQL_DIR = Path(__file__).with_name("sql")
OLDEST_AGE = 150  # ages above fall outside the bands: the birth year rule already rejects them
REJECTS_HEADER = ("file", "row", "reason")

# progress(bytes_done, bytes_total) while a file is read
Progress = Callable[[int, int], None]

# DuckDB's reader keeps about 3 KB, until the read ends, for each field missing from or surplus to a
# row and for each row that is not UTF-8: a small file of such rows can take gigabytes. A valid export
# never comes near this much memory beyond what the process held before the read (20M rows: 0.7 GB).
READ_MEMORY_ENV = "GANGNAM_ETL_READ_MEMORY_MB"
DEFAULT_READ_MEMORY_MB = 1024
# Once over it, the address space left to DuckDB, so that its next allocation fails: inside some reads
# it does not honour an interrupt. Python's own small allocations fit in it.
STOP_MARGIN = 256 << 20


@cache
def sql(name: str) -> str:
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")


@dataclass
class FileResult:
    """What happened to one raw file; every field is safe to print."""

    path: Path
    status: str  # loaded, skipped (already loaded), refused
    reason: str | None = None
    batch_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    unknown_columns: tuple[str, ...] = ()
    seconds: float = 0.0
    source_destroyed: bool = False

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


@dataclass(frozen=True)
class Staged:
    counts: pa.Table  # DIMENSIONS + visits
    rejected: dict[str, int]  # reason -> rows
    rejects: pa.Table | None  # row, reason; only when row numbers were asked for
    rows_read: int


@dataclass(frozen=True)
class FileScan:
    digest: str  # BLAKE3 of the file's bytes
    long_record: bool  # a record too long for DuckDB's parallel reader (see etl.sources.SCAN_CHUNK)


def scan_file(source: SourceFile, long_record_found: threading.Event | None = None) -> FileScan:
    """Hash a raw file and watch its records, in one read beside DuckDB's.

    The BLAKE3 hash of the file's bytes is the identity of its content for
    idempotence: BLAKE3 rather than SHA-256, as collision-resistant for this
    use and about four times faster, and it runs beside DuckDB on the same
    cores. A gzip file is also unzipped here, which checks what DuckDB does
    not: the CRC and length in each member's trailer. `long_record_found` is
    set as soon as a long record is seen.
    """
    digest = blake3.blake3()
    records = source.record_scan()

    def watch(chunk: bytes) -> None:
        seen = records.long_record
        records.feed(chunk)
        if records.long_record and not seen and long_record_found is not None:
            long_record_found.set()

    with source.path.open("rb") as handle:
        while chunk := handle.read(SCAN_CHUNK):
            digest.update(chunk)
            if not source.compressed:
                watch(chunk)
    if source.compressed:
        try:
            with gzip.open(source.path, "rb") as unzipped:
                while chunk := unzipped.read(SCAN_CHUNK):
                    watch(chunk)
        except (gzip.BadGzipFile, EOFError, zlib.error):
            raise FileRefused(source.path, "corrupt or truncated gzip data") from None
    return FileScan(digest.hexdigest(), records.long_record)


def staging_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory connection for raw rows, with spilling to disk switched off.

    With no temp directory DuckDB fails a query rather than write raw values
    to a spill file; the aggregation keeps memory small, so it never has to.
    """
    con = duckdb.connect(":memory:", config={"temp_directory": ""})
    con.execute("set TimeZone = ?", [TIMEZONE])
    con.execute(KEY_MACRO_SQL)
    tables = {
        table: pa.table({"spelling": list(spellings), "code": list(spellings.values())})
        for table, spellings in lookup_tables().items()
    }
    ages = [
        (age, label) for label, low, high in AGE_BANDS for age in range(low, (OLDEST_AGE if high is None else high) + 1)
    ]
    tables["age_lookup"] = pa.table({"age": [age for age, _ in ages], "age_group": [label for _, label in ages]})
    for table, rows in tables.items():
        con.register("lookup_rows", rows)
        con.execute(f"create table {table} as select * from lookup_rows")
        con.unregister("lookup_rows")
    # a submission a day ahead of Korea's calendar is clock skew; further is corruption
    con.execute(
        "create table load_params as select ?::date as earliest_event_date, ?::date as latest_event_date, "
        "?::date as earliest_birth_date",
        [EARLIEST_EVENT_DATE, korea_today() + timedelta(days=1), date(EARLIEST_BIRTH_YEAR, 1, 1)],
    )
    return con


class ReadStopped(Exception):
    """A parallel read interrupted because a record too long for it was seen."""


class OverBudget(Exception):
    """A read stopped because DuckDB's reader went over the memory guard's budget."""


class ReadTooCostly(FileRefused):
    """A file refused because reading it went over the memory budget (see READ_MEMORY_ENV)."""


def read_memory_budget() -> int:
    """Bytes a read may add to the process's resident memory; the operator may raise it."""
    text = os.environ.get(READ_MEMORY_ENV, "").strip() or str(DEFAULT_READ_MEMORY_MB)
    if not text.isdecimal() or int(text) == 0:
        raise EtlError(f"{READ_MEMORY_ENV} must be a whole number of megabytes")
    return int(text) << 20


def process_memory() -> tuple[int, int] | None:
    """(address space, resident memory) of this process in bytes; None where /proc is missing."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
    except OSError:
        return None
    page = os.sysconf("SC_PAGE_SIZE")
    return int(fields[0]) * page, int(fields[1]) * page


@dataclass(frozen=True)
class MemoryGuard:
    """What a read may cost: resident memory at its start plus the budget."""

    baseline: int
    budget: int

    @classmethod
    def start(cls) -> MemoryGuard:
        memory = process_memory()
        return cls(memory[1] if memory else 0, read_memory_budget())

    def exceeded(self) -> int | None:
        """The address space in use once resident memory is over the budget, else None."""
        memory = process_memory()
        if memory is None or memory[1] - self.baseline <= self.budget:
            return None
        return memory[0]


def _run_watched(
    con: duckdb.DuckDBPyConnection,
    query: str,
    guard: MemoryGuard,
    *,
    total: int = 0,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run a statement that reads a raw file, within the memory guard.

    Reports DuckDB's progress as bytes of the file read, and interrupts the
    statement once `stop` is set (ReadStopped). Over the guard's budget, it
    interrupts it and caps the process's address space until it ends, so
    that DuckDB's next allocation fails (OverBudget; the caller refuses the
    file).
    """
    if progress is not None:
        # DuckDB tracks progress only with its progress bar on; it must not print it itself
        con.execute("set enable_progress_bar = true")
        con.execute("set enable_progress_bar_print = false")
    failure: list[BaseException] = []

    def work() -> None:
        try:
            con.execute(query)
        except BaseException as error:  # handed to the caller's thread below
            failure.append(error)

    stopped = over_budget = False
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            try:
                worker.join(0.1)
                if over_budget:
                    continue  # nothing to do but wait for DuckDB to fail
                if not stopped and stop is not None and stop.is_set():
                    con.interrupt()
                    stopped = True
                address_space = guard.exceeded()
                if address_space is not None:
                    over_budget = True
                    con.interrupt()
                    limits = [limit for limit in (soft, hard) if limit != resource.RLIM_INFINITY]
                    resource.setrlimit(resource.RLIMIT_AS, (min([address_space + STOP_MARGIN, *limits]), hard))
                    continue
                percent = con.query_progress() if progress is not None else None
                if percent and percent > 0:
                    progress(int(total * min(percent, 100.0) / 100), total)
            except MemoryError:
                if not over_budget:
                    raise
    finally:
        if worker.is_alive():  # an error here: the connection stays busy until DuckDB stops
            con.interrupt()
            worker.join()
        if over_budget:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if over_budget:
        raise OverBudget
    if progress is not None:
        progress(total, total)
    if stopped:
        raise ReadStopped
    if failure:
        raise failure[0]


def _too_costly(source: SourceFile, guard: MemoryGuard) -> ReadTooCostly:
    found = first_malformed_row(source)
    where = f"the first is row {found[0]} ({found[1]})" if found else f"none is among the first {DIAGNOSED_ROWS:,} rows"
    return ReadTooCostly(
        source.path,
        f"too many malformed rows to read within {guard.budget >> 20:,} MB of memory (DuckDB keeps about "
        f"3 KB for each field missing from or surplus to a row, and for each row that is not UTF-8); {where}; "
        f"no row of it was loaded ({READ_MEMORY_ENV} sets the limit)",
    )


def stage(
    source: SourceFile,
    progress: Progress | None = None,
    *,
    number_rejects: bool = False,
    parallel: bool = True,
    stop: threading.Event | None = None,
    padded: bool = False,
) -> Staged:
    """Read one raw file in memory and reduce it to counts by cell and counts of rejects by reason.

    With `number_rejects`, rejected rows are also listed by row number. That
    takes a second, single-threaded read (numbering rows keeps DuckDB from
    reading in parallel), so it is done only when asked for and needed.
    Without `parallel`, DuckDB reads the file in one thread (for a file with
    a record longer than its read buffer); a parallel read stops (ReadStopped)
    once `stop` is set. A CSV read that goes over the memory guard (rows of
    the wrong width by the hundred thousand) is done again `padded` (see
    SourceFile.relation_sql); a read that still does is refused.
    """
    con = staging_connection()
    guard = MemoryGuard.start()
    try:
        # the sniffer refuses a padded read (one column more than the header), so it gets none
        sniff = not padded
        if sniff:
            try:
                _run_watched(con, f"create temp view raw_source as {source.relation_sql(parallel=parallel)}", guard)
            except duckdb.Error:
                # the sniffer gives up on a broken file: read it as pinned, to say exactly what is wrong
                sniff = False
        try:
            if not sniff:
                pinned = source.relation_sql(sniff=False, parallel=parallel, padded=padded)
                con.execute(f"create temp view raw_source as {pinned}")
            con.execute(f"create temp view staged as {sql('staging')}")
            _run_watched(
                con,
                f"create temp table file_counts as {sql('counts')}",
                guard,
                total=source.path.stat().st_size,
                progress=progress,
                stop=stop,
            )
        except duckdb.Error as error:
            raise FileRefused(source.path, describe_duckdb_failure(error)) from None
        # DuckDB cannot tell where a broken quote ends: the rows after it may be
        # swallowed into one field or split anywhere, so the file is refused whole
        broken_quote = con.execute(
            "select min(line) - ? from csv_rejects where error_type = 'UNQUOTED VALUE'", [source.header_lines]
        ).fetchall()[0][0]
        if broken_quote is not None:
            raise FileRefused(
                source.path,
                f"the CSV structure is broken near row {broken_quote} (a quote is not closed, or text follows "
                "a closing quote); no row of it was loaded",
            )
        counts = con.sql(
            f"select {', '.join(DIMENSIONS)}, visits from file_counts where reject_reason is null"
        ).to_arrow_table()
        # DuckDB counts a line of the file; a reader counts rows after the header
        con.execute(
            "create temp table reader_rejects as "
            "select line - ? as row_no, coalesce(max(error_type::varchar) filter (where error_type = ?), "
            "min(error_type::varchar)) as error_type "
            "from csv_rejects group by all",
            [source.header_lines, LINE_TOO_LONG_ERROR],
        )
        con.execute(
            "create temp table reader_reasons as select * from (values "
            + ", ".join(f"('{error}', '{reason}')" for error, reason in CSV_ERROR_REASONS.items())
            + ") reasons(error_type, reason)"
        )
        rejected = dict(
            con.execute(
                "select reason, sum(visits)::bigint from ("
                "select reject_reason as reason, visits from file_counts where reject_reason is not null "
                "union all select coalesce(reason, ?), 1 from reader_rejects left join reader_reasons using (error_type)"
                ") group by reason order by reason",
                [OTHER_CSV_ERROR],
            ).fetchall()
        )
        rows_read = con.execute(
            "select coalesce(sum(visits), 0) + (select count(*) from reader_rejects) from file_counts"
        ).fetchall()[0][0]
        rejects = None
        if number_rejects:
            if con.execute("select count(*) from file_counts where reject_reason is not null").fetchall()[0][0]:
                numbered = source.relation_sql(numbered=True, sniff=sniff, parallel=parallel, padded=padded)
                con.execute(f"create or replace temp view raw_source as {numbered}")
                _run_watched(
                    con,
                    "create temp table query_rejects as "
                    "select row_no, reject_reason as reason from staged where reject_reason is not null",
                    guard,
                )
            else:
                con.execute("create temp table query_rejects (row_no bigint, reason varchar)")
            rejects = con.sql(sql("reject_rows"), params=[OTHER_CSV_ERROR]).to_arrow_table()
        return Staged(counts, rejected, rejects, int(rows_read))
    except OverBudget:
        if source.file_format != "csv" or padded:
            raise _too_costly(source, guard) from None
    finally:
        con.close()
    # only a CSV read over the budget gets here: once more, padded, on a fresh connection
    return stage(source, progress, number_rejects=number_rejects, parallel=False, padded=True)


def _destroy(path: Path) -> None:
    """Overwrite a file with zeros, flush it to disk, then unlink it."""
    size = path.stat().st_size
    zeros = bytes(1 << 20)
    with path.open("r+b") as handle:
        written = 0
        while written < size:
            written += handle.write(zeros[: min(len(zeros), size - written)])
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()


def write_rejects(path: Path, results: Sequence[tuple[FileResult, pa.Table]]) -> None:
    """The reject report: file, row number and reason for each rejected row; never a value."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(REJECTS_HEADER)
        for result, rejects in results:
            for batch in rejects.to_batches(max_chunksize=100_000):
                rows = batch.column("row").to_pylist()
                reasons = batch.column("reason").to_pylist()
                writer.writerows((result.path.name, row, reason) for row, reason in zip(rows, reasons, strict=True))


class AlreadyLoaded(Exception):
    """The file's content is in the store already, or earlier in the same run."""


def _check_not_loaded(result: FileResult, digest: str, known: dict[str, int], loaded_now: dict[str, Path]) -> None:
    if digest in known:
        result.status, result.batch_id = "skipped", known[digest]
        result.reason = f"already loaded as batch {known[digest]}"
        raise AlreadyLoaded
    if digest in loaded_now:
        result.status = "skipped"
        result.reason = f"same content as {loaded_now[digest]}, loaded in this run"
        raise AlreadyLoaded


def load(
    paths: Sequence[Path],
    db: Path,
    *,
    rejects_path: Path | None = None,
    purge_source: bool = False,
    progress_for: Callable[[Path], Progress | None] | None = None,
    lock_wait_seconds: float = 0.0,
) -> list[FileResult]:
    """Load raw files into the store at `db`, one batch per file, in one atomic publish.

    A refused file is reported and skipped; the others still load. Nothing is
    purged unless the publish succeeded.
    """
    db = Path(db)
    results: list[FileResult] = []
    staged_batches: list[tuple[FileResult, NewBatch]] = []
    report: list[tuple[FileResult, pa.Table]] = []
    with store_lock(db, lock_wait_seconds), ThreadPoolExecutor(max_workers=1) as hasher:
        batches = read_batches(db)
        known = {batch["content_blake3"]: batch["batch_id"] for batch in batches}
        known_sizes = {batch["file_bytes"] for batch in batches}
        # the same content twice in one run loads once; it has no batch id until the publish
        loaded_now: dict[str, Path] = {}
        for raw_path in paths:
            path = Path(raw_path)
            started = time.monotonic()
            result = FileResult(path, "refused")
            results.append(result)
            try:
                source = inspect_source(path)
                result.unknown_columns = source.unknown_columns
                size = path.stat().st_size
                # a file the size of one already loaded may be it: hash it first, so that a
                # duplicate is skipped at once; any other is hashed while DuckDB reads it
                long_record = threading.Event()
                scanning = hasher.submit(scan_file, source, long_record)
                if size in known_sizes:
                    _check_not_loaded(result, scanning.result().digest, known, loaded_now)
                progress = progress_for(path) if progress_for else None
                number_rejects = rejects_path is not None
                staged = None
                try:
                    staged = stage(source, progress, number_rejects=number_rejects, stop=long_record)
                except ReadStopped:
                    pass
                except ReadTooCostly:
                    raise  # the hash is not needed, and may have run short of memory itself
                except FileRefused:
                    # a record too long for the parallel read may be what broke it
                    if not scanning.result().long_record:
                        raise
                scan = scanning.result()
                digest = scan.digest
                _check_not_loaded(result, digest, known, loaded_now)
                if staged is None or scan.long_record:
                    staged = stage(source, progress, number_rejects=number_rejects, parallel=False)
                if staged.rows_read == 0:
                    raise FileRefused(path, "no data rows (a header only)")
            except FileRefused as refused:
                result.reason = refused.reason
                continue
            except AlreadyLoaded:
                continue
            finally:
                result.seconds = time.monotonic() - started
            known_sizes.add(size)
            loaded_now[digest] = path
            result.status = "loaded"
            result.rows_read = staged.rows_read
            result.rejected = staged.rejected
            result.rows_loaded = staged.rows_read - result.rows_rejected
            dates = staged.counts.column("event_date")
            log = {
                # a file name is typed by whoever saved the export: an identifier in it is not kept
                "file_name": redact(path.name),
                "content_blake3": digest,
                "file_format": source.label,
                "file_bytes": size,
                "loaded_at": datetime.now(UTC),
                "rows_read": result.rows_read,
                "rows_loaded": result.rows_loaded,
                "rows_rejected": result.rows_rejected,
                "first_event_date": pc.min(dates).as_py(),
                "last_event_date": pc.max(dates).as_py(),
                "source_destroyed": False,
            }
            staged_batches.append((result, NewBatch(log, staged.counts)))
            if staged.rejects is not None:
                report.append((result, staged.rejects))
        if rejects_path is not None:
            write_rejects(rejects_path, report)
        if not staged_batches:
            return results
        ids = rebuild(db, add=[batch for _, batch in staged_batches])
        for (result, _), batch_id in zip(staged_batches, ids, strict=True):
            result.batch_id = batch_id
        if purge_source:
            destroyed, failures = {}, []
            for result, _ in staged_batches:
                try:
                    _destroy(result.path)
                except OSError as error:
                    failures.append(
                        f"{result.path}: loaded as batch {result.batch_id}, but not destroyed ({error.strerror})"
                    )
                    continue
                result.source_destroyed = True
                destroyed[result.batch_id] = datetime.now(UTC)
            if destroyed:
                rebuild(db, destroyed=destroyed)
            if failures:
                raise EtlError("; ".join(failures))
    return results


def remove_batch(db: Path, batch_id: int, *, lock_wait_seconds: float = 0.0) -> dict[str, object]:
    """Take one batch's counts out of the store; returns its log row."""
    with store_lock(db, lock_wait_seconds):
        batches = {batch["batch_id"]: batch for batch in read_batches(db)}
        if batch_id not in batches:
            raise EtlError(f"{db}: there is no batch {batch_id}")
        rebuild(db, remove_ids={batch_id})
        return batches[batch_id]
