"""CSV exports (dashboard/export/): golden files, round trips, the gate, escaping, the CLI and its log.

Stores are built with the real ETL from raw CSVs with known rows; expected
files are written out in full and compared byte for byte.
"""

from __future__ import annotations

import csv
import getpass
import hashlib
import io
import json
import os
import random
import re
import shlex
import subprocess
import sys
import zipfile
from datetime import date
from pathlib import Path

import pytest
from cellkey import SMALL, Ptable, parse_raw, published_from, select, store_cells, tabulate
from conftest import REPO, fix_record_keys, raw_row, write_csv

from contract import MIN_CELL
from contract.export_log import Author
from dashboard.export import build_export, escape_text, log_export, log_pack, log_path, main, make_pack
from dashboard.export.cli import new_spelling, parser
from dashboard.filters import Filters
from dashboard.store import current_version
from etl.load import load

START, END = date(2025, 1, 1), date(2025, 2, 28)

# (day, feature, country, count): January only, so that one month shows the gate at work
KNOWN = [
    ("2025-01-05", "coupon", "KR", 12),
    ("2025-01-06", "coupon", "JP", 3),
    ("2025-01-07", "coupon", "CN", 30),
    ("2025-01-08", "free_estimate", "KR", 20),
    ("2025-01-09", "free_estimate", "JP", 15),
    ("2025-01-10", "free_estimate", "CN", 40),
]

# The stores' key sums are conftest.fix_record_keys's, so the noise is fixed. Checked by hand against
# contract/ptable_v1.csv (true count, key sum mod 256 -> pvalue): coupon CN 30 (244) +2 = 32; coupon KR
# 12 (91) -1 = 11; free_estimate CN 40 (54) -1 = 39; free_estimate KR 20 (80) -1 = 19; free_estimate JP
# 15 (160) +0 = 15; the grand total 120 (51) -1 = 119, a cell of its own: the parts add up to 128.
PERTURBED_NOTE_KO = (
    '"모든 수치에는 개인을 알아볼 수 없도록 최대 ±3의 작은 잡음이 더해져 있어(셀 키 방식), '
    '부분의 합이 합계와 조금 다를 수 있습니다."\r\n'
)
GOLDEN_EXCEL = (
    "\ufeff"
    "월 (Asia/Seoul),서비스,국가,신청 건수\r\n"
    "2025-01-01,쿠폰,중국,32\r\n"
    "2025-01-01,쿠폰,일본,<10\r\n"
    "2025-01-01,쿠폰,대한민국,11\r\n"
    "2025-01-01,무료견적,중국,39\r\n"
    "2025-01-01,무료견적,일본,15\r\n"
    "2025-01-01,무료견적,대한민국,19\r\n"
    "합계,,,119\r\n"
    "\r\n"
    "모든 날짜는 한국 시간(Asia/Seoul) 기준입니다.\r\n"
    "<10: 10건 미만 (비공개)\r\n" + PERTURBED_NOTE_KO
).encode()

GOLDEN_RAW = (
    b"event_month,feature,country_code,visits,suppressed\n"
    b"2025-01-01,coupon,CN,32,false\n"
    b"2025-01-01,coupon,JP,,true\n"
    b"2025-01-01,coupon,KR,11,false\n"
    b"2025-01-01,free_estimate,CN,39,false\n"
    b"2025-01-01,free_estimate,JP,15,false\n"
    b"2025-01-01,free_estimate,KR,19,false\n"
)


def build_store(tmp_path: Path, known: list[tuple[str, str, str, int]], name: str = "store.duckdb") -> Path:
    rows = [
        raw_row(submitted_at=f"{day}T10:00:00+09:00", feature=feature, residing_country=country)
        for day, feature, country, count in known
        for _ in range(count)
    ]
    raw = write_csv(tmp_path, rows, name=f"{name}.csv")
    db = tmp_path / name
    (result,) = load([raw], db)
    assert result.status == "loaded"
    fix_record_keys(db)  # the same key sums on every load: the published numbers can be golden
    return db


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("export"), KNOWN)


@pytest.fixture(autouse=True)
def export_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    # never write to the repository's data/exports.log
    path = tmp_path / "exports.log"
    monkeypatch.setenv("GANGNAM_EXPORT_LOG", str(path))
    return path


def export(db: Path, by=("feature", "country"), period="month", fmt="excel", lang="ko", filters=None, **kwargs):
    return build_export(current_version(db), filters or Filters(), list(by), period, START, END, fmt, lang, **kwargs)


