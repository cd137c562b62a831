"""Recognize a raw export and describe how DuckDB should read it.

Only the head of a file is read here, to find its format and which of its
columns are on the allowlist; the rows themselves are read by DuckDB.
"""

from __future__ import annotations

import csv
import gzip
import io
import json
import os
import re
import stat
import zlib
from dataclasses import dataclass
from pathlib import Path

from contract import KNOWN_RAW_COLUMNS, REQUIRED_COLUMNS, SOURCE_COLUMNS
from etl.errors import FileRefused

HEAD_BYTES = 1 << 20  # enough for any sane header, and a sample of JSON lines
CP949_MIN_BYTES = 8  # bytes that are not UTF-8 before a file is judged CP949 (4 Hangul syllables)
# A raw file's bytes that are not UTF-8, as Python decodes them with surrogateescape
_UNDECODABLE = re.compile("[\udc80-\udcff]")
_NOT_ASCII = re.compile("[^\x00-\x7f]")
_HANGUL = re.compile("[\uac00-\ud7a3]")
JSON_SAMPLE_LINES = 1000
# JSON Lines are read as single-column text: no valid JSON line holds this
# raw control character, so it can never split a line into fields.
LINE_DELIMITER = "\x1e"

# DuckDB's CSV error types -> our reject reasons
CSV_ERROR_REASONS = {
    "MISSING COLUMNS": "wrong_field_count",
    "TOO MANY COLUMNS": "wrong_field_count",
    "UNQUOTED VALUE": "bad_quoting",
    "LINE SIZE OVER MAXIMUM": "line_too_long",
    "INVALID ENCODING": "invalid_encoding",
    "INVALID UNICODE": "invalid_encoding",
}
OTHER_CSV_ERROR = "unreadable_row"
# DuckDB reports a line over its size limit more than once (its pieces have too many columns):
# the size is the reason given.
LINE_TOO_LONG_ERROR = "LINE SIZE OVER MAXIMUM"

# DuckDB reads a file in buffers of 32 MB (16 times its 2 MB line limit). Reading in parallel,
# it silently drops a record longer than a buffer, or splits a long quoted field into phantom
# rows; reading single-threaded, it rejects that record as too long. So while a file is hashed,
# its records are watched in SCAN_CHUNK pieces: a piece with no record end in it means a record
# longer than one piece, and the file is read again single-threaded.
SCAN_CHUNK = 1 << 22
# quotes followed through one piece before assuming the worst (a piece this full of quotes is hostile)
QUOTE_STEPS = 10_000
QUOTE_BYTE = ord('"')

# Delimiters a spreadsheet may export with instead of commas -> how a reason names them.
OTHER_DELIMITERS = {";": "semicolons", "\t": "tabs", "|": "vertical bars"}

SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
# What a padded read (SourceFile.relation_sql) takes for null: a text no export holds, so an empty
# field is '' and only a padded one is null.
PADDING_NULL = "<gangnam-padded-no-field>"
# Only plain machine-style column names are printed: a header row may hold a person's data
# (a name or an address), and a spaced or non-ASCII "header" cannot be told from one.
_PRINTABLE_HEADER = re.compile(r"[A-Za-z][A-Za-z0-9_.\-]{0,39}")
_IDENTIFIER_LIKE = re.compile(r"@|\d{3}")


def header_key(name: str) -> str:
    """Headers match case-insensitively, surrounding spaces ignored."""
    return name.strip().lower()


def printable_header(name: str) -> str:
    """A header name safe to report: a header row may hold data, not names."""
    stripped = name.strip()
    if _PRINTABLE_HEADER.fullmatch(stripped) and not _IDENTIFIER_LIKE.search(stripped):
        return stripped
    return "(a header that looks like data, not shown)"


def sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class SourceFile:
    """A raw export recognized well enough to be read by DuckDB."""

    path: Path
    file_format: str  # "csv" or "jsonl"
    compressed: bool
    # allowlisted column -> CSV column position, or -> JSON key spellings seen
    csv_positions: dict[str, int]
    csv_width: int
    json_keys: dict[str, tuple[str, ...]]
    unknown_columns: tuple[str, ...]
    line_end: bytes = b"\n"

    @property
    def label(self) -> str:
        return self.file_format + (".gz" if self.compressed else "")

    @property
    def header_lines(self) -> int:
        """Lines before the first data row, for turning DuckDB's line numbers into row numbers."""
        return 1 if self.file_format == "csv" else 0

    def record_scan(self) -> RecordScan:
        """A watch for records too long for DuckDB's parallel reader, fed with the file's (unzipped) bytes."""
        return RecordScan(quoted=self.file_format == "csv", newline=self.line_end)

    def relation_sql(
        self, *, numbered: bool = False, sniff: bool = True, parallel: bool = True, padded: bool = False
    ) -> str:
        """SQL for the view `raw_source`: row_no, parse_error and the allowlisted columns as text.

        Only allowlisted columns are selected; DuckDB skips parsing the rest.
        Bad rows go to DuckDB's temporary `csv_rejects` table (line numbers and
        error types are all we ever read from it). `numbered` gives row_no, the
        row's place among the rows the reader returns; it costs DuckDB's
        parallel read, so the first read goes without. Every dialect option is
        pinned; `sniff` leaves DuckDB's sniffer on only for its row estimate,
        without which DuckDB builds its join hash tables on the raw file rather
        than on the lookups (slower, and memory grows with the file). Without
        `parallel`, one thread reads the file: slower, but right about records
        longer than DuckDB's read buffer (see SCAN_CHUNK).

        `padded` (CSV, one thread) is for a file with too many rows of the
        wrong width for DuckDB's rejects table (see etl.guard.OverBudget): a
        short row is padded with nulls and one more column catches a surplus
        field, so the row reaches the query, which rejects it as
        wrong_field_count; an empty field is read as '' so that a padded null
        stands out. Only rows two or more fields too wide still cost the reader.
        """
        rejects_table = "csv_rejects_again" if numbered else "csv_rejects"
        reader_options = (
            f"auto_detect = {str(sniff).lower()}, skip = 0, comment = '', strict_mode = true, "
            "ignore_errors = true, store_rejects = true, "
            f"rejects_table = '{rejects_table}', rejects_scan = '{rejects_table}_scans', "
            f"compression = '{'gzip' if self.compressed else 'none'}'"
            + ("" if parallel and not padded else ", parallel = false")
            + (f", null_padding = true, nullstr = {sql_string(PADDING_NULL)}" if padded else "")
        )
        row_no, ordinality = ("ordinality", " with ordinality") if numbered else ("null::bigint", "")
        path = sql_string(str(self.path))
        if self.file_format == "csv":
            width = self.csv_width + (1 if padded else 0)
            columns = ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width))
            selected = ", ".join(
                f"c{self.csv_positions[name]} as {name}" if name in self.csv_positions else f"null::varchar as {name}"
                for name in SOURCE_COLUMNS
            )
            parse_error = (
                f"case when c{self.csv_width - 1} is null or c{self.csv_width} is not null then 'wrong_field_count' end"
                if padded
                else "null::varchar"
            )
            return (
                f"select {row_no} as row_no, {parse_error} as parse_error, {selected} "
                f"from read_csv({path}, columns = {{{columns}}}, header = true, delim = ',', quote = '\"', "
                f"escape = '\"', {reader_options}){ordinality}"
            )
        extracted = []
        for name in SOURCE_COLUMNS:
            paths = [f"json_extract_string(line, {sql_string(json_path(key))})" for key in self.json_keys.get(name, ())]
            value = f"coalesce({', '.join(paths)})" if paths else "null::varchar"
            extracted.append(f"case when is_object then {value} end as {name}")
        return (
            "select row_no, case when is_object then null else 'invalid_json' end as parse_error, "
            f"{', '.join(extracted)} "
            f"from (select {row_no} as row_no, line, "
            # a case, not `and`: DuckDB evaluates both sides of `and`, and json_type throws on invalid JSON
            "case when json_valid(line) then json_type(line) = 'OBJECT' else false end as is_object "
            f"from read_csv({path}, columns = {{'line': 'VARCHAR'}}, header = false, delim = '{LINE_DELIMITER}', "
            f"quote = '', escape = '', {reader_options}){ordinality} "
            "where trim(line, E' \\t\\r') <> '')"
        )


@dataclass
class RecordScan:
    """Follows a file's bytes, SCAN_CHUNK at a time, and notes a record longer than one chunk.

    A record ends at a line end outside quotes (CSV) or at any line end (JSON
    Lines). Only full chunks are judged: a record twice as long as a chunk
    holds a whole one, so every record longer than DuckDB's buffer is seen.
    Wrong only on the safe side: a chunk too full of quotes counts as long.
    """

    quoted: bool
    newline: bytes
    in_quotes: bool = False
    long_record: bool = False

    def feed(self, chunk: bytes) -> None:
        if not self.long_record and len(chunk) == SCAN_CHUNK and not self._ends_a_record(chunk):
            self.long_record = True
        if self.quoted:
            # numpy counts four times faster than bytes.count; imported here, on the hash thread, as a
            # load does not wait for it there
            import numpy as np

            # RFC 4180: inside quotes after an odd number of them (an escaped quote is two)
            quotes = int(np.count_nonzero(np.frombuffer(chunk, dtype=np.uint8) == QUOTE_BYTE))
            self.in_quotes ^= quotes % 2 == 1

    def _ends_a_record(self, chunk: bytes) -> bool:
        if not self.quoted:
            return self.newline in chunk
        inside, start = self.in_quotes, 0
        for _ in range(QUOTE_STEPS):
            quote = chunk.find(b'"', start)
            end = len(chunk) if quote < 0 else quote
            if not inside and chunk.find(self.newline, start, end) >= 0:
                return True
            if quote < 0:
                return False
            inside, start = not inside, quote + 1
        return False


