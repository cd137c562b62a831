"""Checks 1 to 6 of the audit: the store's schema, domains, text values, raw bytes, risk and under-14s.

Each check reads the store through a read-only attachment and compares it
with `contract` alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb

from audit.patterns import (
    BYTE_KINDS,
    KINDS,
    Match,
    frn_checksum_ok,
    mask,
    rrn_checksum_ok,
    scan_bytes,
    scan_text,
)
from audit.results import (
    ByteFigures,
    Check,
    CheckKey,
    DomainFigures,
    PatternFigures,
    RiskFigures,
    SchemaFigures,
    Under14Figures,
)
from audit.thresholds import Thresholds
from contract import (
    AGE_GROUPS,
    COUNTRIES,
    DEVICES,
    DIMENSIONS,
    FEATURES,
    FILE_FORMATS,
    GENDERS,
    PAGE_VIEW_DIMENSIONS,
    RECORD_KEY_MAX,
    STEPS,
    STORE_TABLES,
    UNDER_14_GROUP,
    korea_today,
)

STORE = "store"  # the name the store is attached under
DIMENSION_DOMAINS = {
    "feature": FEATURES,
    "country": tuple(sorted(COUNTRIES)),
    "gender": GENDERS,
    "age_group": AGE_GROUPS,
    "step": STEPS,
    "device": DEVICES,
}
RISK_CLASS = ("country", "gender", "age_group", "feature")  # and the month of event_date


@dataclass(frozen=True)
class CountTable:
    """A public table of counts and the per-batch table it must be the sum of."""

    public: str
    batched: str
    dimensions: tuple[str, ...]
    key_sums: dict[str, str]  # each count -> the sum of its record keys
    labels: dict[str, str]  # each measure -> how a finding names it
    file_formats: tuple[str, ...]  # the batch log's formats of the files its batches come from


# Batch log formats of access logs: their lines are loaded, rejected, or not counted (bots, health
# checks, other pages), and the batch log holds the last only in rows_read.
LOG_FORMATS = tuple(f for f in FILE_FORMATS if f.startswith("access_log"))
COUNT_TABLES = (
    CountTable(
        "visit_counts",
        "batch_counts",
        DIMENSIONS,
        {"visits": "key_sum"},
        {"visits": "counts", "key_sum": "key sums"},
        tuple(f for f in FILE_FORMATS if f not in LOG_FORMATS),
    ),
    CountTable(
        "page_views",
        "page_view_batch_counts",
        PAGE_VIEW_DIMENSIONS,
        {"views": "views_key_sum", "visitors": "visitors_key_sum"},
        {
            "views": "views",
            "views_key_sum": "view key sums",
            "visitors": "visitors",
            "visitors_key_sum": "visitor key sums",
        },
        LOG_FORMATS,
    ),
)
# Tables a store written before the access logs (commit 3a551b0) lacks: both, or neither, must be there.
LATER_TABLES = ("page_views", "page_view_batch_counts")
# types whose values are never text; every other column is scanned as text
NOT_TEXT = re.compile(
    r"(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|U\w*INT|FLOAT|DOUBLE|DECIMAL.*|DATE|TIMESTAMP.*|TIME.*|BOOLEAN)"
)
GUARDIAN = re.compile(r"guardian|보호자|법정\s*대리인", re.IGNORECASE)
BAND = re.compile(r"(\d+)\s*(?:-\s*(\d+)|\+)")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def shown_name(name: str) -> str:
    """A table or column name as a report may print it: masked if it holds an identifier."""
    matches = scan_text(name)
    return mask(name, matches[0].kind) if matches else name


def masked(value: object) -> str:
    """A value as a report may print it: an identifier masked by its kind, anything else to its first character."""
    text = str(value)
    matches = scan_text(text)
    if matches:
        return mask(matches[0].value, matches[0].kind)
    return (text[:1] + "*" * min(len(text) - 1, 8)) if len(text) > 1 else text


def columns_of(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """Every table of the store -> its columns -> their types, in order."""
    tables: dict[str, dict[str, str]] = {}
    for table, column, data_type in con.execute(
        "select table_name, column_name, data_type from duckdb_columns() "
        "where database_name = ? and schema_name = 'main' order by table_name, column_index",
        [STORE],
    ).fetchall():
        tables.setdefault(table, {})[column] = data_type
    return tables


def check_schema(con: duckdb.DuckDBPyConnection) -> Check:
    check = Check(CheckKey.SCHEMA, "Schema against the allowlist")
    tables = columns_of(con)
    for table, columns in tables.items():
        allowed = STORE_TABLES.get(table)
        if allowed is None:
            check.fail(f"table {shown_name(table)}", f"a table not on the allowlist ({len(columns)} columns)")
            continue
        for column, data_type in columns.items():
            if column not in allowed:
                check.fail(f"{table}.{shown_name(column)}", "a column not on the allowlist")
            elif data_type != allowed[column]:
                check.fail(f"{table}.{column}", f"type {data_type}, the contract says {allowed[column]}")
        for column in allowed:
            if column not in columns:
                check.fail(f"{table}.{column}", "missing")
    # a store from before the access logs has no table of theirs: it passes, but never with one of the two alone
    later_missing = not any(table in tables for table in LATER_TABLES)
    for table in STORE_TABLES:
        if table not in tables and not (later_missing and table in LATER_TABLES):
            check.fail(f"table {table}", "missing")
    others = con.execute(
        """
        select 'view ' || view_name from duckdb_views() where database_name = $db and not internal
        union all select 'schema ' || schema_name from duckdb_schemas() where database_name = $db and not internal
            and schema_name <> 'main'
        union all select 'sequence ' || sequence_name from duckdb_sequences() where database_name = $db
        union all select 'index ' || index_name from duckdb_indexes() where database_name = $db
        union all select distinct 'macro ' || function_name from duckdb_functions()
            where database_name = $db and not internal
        union all select 'table ' || table_name || ' in schema ' || schema_name from duckdb_tables()
            where database_name = $db and schema_name <> 'main'
        """,
        {"db": STORE},
    ).fetchall()
    for (what,) in others:
        kind, _, name = what.partition(" ")
        check.fail(f"{kind} {shown_name(name)}", f"a {kind} not on the allowlist")
    check.figures = SchemaFigures(tables=len(tables), columns=sum(len(c) for c in tables.values()))
    check.summary = (
        f"{len(tables)} tables, {check.figures.columns} columns, all on the allowlist"
        if check.passed
        else f"{len(check.findings)} finding(s) against the allowlist of {len(STORE_TABLES)} tables"
    )
    return check


def _has(tables: dict[str, dict[str, str]], table: str, *columns: str) -> bool:
    return table in tables and all(column in tables[table] for column in columns)


def check_domains(con: duckdb.DuckDBPyConnection, thresholds: Thresholds) -> Check:
    check = Check(CheckKey.DOMAINS, "Closed domains")
    tables = columns_of(con)
    earliest = date.fromisoformat(thresholds.earliest_event_date)
    latest = korea_today() + timedelta(days=1)
    checked = 0
    for counts in COUNT_TABLES:
        for table in (counts.public, counts.batched):
            if table in tables:
                checked += _check_count_table(con, check, tables[table], table, counts, earliest, latest)
    if _has(tables, "batches", "file_format", "content_blake3", "rows_read", "rows_loaded", "rows_rejected"):
        checked += 1
        for row, problem in con.execute(
            f"""
            select rowid + 1, case
                when file_format is null or file_format::varchar <> all($formats) then 'file format outside the domain'
                when not regexp_full_match(coalesce(content_blake3::varchar, ''), '[0-9a-f]{{64}}')
                    then 'content hash is not 64 hex digits'
                -- an access log's lines not counted (bots, health checks, other pages) are read, neither loaded
                -- nor rejected
                when file_format::varchar = any($logs) and not coalesce(try_cast(rows_read as bigint) >=
                    try_cast(rows_loaded as bigint) + try_cast(rows_rejected as bigint), false)
                    then 'rows read is less than rows loaded + rows rejected'
                when file_format::varchar <> all($logs) and try_cast(rows_read as bigint) is distinct from
                    try_cast(rows_loaded as bigint) + try_cast(rows_rejected as bigint)
                    then 'rows read is not rows loaded + rows rejected'
            end
            from {STORE}.batches order by 1
            """,
            {"formats": list(FILE_FORMATS), "logs": list(LOG_FORMATS)},
        ).fetchall():
            if problem is not None:
                check.fail(f"batches row {row}", problem)
    if _has(tables, "batches", "rows_rejected", "rejected_key_sum"):
        checked += 1
        bad = _key_sums_outside(con, "batches", "rejected_key_sum", "rows_rejected")
        if bad[0]:
            check.fail(
                f"batches.rejected_key_sum row {bad[1]} ({bad[0]:,} rows)",
                f"a key sum that is empty or outside 0 to {RECORD_KEY_MAX} x rows rejected",
            )
    for counts in COUNT_TABLES:
        # removing a batch subtracts its counts and its key sums: both must add up to the public table
        for measure, what in counts.labels.items():
            if not all(_has(tables, table, *counts.dimensions, measure) for table in (counts.public, counts.batched)):
                continue
            checked += 1
            differing = _cells_differing_from_batches(con, counts, measure)
            if differing:
                check.fail(counts.public, f"{differing:,} cells differ from the sum of the batches' {what}")
        # each batch's counts belong to a batch of the log, of the kind of file they come from
        if _has(tables, counts.batched, "batch_id") and _has(tables, "batches", "batch_id", "file_format"):
            checked += 1
            for batch_id, rows, first in con.execute(
                f"""
                select c.batch_id, count(*), min(c.rowid) + 1 from {STORE}.{counts.batched} c
                left join {STORE}.batches b on b.batch_id = c.batch_id
                where b.batch_id is null or b.file_format is null or b.file_format::varchar <> all($formats)
                group by 1 order by 3
                """,
                {"formats": list(counts.file_formats)},
            ).fetchall():
                check.fail(
                    f"{counts.batched}.batch_id row {first} ({rows:,} rows)",
                    f"batch {batch_id} is not a batch of {' or '.join(counts.file_formats)} in the batch log",
                )
    check.figures = DomainFigures(columns_checked=checked)
    check.summary = (
        f"every value of {checked} checked columns is in its domain"
        if check.passed
        else f"{len(check.findings)} finding(s) outside the domains"
    )
    return check


def _check_count_table(
    con: duckdb.DuckDBPyConnection,
    check: Check,
    columns: dict[str, str],
    table: str,
    counts: CountTable,
    earliest: date,
    latest: date,
) -> int:
    """Closed domains, dates, counts and key sums of one table of counts; returns how many columns it checked."""
    checked = 0
    for column, domain in DIMENSION_DOMAINS.items():
        if column not in columns:
            continue
        checked += 1
        for value, rows, first in con.execute(
            f"select {quote(column)}::varchar, count(*), min(rowid) + 1 from {STORE}.{table} "
            f"where {quote(column)} is null or {quote(column)}::varchar <> all($domain) group by 1 order by 3",
            {"domain": list(domain)},
        ).fetchall():
            what = "empty (NULL)" if value is None else f"value outside the domain: {masked(value)}"
            check.fail(f"{table}.{column} row {first} ({rows:,} rows)", what)
    if "event_date" in columns:
        checked += 1
        if columns["event_date"] == "DATE":
            bad = con.execute(
                f"select count(*), min(rowid) + 1 from {STORE}.{table} "
                "where event_date is null or event_date not between ? and ?",
                [earliest, latest],
            ).fetchall()[0]
            if bad[0]:
                check.fail(
                    f"{table}.event_date row {bad[1]} ({bad[0]:,} rows)",
                    f"empty, or outside {earliest} to {latest} (tomorrow, Korea time)",
                )
    for count, key_sum in counts.key_sums.items():
        if count not in columns:
            continue
        checked += 1
        # a cell is stored only when something was counted in it
        bad = con.execute(
            f"select count(*), min(rowid) + 1 from {STORE}.{table} where try_cast({quote(count)} as bigint) is null "
            f"or try_cast({quote(count)} as bigint) < 1"
        ).fetchall()[0]
        if bad[0]:
            check.fail(f"{table}.{count} row {bad[1]} ({bad[0]:,} rows)", "a count that is empty or below 1")
        if key_sum in columns:
            checked += 1
            bad = _key_sums_outside(con, table, key_sum, count)
            if bad[0]:
                check.fail(
                    f"{table}.{key_sum} row {bad[1]} ({bad[0]:,} rows)",
                    f"a key sum that is empty or outside 0 to {RECORD_KEY_MAX} x {count}",
                )
    if "visitors" in columns and "views" in columns:
        checked += 1
        # a visitor is counted with the views they made: never more visitors than views in a cell
        bad = con.execute(
            f"select count(*), min(rowid) + 1 from {STORE}.{table} "
            "where try_cast(visitors as bigint) > try_cast(views as bigint)"
        ).fetchall()[0]
        if bad[0]:
            check.fail(f"{table}.visitors row {bad[1]} ({bad[0]:,} rows)", "more visitors than views")
    return checked


def _key_sums_outside(con: duckdb.DuckDBPyConnection, table: str, key_sum: str, count: str) -> tuple[int, int]:
    """(rows, first row) where `key_sum` is empty or outside 0..RECORD_KEY_MAX x `count`: each record key is 0..255."""
    key, rows = f"try_cast({quote(key_sum)} as bigint)", f"try_cast({quote(count)} as bigint)"
    return con.execute(
        f"select count(*), min(rowid) + 1 from {STORE}.{table} "
        f"where {key} is null or {rows} is null or {key} < 0 or {key} > $max * {rows}",
        {"max": RECORD_KEY_MAX},
    ).fetchall()[0]


def _cells_differing_from_batches(con: duckdb.DuckDBPyConnection, counts: CountTable, measure: str) -> int:
    """Cells of a public table whose `measure` is not the sum over its per-batch table, either way round."""
    dims = ", ".join(counts.dimensions)
    public, batched = (
        f"select {dims}, sum({quote(measure)}) as total from {STORE}.{table} group by all"
        for table in (counts.public, counts.batched)
    )
    return con.execute(
        f"""
        with public as ({public}), batched as ({batched})
        select count(*) from public full join batched using ({dims})
        where public.total is distinct from batched.total
        """
    ).fetchall()[0][0]


def _text_columns(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str, str]]:
    for table, columns in columns_of(con).items():
        for column, data_type in columns.items():
            if not NOT_TEXT.fullmatch(data_type):
                yield table, column, data_type


def distinct_text(con: duckdb.DuckDBPyConnection) -> Iterator[tuple[str, str, str, int, int]]:
    """(table, column, value, rows, first row) for every distinct text value of the store."""
    for table, column, _ in _text_columns(con):
        cursor = con.execute(
            f"select {quote(column)}::varchar, count(*), min(rowid) + 1 from {STORE}.main.{quote(table)} "
            f"where {quote(column)} is not null group by 1 order by 3"
        )
        while batch := cursor.fetchmany(10_000):
            for value, rows, first in batch:
                yield table, column, value, rows, first


def check_values(con: duckdb.DuckDBPyConnection) -> Check:
    check = Check(CheckKey.PATTERNS, "Pattern scan of every text value")
    values = file_name_dates = 0
    per_kind: dict[str, int] = {}
    for table, column, value, rows, first in distinct_text(con):
        values += 1
        for match in scan_text(value, KINDS):
            # the date an operator put in an export's file name is not a visitor's
            if match.kind == "date" and (table, column) == ("batches", "file_name"):
                file_name_dates += 1
                continue
            per_kind[match.kind] = per_kind.get(match.kind, 0) + 1
            check.fail(
                f"{shown_name(table)}.{shown_name(column)} row {first} ({rows:,} rows)",
                describe(match),
            )
    check.figures = PatternFigures(values_scanned=values, found=per_kind, dates_in_file_names=file_name_dates)
    if file_name_dates:
        check.notes.append(
            "Dates in the batch log's file names are the export dates operators put there; they are counted, "
            "not failed. Every other identifier in a file name fails."
        )
    check.summary = (
        f"no identifier in {values:,} distinct text values ({', '.join(KINDS)})"
        if check.passed
        else f"{len(check.findings)} identifier(s) found in text values"
    )
    return check


def describe(match: Match) -> str:
    """A finding's text: the kind, the masked value, and for a registration number whether its checksum holds."""
    text = f"{match.kind.replace('_', ' ')} {mask(match.value, match.kind)}"
    checksum = {"kr_rrn": rrn_checksum_ok, "kr_frn": frn_checksum_ok}.get(match.kind)
    if checksum is not None:
        digits = "".join(c for c in match.value if c.isdigit())
        text += " (checksum valid)" if checksum(digits) else " (no valid checksum: may be issued since 2020-10)"
    return text


