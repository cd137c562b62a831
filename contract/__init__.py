"""The one source of truth for what may leave a raw export and how it is coded.

Everything that decides what the store may hold is defined here and imported
wherever it is needed: the ETL, the dashboard, the exports and the audit.
"""

from __future__ import annotations

import os
from datetime import date, datetime
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

TIMEZONE: Final = "Asia/Seoul"


def korea_today() -> date:
    """Today's date in Korea, the calendar every date of the project is in."""
    return datetime.now(ZoneInfo(TIMEZONE)).date()


# Privacy rule 4: a count from 1 to MIN_CELL - 1 is never published.
# 10 follows the UK ONS census rule; 11 is the stricter US CMS rule.
MIN_CELL: Final = 10

UNKNOWN: Final = "unknown"
# How an exported file labels its grand total row, in each language (the audit finds it by this).
TOTAL_LABELS: Final = {"ko": "합계", "en": "Total"}

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
}
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
    "first_event_date": "DATE",
    "last_event_date": "DATE",
    "source_destroyed": "BOOLEAN",
    "source_destroyed_at": "TIMESTAMP WITH TIME ZONE",
}
# The batch log's file_format values.
FILE_FORMATS: Final = ("csv", "csv.gz", "jsonl", "jsonl.gz")
STORE_TABLES: Final = {
    "visit_counts": VISIT_COUNTS_COLUMNS,
    "batch_counts": BATCH_COUNTS_COLUMNS,
    "batches": BATCHES_COLUMNS,
}

DEFAULT_STORE: Final = "data/visitors.duckdb"
# Every export appends a JSON line here (or to $GANGNAM_EXPORT_LOG); the audit checks files against it.
EXPORT_LOG_ENV: Final = "GANGNAM_EXPORT_LOG"
DEFAULT_EXPORT_LOG: Final = "data/exports.log"


def export_log_path(override: str | os.PathLike | None = None) -> Path:
    """The export log: the override, else $GANGNAM_EXPORT_LOG, else data/exports.log."""
    return Path(override or os.environ.get(EXPORT_LOG_ENV) or DEFAULT_EXPORT_LOG)
