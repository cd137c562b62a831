"""The one source of truth for what may leave a raw export and how it is coded.

Everything that decides what the store may hold is defined here and imported
wherever it is needed: the ETL, the dashboard, the exports and the audit.
"""

from __future__ import annotations

import gettext
import os
from datetime import date, datetime
from functools import cache
from typing import Final
from zoneinfo import ZoneInfo

import pycountry

TIMEZONE: Final = "Asia/Seoul"
# How a page or an export names that time zone beside a time of day.
TIMEZONE_LABEL: Final = "KST"


def korea_today() -> date:
    """Today's date in Korea, the calendar every date of the project is in.

    GANGNAM_TODAY=YYYY-MM-DD fixes it (a test hook: the suite freezes the day for itself and the processes it starts).
    """
    fixed = os.environ.get("GANGNAM_TODAY")
    return date.fromisoformat(fixed) if fixed else datetime.now(ZoneInfo(TIMEZONE)).date()


# Privacy rule 4: a count from 1 to MIN_CELL - 1 is never published.
# 10 follows the UK ONS census rule; 11 is the stricter US CMS rule.
MIN_CELL: Final = 10

UNKNOWN: Final = "unknown"

# The languages of the dashboard and of the exports; the first is the default.
LANGUAGES: Final = ("ko", "en")
# How an exported file labels its grand total row, in each language (the audit finds it by this).
TOTAL_LABELS: Final = {"ko": "합계", "en": "Total"}


# How a suppressed small count is written in tables, cards and exports: `<10`.
SMALL_MARK_PREFIX: Final = "<"


def small_mark(min_cell: int = MIN_CELL) -> str:
    return f"{SMALL_MARK_PREFIX}{min_cell}"


# OWASP CSV injection: a text cell starting with one of these is run as a formula by spreadsheets.
FORMULA_STARTS: Final = ("=", "+", "-", "@", "\t", "\r")

# The store's country values: ISO 3166-1 alpha-2, or UNKNOWN.
COUNTRIES: Final = frozenset({*(country.alpha_2 for country in pycountry.countries), UNKNOWN})


# Short names people use where ISO's are long or official-sounding: how pages and exports name a
# country, and spellings the load recognizes.
COUNTRY_SHORT_NAMES: Final = {
    "en": {
        "KR": "South Korea", "KP": "North Korea", "RU": "Russia", "VN": "Vietnam", "TW": "Taiwan", "IR": "Iran",
        "LA": "Laos", "SY": "Syria", "MD": "Moldova", "BO": "Bolivia", "VE": "Venezuela", "TZ": "Tanzania",
        "GB": "United Kingdom", "US": "United States", "HK": "Hong Kong", "MO": "Macao", "BN": "Brunei",
    },
    "ko": {
        "KR": "대한민국", "KP": "북한", "RU": "러시아", "TW": "대만", "IR": "이란", "LA": "라오스", "SY": "시리아",
        "MD": "몰도바", "BO": "볼리비아", "VE": "베네수엘라", "TZ": "탄자니아", "HK": "홍콩", "MO": "마카오",
        "TR": "튀르키예", "AU": "호주",
    },
}  # fmt: skip


@cache
def _korean_names() -> gettext.NullTranslations:
    return gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=["ko"], fallback=True)


def korean_country_name(alpha_2: str) -> str:
    """pycountry's Korean name of a country, or its English name if untranslated; the code if unknown."""
    country = pycountry.countries.get(alpha_2=alpha_2)
    return _korean_names().gettext(country.name) if country else alpha_2


@cache
def country_name(alpha_2: str, lang: str) -> str:
    """A country's name in `lang` (ko or en): its short name, else ISO's; the code if it has none."""
    if alpha_2 in COUNTRY_SHORT_NAMES[lang]:
        return COUNTRY_SHORT_NAMES[lang][alpha_2]
    if lang == "ko":
        return korean_country_name(alpha_2)
    country = pycountry.countries.get(alpha_2=alpha_2)
    return (getattr(country, "common_name", None) or country.name) if country else alpha_2


FEATURES: Final = ("free_estimate", "self_diagnosis", "coupon")
GENDERS: Final = ("female", "male", "other", UNKNOWN)

# (label, lowest age, highest age); None means no upper bound.
# 0-13 is never split: under-14s are a legal category (guardian consent).
AGE_BANDS: Final = (
    ("0-13", 0, 13),
    ("14-19", 14, 19),
    ("20-29", 20, 29),
    ("30-39", 30, 39),
    ("40-49", 40, 49),
    ("50-59", 50, 59),
    ("60-69", 60, 69),
    ("70+", 70, None),
)
AGE_GROUPS: Final = (*(label for label, _, _ in AGE_BANDS), UNKNOWN)
UNDER_14_GROUP: Final = "0-13"

