"""The synthetic raw export: reproducible bytes, the contract's columns and spellings, guardians, defects.

Files are read back with the csv and json modules; what counts as clean is
decided here from the contract (raw-export-spec.md), not by the generator.
"""

from __future__ import annotations

import csv
import gettext
import gzip
import io
import json
import re
import statistics
from collections import Counter
from datetime import date, datetime
from functools import cache
from pathlib import Path

import pycountry
import pytest
from conftest import DOB_FORMATS, KST, birth_date, submitted_day

import etl.generate as generate_module
from contract import COUNTRY_SHORT_NAMES, EARLIEST_BIRTH_YEAR, EARLIEST_EVENT_DATE, KNOWN_RAW_COLUMNS
from etl import lookups
from etl.generate import generate
from etl.lookups import COUNTRY_ALIASES

SEED = 7
EXTRA_COLUMNS = ("phone", "passport_no", "memo", "coupon_code")
FEATURE_SPELLINGS = {
    "free_estimate",
    "self_diagnosis",
    "coupon",
    "Free Estimate",
    "Self-Diagnosis",
    "Coupon",
    "무료견적",
    "자가진단",
    "쿠폰",
}
GENDER_SPELLINGS = {"f", "m", "female", "male", "여", "남", "여성", "남성", "other", ""}  # case-folded
CSV_DEFECTS = {"submitted_at", "feature", "date_of_birth", "residing_country", "gender", "field_count", "encoding"}
JSONL_DEFECTS = {"submitted_at", "feature", "date_of_birth", "residing_country", "gender", "json"}


@cache
def country_spellings() -> frozenset[str]:
    """Case-folded ISO codes, English and Korean names (pycountry) and the aliases people type."""
    korean = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ko"])
    names = set(COUNTRY_ALIASES) | {name for short in COUNTRY_SHORT_NAMES.values() for name in short.values()}
    for country in pycountry.countries:
        names |= {country.alpha_2, country.alpha_3, country.name, korean.gettext(country.name)}
        names |= {getattr(country, attr) for attr in ("common_name", "official_name") if hasattr(country, attr)}
    return frozenset(name.casefold() for name in names)


