"""Staging: read one raw file in memory and reduce it to counts by cell and rejects by reason.

Raw rows only ever live in an in-memory DuckDB connection that may not spill
to disk (privacy rule 2): what leaves it is counts by cell and, for rejected
rows, a row number and a reason. The SQL is in `etl/sql/staging/` (raw text ->
normalized rows, the reject rows) and `etl/sql/counts/` (rows -> counts).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TYPE_CHECKING

import duckdb

from contract import AGE_BANDS, DIMENSIONS, EARLIEST_BIRTH_YEAR, EARLIEST_EVENT_DATE, TIMEZONE, korea_today
from etl.errors import FileRefused, describe_duckdb_failure
from etl.guard import READ_MEMORY_ENV, MemoryGuard, OverBudget, Progress, run_watched
from etl.lookups import KEY_MACRO_SQL, lookup_tables
from etl.sources import (
    CSV_ERROR_REASONS,
    DIAGNOSED_ROWS,
    LINE_TOO_LONG_ERROR,
    OTHER_CSV_ERROR,
    SourceFile,
    first_malformed_row,
)
from etl.sql_files import sql

if TYPE_CHECKING:
    import pyarrow as pa  # DuckDB imports it when it hands over the counts, after the read

OLDEST_AGE = 150  # ages above fall outside the bands: the birth year rule already rejects them


@dataclass(frozen=True)
class Staged:
    counts: pa.Table  # DIMENSIONS + visits, key_sum
    rejected: dict[str, int]  # reason -> rows
    rejected_key_sum: int  # the record keys of every rejected row, summed
    rejects: pa.Table | None  # row, reason; only when row numbers were asked for
    rows_read: int
    first_event_date: date | None  # of the rows loaded
    last_event_date: date | None


class ReadTooCostly(FileRefused):
    """A file refused because reading it went over the memory budget (see etl.guard.READ_MEMORY_ENV)."""


def staging_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory connection for raw rows, with spilling to disk switched off.

    With no temp directory DuckDB fails a query rather than write raw values
    to a spill file; the aggregation keeps memory small, so it never has to.
    """
    con = duckdb.connect(":memory:", config={"temp_directory": ""})
    con.execute("set TimeZone = ?", [TIMEZONE])
    con.execute(KEY_MACRO_SQL)
    con.execute(sql("staging/birth_date"))
    tables = {
        table: {"spelling": list(spellings), "code": list(spellings.values())}
        for table, spellings in lookup_tables().items()
    }
    ages = [
        (age, label) for label, low, high in AGE_BANDS for age in range(low, (OLDEST_AGE if high is None else high) + 1)
    ]
    tables["age_lookup"] = {"age": [age for age, _ in ages], "age_group": [label for _, label in ages]}
    tables["reader_reasons"] = {"error_type": list(CSV_ERROR_REASONS), "reason": list(CSV_ERROR_REASONS.values())}
    for table, columns in tables.items():
        # lists as parameters, unnested side by side: neither Arrow nor pandas (which DuckDB's register
        # imports to look for a DataFrame) is needed for a few thousand rows
        unnested = ", ".join(
            f"unnest(${name}::{'bigint' if isinstance(values[0], int) else 'varchar'}[]) as {name}"
            for name, values in columns.items()
        )
        con.execute(f"create table {table} as select {unnested}", columns)
    con.execute(
        f"create table load_params as {sql('staging/load_params')}",
        {
            "earliest_event_date": EARLIEST_EVENT_DATE,
            "latest_event_date": korea_today() + timedelta(days=1),
            "earliest_birth_date": date(EARLIEST_BIRTH_YEAR, 1, 1),
        },
    )
    return con


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
                run_watched(con, f"create temp view raw_source as {source.relation_sql(parallel=parallel)}", guard)
            except duckdb.Error:
                # the sniffer gives up on a broken file: read it as pinned, to say exactly what is wrong
                sniff = False
        try:
            if not sniff:
                pinned = source.relation_sql(sniff=False, parallel=parallel, padded=padded)
                con.execute(f"create temp view raw_source as {pinned}")
            con.execute(f"create temp view staged as {sql('staging/staging')}")
            run_watched(
                con,
                f"create temp table file_counts as {sql('counts/file_counts')}",
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
            f"select {', '.join(DIMENSIONS)}, visits, key_sum from file_counts where reject_reason is null"
        ).to_arrow_table()
        first_day, last_day = con.execute(
            "select min(event_date), max(event_date) from file_counts where reject_reason is null"
        ).fetchone()
        con.execute(
            f"create temp table reader_rejects as {sql('staging/reader_rejects')}",
            {"header_lines": source.header_lines, "line_too_long": LINE_TOO_LONG_ERROR},
        )
        by_reason = con.execute(sql("counts/rejected_by_reason"), {"other_error": OTHER_CSV_ERROR}).fetchall()
        rejected = {reason: rows for reason, rows, _ in by_reason}
        rejected_key_sum = sum(key_sum for _, _, key_sum in by_reason)
        rows_read = con.execute(sql("counts/rows_read")).fetchall()[0][0]
        rejects = None
        if number_rejects:
            if con.execute("select count(*) from file_counts where reject_reason is not null").fetchall()[0][0]:
                numbered = source.relation_sql(numbered=True, sniff=sniff, parallel=parallel, padded=padded)
                con.execute(f"create or replace temp view raw_source as {numbered}")
                run_watched(con, f"create temp table query_rejects as {sql('staging/query_rejects')}", guard)
            else:
                con.execute("create temp table query_rejects (row_no bigint, reason varchar)")
            rejects = con.sql(sql("staging/reject_rows"), params={"other_error": OTHER_CSV_ERROR}).to_arrow_table()
        return Staged(counts, rejected, rejected_key_sum, rejects, int(rows_read), first_day, last_day)
    except OverBudget:
        if source.file_format != "csv" or padded:
            raise _too_costly(source, guard) from None
    finally:
        con.close()
    # only a CSV read over the budget gets here: once more, padded, on a fresh connection
    return stage(source, progress, number_rejects=number_rejects, parallel=False, padded=True)
