"""Every normalization of a kept field, run through the real staging SQL.

Most tests read the `staged` view of an in-memory staging connection (one per
module: it is the slow part) over a tiny raw file; a few load through
`etl.load.load` and read visit_counts, to show the same values reach the store.
"""

from __future__ import annotations

import csv
import random
from collections import Counter
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pycountry
import pytest
from conftest import SEED, birth_date, examples, raw_row, store_rows, submitted_day, write_bytes, write_csv, write_jsonl
from hypothesis import given, settings
from hypothesis import strategies as st

from contract import AGE_BANDS, EARLIEST_BIRTH_YEAR, korea_today, korean_country_name
from etl.generate import generate
from etl.load import load
from etl.lookups import country_spellings, lookup_tables, normalize_key
from etl.sources import inspect_source
from etl.sql_files import sql
from etl.stage import staging_connection

STAGED_COLUMNS = ("row_no", "event_date", "feature", "country", "gender", "age_group", "reject_reason")


@pytest.fixture(scope="module")
def staging() -> Iterator[duckdb.DuckDBPyConnection]:
    con = staging_connection()
    yield con
    con.close()


def staged(con: duckdb.DuckDBPyConnection, path: Path) -> list[dict[str, object]]:
    """The staged rows of one raw file, in file order, dates as ISO text."""
    source = inspect_source(path)
    con.execute(f"create or replace temp view raw_source as {source.relation_sql(numbered=True)}")
    con.execute(f"create or replace temp view staged as {sql('staging/staging')}")
    rows = con.execute(
        "select row_no, event_date::varchar, feature, country, gender, age_group, reject_reason "
        "from staged order by row_no"
    ).fetchall()
    return [dict(zip(STAGED_COLUMNS, row, strict=True)) for row in rows]


def stage_one(con: duckdb.DuckDBPyConnection, tmp_path: Path, **fields: str) -> dict[str, object]:
    """Stage one raw row (a valid timestamp and feature unless given) and return its staged values."""
    (row,) = staged(con, write_csv(tmp_path, [raw_row(**fields)]))
    return row


# -- feature ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("free_estimate", "free_estimate"),
        ("self_diagnosis", "self_diagnosis"),
        ("coupon", "coupon"),
        ("Free Estimate", "free_estimate"),
        ("Self-Diagnosis", "self_diagnosis"),
        ("Coupon", "coupon"),
        ("무료견적", "free_estimate"),
        ("자가진단", "self_diagnosis"),
        ("쿠폰", "coupon"),
        ("FREE ESTIMATE", "free_estimate"),
        ("sElF-dIaGnOsIs", "self_diagnosis"),
        ("COUPON", "coupon"),
        ("  Free Estimate  ", "free_estimate"),
        ("\tcoupon ", "coupon"),
        (" 쿠폰 ", "coupon"),
        ("Free   Estimate", "free_estimate"),  # a run of spaces counts as one, as in normalize_key
        ("\u00a0Coupon\u00a0", "coupon"),  # no-break spaces from a spreadsheet
        ("무료\u3000견적", "free_estimate"),  # an ideographic space from a Korean keyboard
    ],
)
def test_feature_spellings(staging, tmp_path, spelling, code):
    row = stage_one(staging, tmp_path, feature=spelling)
    assert (row["feature"], row["reject_reason"]) == (code, None)


@pytest.mark.parametrize(
    ("spelling", "reason"),
    [
        ("discount", "unknown_feature"),
        ("+82-10-2468-1357", "unknown_feature"),
        ("free", "unknown_feature"),
        ("", "missing_feature"),
        ("   ", "missing_feature"),
    ],
)
def test_unparseable_feature_is_rejected(staging, tmp_path, spelling, reason):
    row = stage_one(staging, tmp_path, feature=spelling)
    assert (row["feature"], row["reject_reason"]) == (None, reason)