def file_bytes(path: Path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.name.endswith(".gz") else data


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    """Header (names trimmed and lower-cased, as the contract allows) and rows; bad UTF-8 kept as surrogates."""
    text = file_bytes(path).decode("utf-8", errors="surrogateescape").removeprefix("\ufeff")
    header, *rows = csv.reader(io.StringIO(text, newline=""))
    return [name.strip().lower() for name in header], rows


def read_jsonl(path: Path) -> list[dict[str, str] | None]:
    """One record per line, blanks (null) as ""; None for a line that is not JSON."""
    records: list[dict[str, str] | None] = []
    for line in file_bytes(path).split(b"\n")[:-1]:
        try:
            records.append({key: value or "" for key, value in json.loads(line).items()})
        except json.JSONDecodeError:
            records.append(None)
    return records


def field_defect(record: dict[str, str]) -> str | None:
    """The first field a loader must treat as missing or unusable, or None for a clean row."""
    try:
        day = submitted_day(record["submitted_at"])
    except ValueError:
        return "submitted_at"
    if day < date.fromisoformat(EARLIEST_EVENT_DATE):
        return "submitted_at"
    if record["feature"] not in FEATURE_SPELLINGS:
        return "feature"
    birth = birth_date(record["date_of_birth"])
    if birth is None or birth.year < EARLIEST_BIRTH_YEAR or birth > day:
        return "date_of_birth"
    if record["residing_country"].strip().casefold() not in country_spellings():
        return "residing_country"
    if record["gender"].casefold() not in GENDER_SPELLINGS:
        return "gender"
    return None


def csv_defect(header: list[str], row: list[str]) -> str | None:
    try:
        "".join(row).encode("utf-8")
    except UnicodeEncodeError:
        return "encoding"
    if len(row) != len(header):
        return "field_count"
    return field_defect(dict(zip(header, row, strict=True)))


def clean_records(header: list[str], rows: list[list[str]]) -> list[dict[str, str]]:
    return [dict(zip(header, row, strict=True)) for row in rows if csv_defect(header, row) is None]


@pytest.fixture(scope="module")
def sample(tmp_path_factory: pytest.TempPathFactory) -> tuple[generate_module.GenerateSummary, list[str], list]:
    """A 20k-row CSV export with the default 2% of dirty rows."""
    summary = generate(tmp_path_factory.mktemp("sample") / "export.csv", 20_000, SEED)
    return (summary, *read_csv(summary.path))


@pytest.mark.parametrize("name", ["export.csv", "export.jsonl", "export.csv.gz", "export.jsonl.gz"])
def test_same_seed_gives_the_same_bytes(tmp_path: Path, name: str) -> None:
    first = generate(tmp_path / "a" / name, 3_000, SEED)
    second = generate(tmp_path / "b" / name, 3_000, SEED)
    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.bytes_written == len(first.path.read_bytes())


def test_another_seed_gives_other_bytes(tmp_path: Path) -> None:
    first = generate(tmp_path / "a.csv", 1_000, SEED)
    second = generate(tmp_path / "b.csv", 1_000, SEED + 1)
    assert first.path.read_bytes() != second.path.read_bytes()


@pytest.mark.parametrize("plain", ["export.csv", "export.jsonl"])
def test_gzip_holds_the_same_bytes_and_no_timestamp_or_name(tmp_path: Path, plain: str) -> None:
    unpacked = generate(tmp_path / plain, 2_000, SEED).path.read_bytes()
    packed = generate(tmp_path / f"{plain}.gz", 2_000, SEED).path.read_bytes()
    assert gzip.decompress(packed) == unpacked
    flags, mtime = packed[3], packed[4:8]
    assert flags & 0x08 == 0, "no file name in the gzip header"
    assert mtime == b"\0\0\0\0"


def test_header_has_every_contract_column(sample, tmp_path: Path) -> None:
    _, header, _ = sample
    assert set(header) == set(KNOWN_RAW_COLUMNS) | set(EXTRA_COLUMNS)
    bare_header, _ = read_csv(generate(tmp_path / "bare.csv", 10, SEED, extra_columns=False).path)
    assert bare_header == list(KNOWN_RAW_COLUMNS)
    records = read_jsonl(generate(tmp_path / "export.jsonl", 10, SEED, dirty_share=0).path)
    assert all(set(record) == set(KNOWN_RAW_COLUMNS) | set(EXTRA_COLUMNS) for record in records)


@pytest.mark.parametrize("name", ["export.csv", "export.jsonl"])
def test_row_count_is_exact_across_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    monkeypatch.setattr(generate_module, "_CHUNK_ROWS", 1_000)
    summary = generate(tmp_path / name, 3_500, SEED, dirty_share=0)
    if name.endswith(".csv"):
        header, rows = read_csv(summary.path)
        records = [dict(zip(header, row, strict=True)) for row in rows]
    else:
        records = read_jsonl(summary.path)
    assert summary.rows == len(records) == 3_500
    assert [int(r["submission_id"]) for r in records] == list(range(100_001, 103_501))
    # Rows come in time order (to the second), chunk boundaries included.
    moments = [datetime.fromisoformat(r["submitted_at"]) for r in records]
    seconds = [(m if m.tzinfo else m.replace(tzinfo=KST)).timestamp() // 1 for m in moments]
    assert seconds == sorted(seconds)


def test_every_spelling_of_the_contract_occurs(sample) -> None:
    _, header, rows = sample
    values = {name: Counter(row[i] for row in rows if len(row) == len(header)) for i, name in enumerate(header)}
    assert set(values["feature"]) >= FEATURE_SPELLINGS
    countries = set(values["residing_country"])
    assert {"CN", "CHN", "China", "중국", "US", "USA", "United States", "미국", "일본", "러시아", "몽골"} <= countries
    assert {"KOR", "대한민국", "Korea, Republic of", "Russia", "Vietnam", "UK"} <= countries
    assert any(c != c.strip() for c in countries) and any(c.islower() for c in countries)
    assert {"F", "M", "female", "Male", "여", "남", "여성", "남성", "other", ""} <= set(values["gender"])
    births = values["date_of_birth"]
    for layout in DOB_FORMATS.values():
        pattern = re.escape(layout).replace("%Y", r"\d{4}").replace("%m", r"\d\d").replace("%d", r"\d\d")
        assert any(re.fullmatch(pattern, b) for b in births), layout
    stamp = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d"
    endings = Counter(
        re.fullmatch(stamp + r"(\.\d{3})?(.*)", t).group(2) for t in values["submitted_at"] if re.match(stamp, t)
    )
    assert {"", "Z", "+09:00", "+08:00", "-05:00", "+07:00"} <= set(endings)
    addresses = values["ip_address"]
    assert any(":" in a for a in addresses) and any(re.fullmatch(r"(\d{1,3}\.){3}\d{1,3}", a) for a in addresses)
    messages = values["message"]
    assert any("\n" in m for m in messages) and any('"' in m for m in messages) and any("," in m for m in messages)
    assert any("@" in m for m in messages), "some messages hold an email address"


def test_clean_spellings_are_known_to_the_etl(sample) -> None:
    """Every clean spelling the generator writes is one the ETL's lookups map to a code."""
    _, header, rows = sample
    records = clean_records(header, rows)
    countries = lookups.country_spellings()
    assert all(lookups.normalize_key(r["feature"]) in lookups.FEATURE_SPELLINGS for r in records)
    assert all(lookups.normalize_key(r["gender"]) in lookups.GENDER_SPELLINGS for r in records if r["gender"])
    unknown = {r["residing_country"] for r in records if lookups.normalize_key(r["residing_country"]) not in countries}
    assert not unknown


def test_guardians_exactly_for_under_14s(sample) -> None:
    _, header, rows = sample
    minors = 0
    for record in clean_records(header, rows):
        day, birth = submitted_day(record["submitted_at"]), birth_date(record["date_of_birth"])
        age = day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))
        guardian = [record["guardian_name"], record["guardian_email"], record["guardian_phone"]]
        if age < 14:
            minors += 1
            assert all(guardian), record["submission_id"]
        else:
            assert not any(guardian), record["submission_id"]
    assert 0.01 < minors / len(rows) < 0.06


