"""Bad input through the real CLI: what the catalogue of malformed files does not show one file at a time.

Every malformed file, refused or loaded with rejected rows, is a case of the
catalogue in test_hostile_input.py. Here: a refused file among others, row
numbers deep into a large file, progress, and how a record too long for
DuckDB's parallel reader is found. A refused file exits 2 with one line on
stderr naming the file and the reason; a rejected row is counted by reason, and
the reject report gives its row number: the N-th data row after the header is
row N (a quoted field may span lines; JSON Lines rows are lines).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from conftest import (
    REJECTS_HEADER,
    SUMMARY,
    csv_text,
    raw_row,
    read_rejects,
    run_etl,
    store_rows,
    write_bytes,
    write_csv,
    write_jsonl,
)
from test_hostile_input import BROKEN_STRUCTURE, Marks, stray_crlf

from etl.load import load
from etl.sources import SCAN_CHUNK, RecordScan, reads_as_cp949


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


def test_progress_is_reported_while_reading_and_a_failure_still_refuses(tmp_path):
    good = write_csv(tmp_path, [raw_row()] * 5, name="good.csv")
    broken = write_bytes(tmp_path / "broken.csv", stray_crlf(Marks()))
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


# -- records longer than DuckDB's parallel reader can take ------------------------------------------


def scan(chunks: list[bytes], *, quoted: bool = True, newline: bytes = b"\n") -> bool:
    records = RecordScan(quoted=quoted, newline=newline)
    for chunk in chunks:
        records.feed(chunk)
    return records.long_record


def full(text: bytes) -> bytes:
    """A whole scan chunk of `text` repeated."""
    return (text * (SCAN_CHUNK // len(text) + 1))[:SCAN_CHUNK]


@pytest.mark.parametrize(
    ("chunks", "quoted", "newline", "long_record"),
    [
        ([full(b"a,b,c\n")], True, b"\n", False),
        ([full(b"a,b,c\r\n")], True, b"\r\n", False),
        ([full(b"a,b,c\r")], True, b"\r", False),
        ([full(b"x")], True, b"\n", True),  # one line longer than a chunk
        ([full(b"a,b\r")], True, b"\n", True),  # an LF file with bare CRs is judged by its LF only
        # a quoted field of line breaks across a whole chunk: no record ends in it
        ([b'a,"' + full(b"line\n")[3:], full(b"line\n"), b'"\n'], True, b"\n", True),
        # the same line breaks outside quotes end records
        ([b'a,"b"' + full(b"line\n")[5:], full(b"line\n")], True, b"\n", False),
        ([full(b'""')], True, b"\n", True),  # a chunk too full of quotes counts as long (the safe side)
        ([full(b'{"a": "b\\n"}\n')], False, b"\n", False),  # JSON Lines: quotes do not matter
        ([full(b'{"a": "' + b"x" * 100)], False, b"\n", True),
        ([b"x" * (SCAN_CHUNK - 1)], True, b"\n", False),  # a short last chunk is not judged
    ],
    ids=[
        "lf",
        "crlf",
        "cr",
        "one-long-line",
        "bare-cr-in-lf",
        "quoted-line-breaks",
        "unquoted-line-breaks",
        "all-quotes",
        "jsonl",
        "jsonl-long",
        "short-tail",
    ],
)
def test_a_record_longer_than_a_scan_chunk_is_seen(chunks, quoted, newline, long_record):
    assert scan(chunks, quoted=quoted, newline=newline) == long_record


@pytest.mark.parametrize("name", ["long.csv", "long.csv.gz", "long.jsonl"])
def test_a_record_longer_than_duckdbs_buffer_is_rejected_not_lost(tmp_path, name):
    # DuckDB's parallel reader drops a record longer than its 32 MB buffer without a word;
    # the ETL sees it while hashing and reads the file again in one thread
    big = "x" * (40 << 20)
    if name.endswith(".jsonl"):
        lines = [
            f'{{"submitted_at": "2025-03-04T14:22:05+09:00", "feature": "coupon", "message": "{text}"}}'
            for text in ("a", big, "b", big, "c")
        ]
        data = "".join(line + "\n" for line in lines).encode()
    else:
        rows = [raw_row(message=text) for text in ("a", big, "b", big, "c")]
        data = csv_text(rows).encode()
    raw = write_bytes(tmp_path / name, data)
    rejects = tmp_path / "rejects.csv"
    (result,) = load([raw], tmp_path / "visitors.duckdb", rejects_path=rejects)
    assert (result.status, result.rows_read, result.rows_loaded, result.rejected) == (
        "loaded",
        5,
        3,
        {"line_too_long": 2},
    )
    assert read_rejects(rejects) == [REJECTS_HEADER, [name, "2", "line_too_long"], [name, "4", "line_too_long"]]


CP949_HEADER = b"submitted_at,feature,gender,name\n"


@pytest.mark.parametrize(
    ("head", "cp949"),
    [
        (CP949_HEADER + "2025-03-04,쿠폰,여성,김민지\n".encode("cp949") * 20, True),
        (CP949_HEADER + "2025-03-04,쿠폰,여성,김민지\n".encode("cp949"), True),
        # UTF-8 with Hangul and a damaged row: the row is rejected, the file is not refused
        (CP949_HEADER + "2025-03-04,쿠폰,여성,김민지\n".encode() * 20 + b"2025-03-04,\xff\xfe,F,x\n", False),
        (
            CP949_HEADER + "2025-03-04,쿠폰,여성,김민지\n".encode() * 20 + "2025-03-04,쿠폰,여성,x\n".encode("cp949"),
            False,
        ),
        (CP949_HEADER + "2025-03-04,coupon,féminin,Zoé\n".encode("latin-1") * 20, False),
        (CP949_HEADER + "2025-03-04,coupon,F,x\n".encode("cp949") * 20, False),  # ASCII is both
        (CP949_HEADER + "2025-03-04,쿠폰,F,x\n".encode("cp949")[:-4], False),  # too little to judge
    ],
    ids=["cp949", "cp949-one-row", "utf8-damaged", "utf8-one-cp949-row", "latin1", "ascii", "two-syllables"],
)
def test_a_cp949_file_is_told_from_damaged_utf8(head, cp949):
    assert reads_as_cp949(head) is cp949