# -- gender -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        ("F", "female"),
        ("M", "male"),
        ("f", "female"),
        ("m", "male"),
        ("female", "female"),
        ("Male", "male"),
        ("FEMALE", "female"),
        ("여", "female"),
        ("남", "male"),
        ("여성", "female"),
        ("남성", "male"),
        ("other", "other"),
        ("Other", "other"),
        ("기타", "other"),
        (" F ", "female"),
        ("\t남성\t", "male"),
        ("", "unknown"),
        ("   ", "unknown"),
        ("garbage", "unknown"),
        ("fem", "unknown"),
        ("someone@example.com", "unknown"),
    ],
)
def test_gender_spellings(staging, tmp_path, spelling, code):
    row = stage_one(staging, tmp_path, gender=spelling)
    assert (row["gender"], row["reject_reason"]) == (code, None)


# -- country ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spelling", "code"),
    [
        # alpha-2 and alpha-3
        ("CN", "CN"),
        ("cn", "CN"),
        ("CHN", "CN"),
        ("US", "US"),
        ("USA", "US"),
        ("RUS", "RU"),
        ("VNM", "VN"),
        ("MNG", "MN"),
        ("KOR", "KR"),
        ("JP", "JP"),
        # English short names
        ("China", "CN"),
        ("United States", "US"),
        ("Japan", "JP"),
        ("Mongolia", "MN"),
        ("Viet Nam", "VN"),
        ("Russian Federation", "RU"),
        ("Kazakhstan", "KZ"),
        ("united kingdom", "GB"),
        # Korean names
        ("중국", "CN"),
        ("미국", "US"),
        ("러시아", "RU"),
        ("베트남", "VN"),
        ("몽골", "MN"),
        ("일본", "JP"),
        ("대한민국", "KR"),
        # aliases people type
        ("U.S.A.", "US"),
        ("UK", "GB"),
        ("Russia", "RU"),
        ("Vietnam", "VN"),
        ("South Korea", "KR"),
        ("Taiwan", "TW"),
        # case and spaces
        ("  china  ", "CN"),
        ("UNITED  STATES", "US"),
        ("\u00a0Japan", "JP"),
        # unrecognized
        ("", "unknown"),
        ("Narnia", "unknown"),
        ("ZZ", "unknown"),
        ("XXX", "unknown"),
        ("Quillibert Farnsworth", "unknown"),
        ("Chin", "unknown"),
    ],
)
def test_country_spellings(staging, tmp_path, spelling, code):
    row = stage_one(staging, tmp_path, residing_country=spelling)
    assert (row["country"], row["reject_reason"]) == (code, None)


def test_every_known_country_spelling_reaches_its_code_through_sql(staging, tmp_path):
    # the SQL join and the Python table must agree on all ~1,200 spellings, padded and in upper case
    spellings = sorted(country_spellings().items())
    rows = []
    for spelling, _ in spellings:
        rows.append(raw_row(residing_country=f"  {spelling} "))
        rows.append(raw_row(residing_country=spelling.upper() if spelling.isascii() else spelling))
    got = [row["country"] for row in staged(staging, write_csv(tmp_path, rows))]
    assert got == [code for _, code in spellings for _ in (1, 2)]
    assert set(got) <= {country.alpha_2 for country in pycountry.countries}


# -- timestamps and the Korea-time day --------------------------------------------------------