def check_bytes(con: duckdb.DuckDBPyConnection, db: Path, files: dict[Path, bytes]) -> Check:
    """`files`: the store file and its WAL, as read (and hashed) once before DuckDB opened them."""
    check = Check(CheckKey.BYTES, "Byte scan of the store file and its WAL")
    scanned = 0
    for path, data in files.items():
        scanned += len(data)
        for match in scan_bytes(data, BYTE_KINDS):
            check.fail(f"{path.name} byte {match.start:,}", describe(match))
    size = con.execute(
        "select free_blocks, block_size, total_blocks from pragma_database_size() where database_name = ?", [STORE]
    ).fetchall()
    free_blocks, block_size, total_blocks = size[0] if size else (0, 0, 0)
    if free_blocks:
        check.fail(
            f"{db.name}: {free_blocks} free block(s) of {total_blocks}",
            f"{free_blocks * block_size:,} bytes left by something deleted (the ETL writes a new file whole and "
            "leaves none): data of a dropped table may remain. Rebuild the store from its batches.",
        )
    check.figures = ByteFigures(bytes_scanned=scanned, files=len(files), free_blocks=free_blocks)
    check.summary = (
        f"no identifier in {scanned:,} bytes ({', '.join(p.name for p in files)}); no free block"
        if check.passed
        else f"{len(check.findings)} finding(s) in the bytes"
    )
    check.notes.append(
        "Reach: the scan reads the file as bytes, so it sees strings DuckDB stored uncompressed (small "
        "segments, dictionary entries, everything in the WAL). DuckDB compresses larger string columns "
        "(dictionary, FSST): an identifier compressed that way does not appear byte for byte, and full dates "
        "cannot be told from other bytes, so dates are left to check 3. A dropped table's blocks are caught "
        "another way: a store written by the ETL has no free block, so any free block fails this check."
    )
    return check


