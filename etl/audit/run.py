"""Run every check of the audit on one store (and its exports) and gather the report."""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from etl.audit.export_checks import check_exports
from etl.audit.report import AuditReport, CannotAudit, FileHash, Thresholds, load_thresholds
from etl.audit.store_checks import (
    STORE,
    check_bytes,
    check_domains,
    check_risk,
    check_schema,
    check_under_14,
    check_values,
)
from etl.contract import TIMEZONE, export_log_path

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def file_hash(path: Path) -> FileHash:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            digest.update(chunk)
    return FileHash(str(path), digest.hexdigest(), path.stat().st_size)


def open_store(db: Path) -> duckdb.DuckDBPyConnection:
    """The store attached read-only to an in-memory connection, or CannotAudit."""
    if not db.is_file():
        raise CannotAudit(f"{db}: no such file")
    try:
        with db.open("rb") as handle:
            magic = handle.read(12)[8:12]
    except OSError as error:
        raise CannotAudit(f"{db}: cannot be read ({error.strerror})") from None
    if magic != DUCKDB_MAGIC:
        raise CannotAudit(f"{db}: not a DuckDB database file")
    con = duckdb.connect(":memory:")
    try:
        con.execute(f"attach ? as {STORE} (read_only)", [str(db)])
    except duckdb.Error as error:
        con.close()
        # DuckDB's message may quote the file: name the kind of failure only
        raise CannotAudit(f"{db}: DuckDB cannot open it ({type(error).__name__})") from None
    return con


def run_audit(
    db: Path,
    exports: Path | None = None,
    export_log: Path | None = None,
    thresholds: Thresholds | None = None,
) -> AuditReport:
    """Every check on the store at `db`, the exports under `exports` and those the export log names."""
    db = Path(db)
    thresholds = thresholds or load_thresholds()
    if exports is not None and not Path(exports).is_dir():
        raise CannotAudit(f"{exports}: not a folder")
    # hashed before DuckDB opens the file, so that the report names exactly the bytes checked
    store_hash = file_hash(db) if db.is_file() else None
    wal = Path(f"{db}.wal")
    wal_hash = file_hash(wal) if wal.is_file() else None
    con = open_store(db)
    try:
        checks = [
            check_schema(con),
            check_domains(con, thresholds),
            check_values(con),
            check_bytes(con, db),
            check_risk(con, thresholds),
            check_under_14(con, db),
        ]
    except duckdb.Error as error:
        raise CannotAudit(f"{db}: the store could not be read ({type(error).__name__})") from None
    finally:
        con.close()
    export_check, export_hashes = check_exports(exports, export_log_path(export_log), thresholds)
    checks.append(export_check)
    return AuditReport(
        when=datetime.now(ZoneInfo(TIMEZONE)),
        store=store_hash,
        wal=wal_hash,
        thresholds=thresholds,
        checks=checks,
        exports=export_hashes,
    )
