"""Check 7 of the audit: every exported CSV against the publication rules, and against its export log line.

The files are read as a spreadsheet would read them, knowing only the rules
(DESIGN.md rule 4) and the contract, not the code that wrote them: a count
column is any column of counts and suppression marks; a file is the Excel
flavour or the raw one (with `suppressed` columns).
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
import zipfile
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from audit.patterns import BYTE_KINDS, scan_text
from audit.results import Check, CheckKey, ExportFigures, FileHash
from audit.store_checks import describe
from audit.thresholds import Thresholds
from contract import FORMULA_STARTS, HIDDEN_MARK, SMALL_MARK_PREFIX, TOTAL_LABELS, export_log
from contract.export_log import ExportLogEntry, LogLine

INTEGER = re.compile(r"-?\d+")
NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][-+]?\d+)?")
ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# `<10` for a small count, `x` for a complementary cell (contract.small_mark, HIDDEN_MARK)
MARK = re.compile(rf"{re.escape(SMALL_MARK_PREFIX)}(\d+)|{re.escape(HIDDEN_MARK)}")


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
            logged.append(item[1])
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


def check_exports(folder: Path | None, log: Path, thresholds: Thresholds) -> tuple[Check, list[FileHash]]:
    check = Check(CheckKey.EXPORTS, "Exports against the publication rules and the export log")
    logged = read_log(log, check)
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
    missing = sum(1 for name in by_name if name not in checked_names)
    check.figures = ExportFigures(files_checked=files, export_log_lines=len(logged), logged_files_not_found=missing)
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
            f"{files} file(s) checked, every count 0, at least {thresholds.min_cell} or suppressed; hashes match"
        )
    else:
        check.summary = f"no export file to check ({len(logged)} export log line(s), {missing} file(s) not found)"
    return check, hashes


def _is_number(cell: str) -> bool:
    return NUMBER.fullmatch(cell) is not None


def check_csv(content: bytes, min_cell: int) -> list[tuple[str, str]]:
    """Problems of one exported CSV as (where, what); never a value in full."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [("", "not UTF-8")]
    rows = list(csv.reader(io.StringIO(text, newline="")))
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


def _classify(header: list[str], body: list[tuple[int, list[str]]]) -> tuple[dict[int, int | None], list[list[int]]]:
    """Count columns (-> their suppressed-flag column, if any) and dimension groups (period columns together)."""
    flags = {i for i, name in enumerate(header) if name == "suppressed" or name.endswith("_suppressed")}
    counts: dict[int, int | None] = {}
    for flag in flags:
        name = header[flag][: -len("suppressed")] + "visits"
        if name in header:
            counts[header.index(name)] = flag
    dates, dims = [], []
    for i in range(len(header)):
        if i in counts or i in flags:
            continue
        cells = [row[i] for _, row in body if row[i] != ""]
        if not cells:
            continue
        if not flags and all(INTEGER.fullmatch(c) or MARK.fullmatch(c) for c in cells):
            counts[i] = None
        elif all(ISO_DATE.fullmatch(c) for c in cells):
            dates.append(i)
        elif not all(_is_number(c) for c in cells):
            dims.append([i])
    return counts, ([dates] if dates else []) + dims


def _check_counts(
    header: list[str], body: list[tuple[int, list[str]]], total_row: tuple[int, list[str]] | None, min_cell: int
) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    counts, groups = _classify(header, body)
    for column, flag in counts.items():
        name = header[column] or f"column {column + 1}"
        hidden: dict[int, bool] = {}  # row -> suppressed; rows with no cell in this column are left out
        shown: dict[int, int] = {}
        for number, row in body:
            cell = row[column]
            suppressed = row[flag] == "true" if flag is not None else MARK.fullmatch(cell) is not None
            if flag is not None and row[flag] not in ("true", "false", ""):
                found.append((f"row {number}", f"{header[flag]} is neither true nor false"))
            if suppressed:
                if cell and flag is not None:
                    found.append((f"row {number} {name}", "a suppressed cell that holds a count"))
                mark = MARK.fullmatch(cell)
                if mark and mark[1] and int(mark[1]) < min_cell:
                    found.append((f"row {number} {name}", f"the mark <{mark[1]} shows a count below {min_cell}"))
                hidden[number] = True
            elif INTEGER.fullmatch(cell):
                value = int(cell)
                if 0 < value < min_cell:
                    found.append((f"row {number} {name}", f"a count from 1 to {min_cell - 1} is shown"))
                elif value < 0:
                    found.append((f"row {number} {name}", "a negative count"))
                hidden[number] = False
                shown[number] = value
            elif cell:
                found.append((f"row {number} {name}", "neither a count nor a suppression mark"))
        reported: set[int] = set()
        if total_row is not None and INTEGER.fullmatch(total_row[1][column]):
            total = int(total_row[1][column])
            if 0 < total < min_cell:
                found.append((f"row {total_row[0]} {name}", f"a total from 1 to {min_cell - 1} is shown"))
            lone = [number for number, is_hidden in hidden.items() if is_hidden]
            if len(lone) == 1:
                reported.add(lone[0])
                found.append(
                    (f"row {lone[0]} {name}", f"the only suppressed cell under the total of row {total_row[0]}")
                )
        found += _lone_hidden_cells(body, groups, hidden, shown, name, reported)
    return found


def _lone_hidden_cells(
    body: list[tuple[int, list[str]]],
    groups: list[list[int]],
    hidden: dict[int, bool],
    shown: dict[int, int],
    name: str,
    reported: set[int],
) -> list[tuple[str, str]]:
    """Every total the dashboard shows for this table (each grouping by fewer dimensions) must not leave a lone
    suppressed cell: it would be that total minus the shown cells. A group whose other cells are all zero is
    fine: its total is then the small count itself, and hidden as well."""
    found = []
    for size in range(len(groups) - 1, -1, -1):
        for kept in itertools.combinations(groups, size):
            columns = [c for group in kept for c in group]
            members: dict[tuple, list[int]] = defaultdict(list)
            for number, row in body:
                if number in hidden:
                    members[tuple(row[c] for c in columns)].append(number)
            for rows in members.values():
                lone = [number for number in rows if hidden[number]]
                if len(lone) == 1 and any(shown.get(number, 0) > 0 for number in rows) and lone[0] not in reported:
                    reported.add(lone[0])
                    found.append((f"row {lone[0]} {name}", "the only suppressed cell of a group whose total is shown"))
    return found
