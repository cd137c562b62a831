"""Shared helpers of the ETL tests: raw files, the CLI as a user runs it, the store read back; the dashboard fixtures of the browser tests.

Expected values in the tests are written out or computed here in plain Python,
never by calling the code under test.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import json
import os
import re
import secrets
import shutil
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb
import pytest
from cellkey import SMALL as SMALL_MARK
from cellkey import published_from
from hypothesis import settings
from playwright.sync_api import Browser, expect, sync_playwright

from contract import DIMENSIONS, KNOWN_RAW_COLUMNS, TIMEZONE, korea_today
from etl.generate import generate
from etl.generate_log import generate_log
from etl.load import load
from harness.browser import CHROMIUM, WAIT_MS, is_foreign, launch_options
from harness.etl_cli import WarmEtl
from harness.server import streamlit_server

REPO = Path(__file__).resolve().parents[1]
# GANGNAM_LONG=1 runs the long forms of the fault, load and fuzz tests (docs/reliability.md); CI runs the short ones.
LONG = os.environ.get("GANGNAM_LONG") == "1"
# One seed for every random choice of the suite (the crash test's kill moments, the fuzz): fixed unless
# GANGNAM_SEED says otherwise, drawn anew in the long mode; the report header prints it to run again.
# Set in the environment so that xdist's workers, started after this import, share it.
SEED = int(os.environ.setdefault("GANGNAM_SEED", str(secrets.randbelow(2**31) if LONG else 20_251_118)))
# A frozen "today" for the tests and every process they start (contract.korea_today honours GANGNAM_TODAY):
# what a test expects of "the last 30 days" or of how weeks fall in a window is the same on any day, and
# no test sees Korea's date turn under it. Set GANGNAM_TODAY=YYYY-MM-DD to run the suite on another day.
os.environ.setdefault("GANGNAM_TODAY", "2026-11-18")

# hypothesis: the same examples on every run, unless long (where a failure prints its @seed)
settings.register_profile("ci", derandomize=True, print_blob=True)
settings.register_profile("long", derandomize=False, print_blob=True)
settings.load_profile("long" if LONG else "ci")


def examples(short: int, long: int) -> int:
    """How many hypothesis examples a property test draws: `short` by default, `long` under GANGNAM_LONG=1."""
    return long if LONG else short


def pytest_report_header() -> list[str]:
    return [
        f"gangnam: GANGNAM_TODAY={os.environ['GANGNAM_TODAY']} GANGNAM_SEED={SEED} "
        f"GANGNAM_LONG={int(LONG)} hypothesis profile {'long' if LONG else 'ci'}"
    ]


# The raw export's columns as the back office writes them (raw-export-spec.md).
RAW_HEADER = KNOWN_RAW_COLUMNS
REJECTS_HEADER = ["file", "row", "reason"]
# One ETL run's bound: a hang fails the test instead of the CI job; generous for a busy machine.
ETL_TIMEOUT = 300

Row = Mapping[str, str] | Sequence[str]


KST = ZoneInfo(TIMEZONE)
# The contract's spellings of a date of birth (raw-export-spec.md)
DOB_FORMATS = {"YYYY-MM-DD": "%Y-%m-%d", "YYYY.MM.DD": "%Y.%m.%d", "YYYY/MM/DD": "%Y/%m/%d"}


def submitted_day(value: str) -> date:
    """The Korea calendar day of an ISO 8601 timestamp, read as the contract says (no offset: Korea time)."""
    moment = datetime.fromisoformat(value)
    return (moment.astimezone(KST) if moment.tzinfo else moment).date()


def birth_date(value: str) -> date | None:
    """A date of birth in one of the contract's formats, or None."""
    for layout in DOB_FORMATS.values():
        try:
            return datetime.strptime(value, layout).date()
        except ValueError:
            pass
    return None


def raw_row(**fields: str) -> dict[str, str]:
    """A raw row that loads (a valid timestamp and feature), with `fields` on top."""
    return {"submitted_at": "2025-03-04T14:22:05+09:00", "feature": "coupon", **fields}