# Dates of birth before this year are taken as typing errors.
EARLIEST_BIRTH_YEAR: Final = 1900
# Submissions dated before this are taken as corrupt timestamps.
EARLIEST_EVENT_DATE: Final = "2000-01-01"

# The raw export's columns (raw-export-spec.md). Only SOURCE_COLUMNS are ever
# selected from a raw file; the rest are listed so that reports can tell a
# known personal column from an unexpected one.
SOURCE_COLUMNS: Final = ("submitted_at", "feature", "gender", "date_of_birth", "residing_country")
REQUIRED_COLUMNS: Final = ("submitted_at", "feature")
KNOWN_RAW_COLUMNS: Final = (
    "submission_id",
    "submitted_at",
    "feature",
    "name",
    "gender",
    "date_of_birth",
    "email",
    "residing_country",
    "guardian_name",
    "guardian_email",
    "guardian_phone",
    "ip_address",
    "user_agent",
    "message",
)

# The store's public contract (DESIGN.md): dimensions in order, then the count.
DIMENSIONS: Final = ("event_date", "feature", "country", "gender", "age_group")
VISIT_COUNTS_COLUMNS: Final = {
    "event_date": "DATE",
    "feature": "VARCHAR",
    "country": "VARCHAR",
    "gender": "VARCHAR",
    "age_group": "VARCHAR",
    "visits": "BIGINT",
    # The sum of the cell's record keys, for the cell key method (DESIGN.md rule 4, contract/ptable.py).
    # A record key is drawn uniformly from 0..RECORD_KEY_MAX for each counted submission at load, in
    # memory, and never stored on its own: it is random and says nothing about a person.
    "key_sum": "BIGINT",
}
RECORD_KEY_MAX: Final = 255
# Counts per load batch, so that a batch can be removed.
BATCH_COUNTS_COLUMNS: Final = {"batch_id": "INTEGER", **VISIT_COUNTS_COLUMNS}
# The batch log: one row per loaded file, never a value from inside it.
BATCHES_COLUMNS: Final = {
    "batch_id": "INTEGER",
    "file_name": "VARCHAR",
    "content_blake3": "VARCHAR",
    "file_format": "VARCHAR",
    "file_bytes": "BIGINT",
    "loaded_at": "TIMESTAMP WITH TIME ZONE",
    "rows_read": "BIGINT",
    "rows_loaded": "BIGINT",
    "rows_rejected": "BIGINT",
    "rejected_key_sum": "BIGINT",  # the record keys of the rejected rows: the batch log's counts are published too
    "first_event_date": "DATE",
    "last_event_date": "DATE",
    "source_destroyed": "BOOLEAN",
    "source_destroyed_at": "TIMESTAMP WITH TIME ZONE",
}
# The web server's access logs (etl.access_log): what a request to a service page was, and on what.
STEPS: Final = ("view", "submit")
DEVICES: Final = ("desktop", "mobile", "tablet", "other")
PAGE_VIEW_DIMENSIONS: Final = ("event_date", "feature", "step", "country", "device")
PAGE_VIEWS_COLUMNS: Final = {
    "event_date": "DATE",  # Korea time, from each line's own offset
    "feature": "VARCHAR",
    "step": "VARCHAR",
    "country": "VARCHAR",  # where the address is registered (iptocc), or unknown
    "device": "VARCHAR",
    "views": "BIGINT",  # requests that were this step
    "views_key_sum": "BIGINT",  # a random record key per request, summed (as key_sum)
    # distinct visitors (address and user agent) of the day, step and service; one person on two days,
    # or on two devices, counts twice; a key per visitor, summed
    "visitors": "BIGINT",
    "visitors_key_sum": "BIGINT",
}
PAGE_VIEW_BATCH_COUNTS_COLUMNS: Final = {"batch_id": "INTEGER", **PAGE_VIEWS_COLUMNS}
# The batch log's file_format values.
FILE_FORMATS: Final = ("csv", "csv.gz", "jsonl", "jsonl.gz", "access_log", "access_log.gz")
STORE_TABLES: Final = {
    "visit_counts": VISIT_COUNTS_COLUMNS,
    "batch_counts": BATCH_COUNTS_COLUMNS,
    "batches": BATCHES_COLUMNS,
    "page_views": PAGE_VIEWS_COLUMNS,
    "page_view_batch_counts": PAGE_VIEW_BATCH_COUNTS_COLUMNS,
}

DEFAULT_STORE: Final = "data/visitors.duckdb"
