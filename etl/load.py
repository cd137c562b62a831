"""The load loop: raw exports in, one batch each, one atomic publish of the store.

A load must never count a file twice nor half a file: each file is staged
whole (etl.stage) or refused with a value-free reason, a file whose content is
in the store already is skipped by its hash (etl.scan), and the batches of
every staged file are published together (etl.publish). Only then are the
sources destroyed, when asked (etl.purge).
"""

from __future__ import annotations

import csv
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from etl.access_log import AccessLogSource, StagedLog, recognize, stage_log
from etl.errors import EtlError, FileRefused
from etl.guard import Progress, ReadStopped
from etl.publish import NewBatch, read_batches, rebuild, store_lock
from etl.purge import purge_sources
from etl.redact import redact
from etl.scan import scan_file
from etl.sources import SourceFile, inspect_source
from etl.stage import ReadTooCostly, Staged, stage

if TYPE_CHECKING:
    import pyarrow as pa

REJECTS_HEADER = ("file", "row", "reason")


@dataclass
class FileResult:
    """What happened to one raw file; every field is safe to print."""

    path: Path
    status: str  # loaded, skipped (already loaded), refused
    kind: str = "export"  # a form export, or an access_log
    reason: str | None = None
    batch_id: int | None = None
    rows_read: int = 0
    rows_loaded: int = 0
    rejected: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)  # an access log's lines not counted, by reason
    in_time_order: bool = True  # an access log read twice, not being in time order, is not
    unknown_columns: tuple[str, ...] = ()
    seconds: float = 0.0
    source_destroyed: bool = False

    @property
    def rows_rejected(self) -> int:
        return sum(self.rejected.values())


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


@dataclass
class _Seen:
    """Contents loaded already: in the store (hash -> batch id) or earlier in this run (hash -> path)."""

    in_store: dict[str, int]
    sizes: set[int]  # of every file loaded, to hash a file of one of them before reading it
    this_run: dict[str, Path] = field(default_factory=dict)

    def skip_reason(self, digest: str) -> str | None:
        """Why a file with this content is not loaded again, or None when its content is new."""
        if digest in self.in_store:
            return f"already loaded as batch {self.in_store[digest]}"
        if digest in self.this_run:
            return f"same content as {self.this_run[digest]}, loaded in this run"
        return None


def _stage(source: SourceFile | AccessLogSource, progress: Progress | None, **options) -> Staged | StagedLog:
    if isinstance(source, AccessLogSource):
        return stage_log(source, progress, **options)
    return stage(source, progress, **options)


def _read(
    source: SourceFile | AccessLogSource,
    size: int,
    hasher: ThreadPoolExecutor,
    seen: _Seen,
    progress: Progress | None,
    number_rejects: bool,
) -> tuple[str, Staged | StagedLog | str]:
    """Hash and stage one raw file: its digest, and its staged counts or the reason it is skipped.

    A file the size of one already loaded may be it: it is hashed first, so
    that a duplicate is skipped at once; any other is hashed while DuckDB
    reads it. Raises FileRefused.
    """
    long_record = threading.Event()
    scanning = hasher.submit(scan_file, source, long_record)
    if size in seen.sizes:
        digest = scanning.result().digest
        skip = seen.skip_reason(digest)
        if skip is not None:
            return digest, skip
    staged = None
    try:
        staged = _stage(source, progress, number_rejects=number_rejects, stop=long_record)
    except ReadStopped:
        pass
    except ReadTooCostly:
        raise  # the hash is not needed, and may have run short of memory itself
    except FileRefused:
        # a record too long for the parallel read may be what broke it
        if not scanning.result().long_record:
            raise
    scan = scanning.result()
    skip = seen.skip_reason(scan.digest)
    if skip is not None:
        return scan.digest, skip
    if staged is None or scan.long_record:
        staged = _stage(source, progress, number_rejects=number_rejects, parallel=False)
    if staged.rows_read == 0:
        raise FileRefused(source.path, "no data rows (a header only)")
    return scan.digest, staged


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
        # the same content twice in one run loads once; it has no batch id until the publish
        seen = _Seen(
            {batch["content_blake3"]: batch["batch_id"] for batch in batches}, {b["file_bytes"] for b in batches}
        )
        for raw_path in paths:
            path = Path(raw_path)
            started = time.monotonic()
            result = FileResult(path, "refused")
            results.append(result)
            try:
                source = recognize(path) or inspect_source(path)
                result.unknown_columns = source.unknown_columns
                size = path.stat().st_size
                progress = progress_for(path) if progress_for else None
                digest, staged = _read(source, size, hasher, seen, progress, rejects_path is not None)
            except FileRefused as refused:
                result.reason = refused.reason
                continue
            finally:
                result.seconds = time.monotonic() - started
            if isinstance(staged, str):
                result.status, result.reason, result.batch_id = "skipped", staged, seen.in_store.get(digest)
                continue
            seen.sizes.add(size)
            seen.this_run[digest] = path
            result.status = "loaded"
            result.rows_read = staged.rows_read
            result.rejected = staged.rejected
            if isinstance(staged, StagedLog):
                result.kind, result.ignored, result.rows_loaded = "access_log", staged.ignored, staged.rows_loaded
                result.in_time_order = staged.in_time_order
            else:
                result.rows_loaded = staged.rows_read - result.rows_rejected
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
                "rejected_key_sum": staged.rejected_key_sum,
                "first_event_date": staged.first_event_date,
                "last_event_date": staged.last_event_date,
                "source_destroyed": False,
            }
            staged_batches.append((result, NewBatch(log, staged.counts, result.kind)))
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
            destroyed = purge_sources(db, {result.batch_id: result.path for result, _ in staged_batches})
            for result, _ in staged_batches:
                result.source_destroyed = result.batch_id in destroyed
    return results


def remove_batch(db: Path, batch_id: int, *, lock_wait_seconds: float = 0.0) -> dict[str, object]:
    """Take one batch's counts out of the store; returns its log row."""
    with store_lock(db, lock_wait_seconds):
        batches = {batch["batch_id"]: batch for batch in read_batches(db)}
        if batch_id not in batches:
            raise EtlError(f"{db}: there is no batch {batch_id}")
        rebuild(db, remove_ids={batch_id})
        return batches[batch_id]
