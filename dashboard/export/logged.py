"""Exports that leave: build a table or a pack and append its lines to the export log.

What shapes it: every file that leaves the dashboard or the command line is
logged (the audit checks files against the log), and the line's format lives
only in `contract/export_log.py`: this module fills an `ExportLogEntry` and
never writes a line itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from pathlib import Path

from contract import export_log
from contract.export_log import ExportLogEntry, export_log_path
from dashboard.export.packs import Pack, make_pack
from dashboard.export.table import Export, build_export
from dashboard.filters import Filters
from dashboard.store import StoreVersion

log_path = export_log_path


def log_export(export: Export, path: Path, file: str | None = None, written: Path | None = None) -> ExportLogEntry:
    """Append the log line of `export` to the log at `path`; returns the entry.

    `written`: where the command line wrote the file (a download goes to the
    user's computer and has none), so that the audit can find it again.
    """
    entry = ExportLogEntry(
        selection=export.selection,
        format=export.fmt,
        min_cell=export.min_cell,
        rows=export.rows,
        sha256=export.sha256,
        file=file or export.filename,
        path=None if written is None else str(written.resolve()),
    )
    return export_log.append(path, entry)


def log_pack(pack: Pack, path: Path, written: Path | None = None) -> list[ExportLogEntry]:
    """One log line per CSV in the pack, `file` naming the ZIP and the entry."""
    return [log_export(export, path, f"{pack.filename}/{export.filename}", written) for export in pack.exports]


def export_table(
    version: StoreVersion,
    filters: Filters,
    by: Sequence[str],
    period: str | None,
    start: date,
    end: date,
    fmt: str = "excel",
    lang: str = "ko",
    comparison: tuple[date, date] | None = None,
    *,
    log: str | Path | None = None,
    logged_file: str | None = None,
) -> tuple[str, bytes, int]:
    """Build an export and log it (every export is logged); returns (file name, bytes, data rows)."""
    export = build_export(version, filters, by, period, start, end, fmt, lang, comparison)
    log_export(export, log_path(log), logged_file)
    return export.filename, export.content, export.rows


def build_pack(
    version: StoreVersion,
    kind: str,
    period_text: str,
    lang: str = "ko",
    fmt: str = "excel",
    *,
    log: str | Path | None = None,
) -> tuple[str, bytes]:
    """Build a report pack and log it (one line per CSV); returns (ZIP file name, ZIP bytes)."""
    pack = make_pack(version, kind, period_text, lang, fmt)
    log_pack(pack, log_path(log))
    return pack.filename, pack.content
