"""The export log: one JSON line for every file that leaves the dashboard or the export command.

The exports write it and the officer's audit and the About page read it, so
its line format lives here, once. A line holds the selection and the file's
hash, never a count or a value from the store.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

from contract import TIMEZONE

# Every export appends a line here (or to $GANGNAM_EXPORT_LOG); the audit checks files against it.
EXPORT_LOG_ENV: Final = "GANGNAM_EXPORT_LOG"
DEFAULT_EXPORT_LOG: Final = "data/exports.log"


def export_log_path(override: str | os.PathLike | None = None) -> Path:
    """The export log: the override, else $GANGNAM_EXPORT_LOG, else data/exports.log."""
    return Path(override or os.environ.get(EXPORT_LOG_ENV) or DEFAULT_EXPORT_LOG)


@dataclass(frozen=True)
class ExportLogEntry:
    """One exported file, as its log line states it."""

    selection: dict[str, Any]  # what was asked for: dimensions, period, filters, comparison
    format: str  # excel or raw
    min_cell: int
    rows: int
    sha256: str  # of the file's bytes
    file: str  # its name, or `<zip>/<csv>` for a report pack's table
    # who exported it: the signed-in user's `sub` claim, `cli:<OS user>` for the command line,
    # `local:<OS user>` for the dashboard's local mode; the audit fails a line without one
    author: str = ""
    author_email: str | None = None  # the signed-in user's `email` claim
    path: str | None = None  # where the command line wrote it; a download has none
    when: str = field(default_factory=lambda: datetime.now(ZoneInfo(TIMEZONE)).isoformat(timespec="seconds"))
    timezone: str = TIMEZONE

    def to_line(self) -> str:
        entry = {key: value for key, value in asdict(self).items() if value is not None}
        return json.dumps(entry, ensure_ascii=False)


def os_user() -> str:
    """The operating system's name for the user running this process (its uid when it has no name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's uid with no passwd entry
        return f"uid-{os.getuid()}"


@dataclass(frozen=True)
class Author:
    """Who exports, as a log line names them: the `sub` and `email` claims, or `cli:<OS user>`."""

    name: str
    email: str | None = None

    @classmethod
    def command_line(cls) -> Author:
        return cls(f"cli:{os_user()}")


def append(log: Path, entry: ExportLogEntry) -> ExportLogEntry:
    """Append one line to the log, creating its folder; returns the entry."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as handle:
        handle.write(entry.to_line() + "\n")
    return entry


@dataclass(frozen=True)
class LogLine:
    """A line of the log that could not be read as an entry: its number and why."""

    number: int
    problem: str


def read(log: Path) -> Iterator[tuple[int, ExportLogEntry] | LogLine]:
    """Each non-blank line of the log, in order: (line number, entry), or a LogLine saying what is wrong."""
    if not log.is_file():
        return
    known = set(ExportLogEntry.__dataclass_fields__)
    with log.open(encoding="utf-8", errors="replace") as handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError:
                yield LogLine(number, "not a JSON line")
                continue
            if not isinstance(raw, dict) or not isinstance(raw.get("sha256"), str):
                yield LogLine(number, "an entry without a sha256")
                continue
            values = {key: value for key, value in raw.items() if key in known}
            values.setdefault("selection", {})
            values.setdefault("format", "")
            values.setdefault("min_cell", 0)
            values.setdefault("rows", 0)
            values.setdefault("file", "")
            values.setdefault("author", "")
            yield number, ExportLogEntry(**values)


def entries(log: Path) -> list[ExportLogEntry]:
    """The readable entries of the log, oldest first."""
    return [item[1] for item in read(log) if isinstance(item, tuple)]