def csv_text(rows: Iterable[Row], header: Sequence[str] | None = RAW_HEADER, newline: str = "\n") -> str:
    """RFC 4180 text of a header and rows; a mapping row is laid out by the header."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator=newline)
    if header is not None:
        writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(column, "") for column in header] if isinstance(row, Mapping) else row)
    return out.getvalue()


def write_csv(
    tmp_path: Path,
    rows: Iterable[Row],
    header: Sequence[str] | None = RAW_HEADER,
    name: str = "export.csv",
    newline: str = "\n",
) -> Path:
    """Write a raw CSV export (gzip-compressed when `name` ends with .gz); header None writes none."""
    return write_bytes(tmp_path / name, csv_text(rows, header, newline).encode("utf-8"))


def write_jsonl(tmp_path: Path, records: Iterable[Mapping[str, object] | str], name: str = "export.jsonl") -> Path:
    """Write a JSON Lines export; a str record is written as the line itself (for broken lines)."""
    lines = [record if isinstance(record, str) else json.dumps(record, ensure_ascii=False) for record in records]
    return write_bytes(tmp_path / name, "".join(line + "\n" for line in lines).encode("utf-8"))


def write_bytes(path: Path, data: bytes) -> Path:
    """Write bytes as they are, gzip-compressed when the name ends with .gz."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


_WARM_ETL = WarmEtl()


