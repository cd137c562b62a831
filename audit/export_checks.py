"""Check 7 of the audit: every exported CSV against the publication rules, its export log line and the store.

The files are read as a spreadsheet would read them, knowing only the rules
(DESIGN.md rule 4) and the contract, not the code that wrote them: a count
column is any column of counts and suppression marks; a file is the Excel
flavour or the raw one (with `suppressed` columns). A logged file is then
recomputed from the store's cells and the perturbation table
(`audit/recompute.py`): every count must be the one the rules publish.
There is no complementary suppression to check any more: with the cell key
method a table's parts need not add up to its total, so a lone `<10` under a
shown total no longer gives a small count away.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from audit.patterns import BYTE_KINDS, scan_text
from audit.recompute import (
    COUNTS,
    UnreadableSelection,
    can_recompute,
    compare_funnel,
    compare_with_store,
    parse_selection,
    recompute,
    recompute_funnel,
)
from audit.results import Check, CheckKey, ExportFigures, FileHash
from audit.store_checks import STORE, columns_of, describe
from audit.thresholds import Thresholds
from contract import FORMULA_STARTS, SMALL_MARK_PREFIX, TOTAL_LABELS, export_log
from contract.export_log import ExportLogEntry, LogLine
from contract.ptable import Ptable

INTEGER = re.compile(r"-?\d+")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
# `<10` for a small count (contract.small_mark)
MARK = re.compile(rf"{re.escape(SMALL_MARK_PREFIX)}(\d+)")


@dataclass(frozen=True)
class Exported:
    name: str  # as the export log names it: the file name, or `<zip>/<csv>`
    shown: str  # where a report says it is
    content: bytes
    path: Path  # the file on disk (the ZIP, for a pack's CSV)


def read_log(log: Path, check: Check) -> list[ExportLogEntry]:
    """Every readable entry of the export log; each unreadable line is a finding."""
    logged = []
    for item in export_log.read(log):
        if isinstance(item, LogLine):
            check.fail(f"{log.name} line {item.number}", item.problem)
        else:
            number, entry = item
            if not entry.author.strip():
                check.fail(f"{log.name} line {number}", "names no author: every export must say who made it")
            logged.append(entry)
    return logged


def _files(folder: Path | None, logged: list[ExportLogEntry], check: Check) -> Iterator[Exported]:
    paths: list[Path] = []
    if folder is not None:
        paths += sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".csv", ".zip"))
    # files the command line wrote, wherever they are
    for entry in logged:
        path = Path(entry.path or "")
        if entry.path and path.is_file() and path.resolve() not in {p.resolve() for p in paths}:
            paths.append(path)
    for path in paths:
        try:
            data = path.read_bytes()
        except OSError as error:
            check.fail(str(path), f"cannot be read ({error.strerror})")
            continue
        if path.suffix.lower() != ".zip":
            yield Exported(path.name, str(path), data, path)
            continue
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = [(m, archive.read(m)) for m in archive.namelist() if m.lower().endswith(".csv")]
        except (zipfile.BadZipFile, OSError):
            check.fail(str(path), "not a readable ZIP")
            continue
        for member, content in members:
            yield Exported(f"{path.name}/{member}", f"{path}/{member}", content, path)


def check_exports(
    con: duckdb.DuckDBPyConnection, folder: Path | None, log: Path, thresholds: Thresholds, ptable: Ptable
) -> tuple[Check, list[FileHash]]:
    check = Check(CheckKey.EXPORTS, "Exports against the publication rules, the export log and the store")
    logged = read_log(log, check)
    columns = columns_of(con)
    recomputable = can_recompute(columns)
    if logged and not recomputable:
        check.fail("visit_counts", "the exports cannot be recomputed: the table or one of its columns is missing")
    recomputed = 0
    by_name: dict[str, list[ExportLogEntry]] = defaultdict(list)
    for entry in logged:
        by_name[entry.file].append(entry)
    hashes: list[FileHash] = []
    checked_names: set[str] = set()
    files = 0
    for exported in _files(folder, logged, check):
        files += 1
        digest = hashlib.sha256(exported.content).hexdigest()
        hashes.append(FileHash(exported.shown, digest, len(exported.content)))
        checked_names.add(exported.name)
        entries = by_name.get(exported.name, [])
        if not entries:
            check.fail(exported.shown, "not in the export log: every export must be logged")
            min_cell = thresholds.min_cell
        else:
            # the newest line for this name: a later export of the same selection overwrites the file
            entry = entries[-1]
            if entry.sha256 != digest:
                check.fail(exported.shown, "its SHA-256 does not match its export log line: changed after export")
            logged_min_cell = int(entry.min_cell or 0)
            min_cell = max(thresholds.min_cell, logged_min_cell)
            if logged_min_cell < thresholds.min_cell:
                check.fail(exported.shown, f"exported with min_cell {entry.min_cell}, below the rule")
        for where, what in check_csv(exported.content, min_cell):
            check.fail(f"{exported.shown} {where}", what)
        if entries and recomputable:
            recomputed += 1
            for where, what in against_store(con, exported.content, entries[-1], ptable, min_cell, columns):
                check.fail(f"{exported.shown} {where}".rstrip(), what)
    missing = sum(1 for name in by_name if name not in checked_names)
    check.figures = ExportFigures(
        files_checked=files,
        files_recomputed=recomputed,
        export_log_lines=len(logged),
        logged_files_not_found=missing,
    )
    if missing:
        check.notes.append(
            f"{missing} logged file(s) were not found: a download from the dashboard goes to the user's "
            "computer, and a file moved after export is out of reach. Give --exports with the folder where they "
            "are kept to check them."
        )
    if folder is None:
        check.notes.append("No --exports folder was given: only files the export log gives a path for were checked.")
    if not check.passed:
        check.summary = f"{len(check.findings)} finding(s) in {files} file(s)"
    elif files:
        check.summary = (
            f"{files} file(s) checked, every count 0, at least {thresholds.min_cell} or suppressed; hashes match; "
            f"{recomputed} recomputed from the store with ptable v{ptable.params.version}, every count as published"
        )
    else:
        check.summary = f"no export file to check ({len(logged)} export log line(s), {missing} file(s) not found)"
    return check, hashes


def _is_number(cell: str) -> bool:
    return NUMBER.fullmatch(cell) is not None


def read_rows(content: bytes) -> list[list[str]] | None:
    """A CSV's rows as a spreadsheet reads them (a BOM dropped), or None when it is not UTF-8."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return None
    return list(csv.reader(io.StringIO(text, newline="")))