def test_excel_golden(store: Path) -> None:
    result = export(store)
    assert result.content == GOLDEN_EXCEL
    assert result.filename == "visits_by_feature-country_month_2025-01-01_2025-02-28_ko.csv"
    assert result.rows == 6


def test_raw_golden(store: Path) -> None:
    result = export(store, fmt="raw")
    assert result.content == GOLDEN_RAW
    assert result.filename == "visits_by_feature-country_month_2025-01-01_2025-02-28_raw.csv"


def test_an_export_is_logged(store: Path, export_log: Path) -> None:
    built = build_export(current_version(store), Filters(), ["feature", "country"], "month", START, END)
    log_export(built, log_path(), Author("alice", "alice@office.example"))
    assert (built.filename, built.content, built.rows) == (
        "visits_by_feature-country_month_2025-01-01_2025-02-28_ko.csv",
        GOLDEN_EXCEL,
        6,
    )
    (line,) = export_log.read_text(encoding="utf-8").splitlines()
    entry = json.loads(line)
    assert entry["sha256"] == hashlib.sha256(GOLDEN_EXCEL).hexdigest()
    assert entry["when"].endswith("+09:00")
    assert entry["selection"]["by"] == ["feature", "country"]
    assert (entry["format"], entry["min_cell"], entry["timezone"], entry["rows"]) == ("excel", 10, "Asia/Seoul", 6)
    assert (entry["author"], entry["author_email"]) == ("alice", "alice@office.example")


def test_english_labels_and_filtered_name(store: Path) -> None:
    result = export(store, by=("country",), period=None, lang="en", filters=Filters(features=("free_estimate",)))
    assert result.filename == "visits_by_country_all_2025-01-01_2025-02-28_filtered_en.csv"
    rows = list(csv.reader(io.StringIO(result.content.decode("utf-8-sig"))))
    assert rows[:5] == [
        ["Country", "Submissions"],
        ["China", "39"],
        ["Japan", "15"],
        ["South Korea", "19"],
        ["Total", "74"],  # 75 true, a cell of its own: the parts add up to 73
    ]


def test_excel_round_trip(store: Path) -> None:
    text = export(store).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0] == ["월 (Asia/Seoul)", "서비스", "국가", "신청 건수"]
    assert {row[2] for row in rows[1:7]} == {"대한민국", "일본", "중국"}


def test_raw_round_trip_equals_the_store_through_the_ptable(store: Path) -> None:
    # every row is the store's true count and key sum through tests/cellkey.py's ptable; `<10` where 1..9
    rows = parse_raw(export(store, fmt="raw").content)
    truth = tabulate(select(store_cells(store), START, END), ["feature", "country"], "month")
    assert rows == published_from(truth)
    assert {key for key, value in rows.items() if value == SMALL} == {
        key for key, (true, _) in truth.items() if 1 <= true < MIN_CELL
    }


@pytest.fixture(scope="module")
def small_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pick = random.Random(20250101)
    countries = ["KR", "JP", "CN", "US", "VN", "TH", "FR", "DE"]
    features = ["coupon", "free_estimate", "self_diagnosis"]
    known = [
        (f"2025-0{pick.randint(1, 2)}-{pick.randint(10, 28)}", pick.choice(features), pick.choice(countries), 1)
        for _ in range(300)
    ]
    return build_store(tmp_path_factory.mktemp("small"), known)


@pytest.mark.parametrize(
    ("by", "period"), [(("feature", "country"), "month"), (("country",), "week"), (("feature",), "day")]
)
def test_privacy_every_count_is_the_ptables_and_none_is_small(
    small_store: Path, by: tuple[str, ...], period: str
) -> None:
    """Both flavours: each cell and the grand total are the true count plus the ptable's noise for their key sum
    (each total a cell of its own, complementary suppression gone), `<10` exactly where 1..9, never 1..9."""
    cells = store_cells(small_store)
    truth = tabulate(cells, by, period)
    raw = parse_raw(export(small_store, by=by, period=period, fmt="raw").content)
    assert raw == published_from(truth)
    assert SMALL in raw.values()
    assert all(value == SMALL or value == 0 or value >= MIN_CELL for value in raw.values())
    ptable = Ptable.shipped()
    for key, (true, _) in truth.items():
        assert (raw[key] == SMALL) == (1 <= true < MIN_CELL), key
        assert raw[key] == SMALL or abs(raw[key] - true) <= ptable.max_noise, key
    excel = list(csv.reader(io.StringIO(export(small_store, by=by, period=period).content.decode("utf-8-sig"))))
    body = excel[1 : excel.index([]) - 1]  # the cells, without the header, the total row and the notes
    assert [row[-1] for row in body] == [SMALL if value == SMALL else f"{value:,}" for value in raw.values()]
    assert excel[excel.index([]) - 1][-1] == f"{published_from(tabulate(cells, []))[()]:,}"
    for row in excel[1 : excel.index([])]:
        for cell in row:
            assert not cell.isdigit() or int(cell) == 0 or int(cell) >= MIN_CELL