def test_dirty_rows_at_the_requested_share(sample) -> None:
    summary, header, rows = sample
    kinds = Counter(csv_defect(header, row) for row in rows)
    dirty = len(rows) - kinds.pop(None)
    assert dirty == summary.dirty_rows
    assert 0.015 < dirty / len(rows) < 0.025
    assert set(kinds) == CSV_DEFECTS
    assert max(kinds.values()) < 2 * min(kinds.values()), "kinds have roughly equal shares"


def test_jsonl_defects_include_broken_lines(tmp_path: Path) -> None:
    summary = generate(tmp_path / "export.jsonl", 6_000, SEED, dirty_share=0.1)
    kinds = Counter("json" if record is None else field_defect(record) for record in read_jsonl(summary.path))
    assert summary.rows - kinds.pop(None) == summary.dirty_rows
    assert 0.08 < summary.dirty_rows / summary.rows < 0.12
    assert set(kinds) == JSONL_DEFECTS


def test_no_defects_when_dirty_share_is_zero(tmp_path: Path) -> None:
    summary = generate(tmp_path / "export.csv", 3_000, SEED, dirty_share=0)
    header, rows = read_csv(summary.path)
    assert summary.dirty_rows == 0
    assert all(csv_defect(header, row) is None for row in rows)


def _ending(timestamp: str) -> str:
    """How a timestamp ends: its offset, 'Z', '.mmmZ' (milliseconds, then Z) or '' (none: Korea time)."""
    return re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d((\.\d{3})?Z|[+-]\d\d:\d\d|)", timestamp).group(1)


def test_a_real_back_office_mix_spells_the_same_submissions_otherwise(tmp_path: Path) -> None:
    """--mix real writes the rows the site's own export has (same seed), but 40% of the timestamps end
    in Z, -05:00 or nothing, and half the dates of birth use dots or slashes."""
    site_header, site_rows = read_csv(generate(tmp_path / "site.csv", 20_000, SEED, dirty_share=0).path)
    header, rows = read_csv(generate(tmp_path / "real.csv", 20_000, SEED, dirty_share=0, mix="real").path)
    assert header == site_header
    stamp, birth = header.index("submitted_at"), header.index("date_of_birth")
    for site, real in zip(site_rows, rows, strict=True):
        assert [v for i, v in enumerate(real) if i not in (stamp, birth)] == [
            v for i, v in enumerate(site) if i not in (stamp, birth)
        ]
        moments = [datetime.fromisoformat(row[stamp]) for row in (site, real)]
        seconds = [(m if m.tzinfo else m.replace(tzinfo=KST)).timestamp() // 1 for m in moments]
        assert seconds[0] == seconds[1], "the same instant, on another clock"
        assert birth_date(real[birth]) == birth_date(site[birth])
    endings = Counter(_ending(row[stamp]) for row in rows)
    rewritten = (endings["Z"] + endings["-05:00"] + endings[""]) / len(rows)
    assert 0.45 < rewritten < 0.55, "40% rewritten, plus the site's own rows without offset and from US Eastern"
    assert 0.12 < endings["Z"] / len(rows) < 0.15
    separators = Counter(row[birth][4] for row in rows)
    assert 0.48 < (separators["."] + separators["/"]) / len(rows) < 0.52
    assert min(separators["."], separators["/"]) / len(rows) > 0.23


def test_unknown_mix_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="mix"):
        generate(tmp_path / "export.csv", 10, SEED, mix="messy")


def test_coupon_campaigns_make_spikes(sample) -> None:
    _, header, rows = sample
    weeks = Counter(
        submitted_day(r["submitted_at"]).isocalendar()[:2]
        for r in clean_records(header, rows)
        if r["feature"] in {"coupon", "Coupon", "쿠폰"}
    )
    assert max(weeks.values()) > 2.5 * statistics.median(weeks.values())


def test_period_follows_start_and_end(tmp_path: Path) -> None:
    summary = generate(tmp_path / "export.csv", 2_000, SEED, start=date(2025, 1, 1), end=date(2025, 3, 31))
    header, rows = read_csv(summary.path)
    days = {submitted_day(r["submitted_at"]) for r in clean_records(header, rows)}
    assert min(days) >= date(2025, 1, 1) and max(days) <= date(2025, 3, 31)


@pytest.mark.parametrize("name", ["export.txt", "export.csv.zip", "export.json"])
def test_unknown_format_is_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(ValueError, match=r"\.csv, \.jsonl"):
        generate(tmp_path / name, 10)