def against_store(
    con: duckdb.DuckDBPyConnection,
    content: bytes,
    entry: ExportLogEntry,
    ptable: Ptable,
    min_cell: int,
    columns: dict | None = None,
) -> list[tuple[str, str]]:
    """A logged file against the table its logged selection gives from the store: (where, what) per problem."""
    rows = read_rows(content)
    if not rows:
        return []  # check_csv reports it
    try:
        selection = parse_selection(entry.selection)
    except UnreadableSelection as error:
        return [("", f"its logged selection cannot be read: {error}")]
    table_name = selection.count.table
    if columns is not None and table_name != "visit_counts" and not can_recompute(columns, table_name):
        return [("", f"cannot be recomputed: the store has no {table_name} with every column of the contract")]
    try:
        if selection.count.funnel:
            funnel = recompute_funnel(con, STORE, selection)
        else:
            table = recompute(con, STORE, selection)
    except duckdb.Error as error:
        return [("", f"cannot be recomputed from the store ({type(error).__name__})")]
    if selection.count.funnel:
        return compare_funnel(rows, entry.format, selection, funnel, ptable, min_cell)
    return compare_with_store(rows, entry.format, selection, table, ptable, min_cell)


def check_csv(content: bytes, min_cell: int) -> list[tuple[str, str]]:
    """Problems of one exported CSV by the rules alone, as (where, what); never a value in full."""
    rows = read_rows(content)
    if rows is None:
        return [("", "not UTF-8")]
    if not rows:
        return [("", "empty file")]
    found: list[tuple[str, str]] = []
    for number, row in enumerate(rows, 1):
        for column, cell in enumerate(row, 1):
            if cell.startswith(FORMULA_STARTS) and not _is_number(cell):
                found.append((f"row {number} column {column}", f"a cell starting with {cell[:1]!r} is not escaped"))
            for match in scan_text(cell, BYTE_KINDS):
                found.append((f"row {number} column {column}", describe(match)))
    header = rows[0]
    end = next((i for i, row in enumerate(rows[1:], 1) if not any(row)), len(rows))
    body = [(number, row + [""] * (len(header) - len(row))) for number, row in enumerate(rows[1:end], 2)]
    total_row = None
    if body and body[-1][1][0] in TOTAL_LABELS.values():
        total_row = body.pop()
    found += _check_counts(header, body, total_row, min_cell)
    return found


def _count_columns(header: list[str], body: list[tuple[int, list[str]]]) -> dict[int, int | None]:
    """The count columns -> their suppressed-flag column, if any: any column of counts and `<10` marks."""
    flags = {i for i, name in enumerate(header) if name == "suppressed" or name.endswith("_suppressed")}
    counts: dict[int, int | None] = {}
    for flag in flags:
        # `visits` / `suppressed`, `comparison_views` / `comparison_suppressed`, `viewers` / `viewers_suppressed`
        prefix = header[flag][: -len("suppressed")]
        names = [prefix + count for count in COUNTS] + ([prefix.rstrip("_")] if prefix else [])
        name = next((name for name in names if name in header), None)
        if name is not None:
            counts[header.index(name)] = flag
    for i in range(len(header)):
        if i in counts or i in flags:
            continue
        cells = [row[i] for _, row in body if row[i] != ""]
        if cells and not flags and all(INTEGER.fullmatch(c) or MARK.fullmatch(c) for c in cells):
            counts[i] = None
    return counts


def _check_counts(
    header: list[str], body: list[tuple[int, list[str]]], total_row: tuple[int, list[str]] | None, min_cell: int
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    for column, flag in _count_columns(header, body).items():
        name = header[column] or f"column {column + 1}"
        for number, row in body:
            cell = row[column]
            suppressed = row[flag] == "true" if flag is not None else MARK.fullmatch(cell) is not None
            if flag is not None and row[flag] not in ("true", "false", ""):
                found.append((f"row {number}", f"{header[flag]} is neither true nor false"))
            if suppressed:
                if cell and flag is not None:
                    found.append((f"row {number} {name}", "a suppressed cell that holds a count"))
                mark = MARK.fullmatch(cell)
                if mark and int(mark[1]) < min_cell:
                    found.append((f"row {number} {name}", f"the mark <{mark[1]} shows a count below {min_cell}"))
            elif INTEGER.fullmatch(cell):
                value = int(cell)
                if 0 < value < min_cell:
                    found.append((f"row {number} {name}", f"a count from 1 to {min_cell - 1} is shown"))
                elif value < 0:
                    found.append((f"row {number} {name}", "a negative count"))
            elif cell:
                found.append((f"row {number} {name}", "neither a count nor a suppression mark"))
        if total_row is not None and INTEGER.fullmatch(total_row[1][column]):
            total = int(total_row[1][column])
            if 0 < total < min_cell:
                found.append((f"row {total_row[0]} {name}", f"a total from 1 to {min_cell - 1} is shown"))
    return found