@pytest.mark.parametrize("text", ["=1+1", "+82", "-x", "@SUM(A1)", "\tcmd", "\rcmd"])
def test_escape_formula_starts(text: str) -> None:
    assert escape_text(text) == "'" + text


@pytest.mark.parametrize("text", ["대한민국", "<10", "x", "2025-01-01", "Total", ""])
def test_escape_leaves_plain_text(text: str) -> None:
    assert escape_text(text) == text


def test_written_cells_escaped_and_numbers_untouched(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from dashboard.export import render as module

    monkeypatch.setattr(module, "t", lambda key, lang: "=HYPERLINK()" if key == "total" else key)
    db = build_store(tmp_path, [("2025-01-05", "coupon", "KR", 12)])
    rows = list(csv.reader(io.StringIO(export(db, by=("feature",), period=None).content.decode("utf-8-sig"))))
    # 12 true, published 11 (fixed key sums): the total is the same one cell, so the same number
    assert rows[1] == ["coupon", "11"]
    assert rows[2] == ["'=HYPERLINK()", "11"]


# the 59 days before START..END: November and December 2024
PREVIOUS = (date(2024, 11, 3), date(2024, 12, 31))
BEFORE = [
    ("2024-11-20", "free_estimate", "KR", 11),
    ("2024-12-05", "coupon", "KR", 25),
    ("2024-12-06", "coupon", "CN", 20),
    ("2024-12-07", "free_estimate", "CN", 50),
]

GOLDEN_COMPARED_EXCEL = (
    "\ufeff"
    "월 (Asia/Seoul),서비스,신청 건수,비교 기간: 월,비교 기간 신청 건수,변화 (%)\r\n"
    "2025-01-01,쿠폰,43,2024-11-01,0,\r\n"
    "2025-01-01,무료견적,74,2024-11-01,11,572.7\r\n"
    "2025-02-01,쿠폰,0,2024-12-01,48,-100.0\r\n"
    "2025-02-01,무료견적,0,2024-12-01,47,-100.0\r\n"
    "합계,,119,,106,12.3\r\n"
    "\r\n"
    "모든 날짜는 한국 시간(Asia/Seoul) 기준입니다.\r\n"
    "<10: 10건 미만 (비공개)\r\n"
    + PERTURBED_NOTE_KO
    + "비교 기간: 2024-11-03 ~ 2024-12-31. 기간 단위 행은 순서대로 짝지어집니다 (첫 주와 첫 주). "
    "변화는 두 값이 모두 공개될 때만 계산합니다.\r\n"
).encode()

# changes from the published numbers: 74 / 11 - 1 = 5.7273 (the true 75 / 11 - 1 would be 5.8182)
GOLDEN_COMPARED_RAW = (
    b"event_month,feature,visits,suppressed,comparison_event_month,comparison_visits,comparison_suppressed,change\n"
    b"2025-01-01,coupon,43,false,2024-11-01,0,false,\n"
    b"2025-01-01,free_estimate,74,false,2024-11-01,11,false,5.7273\n"
    b"2025-02-01,coupon,0,false,2024-12-01,48,false,-1.0\n"
    b"2025-02-01,free_estimate,0,false,2024-12-01,47,false,-1.0\n"
)


@pytest.fixture(scope="module")
def compared_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_store(tmp_path_factory.mktemp("compared"), KNOWN + BEFORE)


def test_comparison_golden(compared_store: Path) -> None:
    excel = export(compared_store, by=("feature",), comparison=PREVIOUS)
    assert excel.content == GOLDEN_COMPARED_EXCEL
    assert excel.filename == "visits_by_feature_month_2025-01-01_2025-02-28_vs_2024-11-03_2024-12-31_ko.csv"
    assert excel.rows == 4
    raw = export(compared_store, by=("feature",), fmt="raw", comparison=PREVIOUS)
    assert raw.content == GOLDEN_COMPARED_RAW
    assert raw.selection["comparison"] == {"from": "2024-11-03", "to": "2024-12-31"}


def test_comparison_without_period_pairs_by_dimension(compared_store: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(export(compared_store, by=("country",), period=None, fmt="raw",
                                                  comparison=PREVIOUS).content.decode())))  # fmt: skip
    got = {row["country_code"]: (row["visits"], row["comparison_visits"], row["change"]) for row in rows}
    # published (true): CN 69 (70) against 68 (70), JP 18 (18) against none before (a true zero, so no change),
    # KR 33 (32) against 35 (36); each change from the published numbers: 69 / 68 - 1, 33 / 35 - 1
    assert got == {"CN": ("69", "68", "0.0147"), "JP": ("18", "0", ""), "KR": ("33", "35", "-0.0571")}


