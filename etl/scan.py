"""The second read of a raw file, beside DuckDB's: its content hash and a watch on its records.

The hash is the identity of a file's content, so that a file loaded twice is
not counted twice; the watch finds a record too long for DuckDB's parallel
reader (see etl.sources.SCAN_CHUNK), which would otherwise be dropped or split
without a word. Both come from one pass over the bytes, on its own thread, so
that it costs no time beside DuckDB's read of the same file.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from dataclasses import dataclass

import blake3

from etl.errors import FileRefused
from etl.sources import SCAN_CHUNK, SourceFile


@dataclass(frozen=True)
class FileScan:
    digest: str  # BLAKE3 of the file's bytes; of an access log's lines, unzipped (see scan_file)
    long_record: bool  # a record too long for DuckDB's parallel reader (see etl.sources.SCAN_CHUNK)


def scan_file(source: SourceFile, long_record_found: threading.Event | None = None) -> FileScan:
    """Hash a raw file and watch its records, in one read beside DuckDB's.

    The BLAKE3 hash of the file's bytes is the identity of its content for
    idempotence: BLAKE3 rather than SHA-256, as collision-resistant for this
    use and about four times faster, and it runs beside DuckDB on the same
    cores. A gzip file is also unzipped here, which checks what DuckDB does
    not: the CRC and length in each member's trailer. `long_record_found` is
    set as soon as a long record is seen.

    An access log is identified by its lines, unzipped: logrotate turns
    `access.log.1` into `access.log.2.gz` a day later, and the same lines
    loaded again under the new name would count twice.
    """
    digest = blake3.blake3()
    records = source.record_scan()
    by_lines = source.compressed and source.file_format == "access_log"

    def watch(chunk: bytes) -> None:
        seen = records.long_record
        records.feed(chunk)
        if records.long_record and not seen and long_record_found is not None:
            long_record_found.set()

    with source.path.open("rb") as handle:
        while chunk := handle.read(SCAN_CHUNK):
            if not by_lines:
                digest.update(chunk)
            if not source.compressed:
                watch(chunk)
    if source.compressed:
        try:
            with gzip.open(source.path, "rb") as unzipped:
                while chunk := unzipped.read(SCAN_CHUNK):
                    watch(chunk)
                    if by_lines:
                        digest.update(chunk)
        except (gzip.BadGzipFile, EOFError, zlib.error):
            raise FileRefused(source.path, "corrupt or truncated gzip data") from None
    return FileScan(digest.hexdigest(), records.long_record)
