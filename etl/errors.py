"""Errors the ETL reports to people. Their text names a file, a row and a
reason, never a value read from a raw file (privacy rule 3)."""

from __future__ import annotations

from pathlib import Path


class EtlError(Exception):
    """A problem that stops a command; its message is safe to print."""


class FileRefused(EtlError):
    """A raw file that cannot be loaded at all; nothing of it is stored."""

    def __init__(self, path: Path | str, reason: str) -> None:
        self.path = Path(path)
        self.reason = reason
        super().__init__(f"{self.path}: refused: {reason}")


class StoreBusy(EtlError):
    """Another ETL run holds the store."""


def describe_duckdb_failure(error: Exception) -> str:
    """A value-free reason for a DuckDB error raised while reading a raw file.

    DuckDB's own texts quote the offending line, so they are classified here
    and never passed on.
    """
    text = str(error).lower()
    if "gzip" in text or "zlib" in text or "compress" in text:
        return "corrupt or truncated gzip data"
    if "invalid state" in text or "unterminated quote" in text or "quote" in text:
        return "the CSV structure is broken (an unclosed quote or mixed line endings); no row of it was loaded"
    if "unicode" in text or "utf-8" in text or "encoding" in text:
        return "the file is not valid UTF-8 text"
    if "out of memory" in text:
        return "ran out of memory while reading the file"
    if "no such file" in text or "cannot open" in text or "permission" in text:
        return "the file cannot be opened"
    return f"the file could not be read ({type(error).__name__})"