def test_comparison_periods_paired_in_order_even_when_their_number_differs(compared_store: Path) -> None:
    # one ISO week (2025-01-06, a Monday, to 01-12) against 2024-11-20 (a Wednesday) to 12-07, which touches
    # the weeks of 11-18 (11 free estimates), 11-25 (none) and 12-02 (45 coupons, 50 free estimates)
    rows = list(csv.DictReader(io.StringIO(build_export(
        current_version(compared_store), Filters(), ["feature"], "week", date(2025, 1, 6), date(2025, 1, 12), "raw",
        "ko", comparison=(date(2024, 11, 20), date(2024, 12, 7))).content.decode())))  # fmt: skip
    got = [
        (row["event_week"], row["feature"], row["visits"], row["comparison_event_week"], row["comparison_visits"])
        for row in rows
    ]
    assert got == [
        ("2025-01-06", "coupon", "34", "2024-11-18", "0"),  # true 33, 0
        ("2025-01-06", "free_estimate", "74", "2024-11-18", "11"),  # true 75, 11
        # the period has no third week: its cells are empty, not zero, and come last
        ("", "coupon", "", "2024-12-02", "48"),  # true 45
        ("", "free_estimate", "", "2024-12-02", "47"),  # true 50
    ]
    assert [row["suppressed"] for row in rows] == ["false", "false", "", ""]
    assert [row["change"] for row in rows] == ["", "5.7273", "", ""]


def test_comparison_never_shows_a_small_number_nor_a_change_from_a_hidden_one(small_store: Path) -> None:
    january = (date(2025, 1, 1), date(2025, 1, 31))
    version = current_version(small_store)
    for by, period in [(["feature", "country"], None), (["country"], "week"), (["feature"], "day")]:
        content = build_export(version, Filters(), by, period, date(2025, 2, 1), date(2025, 2, 28), "raw", "en",
                               comparison=january).content.decode()  # fmt: skip
        rows = list(csv.DictReader(io.StringIO(content)))
        assert any(row["comparison_suppressed"] == "true" for row in rows)
        for row in rows:
            for column in ("visits", "comparison_visits"):
                assert row[column] == "" or int(row[column]) == 0 or int(row[column]) >= MIN_CELL
            if "true" in (row["suppressed"], row["comparison_suppressed"]):
                assert row["change"] == ""
        excel = build_export(version, Filters(), by, period, date(2025, 2, 1), date(2025, 2, 28), "excel", "en",
                             comparison=january).content.decode("utf-8-sig")  # fmt: skip
        now = len(by) + (1 if period else 0)  # the count columns: now, then (after the comparison's period)
        then = now + (2 if period else 1)
        for row in list(csv.reader(io.StringIO(excel)))[1:]:
            for cell in row[now : now + 1] + row[then : then + 1]:
                assert not cell.isdigit() or int(cell) == 0 or int(cell) >= MIN_CELL


def test_comparison_ending_before_it_starts(store: Path) -> None:
    with pytest.raises(ValueError, match="comparison period ends before it starts"):
        export(store, comparison=(date(2024, 2, 28), date(2024, 1, 1)))