def json_path(key: str) -> str:
    """A JSONPath naming one top-level key exactly (keys here only ever hold letters, _ and spaces)."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


def file_format_of(path: Path) -> tuple[str, bool]:
    name = path.name.lower()
    compressed = name.endswith(".gz")
    stem = name[:-3] if compressed else name
    for suffix, file_format in SUFFIXES.items():
        if stem.endswith(suffix):
            return file_format, compressed
    raise FileRefused(
        path,
        "neither a form export (.csv or .jsonl, optionally .gz) nor a web server access log (its first lines "
        "are not in the combined log format)",
    )


def read_head(path: Path, compressed: bool) -> bytes:
    try:
        status = path.stat()
        if stat.S_ISDIR(status.st_mode):
            raise FileRefused(path, "a directory, not a file")
        # a pipe or a device has no end to hash, and reading one may never finish
        if not stat.S_ISREG(status.st_mode):
            raise FileRefused(path, "not a regular file (a pipe, a device or a socket)")
        if status.st_size == 0:
            raise FileRefused(path, "the file is empty")
        if not compressed:
            with path.open("rb") as raw:
                return raw.read(HEAD_BYTES)
        with gzip.open(path, "rb") as unzipped:
            return unzipped.read(HEAD_BYTES)
    except FileNotFoundError:
        raise FileRefused(path, "no such file") from None
    except IsADirectoryError:
        raise FileRefused(path, "a directory, not a file") from None
    except PermissionError:
        raise FileRefused(path, "the file cannot be read (permission denied)") from None
    except (gzip.BadGzipFile, EOFError, zlib.error):
        # EOFError here means the head itself is cut short: the file holds less than one block
        raise FileRefused(path, "corrupt or truncated gzip data") from None
    except OSError as error:
        # the system's words for the error (a symbolic link loop, an I/O error) hold no value
        reason = os.strerror(error.errno).lower() if error.errno else type(error).__name__
        raise FileRefused(path, f"the file cannot be read ({reason})") from None


def reads_as_cp949(head: bytes) -> bool:
    """Text in CP949 (EUC-KR), as Korean Excel saves a CSV: mostly bytes that are not UTF-8, and Hangul in CP949.

    A UTF-8 file with a few damaged rows has valid UTF-8 beside its bad bytes; its rows are rejected one by one.
    """
    # the head may end inside a character
    whole_lines = head[: head.rfind(b"\n") + 1] or head
    try:
        whole_lines.decode("utf-8")
        return False  # the common case, decided at C speed
    except UnicodeDecodeError:
        pass
    text = whole_lines.decode("utf-8", errors="surrogateescape")
    not_utf8 = len(_UNDECODABLE.findall(text))
    utf8 = len(_NOT_ASCII.findall(text)) - not_utf8
    if not_utf8 < CP949_MIN_BYTES or not_utf8 < 2 * utf8:
        return False
    try:
        korean = whole_lines.decode("cp949")
    except UnicodeDecodeError:
        return False
    return len(_HANGUL.findall(korean)) >= CP949_MIN_BYTES // 2


def _check_text(path: Path, head: bytes) -> str:
    if not head:
        raise FileRefused(path, "the file is empty")
    if head.startswith((b"\xff\xfe", b"\xfe\xff")) or head[:200].count(b"\x00") > 2:
        raise FileRefused(path, "not UTF-8 text (UTF-16 or binary content); export it as UTF-8")
    if reads_as_cp949(head):
        raise FileRefused(
            path, "not UTF-8 text: it reads as CP949 (EUC-KR), as Korean Excel saves a CSV; save it as 'CSV UTF-8'"
        )
    # bad bytes inside rows are rejected row by row by DuckDB, not here
    return head.decode("utf-8", errors="ignore").removeprefix("\ufeff")


def _line_end(text: str) -> bytes:
    """How the first line ends: CRLF, LF, or CR alone (an old Mac file)."""
    lf, cr = text.find("\n"), text.find("\r")
    if cr < 0 or 0 <= lf < cr:
        return b"\n"
    return b"\r\n" if lf == cr + 1 else b"\r"


def _wrong_delimiter(text: str) -> str | None:
    """How the header is separated, when by something else than commas and then complete."""
    for delimiter, name in OTHER_DELIMITERS.items():
        try:
            names = {
                header_key(column) for column in next(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
            }
        except (csv.Error, StopIteration):
            continue
        if names.issuperset(REQUIRED_COLUMNS):
            return name
    return None


def _match_columns(path: Path, names: list[str]) -> tuple[dict[str, list[int]], tuple[str, ...]]:
    positions: dict[str, list[int]] = {}
    unknown: list[str] = []
    for position, name in enumerate(names):
        key = header_key(name)
        if key in SOURCE_COLUMNS:
            positions.setdefault(key, []).append(position)
        elif key not in KNOWN_RAW_COLUMNS:
            unknown.append(printable_header(name))
    missing = [name for name in REQUIRED_COLUMNS if name not in positions]
    if missing:
        raise FileRefused(path, "missing required column " + " and ".join(f"'{name}'" for name in missing))
    return positions, tuple(dict.fromkeys(unknown))


def inspect_source(path: Path) -> SourceFile:
    """Recognize a raw export from its name and head, or refuse it with a value-free reason."""
    path = Path(path)
    file_format, compressed = file_format_of(path)
    text = _check_text(path, read_head(path, compressed))
    if file_format == "csv":
        try:
            header = next(csv.reader(io.StringIO(text, newline="")), [])
        except csv.Error:
            raise FileRefused(path, "the header row cannot be parsed as CSV") from None
        if not any(name.strip() for name in header):
            raise FileRefused(path, "no header row")
        if not {header_key(name) for name in header}.issuperset(REQUIRED_COLUMNS):
            # the contract says commas; guessing another delimiter could misread a comma file
            delimiter = _wrong_delimiter(text)
            if delimiter:
                raise FileRefused(
                    path, f"not comma-separated (the header is separated by {delimiter}); export it with commas"
                )
            if text.lstrip().startswith("{"):
                raise FileRefused(path, "JSON Lines content in a .csv file; name it .jsonl")
        positions, unknown = _match_columns(path, header)
        doubled = sorted(name for name, found in positions.items() if len(found) > 1)
        if doubled:
            raise FileRefused(
                path, "the header names " + ", ".join(f"'{name}'" for name in doubled) + " more than once"
            )
        return SourceFile(
            path,
            file_format,
            compressed,
            {name: found[0] for name, found in positions.items()},
            len(header),
            {},
            unknown,
            _line_end(text),
        )
    keys_seen: dict[str, None] = {}
    objects = 0
    for line in text.splitlines()[:JSON_SAMPLE_LINES]:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            objects += 1
            keys_seen.update(dict.fromkeys(str(key) for key in record))
    if not objects:
        raise FileRefused(path, "no JSON object in the first lines: not a JSON Lines export")
    positions, unknown = _match_columns(path, list(keys_seen))
    keys = list(keys_seen)
    json_keys = {name: tuple(keys[i] for i in found) for name, found in positions.items()}
    return SourceFile(path, file_format, compressed, {}, 0, json_keys, unknown, _line_end(text))


DIAGNOSED_ROWS = 100_000


def first_malformed_row(source: SourceFile) -> tuple[int, str] | None:
    """The first data row, among the first DIAGNOSED_ROWS, that DuckDB's reader would reject, and why.

    Only to point at a row in the message for a file refused as too costly to
    read (see etl.stage): Python's csv module reads as DuckDB does closely
    enough to name a row, not to count rows. Numbers count blank lines, as
    DuckDB's do; only a row number and a reason come out.
    """
    opener = gzip.open if source.compressed else open
    with opener(source.path, "rb") as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
        if source.file_format == "jsonl":
            # a line that is not JSON is rejected by the query, cheaply; only its text can cost the reader
            for number, line in enumerate(text, 1):
                if number > DIAGNOSED_ROWS:
                    break
                if _UNDECODABLE.search(line):
                    return number, "invalid_encoding"
            return None
        rows = csv.reader(text, strict=True)
        number = 0
        try:
            next(rows)  # the header
            for number in range(1, DIAGNOSED_ROWS + 1):
                row = next(rows)
                if any(_UNDECODABLE.search(value) for value in row):
                    return number, "invalid_encoding"
                if row and len(row) != source.csv_width:
                    return number, "wrong_field_count"
        except StopIteration:
            return None
        except csv.Error:
            return (number, OTHER_CSV_ERROR) if number else None
    return None
