"""Bad input through the real CLI: a file that cannot be loaded is refused whole, a bad row is rejected.

A refused file exits 2 with one line on stderr naming the file and the
reason, and leaves the store byte for byte as it was. A rejected row is
counted by reason, and the reject report gives its row number: the N-th data
row after the header is row N (a quoted field may span lines; JSON Lines rows
are lines).
"""

from __future__ import annotations

import gzip
import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from conftest import (
    REJECTS_HEADER,
    csv_text,
    folder_snapshot,
    raw_row,
    read_rejects,
    run_etl,
    store_rows,
    write_bytes,
    write_csv,
    write_jsonl,
)

from etl.load import load

SUMMARY = re.compile(
    r"^(\d+) file\(s\) loaded, (\d+) skipped, (\d+) refused; ([\d,]+) rows loaded, ([\d,]+) rejected in [\d.]+ s$"
)
FIRST_BATCH = [("2025-01-02", "coupon", "KR", "female", "20-29", 2)]


@pytest.fixture(scope="module")
def first_store(tmp_path_factory) -> Path:
    """A store folder holding one loaded batch, built once and copied by each test."""
    folder = tmp_path_factory.mktemp("first_store")
    rows = [
        raw_row(submitted_at="2025-01-02T10:00:00+09:00", gender="F", date_of_birth="2000-01-01", residing_country="KR")
    ] * 2
    raw = write_csv(folder / "raw", rows, name="first.csv")
    code, _, err = run_etl("load", raw, "--db", folder / "store" / "visitors.duckdb", cwd=folder)
    assert (code, err) == (0, "")
    return folder / "store"


@pytest.fixture
def store(first_store, tmp_path) -> Path:
    """A fresh copy of the one-batch store; returns the store file."""
    shutil.copytree(first_store, tmp_path / "store")
    db = tmp_path / "store" / "visitors.duckdb"
    assert store_rows(db) == FIRST_BATCH
    return db


def _zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("export.csv", "submitted_at,feature\n2025-01-02T10:00:00+09:00,coupon\n")
    return out.getvalue()


GOOD_TEXT = "submitted_at,feature,gender\n" + "2025-01-02T10:00:00+09:00,coupon,F\n" * 3
UNSUPPORTED = "not a CSV or JSON Lines file (expected .csv, .jsonl, optionally .gz)"
NOT_UTF8 = "not UTF-8 text (UTF-16 or binary content); export it as UTF-8"
BAD_GZIP = "corrupt or truncated gzip data"

STRAY_CRLF = (
    b"submitted_at,feature\n2025-01-02T10:00:00+09:00,coupon\r\n"
    b"2025-01-02T10:00:00+09:00,coupon\n2025-01-02T10:00:00+09:00,coupon\n"
)
BROKEN_STRUCTURE = "the CSV structure is broken (an unclosed quote or mixed line endings); no row of it was loaded"
# row 2 opens a quote that is never closed, followed by many good rows
UNCLOSED_EARLY = (
    b"submitted_at,feature,gender\n2025-01-02T10:00:00+09:00,coupon,F\n"
    b'2025-01-02T10:00:00+09:00,"coupon,F\n' + b"2025-01-02T10:00:00+09:00,coupon,M\n" * 50_000
)


def broken_quote(row: int) -> str:
    return (
        f"the CSV structure is broken near row {row} (a quote is not closed, or text follows a closing quote); "
        "no row of it was loaded"
    )