def run_cli(*args: object, cwd: Path, log: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), "GANGNAM_EXPORT_LOG": str(log)}
    return subprocess.run(
        [sys.executable, "-m", "dashboard.export", *map(str, args)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_cli_writes_the_function_bytes_and_logs(store: Path, tmp_path: Path) -> None:
    log = tmp_path / "cli.log"
    args = ["table", "--db", store, "--by", "feature,country", "--period", "month", "--from", START, "--to", END]
    done = run_cli(*args, "--format", "raw", cwd=tmp_path, log=log)
    assert done.returncode == 0, done.stderr
    written = tmp_path / "visits_by_feature-country_month_2025-01-01_2025-02-28_raw.csv"
    assert written.read_bytes() == export(store, fmt="raw").content == GOLDEN_RAW
    assert done.stderr == ""
    # --out and --log options
    other_log = tmp_path / "other.log"
    done = run_cli(*args, "--out", "mine.csv", "--log", other_log, cwd=tmp_path, log=log)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "mine.csv").read_bytes() == GOLDEN_EXCEL
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    (other,) = [json.loads(line) for line in other_log.read_text(encoding="utf-8").splitlines()]
    assert len(entries) == 1
    assert entries[0]["sha256"] == hashlib.sha256(written.read_bytes()).hexdigest()
    assert other["sha256"] == hashlib.sha256((tmp_path / "mine.csv").read_bytes()).hexdigest()
    assert (entries[0]["format"], other["format"], other["file"]) == ("raw", "excel", "mine.csv")
    # the command line says where it wrote the file, for the audit to find it
    assert (entries[0]["path"], other["path"]) == (str(written.resolve()), str((tmp_path / "mine.csv").resolve()))
    # and who ran it: the operating system's user, with no email
    assert entries[0]["author"] == other["author"] == f"cli:{getpass.getuser()}"
    assert "author_email" not in entries[0]


def test_cli_comparison_is_the_function_bytes(compared_store: Path, tmp_path: Path) -> None:
    args = ["--db", compared_store, "--by", "feature", "--period", "month", "--from", START, "--to", END]
    for command, option, fmt, golden in (
        (["table"], ["--compare", "previous"], "excel", GOLDEN_COMPARED_EXCEL),
        (["table"], ["--compare-from", PREVIOUS[0], "--compare-to", PREVIOUS[1]], "raw", GOLDEN_COMPARED_RAW),
        ([], ["--compare", "previous"], "excel", GOLDEN_COMPARED_EXCEL),  # the old spelling, without `table`
    ):
        done = run_cli(*command, *args, *option, "--format", fmt, "--out", "out.csv", cwd=tmp_path,
                       log=tmp_path / "cli.log")  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert (tmp_path / "out.csv").read_bytes() == golden


def test_cli_bad_argument_subprocess(tmp_path: Path) -> None:
    done = run_cli("table", "--db", tmp_path / "missing.duckdb", "--by", "feature", "--from", START, "--to", END,
                   cwd=tmp_path, log=tmp_path / "x.log")  # fmt: skip
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert "no store file" in done.stderr


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"--by": "feature,email"}, "unknown dimension: 'email'"),
        ({"--from": "2025-13-01"}, "not a date"),
        ({"--from": "2025-03-01"}, "--to is before --from"),
        ({"--db": "missing.duckdb"}, "no store file"),
        ({"--period": "hour"}, "invalid choice"),
        ({"--compare": "yesterday"}, "invalid choice"),
        ({"--compare-from": "2024-01-01"}, "--compare-from and --compare-to go together"),
        ({"--compare-from": "2024-02-01", "--compare-to": "2024-01-01"}, "--compare-to is before --compare-from"),
        ({"--compare": "previous", "--compare-to": "2024-01-01"}, "not both"),
    ],
)
def test_cli_bad_arguments(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture, change: dict[str, str], message: str
) -> None:
    options = {"--db": str(store), "--by": "feature", "--period": "month", "--from": "2025-01-01", "--to": "2025-02-28"}
    options.update({key: str(tmp_path / value) if key == "--db" else value for key, value in change.items()})
    with pytest.raises(SystemExit) as exit_info:
        main(["table", *(item for pair in options.items() for item in pair)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert not list(tmp_path.glob("*.csv"))


def test_cli_unreadable_store(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    junk = tmp_path / "junk.duckdb"
    junk.write_bytes(b"not a store")
    with pytest.raises(SystemExit) as exit_info:
        main(["table", "--db", str(junk), "--by", "feature", "--from", "2025-01-01", "--to", "2025-01-31"])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.strip().splitlines() == [
        f"python -m dashboard.export table: error: not a readable store: {junk}"
    ]


def test_log_never_holds_counts_of_cells(store: Path, export_log: Path) -> None:
    built = build_export(current_version(store), Filters(), ["country"], None, START, END, "raw", "en")
    log_export(built, log_path(), Author.command_line())
    entry = json.loads(export_log.read_text(encoding="utf-8"))
    assert set(entry) == {"when", "selection", "format", "min_cell", "timezone", "rows", "sha256", "file", "author"}
    assert set(entry["selection"]) == {"by", "period", "from", "to", "comparison", "filters"}
    assert entry["selection"]["comparison"] is None
    assert entry["rows"] == 3


# ---- the report pack

PACK_NAMES = {
    "visits_by_feature_day_2025-01-01_2025-01-31_ko.csv",
    "visits_by_country_all_2025-01-01_2025-01-31_ko.csv",
    "visits_by_gender-age_group_all_2025-01-01_2025-01-31_ko.csv",
    "visits_by_feature-country_all_2025-01-01_2025-01-31_ko.csv",
    "README.txt",
}
PACK_TABLES = [
    (("feature",), "day"),
    (("country",), None),
    (("gender", "age_group"), None),
    (("feature", "country"), None),
]


def pack_entries(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def test_pack_lists_the_tables_and_readme(store: Path, export_log: Path) -> None:
    pack = make_pack(current_version(store), "month", "2025-01", "ko", "excel")
    log_pack(pack, log_path(), Author.command_line())
    name, content = pack.filename, pack.content
    assert name == "gangnam-visits_2025-01_ko.zip"
    entries = pack_entries(content)
    assert set(entries) == PACK_NAMES
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        assert {info.date_time for info in archive.infolist()} == {(2025, 1, 1, 0, 0, 0)}
    readme = entries["README.txt"].decode("utf-8")
    assert "2025-01-01" in readme and "2025-01-31" in readme and "Asia/Seoul" in readme
    assert "min_cell = 10" in readme and "<10" in readme
    hashes = dict(reversed(line.split("  ")) for line in readme.splitlines() if re.fullmatch(r"[0-9a-f]{64}  .+", line))
    assert set(hashes) == PACK_NAMES - {"README.txt"}
    for file, digest in hashes.items():
        assert hashlib.sha256(entries[file]).hexdigest() == digest
    # one log line per CSV, naming the ZIP and the entry
    logged = [json.loads(line) for line in export_log.read_text(encoding="utf-8").splitlines()]
    assert sorted(entry["file"] for entry in logged) == sorted(f"{name}/{file}" for file in hashes)
    assert all(entry["sha256"] == hashes[entry["file"].split("/")[1]] for entry in logged)


@pytest.mark.parametrize(("fmt", "lang"), [("excel", "ko"), ("raw", "en")])
def test_pack_csvs_equal_build_export(store: Path, fmt: str, lang: str) -> None:
    version = current_version(store)
    pack = make_pack(version, "week", "2025-W02", lang, fmt)
    assert pack.filename == f"gangnam-visits_2025-W02_{lang if fmt == 'excel' else 'raw'}.zip"
    entries = pack_entries(pack.content)
    start, end = date(2025, 1, 6), date(2025, 1, 12)  # Monday to Sunday
    for by, period in PACK_TABLES:
        expected = build_export(version, Filters(), list(by), period, start, end, fmt, lang)
        assert entries[expected.filename] == expected.content
    assert len(entries) == len(PACK_TABLES) + 1


def test_pack_same_store_same_bytes(store: Path) -> None:
    first = make_pack(current_version(store), "month", "2025-01")
    again = make_pack(current_version(store), "month", "2025-01")
    assert first.content == again.content


def test_pack_no_small_number(small_store: Path) -> None:
    for fmt in ("excel", "raw"):
        entries = pack_entries(make_pack(current_version(small_store), "month", "2025-01", "en", fmt).content)
        cells = [
            cell
            for file, content in entries.items()
            if file.endswith(".csv")
            for row in list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))[1:]
            for cell in row
        ]
        assert "<10" in cells or "true" in cells
        assert not [cell for cell in cells if cell.isdigit() and 1 <= int(cell) < MIN_CELL]


def test_cli_pack_writes_the_function_bytes(store: Path, tmp_path: Path) -> None:
    log = tmp_path / "cli.log"
    out = tmp_path / "out"
    out.mkdir()
    done = run_cli("pack", "month", "--db", store, "--month", "2025-01", "--out", out, cwd=tmp_path, log=log)
    assert done.returncode == 0, done.stderr
    written = out / "gangnam-visits_2025-01_ko.zip"
    assert written.read_bytes() == make_pack(current_version(store), "month", "2025-01").content
    assert len(log.read_text(encoding="utf-8").splitlines()) == len(PACK_TABLES)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["pack"], "argument {month,week}: invalid choice"),  # --db is not an option of pack itself
        (["pack", "month"], "required: --month"),
        (["pack", "week"], "required: --week"),
        (["pack", "month", "--month", "2025-13"], "not a month"),
        (["pack", "month", "--month", "2025-1"], "not a month"),
        (["pack", "week", "--week", "2025-W54"], "not an ISO week"),
        (["pack", "week", "--week", "2025-42"], "not an ISO week"),
        (["pack", "month", "--month", "2025-01", "--by", "feature"], "unrecognized arguments: --by feature"),
        (["pack", "month", "--month", "2025-01", "--week", "2025-W02"], "unrecognized arguments: --week"),
        (["pack", "year", "--month", "2025-01"], "invalid choice: 'year'"),
        (["table", "--month", "2025-01"], "required: --from, --to"),
        # the old spelling, rewritten to the new one
        (["--pack", "month"], "required: --month"),
        (["--pack", "week", "--month", "2025-01"], "required: --week"),
        (["--pack", "month", "--month", "2025-01", "--from", "2025-01-01"], "unrecognized arguments: --from"),
        (["--pack", "year", "--month", "2025-01"], "invalid choice: 'year'"),
    ],
)
def test_cli_pack_bad_arguments(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture, args: list[str], message: str
) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main([*args, "--db", str(store), "--out", str(tmp_path)])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1
    assert message in err
    assert not list(tmp_path.glob("*.zip"))