@pytest.mark.parametrize(
    ("submitted_at", "event_date"),
    [
        ("2025-03-31T23:30:00Z", "2025-04-01"),  # 08:30 on 1 April in Seoul
        ("2025-03-31T23:30:00+00:00", "2025-04-01"),
        ("2025-03-31T23:30:00", "2025-03-31"),  # no offset: Korea time
        ("2025-03-31 23:30:00", "2025-03-31"),
        ("2025-03-31T23:30:00+09:00", "2025-03-31"),
        ("2025-03-31T23:59:59+09:00", "2025-03-31"),
        ("2025-04-01T00:00:00+09:00", "2025-04-01"),
        ("2025-03-31T14:59:59Z", "2025-03-31"),
        ("2025-03-31T15:00:00Z", "2025-04-01"),
        ("2025-03-31T23:30:00+08:00", "2025-04-01"),  # 15:30 UTC, 00:30 in Seoul
        ("2025-03-31T22:30:00+08:00", "2025-03-31"),
        ("2025-03-31T10:30:00-05:00", "2025-04-01"),  # 15:30 UTC
        ("2025-03-31T09:59:00-05:00", "2025-03-31"),  # 14:59 UTC
        ("2025-03-31T23:30:00.123456Z", "2025-04-01"),
        ("  2025-03-04T14:22:05+09:00  ", "2025-03-04"),
        ("2025-03-04", "2025-03-04"),
        ("2000-01-01T00:00:00+09:00", "2000-01-01"),  # the first day accepted
        ("1999-12-31T15:00:00Z", "2000-01-01"),
        # the widest offsets in use: Kiribati's +14:00 and Baker Island's -12:00
        ("2025-03-31T00:30:00+14:00", "2025-03-30"),  # 10:30 UTC on 30 March, 19:30 in Seoul
        ("2025-03-31T23:30:00-12:00", "2025-04-01"),  # 11:30 UTC on 1 April, 20:30 in Seoul
        ("2025-03-31T23:30:00+0545", "2025-04-01"),  # Nepal: 17:45 UTC
        ("2025-03-31T23:30:00-0930", "2025-04-01"),
    ],
)
def test_submission_day_is_the_korea_calendar_day(staging, tmp_path, submitted_at, event_date):
    row = stage_one(staging, tmp_path, submitted_at=submitted_at)
    assert (row["event_date"], row["reject_reason"]) == (event_date, None)


@pytest.mark.parametrize(
    ("submitted_at", "reason"),
    [
        ("garbage", "bad_submitted_at"),
        ("2025-02-30T10:00:00+09:00", "bad_submitted_at"),
        ("2025-03-04T25:00:00+09:00", "bad_submitted_at"),
        ("04/03/2025 14:22", "bad_submitted_at"),
        ("1741065725", "bad_submitted_at"),
        ("2025-03-04T14:22:05+09:00 ZQTS001XK", "bad_submitted_at"),
        ("", "missing_submitted_at"),
        (" \t ", "missing_submitted_at"),
        ("1999-12-31T23:59:59+09:00", "submitted_at_out_of_range"),
        ("1970-01-01T00:00:00Z", "submitted_at_out_of_range"),
        ("2999-01-01T00:00:00+09:00", "submitted_at_out_of_range"),
        # no place keeps these offsets: a corrupt value, which DuckDB would read as a time a day off
        ("2025-03-04T14:22:05+25:00", "bad_submitted_at"),
        ("2025-03-04T14:22:05+14:01", "bad_submitted_at"),
        ("2025-03-04T14:22:05-12:30", "bad_submitted_at"),
        ("2025-03-04T14:22:05-99", "bad_submitted_at"),
        (" 2025-03-04T14:22:05+2500 ", "bad_submitted_at"),
    ],
)
def test_unparseable_timestamp_is_rejected(staging, tmp_path, submitted_at, reason):
    assert stage_one(staging, tmp_path, submitted_at=submitted_at)["reject_reason"] == reason


def test_a_submission_dated_tomorrow_in_korea_is_clock_skew_the_day_after_is_corrupt(tmp_path):
    staging = staging_connection()  # its own: the bounds are set from the date when it is made
    today = korea_today()  # the suite's frozen day, which the ETL reads too
    tomorrow, after = today + timedelta(days=1), today + timedelta(days=2)
    rows = [
        raw_row(submitted_at=f"{today}T12:00:00+09:00"),
        raw_row(submitted_at=f"{tomorrow}T12:00:00+09:00"),
        raw_row(submitted_at=f"{after}T12:00:00+09:00"),
    ]
    got = [(row["event_date"], row["reject_reason"]) for row in staged(staging, write_csv(tmp_path, rows))]
    assert got == [(str(today), None), (str(tomorrow), None), (str(after), "submitted_at_out_of_range")]


# -- dates of birth and age groups ------------------------------------------------------------

ON_15_JUNE_2025 = "2025-06-15T12:00:00+09:00"


