"""Run every check of the audit on one store (and its exports) and gather the report.

The store is read as the officer received it and never changed: its bytes are
read (and hashed) once before DuckDB opens it, and DuckDB only attaches it
read-only to an in-memory connection, so what the report names is exactly
what was scanned.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from audit.export_checks import check_exports
from audit.report import AuditReport
from audit.results import CannotAudit, FileHash, PtableInUse
from audit.store_checks import (
    STORE,
    check_bytes,
    check_domains,
    check_risk,
    check_schema,
    check_under_14,
    check_values,
)
from audit.thresholds import Thresholds, load_thresholds
from contract import TIMEZONE
from contract.export_log import export_log_path
from contract.ptable import Ptable, PtableMismatch, load_ptable, ptable_csv_path

DUCKDB_MAGIC = b"DUCK"  # bytes 8-11 of every DuckDB database file


def read_store_files(db: Path) -> dict[Path, bytes]:
    """The store file and its WAL (when there is one), read once: hashed for the report and scanned."""
    try:
        return {path: path.read_bytes() for path in (db, Path(f"{db}.wal")) if path.is_file()}
    except OSError as error:
        raise CannotAudit(f"{db}: cannot be read ({error.strerror})") from None


def file_hash(path: Path, data: bytes) -> FileHash:
    return FileHash(str(path), hashlib.sha256(data).hexdigest(), len(data))


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


def read_ptable_in_use() -> tuple[Ptable, PtableInUse]:
    """The contract's perturbation table, or CannotAudit: without it no exported count can be recomputed."""
    try:
        ptable = load_ptable()
    except (OSError, ValueError, PtableMismatch) as error:
        raise CannotAudit(f"the perturbation table cannot be read ({type(error).__name__}: {error})") from None
    params = ptable.params
    in_use = PtableInUse(
        version=params.version,
        max_noise=params.max_noise,
        variance=params.variance,
        min_cell=params.min_cell,
        csv=ptable_csv_path(params.version).name,
        csv_sha256=params.csv_sha256,
    )
    return ptable, in_use


def run_audit(
    db: Path,
    exports: Path | None = None,
    export_log: Path | None = None,
    thresholds: Thresholds | None = None,
) -> AuditReport:
    """Every check on the store at `db`, the exports under `exports` and those the export log names."""
    db = Path(db)
    thresholds = thresholds or load_thresholds()
    ptable, ptable_in_use = read_ptable_in_use()
    if exports is not None and not Path(exports).is_dir():
        raise CannotAudit(f"{exports}: not a folder")
    # read before DuckDB opens the file: the report names, and the byte scan reads, exactly these bytes
    files = read_store_files(db)
    hashes = [file_hash(path, data) for path, data in files.items()]
    con = open_store(db)
    try:
        checks = [
            check_schema(con),
            check_domains(con, thresholds),
            check_values(con),
            check_bytes(con, db, files),
            check_risk(con, thresholds),
            check_under_14(con, files),
        ]
        export_check, export_hashes = check_exports(con, exports, export_log_path(export_log), thresholds, ptable)
        checks.append(export_check)
    except duckdb.Error as error:
        raise CannotAudit(f"{db}: the store could not be read ({type(error).__name__})") from None
    finally:
        con.close()
    return AuditReport(
        when=datetime.now(ZoneInfo(TIMEZONE)),
        store=hashes[0],
        wal=hashes[1] if len(hashes) > 1 else None,
        thresholds=thresholds,
        ptable=ptable_in_use,
        checks=checks,
        exports=export_hashes,
    )