@pytest.mark.parametrize("out", ["new/sub/", "new/sub"])
def test_cli_pack_out_makes_the_folder(store: Path, tmp_path: Path, out: str) -> None:
    code = main(["pack", "week", "--db", str(store), "--week", "2025-W02", "--out", str(tmp_path / out)])
    assert code == 0
    assert (tmp_path / "new" / "sub" / "gangnam-visits_2025-W02_ko.zip").is_file()


def test_cli_pack_out_that_is_a_file_is_one_line(store: Path, tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    taken = tmp_path / "taken"
    taken.write_text("mine")
    with pytest.raises(SystemExit) as exit_info:
        main(["pack", "month", "--db", str(store), "--month", "2025-01", "--out", str(taken)])
    assert exit_info.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        f"python -m dashboard.export pack month: error: --out is a file, not a folder: {taken}"
    ]
    assert taken.read_text() == "mine"
    assert not list(tmp_path.glob("*.zip"))


def test_cli_table_out_makes_the_folder(store: Path, tmp_path: Path) -> None:
    out = tmp_path / "new" / "sub" / "table.csv"
    args = ["table", "--db", str(store), "--by", "feature,country", "--period", "month"]
    assert main([*args, "--from", str(START), "--to", str(END), "--format", "raw", "--out", str(out)]) == 0
    assert out.read_bytes() == GOLDEN_RAW