def check_risk(con: duckdb.DuckDBPyConnection, thresholds: Thresholds) -> Check:
    check = Check(CheckKey.RISK, f"k-anonymity and re-identification risk (k = {thresholds.k})")
    if not _has(columns_of(con), "visit_counts", *RISK_CLASS, "event_date", "visits"):
        check.fail("visit_counts", "cannot compute: the table or one of its class columns is missing")
        check.summary = "cannot compute"
        return check
    k = thresholds.k
    classes, records, smallest, small_classes, small_records, uniques = con.execute(
        f"""
        with classes as (
            select {", ".join(RISK_CLASS)}, date_trunc('month', event_date) as month, sum(visits) as size
            from {STORE}.visit_counts group by all
        )
        select count(*), coalesce(sum(size), 0)::bigint, min(size)::bigint,
            count(*) filter (where size < $k), coalesce(sum(size) filter (where size < $k), 0)::bigint,
            count(*) filter (where size = 1)
        from classes
        """,
        {"k": k},
    ).fetchall()[0]
    share = small_records / records if records else 0.0
    highest = 1 / smallest if smallest else 0.0
    average = classes / records if records else 0.0
    check.figures = RiskFigures(
        k=k,
        classes=classes,
        records=records,
        smallest_class=smallest or 0,
        classes_below_k=small_classes,
        records_below_k=small_records,
        unique_classes=uniques,
        share_at_risk=share,
        highest_risk=highest,
        average_risk=average,
    )
    for name, value, limit in (
        ("share of records at risk", share, thresholds.max_share_of_records_at_risk),
        ("average risk", average, thresholds.max_average_risk),
        ("highest risk", highest, thresholds.max_highest_risk),
    ):
        if value > limit:
            check.fail("visit_counts", f"{name} {value:.4f} is above the threshold {limit:.4f}")
    check.summary = (
        f"{classes:,} classes, smallest {smallest or 0}, {share:.1%} of records in classes below k, "
        f"average risk {average:.3f}, highest {highest:.3f}"
    )
    check.notes.append(
        "Classes are (country, gender, age group, feature, month of event_date) over visit_counts, as ARX "
        "counts them for the prosecutor model. The store is internal: published numbers pass the gate, "
        "checked in check 7. The figures are always reported; they fail only above the thresholds."
    )
    return check