@pytest.mark.parametrize(
    ("date_of_birth", "age_group"),
    [
        ("2025-06-15", "0-13"),  # born that day: age 0
        ("2011-06-16", "0-13"),  # 14th birthday tomorrow: still 13
        ("2011-06-15", "14-19"),  # 14th birthday today
        ("2005-06-16", "14-19"),  # 19
        ("2005-06-15", "20-29"),  # 20
        ("1995-06-16", "20-29"),  # 29
        ("1995-06-15", "30-39"),
        ("1985-06-16", "30-39"),
        ("1985-06-15", "40-49"),
        ("1975-06-16", "40-49"),
        ("1975-06-15", "50-59"),
        ("1965-06-16", "50-59"),
        ("1965-06-15", "60-69"),
        ("1955-06-16", "60-69"),
        ("1955-06-15", "70+"),
        ("1900-01-01", "70+"),  # 125, the earliest year accepted
        ("1899-12-31", "unknown"),  # before 1900: a typing error
        ("2025-06-16", "unknown"),  # born after the submission
        ("2099-01-01", "unknown"),  # in the future
        ("", "unknown"),
        ("15/06/1990", "unknown"),
        ("1990-02-30", "unknown"),
        ("1990-13-01", "unknown"),
        ("ZQDOB001XK", "unknown"),
        ("infinity", "unknown"),  # DuckDB's strptime reads these three words as 1900-01-01
        ("-infinity", "unknown"),
        (" epoch ", "unknown"),
        ("1900.01.01", "70+"),
    ],
)
def test_age_group_on_the_submission_date(staging, tmp_path, date_of_birth, age_group):
    row = stage_one(staging, tmp_path, submitted_at=ON_15_JUNE_2025, date_of_birth=date_of_birth)
    assert (row["age_group"], row["reject_reason"]) == (age_group, None)


@pytest.mark.parametrize("date_of_birth", ["1995-05-06", "1995.05.06", "1995/05/06", " 1995-05-06 "])
def test_the_three_date_of_birth_formats(staging, tmp_path, date_of_birth):
    # the 30th birthday is 6 May 2025
    on_birthday = stage_one(staging, tmp_path, submitted_at="2025-05-06T09:00:00+09:00", date_of_birth=date_of_birth)
    day_before = stage_one(staging, tmp_path, submitted_at="2025-05-05T09:00:00+09:00", date_of_birth=date_of_birth)
    assert (on_birthday["age_group"], day_before["age_group"]) == ("30-39", "20-29")


@pytest.mark.parametrize(
    ("submitted_at", "age_group"),
    [
        ("2022-02-28T12:00:00+09:00", "0-13"),  # no 29 Feb in 2022: the birthday comes on 1 March
        ("2022-03-01T12:00:00+09:00", "14-19"),
        ("2024-02-28T12:00:00+09:00", "14-19"),
        ("2021-02-28T12:00:00+09:00", "0-13"),
    ],
)
def test_a_29_february_birthday(staging, tmp_path, submitted_at, age_group):
    assert stage_one(staging, tmp_path, submitted_at=submitted_at, date_of_birth="2008-02-29")["age_group"] == age_group


@pytest.mark.parametrize(
    ("submitted_at", "age_group"),
    [
        ("2025-03-31T23:30:00Z", "14-19"),  # 1 April in Seoul: the 14th birthday
        ("2025-03-31T23:30:00", "0-13"),  # 31 March in Seoul: still 13
    ],
)
def test_age_is_counted_on_the_korea_date(staging, tmp_path, submitted_at, age_group):
    assert stage_one(staging, tmp_path, submitted_at=submitted_at, date_of_birth="2011-04-01")["age_group"] == age_group


# What the contract's three formats give through strptime, on the trimmed value: the rule that
# birth_date.sql follows with a faster cast for most values (and with 1900-01-01 only when written)
STRPTIME_BIRTH_DATE = """nullif(
    try_strptime(trim(value, E' \\t\\r\\n'), ['%Y-%m-%d', '%Y.%m.%d', '%Y/%m/%d']),
    case when not contains(value, '1900') then timestamp '1900-01-01' end
)::date"""