# ---- the command's spelling: subcommands, and the older spelling without them

TABLE = ["--db", "STORE", "--by", "feature", "--period", "month", "--from", str(START), "--to", str(END)]


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (TABLE, ["table", *TABLE]),
        ([*TABLE, "--compare", "previous", "--format", "raw", "--lang", "en"],
         ["table", *TABLE, "--compare", "previous", "--format", "raw", "--lang", "en"]),
        (["--db", "STORE", "--pack", "month", "--month", "2025-01", "--out", "OUT"],
         ["pack", "month", "--db", "STORE", "--month", "2025-01", "--out", "OUT"]),
        (["--db", "STORE", "--pack=week", "--week", "2025-W02", "--format", "raw"],
         ["pack", "week", "--db", "STORE", "--week", "2025-W02", "--format", "raw"]),
        (["table", "--db", "STORE"], ["table", "--db", "STORE"]),  # already new: unchanged
        (["pack", "week", "--week", "2025-W02"], ["pack", "week", "--week", "2025-W02"]),
        (["--help"], ["--help"]),
        ([], []),
    ],
)  # fmt: skip
def test_old_spelling_is_rewritten_to_the_new(old: list[str], new: list[str]) -> None:
    assert new_spelling(old) == new


@pytest.mark.parametrize(
    ("old", "new"),
    [
        (["--by", "feature", "--period", "month", "--from", str(START), "--to", str(END), "--compare", "previous"],
         ["table", "--by", "feature", "--period", "month", "--from", str(START), "--to", str(END), "--compare",
          "previous"]),
        (["--by", "country", "--from", str(START), "--to", str(END), "--format", "raw", "--feature", "coupon"],
         ["table", "--by", "country", "--from", str(START), "--to", str(END), "--format", "raw", "--feature", "coupon"]),
        (["--pack", "month", "--month", "2025-01"], ["pack", "month", "--month", "2025-01"]),
        (["--pack", "week", "--week", "2025-W02", "--lang", "en", "--format", "raw"],
         ["pack", "week", "--week", "2025-W02", "--lang", "en", "--format", "raw"]),
    ],
)  # fmt: skip
def test_old_spelling_writes_what_the_new_one_writes(
    compared_store: Path, tmp_path: Path, old: list[str], new: list[str]
) -> None:
    def written(args: list[str], name: str) -> tuple[bytes, list[dict]]:
        folder, log = tmp_path / name, tmp_path / f"{name}.log"
        is_pack = "pack" in args or "--pack" in args
        out = folder if is_pack else folder / "out.csv"
        assert main([*args, "--db", str(compared_store), "--out", str(out), "--log", str(log)]) == 0
        (file,) = folder.iterdir()
        lines = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
        return file.read_bytes(), [{k: v for k, v in line.items() if k not in ("when", "path")} for line in lines]

    assert written(old, "old") == written(new, "new")


