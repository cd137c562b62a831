"""The ETL's file-name redaction (etl/redact.py): identifiers go, dates and plain words stay.

The batch log keeps a raw file's name; tests/test_batches.py shows one with
identifiers loaded end to end. The audit's own detector is tested in
tests/test_patterns.py: the two are independent on purpose.
"""

from __future__ import annotations

import pytest

from etl.redact import redact


@pytest.mark.parametrize(
    ("name", "kept"),
    [
        ("960121-1021413_visitors.csv", "[kr_rrn]_visitors.csv"),
        ("960121-5021413 visitors.csv", "[kr_frn] visitors.csv"),
        ("hong@example.com export 2025-10-01.csv", "[email] export 2025-10-01.csv"),
        ("960121-1021413 hong@example.com 2025-03-04.csv", "[kr_rrn] [email] 2025-03-04.csv"),
        ("call 010-4821-7765.jsonl", "call [phone].jsonl"),
        ("방문자_01048217765.csv", "방문자_[phone].csv"),
        ("visitors (02) 123-4567.csv", "visitors [phone].csv"),
        ("visitors +82 10-4821-7765 2025.csv", "visitors [phone] 2025.csv"),
        ("visitors +821048217765.csv", "visitors [phone].csv"),
        ("visitors 138-1234-5678.csv", "visitors [phone].csv"),
        ("visitors 1-415-555-0132.csv", "visitors [phone].csv"),
        ("from 192.168.0.12.csv", "from [ip].csv"),
        ("from 2001:db8::1.csv", "from [ip].csv"),
        ("card 4111-1111-1111-1111.csv", "card [card].csv"),
        ("card 4111 1111 1111 1111 12-27.csv", "card [card] 12-27.csv"),
        ("passport M123A4567.csv", "passport [passport].csv"),
        ("www.example.com visitors.csv", "[url] visitors.csv"),
        ("example.co.kr visitors.csv", "[url] visitors.csv"),
        ("licence 11-12-123456-12.csv", "licence [kr_driver_license].csv"),
        ("device 00-1A-2B-3C-4D-5E.csv", "device [mac].csv"),
    ],
)
def test_an_identifier_is_replaced_by_its_kind(name: str, kept: str) -> None:
    assert redact(name) == kept


@pytest.mark.parametrize(
    "name",
    [
        "demo.csv",
        "export-2025-10-01.csv.gz",
        "export_20250304.jsonl",
        "export_20250304123000.csv",
        "2025.03.04 export.jsonl",
        "04.03.2025 export.ndjson",
        "2025-03-04T09:30:00+09:00.csv",
        "2025년 3월 4일 신청.csv",
        "raw-100000000.csv",
        "visitors_v1.2.3.csv",
        "visitors 1741046400.csv",
        "[kr_rrn] [email] 2025-03-04.csv",
    ],
)
def test_dates_counts_and_plain_names_are_kept(name: str) -> None:
    assert redact(name) == name