def date_like_texts(count: int, seed: int) -> list[str]:
    """Texts shaped like dates, most in a contract format, the others one change away from it: a number
    of another width, a sign or padding, another separator, something after; and texts of any shape."""
    rng = random.Random(seed)

    def either(usual: str, *others: str) -> str:
        return usual if rng.random() < 0.8 else rng.choice(others)

    def number(width: int, largest: int) -> str:
        width = int(either(str(width), *"1235"))
        return f"{rng.randint(0, min(largest, 10**width - 1)):0{width}d}"

    texts = ["infinity", "-infinity", " epoch ", "Infinity", "today", "allballs", "1900-01-01", ""]
    for _ in range(count):
        if rng.random() < 0.1:
            texts.append("".join(rng.choices("0123456789-./ \t+:TZx\u0663\uff10", k=rng.randint(8, 12))))
            continue
        separator = rng.choice("-./")
        texts.append(
            either("", "-", "+", " ", "\t")
            + number(4, 9999)
            + separator
            + number(2, 13)
            + either(separator, "-", ".", "/", " ", "\\", "", "_")
            + number(2, 32)
            + either("", " ", "\t", "\r\n", "\u00a0", " BC", " (BC)", "T00:00", "Z")
        )
    return texts


def test_birth_date_gives_what_strptime_gives(staging):
    values = date_like_texts(examples(50_000, 1_000_000), SEED)
    differ = staging.execute(
        f"select value, birth_date(value) as fast, {STRPTIME_BIRTH_DATE} as rule "
        "from unnest(?) as t(value) where fast is distinct from rule limit 10",
        [values],
    ).fetchall()
    assert differ == []
    found = staging.execute("select count(birth_date(value)) from unnest(?) as t(value)", [values]).fetchone()[0]
    assert found > len(values) / 4, "many of the texts are dates"


@pytest.mark.parametrize(
    ("value", "born"),
    [
        ("1995-05-06", date(1995, 5, 6)),
        ("1995.05.06", date(1995, 5, 6)),
        ("1995/05/06", date(1995, 5, 6)),
        (" 1995/05/06\t", date(1995, 5, 6)),
        ("2000-02-29", date(2000, 2, 29)),
        ("1900.01.01", date(1900, 1, 1)),
        ("1995-5-6", date(1995, 5, 6)),
        ("1999-02-29", None),
        ("1995.05-06", None),  # two separators: not a contract format, though a cast would take it
        ("1995 05 06", None),
        ("-995-05-06", None),  # a year before Christ, to a cast
        ("infinity", None),
    ],
)
def test_birth_date_of_each_format(staging, value, born):
    got = staging.execute(f"select birth_date(value), {STRPTIME_BIRTH_DATE} from (select ? as value)", [value])
    assert got.fetchone() == (born, born)


def _age_group(day, born) -> str:
    """The contract's age band on the submission day, in plain Python."""
    if born is None or born.year < EARLIEST_BIRTH_YEAR or born > day:
        return "unknown"
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return next(label for label, low, high in AGE_BANDS if low <= age and (high is None or age <= high))


def _ending(timestamp: str) -> str:
    """The spelling of a timestamp's offset: +HH:MM (the site's or another), Z, .mmmZ, or none."""
    if timestamp.endswith("Z"):
        return ".mmmZ" if timestamp[-5] == "." else "Z"
    return timestamp[-6:] if timestamp[-6] in "+-" else "none"


