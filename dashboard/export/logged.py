"""Exports that leave: the export log lines of a table or a pack.

What shapes it: every file that leaves the dashboard or the command line is
logged (the audit checks files against the log), and the line's format lives
only in `contract/export_log.py`: this module fills an `ExportLogEntry` and
never writes a line itself.
"""

from __future__ import annotations

from pathlib import Path

from contract import export_log
from contract.export_log import Author, ExportLogEntry, export_log_path
from dashboard.export.packs import Pack
from dashboard.export.table import Export

log_path = export_log_path


def log_export(
    export: Export, path: Path, author: Author, file: str | None = None, written: Path | None = None
) -> ExportLogEntry:
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
        author=author.name,
        author_email=author.email,
        path=None if written is None else str(written.resolve()),
    )
    return export_log.append(path, entry)


def log_pack(pack: Pack, path: Path, author: Author, written: Path | None = None) -> list[ExportLogEntry]:
    """One log line per CSV in the pack, `file` naming the ZIP and the entry."""
    return [log_export(export, path, author, f"{pack.filename}/{export.filename}", written) for export in pack.exports]
