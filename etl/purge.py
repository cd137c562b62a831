"""Source destruction (privacy rule 5): destroy the raw files of a load, and record it in the store.

The privacy policy promises that a raw file is destroyed once loaded, so only
after the publish that holds its counts has succeeded: a file destroyed
before would be lost with the run. Unlinking alone leaves the bytes on the
disk, so a file is first overwritten with zeros and flushed. Each destruction
is recorded in the batch log, by a publish of its own.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from etl.errors import EtlError
from etl.publish import rebuild


def destroy(path: Path) -> None:
    """Overwrite a file with zeros, flush it to disk, then unlink it."""
    size = path.stat().st_size
    zeros = bytes(1 << 20)
    with path.open("r+b") as handle:
        written = 0
        while written < size:
            written += handle.write(zeros[: min(len(zeros), size - written)])
        handle.flush()
        os.fsync(handle.fileno())
    path.unlink()


def purge_sources(db: Path, sources: dict[int, Path]) -> set[int]:
    """Destroy the source file of each published batch (batch id -> path) and mark it so in the store.

    Returns the batch ids whose source was destroyed. A file that could not be
    destroyed is named in an EtlError, once the others are recorded. The
    caller holds `store_lock`.
    """
    destroyed: dict[int, datetime] = {}
    failures = []
    for batch_id, path in sources.items():
        try:
            destroy(path)
        except OSError as error:
            failures.append(f"{path}: loaded as batch {batch_id}, but not destroyed ({error.strerror})")
            continue
        destroyed[batch_id] = datetime.now(UTC)
    if destroyed:
        rebuild(db, destroyed=destroyed)
    if failures:
        raise EtlError("; ".join(failures))
    return set(destroyed)