def test_every_spelling_of_a_real_back_office_export_is_read_as_the_contract_says(staging, tmp_path):
    """etl generate --mix real: each row's Korea day and age group, per spelling of its timestamp and its
    date of birth, are what Python reads from the contract."""
    path = generate(tmp_path / "real.csv", 5_000, seed=5, dirty_share=0, mix="real", end=korea_today()).path
    with path.open(encoding="utf-8-sig", newline="") as handle:
        raws = [{key.strip().lower(): value for key, value in row.items()} for row in csv.DictReader(handle)]
    rows = staged(staging, path)
    assert len(rows) == len(raws)
    seen, wrong = Counter(), Counter()
    for raw, row in zip(raws, rows, strict=True):
        day = submitted_day(raw["submitted_at"])
        expected = (str(day), _age_group(day, birth_date(raw["date_of_birth"])), None)
        spelling = (_ending(raw["submitted_at"]), raw["date_of_birth"][4])
        seen[spelling] += 1
        wrong[spelling] += (row["event_date"], row["age_group"], row["reject_reason"]) != expected
    assert {ending for ending, _ in seen} >= {"+09:00", "Z", ".mmmZ", "-05:00", "none", "+08:00"}
    assert {separator for _, separator in seen} == {"-", ".", "/"}
    assert not +wrong, f"rows read otherwise than the contract says, by spelling: {dict(+wrong)}"


def test_a_real_back_office_mix_stores_what_the_site_spelling_stores(tmp_path):
    """The same submissions (same seed) in the site's spellings and in a real back office's mix give the
    same counts and the same rejects."""
    stored = {}
    for mix in ("clean", "real"):
        raw = generate(tmp_path / f"{mix}.csv", 20_000, seed=5, mix=mix, end=korea_today()).path
        db = tmp_path / mix / "visitors.duckdb"
        (result,) = load([raw], db)
        stored[mix] = (store_rows(db), result.rows_read, result.rejected)
    assert stored["real"] == stored["clean"]
    assert stored["real"][1] == 20_000 and stored["real"][2], "rows were read and some rejected"


# -- headers and formats -----------------------------------------------------------------------


def test_headers_match_case_insensitively_with_spaces_in_any_order(staging, tmp_path):
    header = [" Residing_Country ", "GENDER", "Name", "  Date_Of_Birth", "FEATURE ", " Submitted_At"]
    rows = [["중국", "여", "Kim", "2011.06.15", "Coupon", "2025-06-15T12:00:00+09:00"]]
    assert staged(staging, write_csv(tmp_path, rows, header)) == [
        {
            "row_no": 1,
            "event_date": "2025-06-15",
            "feature": "coupon",
            "country": "CN",
            "gender": "female",
            "age_group": "14-19",
            "reject_reason": None,
        }
    ]


def test_missing_optional_columns_give_unknown(staging, tmp_path):
    path = write_csv(tmp_path, [["2025-06-15T12:00:00+09:00", "쿠폰"]], header=["submitted_at", "feature"])
    assert staged(staging, path) == [
        {
            "row_no": 1,
            "event_date": "2025-06-15",
            "feature": "coupon",
            "country": "unknown",
            "gender": "unknown",
            "age_group": "unknown",
            "reject_reason": None,
        }
    ]


def test_json_lines_keys_case_insensitive_and_values_normalized(staging, tmp_path):
    path = write_jsonl(
        tmp_path,
        [
            {
                " Submitted_At": "2025-03-31T23:30:00Z",
                "FEATURE": "자가진단",
                "Gender ": "남성",
                "date_of_birth": "2011/04/01",
                "Residing_Country": "Vietnam",
                "email": "x@example.com",
            },
            {"submitted_at": "2025-03-31T23:30:00", "feature": " Free Estimate ", "gender": None},
            {"submitted_at": "2025-03-31T23:30:00", "feature": "coupon", "gender": 7, "residing_country": ["KR"]},
        ],
    )
    got = [
        (row["event_date"], row["feature"], row["country"], row["gender"], row["age_group"])
        for row in staged(staging, path)
    ]
    assert got == [
        ("2025-04-01", "self_diagnosis", "VN", "male", "14-19"),
        ("2025-03-31", "free_estimate", "unknown", "unknown", "unknown"),
        ("2025-03-31", "coupon", "unknown", "unknown", "unknown"),
    ]


def test_a_utf8_bom_and_crlf_line_ends_are_read(staging, tmp_path):
    text = "\ufeffsubmitted_at,feature,gender\r\n2025-03-04T14:22:05+09:00,Coupon,F\r\n2025-03-04T14:22:05+09:00,쿠폰,M\r\n"
    path = write_bytes(tmp_path / "bom.csv", text.encode("utf-8"))
    got = [(row["feature"], row["gender"], row["reject_reason"]) for row in staged(staging, path)]
    assert got == [("coupon", "female", None), ("coupon", "male", None)]