# (file name, bytes or None for no file, the reason on stderr)
REFUSED_FILES = [
    ("missing.csv", None, "no such file"),
    ("empty.csv", b"", "the file is empty"),
    ("empty.jsonl", b"", "the file is empty"),
    ("empty-zero-bytes.csv.gz", "raw-empty", "the file is empty"),
    ("empty-inside.csv.gz", b"", "the file is empty"),  # a valid gzip stream of nothing
    ("export.xlsx", b"PK\x03\x04", UNSUPPORTED),
    ("export.txt", GOOD_TEXT.encode(), UNSUPPORTED),
    ("export.csv.zip", _zip_bytes(), UNSUPPORTED),
    ("excel-saved-as.csv", _zip_bytes(), NOT_UTF8),
    ("program.csv", b"\x7fELF\x02\x01\x01\x00" + bytes(64) + b"\x03\x00>\x00", NOT_UTF8),
    ("utf16-bom.csv", GOOD_TEXT.encode("utf-16"), NOT_UTF8),
    ("utf16le-no-bom.csv", GOOD_TEXT.encode("utf-16-le"), NOT_UTF8),
    (
        "utf16be-bom.jsonl",
        b"\xfe\xff" + '{"submitted_at": "2025-01-02", "feature": "coupon"}\n'.encode("utf-16-be"),
        NOT_UTF8,
    ),
    ("random.csv.gz", "raw-random", BAD_GZIP),
    ("plain-text.csv.gz", "raw-plain", BAD_GZIP),
    ("truncated-head.csv.gz", "raw-truncated-head", BAD_GZIP),
    ("truncated-late.csv.gz", "raw-truncated-late", BAD_GZIP),
    ("no-timestamp.csv", b"submission_id,feature,gender\n1,coupon,F\n", "missing required column 'submitted_at'"),
    ("no-feature.csv", b"submitted_at,gender\n2025-01-02T10:00:00+09:00,F\n", "missing required column 'feature'"),
    ("no-header.csv", b"2025-01-02T10:00:00+09:00,coupon,F\n", "missing required column 'submitted_at' and 'feature'"),
    (
        "no-feature.jsonl",
        b'{"submitted_at": "2025-01-02T10:00:00+09:00", "gender": "F"}\n',
        "missing required column 'feature'",
    ),
    ("header-only.csv", b"submitted_at,feature,gender\n", "no data rows (a header only)"),
    ("header-only-crlf.csv", b"submitted_at,feature,gender\r\n", "no data rows (a header only)"),
    ("blank-lines-only.csv", b"submitted_at,feature,gender\n\n\n", "no data rows (a header only)"),
    ("blank-lines.jsonl", b"\n  \n\n", "no JSON object in the first lines: not a JSON Lines export"),
    ("not-objects.jsonl", b'[1, 2]\n"text"\nnot json\n', "no JSON object in the first lines: not a JSON Lines export"),
    (
        "doubled.csv",
        b"submitted_at,Feature,gender, feature \n2025-01-02T10:00:00+09:00,coupon,F,coupon\n",
        "the header names 'feature' more than once",
    ),
    (
        "doubled-two.csv",
        b"gender,submitted_at,GENDER,feature,Submitted_At\n",
        "the header names 'gender', 'submitted_at' more than once",
    ),
    # DuckDB's CSV state machine refuses a file whose line ends change mid-file: by design the whole file is refused
    ("stray-crlf.csv", STRAY_CRLF, BROKEN_STRUCTURE),
    # a broken quote can swallow or split the rows after it, which DuckDB cannot tell: the file is refused whole
    ("unclosed-quote-early.csv", UNCLOSED_EARLY, broken_quote(2)),
    ("unclosed-quote-last-row.csv", GOOD_TEXT.encode() + b'2025-01-02T10:00:00+09:00,"coupon,F\n', broken_quote(4)),
    ("text-after-quote.csv", GOOD_TEXT.encode() + b'2025-01-02T10:00:00+09:00,"coupon"x,F\n', broken_quote(4)),
]


