"""The memory guard: run a statement that reads a raw file within a memory budget.

DuckDB's reader keeps about 3 KB, until the read ends, for each field missing
from or surplus to a row and for each row that is not UTF-8: a small hostile
file can take gigabytes. Inside some reads DuckDB does not honour an
interrupt, so interrupting is not enough: once over the budget, the guard caps
the process's address space, and DuckDB's next allocation fails. The
statement therefore runs on a worker thread while this one watches memory
(and reports progress, and stops a read on request).
"""

from __future__ import annotations

import os
import resource
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb

from etl.errors import EtlError

# progress(bytes_done, bytes_total) while a file is read
Progress = Callable[[int, int], None]

# A valid export never comes near this much memory beyond what the process held before the read
# (20M rows: 0.7 GB).
READ_MEMORY_ENV = "GANGNAM_ETL_READ_MEMORY_MB"
DEFAULT_READ_MEMORY_MB = 1024
# Once over it, the address space left to DuckDB, so that its next allocation fails. Python's own
# small allocations fit in it.
STOP_MARGIN = 256 << 20


class ReadStopped(Exception):
    """A parallel read interrupted because a record too long for it was seen."""


class OverBudget(Exception):
    """A read stopped because DuckDB's reader went over the memory guard's budget."""


def read_memory_budget() -> int:
    """Bytes a read may add to the process's resident memory; the operator may raise it."""
    text = os.environ.get(READ_MEMORY_ENV, "").strip() or str(DEFAULT_READ_MEMORY_MB)
    if not text.isdecimal() or int(text) == 0:
        raise EtlError(f"{READ_MEMORY_ENV} must be a whole number of megabytes")
    return int(text) << 20


def process_memory() -> tuple[int, int] | None:
    """(address space, resident memory) of this process in bytes; None where /proc is missing."""
    try:
        fields = Path("/proc/self/statm").read_text().split()
    except OSError:
        return None
    page = os.sysconf("SC_PAGE_SIZE")
    return int(fields[0]) * page, int(fields[1]) * page


@dataclass(frozen=True)
class MemoryGuard:
    """What a read may cost: resident memory at its start plus the budget."""

    baseline: int
    budget: int

    @classmethod
    def start(cls) -> MemoryGuard:
        memory = process_memory()
        return cls(memory[1] if memory else 0, read_memory_budget())

    def exceeded(self) -> int | None:
        """The address space in use once resident memory is over the budget, else None."""
        memory = process_memory()
        if memory is None or memory[1] - self.baseline <= self.budget:
            return None
        return memory[0]


def run_watched(
    con: duckdb.DuckDBPyConnection,
    query: str,
    guard: MemoryGuard,
    *,
    total: int = 0,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run a statement that reads a raw file, within the memory guard.

    Reports DuckDB's progress as bytes of the file read, and interrupts the
    statement once `stop` is set (ReadStopped). Over the guard's budget, it
    interrupts it and caps the process's address space until it ends, so
    that DuckDB's next allocation fails (OverBudget; the caller refuses the
    file).
    """
    done = None
    if progress is not None:
        # DuckDB tracks progress only with its progress bar on; it must not print it itself
        con.execute("set enable_progress_bar = true")
        con.execute("set enable_progress_bar_print = false")

        def done() -> int | None:
            percent = con.query_progress()
            return int(total * min(percent, 100.0) / 100) if percent and percent > 0 else None

    watch(
        lambda: con.execute(query), guard, interrupt=con.interrupt, total=total, progress=progress, done=done, stop=stop
    )


def watch(
    work: Callable[[], object],
    guard: MemoryGuard,
    *,
    interrupt: Callable[[], None],
    total: int = 0,
    progress: Progress | None = None,
    done: Callable[[], int | None] | None = None,
    stop: threading.Event | None = None,
) -> None:
    """Run `work` (DuckDB reading a raw file) on a worker thread within the memory guard, as run_watched.

    `interrupt` stops the DuckDB work under way; `done` says how many bytes of
    `total` are read so far (None: not known yet), for `progress`.
    """
    failure: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as error:  # handed to the caller's thread below
            failure.append(error)

    stopped = over_budget = False
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            try:
                worker.join(0.1)
                if over_budget:
                    continue  # nothing to do but wait for DuckDB to fail
                if not stopped and stop is not None and stop.is_set():
                    interrupt()
                    stopped = True
                address_space = guard.exceeded()
                if address_space is not None:
                    over_budget = True
                    interrupt()
                    limits = [limit for limit in (soft, hard) if limit != resource.RLIM_INFINITY]
                    resource.setrlimit(resource.RLIMIT_AS, (min([address_space + STOP_MARGIN, *limits]), hard))
                    continue
                read = done() if progress is not None and done is not None else None
                if read is not None:
                    progress(min(read, total), total)
            except MemoryError:
                if not over_budget:
                    raise
    finally:
        if worker.is_alive():  # an error here: the DuckDB work goes on until it stops
            interrupt()
            worker.join()
        if over_budget:
            resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
    if over_budget:
        raise OverBudget
    if progress is not None:
        progress(total, total)
    if stopped:
        raise ReadStopped
    if failure:
        raise failure[0]