def test_normalized_values_reach_the_store(tmp_path):
    path = write_csv(
        tmp_path,
        [
            raw_row(
                submitted_at="2025-03-31T23:30:00Z",
                feature="Free Estimate",
                gender="여",
                date_of_birth="2011-04-01",
                residing_country="중국",
            ),
            raw_row(
                submitted_at="2025-03-31T23:30:00",
                feature="무료견적",
                gender="F",
                date_of_birth="2011.04.01",
                residing_country="CHN",
            ),
            raw_row(
                submitted_at="2025-03-31T23:30:00",
                feature="free_estimate",
                gender="female",
                date_of_birth="2011/04/01",
                residing_country="China",
            ),
            raw_row(submitted_at="2025-03-31T10:30:00-05:00", feature="Coupon", gender="male", residing_country="USA"),
            raw_row(submitted_at="2025-03-31T23:30:00+08:00", feature="쿠폰", gender="남", residing_country="미국"),
            raw_row(
                submitted_at="2025-03-31T12:00:00+09:00",
                feature="self_diagnosis",
                gender="x",
                residing_country="Atlantis",
            ),
        ],
    )
    db = tmp_path / "store" / "visitors.duckdb"
    (result,) = load([path], db)
    assert (result.status, result.rows_loaded, result.rows_rejected) == ("loaded", 6, 0)
    assert store_rows(db) == [
        ("2025-03-31", "free_estimate", "CN", "female", "0-13", 2),
        ("2025-03-31", "self_diagnosis", "unknown", "other", "unknown", 1),
        ("2025-04-01", "coupon", "US", "male", "unknown", 2),
        ("2025-04-01", "free_estimate", "CN", "female", "14-19", 1),
    ]


# -- etl.lookups -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "key"),
    [
        ("Free Estimate", "free estimate"),
        ("  Free   Estimate\t", "free estimate"),
        ("\u00a0무료\u3000견적 ", "무료 견적"),
        ("UNITED\nSTATES", "united states"),
        ("", ""),
        ("   ", ""),
        ("쿠폰", "쿠폰"),
    ],
)
def test_normalize_key(value, key):
    assert normalize_key(value) == key


@pytest.mark.parametrize(
    ("alpha_2", "name"),
    [
        ("CN", "중국"),
        ("US", "미국"),
        ("VN", "베트남"),
        ("MN", "몽골"),
        ("KR", "대한민국"),
        ("JP", "일본"),
        ("ZZ", "ZZ"),
    ],
)
def test_korean_country_name(alpha_2, name):
    assert korean_country_name(alpha_2) == name


def test_lookup_tables_are_keyed_by_normalized_spellings_and_map_into_the_domains():
    tables = lookup_tables()
    assert set(tables) == {"feature_lookup", "gender_lookup", "country_lookup"}
    for table in tables.values():
        assert all(normalize_key(spelling) == spelling for spelling in table)
    assert set(tables["feature_lookup"].values()) == {"free_estimate", "self_diagnosis", "coupon"}
    assert set(tables["gender_lookup"].values()) == {"female", "male", "other"}
    assert set(tables["country_lookup"].values()) <= {country.alpha_2 for country in pycountry.countries}
    # the aliases people type win over generated names
    assert tables["country_lookup"]["러시아"] == "RU"
    assert tables["country_lookup"]["korea"] == "KR"


# Letters of the lookups' spellings and every character str.split() treats as whitespace.
KEY_ALPHABET = "abcXYZ.-_ 무료견적쿠폰" + "".join(chr(c) for c in range(0x3001) if chr(c).isspace())


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=KEY_ALPHABET, max_size=20))
def test_the_sql_lookup_key_is_normalize_key(staging, value):
    assert staging.execute("select lookup_key(?)", [value]).fetchone()[0] == normalize_key(value)