def _splits_under_14(label: str) -> bool:
    band = BAND.fullmatch(label.strip())
    return band is not None and label != UNDER_14_GROUP and int(band[1]) < 14


def check_under_14(con: duckdb.DuckDBPyConnection, files: dict[Path, bytes]) -> Check:
    check = Check(CheckKey.UNDER_14, "Under-14s: no guardian field, the 0-13 band whole")
    for table, columns in columns_of(con).items():
        for name in (table, *columns):
            if GUARDIAN.search(name):
                check.fail(f"{shown_name(table)}", f"a guardian field: {shown_name(name)}")
    for table, column, value, rows, first in distinct_text(con):
        if GUARDIAN.search(value):
            check.fail(f"{shown_name(table)}.{shown_name(column)} row {first}", "a value that names a guardian")
        if column == "age_group" and _splits_under_14(value):
            check.fail(f"{table}.age_group row {first} ({rows:,} rows)", f"the band {value} splits 0-13")
    for path, data in files.items():
        hits = sum(1 for _ in _ascii_word(data, b"guardian"))
        if hits:
            check.fail(f"{path.name}", f"the word 'guardian' appears {hits} time(s) in the bytes")
    under = 0
    if _has(columns_of(con), "visit_counts", "age_group", "visits"):
        under = con.execute(
            f"select coalesce(sum(visits), 0)::bigint from {STORE}.visit_counts where age_group = ?", [UNDER_14_GROUP]
        ).fetchall()[0][0]
    check.figures = Under14Figures(under_14_submissions=under)
    check.summary = (
        "no guardian field or value anywhere; 0-13 is one band"
        if check.passed
        else f"{len(check.findings)} finding(s) on under-14s"
    )
    return check


def _ascii_word(data: bytes, word: bytes) -> Iterable[int]:
    return (m.start() for m in re.finditer(re.escape(word), data, re.IGNORECASE))