def run_etl(*args: object, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> tuple[int, str, str]:
    """Run `python -m etl ARGS` as a user would (forked from a warm interpreter); returns (exit code, stdout, stderr)."""
    code, out, err, _ = _WARM_ETL.run(args, cwd or REPO, {**os.environ, **(env or {})}, timeout=ETL_TIMEOUT)
    return code, out, err


def run_etl_measured(
    *args: object, cwd: Path | None = None, env: Mapping[str, str] | None = None
) -> tuple[int, str, str, int]:
    """run_etl, also returning the run's peak resident memory in bytes (Linux); `env` adds variables."""
    return _WARM_ETL.run(args, cwd or REPO, {**os.environ, **(env or {})}, timeout=ETL_TIMEOUT, measure=True)


def store_rows(db: Path) -> list[tuple[str, str, str, str, str, int]]:
    """visit_counts read through a read-only connection, sorted, dates as ISO text."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select event_date::varchar, feature, country, gender, age_group, visits from visit_counts order by all"
        ).fetchall()


def store_batches(db: Path) -> list[dict[str, object]]:
    """The batch log read through a read-only connection, oldest first; times as aware UTC datetimes."""
    with duckdb.connect(str(db), read_only=True) as con:
        # epoch seconds: fetching TIMESTAMPTZ as such would need pytz
        cursor = con.execute(
            "select * replace (epoch(loaded_at) as loaded_at, epoch(source_destroyed_at) as source_destroyed_at) "
            "from batches order by batch_id"
        )
        names = [column[0] for column in cursor.description]
        batches = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    for batch in batches:
        for key in ("loaded_at", "source_destroyed_at"):
            if batch[key] is not None:
                batch[key] = datetime.fromtimestamp(batch[key], UTC)
    return batches


# A deterministic record-key sum for `count` records of one cell, `tag` naming the cell: count x 127 plus a
# fixed 0..128 (a hash of the tag), so always within 0..255 x count, as the audit's domain check demands.
def fixed_key_sum(count: int, tag: str) -> int:
    return 0 if count == 0 else count * 127 + int(hashlib.sha256(tag.encode()).hexdigest(), 16) % 129


def fix_record_keys(db: Path) -> None:
    """Replace a published store's random key sums with deterministic ones, so that its numbers can be golden.

    Record keys are drawn at random at each load (issue 12), so two loads of one file publish different
    numbers. Rewritten in the store file: batch_counts.key_sum per row (`fixed_key_sum` of the batch and
    cell), visit_counts.key_sum as their sum per cell, and batches.rejected_key_sum per batch: the audit's
    domain and add-up checks still hold. Call it right after the load, before anything reads the store.
    """
    dims = ", ".join(DIMENSIONS)
    with duckdb.connect(str(db)) as con:
        rows = con.execute(f"select batch_id, {dims}, visits from batch_counts").fetchall()
        keyed = [(*row[:-1], fixed_key_sum(row[-1], "|".join(map(str, row[:-1])))) for row in rows]
        con.execute(f"create temp table fixed as select batch_id, {dims}, key_sum from batch_counts limit 0")
        con.executemany(f"insert into fixed values ({', '.join('?' * (len(DIMENSIONS) + 2))})", keyed)
        match = " and ".join(f"t.{d} is not distinct from f.{d}" for d in ("batch_id", *DIMENSIONS))
        con.execute(f"update batch_counts t set key_sum = f.key_sum from fixed f where {match}")
        cells = " and ".join(f"v.{d} is not distinct from s.{d}" for d in DIMENSIONS)
        con.execute(
            f"update visit_counts v set key_sum = s.key_sum from (select {dims}, sum(key_sum)::bigint as key_sum "
            f"from batch_counts group by all) s where {cells}"
        )
        batches = con.execute("select batch_id, rows_rejected from batches").fetchall()
        con.executemany(
            "update batches set rejected_key_sum = ? where batch_id = ?",
            [(fixed_key_sum(rejected, f"rejected|{batch}"), batch) for batch, rejected in batches],
        )


def read_rejects(path: Path) -> list[list[str]]:
    """The reject report as CSV rows, header included."""
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.reader(handle))


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def folder_snapshot(folder: Path) -> dict[str, str]:
    """Every file under a folder -> its sha256, to show that nothing changed."""
    return {str(path.relative_to(folder)): sha256_of(path) for path in sorted(folder.rglob("*")) if path.is_file()}


# -- a store holding one batch, for tests that load bad input into it ------------------------------

# The CLI's last line: files loaded, skipped, refused; rows loaded, rejected.
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


# -- the dashboard in a browser: one demo store, one `streamlit run` and one Chromium per xdist worker --------

DEMO_ROWS = 20_000  # enough for every page to draw charts and a map of many countries


@dataclass(frozen=True)
class DemoStore:
    path: Path
    first: date
    last: date

    def top_countries(self, start: date, end: date) -> list[tuple[str, int | str]]:
        """Countries by their published submissions in [start, end] (as the Countries table sorts), most first.

        The published count is the true one plus the ptable's noise for the country's key sum, worked out by
        tests/cellkey.py from the store's cells; `unknown` is left out.
        """
        with duckdb.connect(str(self.path), read_only=True) as con:
            rows = con.execute(
                "select country, sum(visits)::bigint, sum(key_sum)::bigint from visit_counts "
                "where event_date between ? and ? and country <> 'unknown' group by country",
                [start, end],
            ).fetchall()
        published = published_from({(country,): (visits, key_sum) for country, visits, key_sum in rows})
        shown = [(country, value) for (country,), value in published.items() if value != SMALL_MARK]
        return sorted(shown, key=lambda item: item[1], reverse=True)


@dataclass(frozen=True)
class Server:
    url: str
    store: DemoStore
    export_log: Path


@dataclass
class Traffic:
    """Every request the pages made, and those that would have left loopback (aborted)."""

    urls: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)

    def foreign(self) -> list[str]:
        return [url for url in self.urls if is_foreign(url)]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium; without it the browser tests skip, except on CI (CI=true), where they fail."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium); the browser tests need it"
        if os.environ.get("CI") == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    expect.set_options(timeout=WAIT_MS)  # expect's own default is 5 s: too short on a busy machine
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**launch_options())
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> DemoStore:
    """The demo generator's data over the three years to (frozen) today, and its access log, loaded by the ETL
    in-process."""
    return build_demo_store(tmp_path_factory.mktemp("demo_store"), DEMO_ROWS, korea_today(), access_log=True)


def build_demo_store(folder: Path, rows: int, end: date, *, access_log: bool = False) -> DemoStore:
    """The demo generator's rows over the three years to `end` (and, with `access_log`, the web server's log
    of the same traffic, gzipped), loaded by the ETL in-process."""
    db = folder / "visitors.duckdb"
    paths = [generate(folder / "demo.csv", rows, end=end).path]
    if access_log:
        generate_log(folder / "access.log.gz", rows, end=end)
        paths.append(folder / "access.log.gz")
    assert [result.status for result in load(paths, db)] == ["loaded"] * len(paths)
    with duckdb.connect(str(db), read_only=True) as con:
        first, last = con.execute("select min(event_date), max(event_date) from visit_counts").fetchone()
    return DemoStore(db, first, last)


@pytest.fixture(scope="session")
def server(browser: Browser, demo_store: DemoStore, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """`streamlit run dashboard/app.py` over the demo store, shared by the browser tests of this worker."""
    workdir = tmp_path_factory.mktemp("streamlit")
    with streamlit_server(demo_store.path, workdir) as running:
        yield Server(running.url, demo_store, workdir / "exports.log")


@pytest.fixture
def traffic() -> Traffic:
    return Traffic()