def _long_gzip_cut_short() -> bytes:
    """A gzip stream whose first megabyte unpacks fine: only DuckDB, reading on, finds it cut short."""
    text = "submitted_at,feature,gender\n" + "".join(
        f"2025-01-{n % 28 + 1:02d}T{n % 24:02d}:{n % 60:02d}:00+09:00,coupon,{'FM'[n % 2]}\n" for n in range(120_000)
    )
    packed = gzip.compress(text.encode(), mtime=0)
    return packed[: len(packed) * 3 // 4]


def _materialize(folder: Path, name: str, content: bytes | str | None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    if content is None:
        return path
    if content == "raw-empty":
        path.write_bytes(b"")
    elif content == "raw-random":
        path.write_bytes(bytes((i * 197 + 13) % 256 for i in range(4096)))
    elif content == "raw-plain":
        path.write_bytes(GOOD_TEXT.encode())
    elif content == "raw-truncated-head":
        path.write_bytes(gzip.compress(GOOD_TEXT.encode(), mtime=0)[:-12])
    elif content == "raw-truncated-late":
        path.write_bytes(_long_gzip_cut_short())
    else:
        write_bytes(path, content)
    return path


@pytest.mark.parametrize(("name", "content", "reason"), REFUSED_FILES, ids=[case[0] for case in REFUSED_FILES])
def test_a_file_that_cannot_be_loaded_is_refused_and_the_store_is_unchanged(store, tmp_path, name, content, reason):
    raw = _materialize(tmp_path / "raw", name, content)
    before = folder_snapshot(store.parent)
    rejects = tmp_path / "out" / "rejects.csv"
    code, out, err = run_etl("load", raw, "--db", store, "--rejects", rejects, cwd=tmp_path)
    assert code == 2
    assert err == f"{raw}: refused: {reason}\n"
    assert SUMMARY.fullmatch(out.strip()).groups() == ("0", "0", "1", "0", "0")
    assert folder_snapshot(store.parent) == before
    assert store_rows(store) == FIRST_BATCH
    assert read_rejects(rejects) == [REJECTS_HEADER]


def test_a_directory_is_refused(store, tmp_path):
    folder = tmp_path / "exports.csv"
    folder.mkdir()
    before = folder_snapshot(store.parent)
    code, _, err = run_etl("load", folder, "--db", store, cwd=tmp_path)
    assert (code, err) == (2, f"{folder}: refused: a directory, not a file\n")
    assert folder_snapshot(store.parent) == before


# -- rows rejected one by one --------------------------------------------------------------------

BAD_ROWS_CSV = (
    b"submission_id,submitted_at,feature,name,gender,date_of_birth,residing_country,message\n"
    b"1,2025-03-04T14:22:05+09:00,Coupon,Kim,F,1990-01-01,CN,fine\n"  # row 1
    # row 2: bad bytes in a column off the allowlist are never parsed, so the row loads
    b'2,2025-03-04T14:22:05+09:00,coupon,Lee\xff,M,1990-01-01,CN,"two\nlines, and a comma"\n'
    b"3,not a time,coupon,Park,F,1990-01-01,CN,x\n"  # row 3
    b"4,2025-03-04T14:22:05+09:00,discount,Choi,F,1990-01-01,CN,x\n"  # row 4
    b"5,2025-03-04T14:22:05+09:00,coupon,Jung,F\n"  # row 5: too few fields
    b"6,2025-03-04T14:22:05+09:00,coupon,Kang,F,1990-01-01,CN,x,surplus\n"  # row 6: too many fields
    b"7,2025-03-04T14:22:05+09:00,coupon,Yoon,F\xff\xfe,1990-01-01,CN,x\n"  # row 7: a kept field not UTF-8
    b'8,2025-03-04T14:22:05+09:00,coupon,Jang,F,1990-01-01,CN,"three\nlines\nhere"\n'  # row 8
    b"9,,coupon,Lim,F,1990-01-01,CN,x\n"  # row 9
    b"10,2025-03-04T14:22:05+09:00,,Han,F,1990-01-01,CN,x\n"  # row 10
    b"11,1999-12-31T23:59:59+09:00,coupon,Oh,F,1990-01-01,CN,x\n"  # row 11
    b'12,2025-03-04T14:22:05+09:00,coupon,Seo,F,1990-01-01,CN,"a ""quoted"" word"\n'  # row 12: escaped quotes
    b"13,2025-03-04T14:22:05+09:00,self_diagnosis,Shin,M,2011-03-04,US,x\n"  # row 13
    b'14,2025-03-04T14:22:05+09:00,coupon,Kwon,F,1990-01-01,CN,"closed, at the end"\n'  # row 14
)
BAD_ROWS_REJECTED = [
    ("3", "bad_submitted_at"),
    ("4", "unknown_feature"),
    ("5", "wrong_field_count"),
    ("6", "wrong_field_count"),
    ("7", "invalid_encoding"),
    ("9", "missing_submitted_at"),
    ("10", "missing_feature"),
    ("11", "submitted_at_out_of_range"),
]
BAD_ROWS_STDOUT_REASONS = [
    "  rejected bad_submitted_at: 1",
    "  rejected invalid_encoding: 1",
    "  rejected missing_feature: 1",
    "  rejected missing_submitted_at: 1",
    "  rejected submitted_at_out_of_range: 1",
    "  rejected unknown_feature: 1",
    "  rejected wrong_field_count: 2",
]


@pytest.mark.parametrize("name", ["bad-rows.csv", "bad-rows.csv.gz"])
def test_bad_rows_are_rejected_counted_and_reported_by_row_number(store, tmp_path, name):
    raw = write_bytes(tmp_path / "raw" / name, BAD_ROWS_CSV)
    rejects = tmp_path / "rejects.csv"
    code, out, err = run_etl("load", raw, "--db", store, "--rejects", rejects, cwd=tmp_path)
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert re.fullmatch(rf"{re.escape(str(raw))}: batch 2: 14 rows read, 6 loaded, 8 rejected \([\d.]+ s\)", lines[0])
    assert lines[1:-1] == BAD_ROWS_STDOUT_REASONS
    assert SUMMARY.fullmatch(lines[-1]).groups() == ("1", "0", "0", "6", "8")
    assert read_rejects(rejects) == [REJECTS_HEADER, *([name, row, reason] for row, reason in BAD_ROWS_REJECTED)]
    assert store_rows(store) == sorted(
        [
            ("2025-01-02", "coupon", "KR", "female", "20-29", 2),
            ("2025-03-04", "coupon", "CN", "female", "30-39", 4),
            ("2025-03-04", "coupon", "CN", "male", "30-39", 1),
            ("2025-03-04", "self_diagnosis", "US", "male", "14-19", 1),
        ]
    )


def test_bad_json_lines_are_rejected_with_their_line_numbers(store, tmp_path):
    good = '{"submitted_at": "2025-03-04T14:22:05+09:00", "feature": "쿠폰", "gender": "여", "phone": "010"}'
    lines = [
        good.encode(),  # 1
        b"",  # 2: blank lines are skipped but keep their numbers
        b'{"submitted_at": "2025-03-04T14:22:05+09:00", "feature": "coupon", "name": "Kim", broken',  # 3
        b"[1, 2, 3]",  # 4
        b'"just a string"',  # 5
        b'{"submitted_at": "yesterday", "feature": "coupon"}',  # 6
        b"   ",  # 7
        b'{"submitted_at": "2025-03-04T14:22:05+09:00", "feature": "discount"}',  # 8
        b'{"submitted_at": "2025-03-04T14:22:05+09:00", "feature": "coupon", "name": "\xff\xfe"}',  # 9
        b'{"submitted_at": "2025-03-04T14:22:05+09:00", "feature": "Free Estimate", "gender": "M"}',  # 10
        b'{"submitted_at": null, "feature": "coupon"}',  # 11
    ]
    raw = write_bytes(tmp_path / "raw" / "bad.jsonl", b"\n".join(lines) + b"\n")
    rejects = tmp_path / "rejects.csv"
    code, out, err = run_etl("load", raw, "--db", store, "--rejects", rejects, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out.splitlines()[1:-1] == [
        "  rejected bad_submitted_at: 1",
        "  rejected invalid_encoding: 1",
        "  rejected invalid_json: 3",
        "  rejected missing_submitted_at: 1",
        "  rejected unknown_feature: 1",
        "  columns not loaded (not on the allowlist): phone",
    ]
    assert read_rejects(rejects) == [
        REJECTS_HEADER,
        ["bad.jsonl", "3", "invalid_json"],
        ["bad.jsonl", "4", "invalid_json"],
        ["bad.jsonl", "5", "invalid_json"],
        ["bad.jsonl", "6", "bad_submitted_at"],
        ["bad.jsonl", "8", "unknown_feature"],
        ["bad.jsonl", "9", "invalid_encoding"],
        ["bad.jsonl", "11", "missing_submitted_at"],
    ]
    assert store_rows(store) == [
        ("2025-01-02", "coupon", "KR", "female", "20-29", 2),
        ("2025-03-04", "coupon", "unknown", "female", "unknown", 1),
        ("2025-03-04", "free_estimate", "unknown", "male", "unknown", 1),
    ]


def test_one_refused_file_does_not_stop_the_others(store, tmp_path):
    first = write_csv(tmp_path, [raw_row(gender="M")] * 3, name="a.csv")
    refused = write_bytes(tmp_path / "b.csv", b"submitted_at,gender\n2025-03-04T14:22:05+09:00,F\n")
    last = write_jsonl(tmp_path, [raw_row(gender="여")], name="c.jsonl")
    rejects = tmp_path / "rejects.csv"
    code, out, err = run_etl("load", first, refused, last, "--db", store, "--rejects", rejects, cwd=tmp_path)
    assert code == 2
    assert err == f"{refused}: refused: missing required column 'feature'\n"
    lines = out.splitlines()
    assert re.fullmatch(rf"{re.escape(str(first))}: batch 2: 3 rows read, 3 loaded, 0 rejected \([\d.]+ s\)", lines[0])
    assert re.fullmatch(rf"{re.escape(str(last))}: batch 3: 1 rows read, 1 loaded, 0 rejected \([\d.]+ s\)", lines[1])
    assert SUMMARY.fullmatch(lines[2]).groups() == ("2", "0", "1", "4", "0")
    assert len(lines) == 3
    assert read_rejects(rejects) == [REJECTS_HEADER]
    assert store_rows(store) == [
        ("2025-01-02", "coupon", "KR", "female", "20-29", 2),
        ("2025-03-04", "coupon", "unknown", "female", "unknown", 1),
        ("2025-03-04", "coupon", "unknown", "male", "unknown", 3),
    ]


def test_row_numbers_stay_exact_deep_into_a_large_file(tmp_path):
    # DuckDB reads a large file in parallel; rows rejected by the reader and by the SQL must still
    # be numbered as a reader counts them, with multi-line quoted fields all along
    good = b"2025-03-04T14:22:05+09:00,coupon,F,hello\n"
    multi_line = b'2025-03-04T14:22:05+09:00,coupon,M,"line one\nline two"\n'
    bad = {
        7: b"garbage,coupon,F,x\n",
        99_999: b"2025-03-04T14:22:05+09:00,coupon,F\n",
        100_000: b"2025-03-04T14:22:05+09:00,nope,F,x\n",
        150_001: b"2025-03-04T14:22:05+09:00,coupon,\xff,x\n",
        150_002: b"2025-03-04T14:22:05+09:00,coupon,F,x,y\n",
        150_003: b",coupon,F,x\n",
        249_998: b"2025-03-04T14:22:05+09:00,coupon,\xc3,x\n",
        250_000: b"2025-03-04T14:22:05+09:00,,F,x\n",
    }
    body = bytearray(b"submitted_at,feature,gender,message\n")
    for row in range(1, 250_001):
        body += bad.get(row, multi_line if row % 1000 == 500 else good)
    raw = write_bytes(tmp_path / "large.csv", bytes(body))
    rejects = tmp_path / "rejects.csv"
    (result,) = load([raw], tmp_path / "visitors.duckdb", rejects_path=rejects)
    assert (result.rows_read, result.rows_loaded, result.rows_rejected) == (250_000, 249_992, 8)
    assert read_rejects(rejects) == [
        REJECTS_HEADER,
        ["large.csv", "7", "bad_submitted_at"],
        ["large.csv", "99999", "wrong_field_count"],
        ["large.csv", "100000", "unknown_feature"],
        ["large.csv", "150001", "invalid_encoding"],
        ["large.csv", "150002", "wrong_field_count"],
        ["large.csv", "150003", "missing_submitted_at"],
        ["large.csv", "249998", "invalid_encoding"],
        ["large.csv", "250000", "missing_feature"],
    ]
    assert store_rows(tmp_path / "visitors.duckdb") == [
        ("2025-03-04", "coupon", "unknown", "female", "unknown", 249_992 - 250),
        ("2025-03-04", "coupon", "unknown", "male", "unknown", 250),
    ]


def test_a_crlf_file_with_quoted_line_breaks_loads(store, tmp_path):
    rows = [raw_row(message="line one\r\nline two", gender="F"), raw_row(message="a\rb", gender="M"), raw_row()]
    raw = write_bytes(tmp_path / "crlf.csv", csv_text(rows, newline="\r\n").encode())
    code, _, err = run_etl("load", raw, "--db", store, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert store_rows(store) == [
        ("2025-01-02", "coupon", "KR", "female", "20-29", 2),
        ("2025-03-04", "coupon", "unknown", "female", "unknown", 1),
        ("2025-03-04", "coupon", "unknown", "male", "unknown", 1),
        ("2025-03-04", "coupon", "unknown", "unknown", "unknown", 1),
    ]


def test_progress_is_reported_while_reading_and_a_failure_still_refuses(tmp_path):
    good = write_csv(tmp_path, [raw_row()] * 5, name="good.csv")
    broken = write_bytes(tmp_path / "broken.csv", STRAY_CRLF)
    seen: dict[str, list[tuple[int, int]]] = {}

    def progress_for(path: Path):
        return lambda done, total: seen.setdefault(path.name, []).append((done, total))

    ok, refused = load([good, broken], tmp_path / "visitors.duckdb", progress_for=progress_for)
    assert (ok.status, ok.rows_loaded) == ("loaded", 5)
    assert (refused.status, refused.reason) == ("refused", BROKEN_STRUCTURE)
    size = good.stat().st_size
    assert seen["good.csv"][-1] == (size, size)
    assert all(done <= total == size for done, total in seen["good.csv"])
    assert store_rows(tmp_path / "visitors.duckdb") == [("2025-03-04", "coupon", "unknown", "unknown", "unknown", 5)]