# every option a subcommand's help names; each subcommand has only its own
COMMON = {"-h", "--help", "--db", "--format", "--lang", "--log", "--out"}
TABLE_OPTIONS = {"--by", "--period", "--from", "--to", "--compare", "--compare-from", "--compare-to", "--feature",
                 "--gender", "--age", "--country", "--country-mode", "--count"}  # fmt: skip


@pytest.mark.parametrize(
    ("args", "options"),
    [
        (["--help"], {"-h", "--help"}),
        (["table", "--help"], COMMON | TABLE_OPTIONS),
        (["pack", "--help"], {"-h", "--help"}),
        (["pack", "month", "--help"], COMMON | {"--month"}),
        (["pack", "week", "--help"], COMMON | {"--week"}),
        (["--pack", "week", "--help"], COMMON | {"--week"}),  # the old spelling: the same help
    ],
)
def test_help_lists_only_its_own_options(capsys: pytest.CaptureFixture, args: list[str], options: set[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(args)
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out.replace("python -m dashboard.export", "")
    assert set(re.findall(r"(?<![\w-])--?[a-z][a-z-]*", help_text)) == options
    if args in (["--help"], ["pack", "--help"]):  # and a command's help lists its subcommands
        assert ("{table,pack}" if args[0] == "--help" else "{month,week}") in help_text


def test_the_readme_shows_every_subcommand_and_its_commands_parse() -> None:
    # docs that cannot drift: each command of the README's export section is accepted as written
    text = (REPO / "README.md").read_text(encoding="utf-8").replace("\\\n", " ")
    commands = [shlex.split(line, comments=True) for line in re.findall(r"python -m dashboard\.export (.+)", text)]
    assert {tuple(args[:2]) if args[0] == "pack" else (args[0],) for args in commands} == {
        ("table",),
        ("pack", "month"),
        ("pack", "week"),
    }
    for args in commands:
        parser().parse_args(new_spelling(args))


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--by", "feature;drop table visit_counts", "unknown dimension"),
        ("--by", "country,email", "unknown dimension: 'email'"),
        ("--country", "KR' OR '1'='1", "unknown country code"),
        ("--gender", "<script>alert(1)</script>", "unknown gender"),
        ("--feature", "coupon'--", "unknown feature"),
        ("--from", "2025-01-01'; --", "not a date"),
        ("--to", "../../etc/passwd", "not a date"),
        ("--db", "../../../../etc/passwd", "not a readable store"),
        ("--db", "/dev/null", "no store file"),
        ("--period", "month; select 1", "invalid choice"),
        ("--lang", "<script>", "invalid choice"),
        ("--compare", "previous'--", "invalid choice"),
        ("--compare-from", "${7*7}", "not a date"),
    ],
)
def test_cli_hostile_arguments_change_nothing(
    store: Path, tmp_path: Path, capsys: pytest.CaptureFixture, option: str, value: str, message: str
) -> None:
    before = hashlib.sha256(store.read_bytes()).hexdigest()
    options = {"--db": str(store), "--by": "feature", "--period": "month", "--from": "2025-01-01", "--to": "2025-02-28"}
    options[option] = value
    if option == "--compare-from":
        options["--compare-to"] = "2024-12-31"
    with pytest.raises(SystemExit) as exit_info:
        main(["table", *(item for pair in options.items() for item in pair), "--out", str(tmp_path / "out.csv")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and message in err, err
    assert not (tmp_path / "out.csv").exists()
    assert hashlib.sha256(store.read_bytes()).hexdigest() == before


@pytest.mark.parametrize(
    "args",
    [
        ["--db", "../../../../etc/passwd"],
        ["--db", "x'; DROP TABLE visit_counts; --.duckdb"],
        ["--exports", "../../nowhere<script>"],
        ["--config", "/etc/passwd"],
    ],
)
def test_audit_hostile_arguments_cannot_run(store: Path, tmp_path: Path, args: list[str]) -> None:
    full = ["--db", str(store), *args] if args[0] != "--db" else args
    done = subprocess.run(
        [sys.executable, "-m", "audit", *full, "--export-log", str(tmp_path / "none.log")],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("audit cannot run: ") and len(done.stderr.strip().splitlines()) == 1
    assert "root:" not in done.stderr  # nothing of /etc/passwd is quoted
