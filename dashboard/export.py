"""CSV exports for managers: the writers, the export log and the export CLI.

Every exported number passes the same gate as the dashboard (DESIGN.md rule
4). Two flavours: `excel` (UTF-8 with BOM, CRLF, labels in the UI language,
`<10` / `x` for suppressed cells, a protected grand total and a note on the
time zone) and `raw` (UTF-8, LF, machine column names, suppressed cells empty
with `suppressed` = `true`). Every export appends one JSON line, with the
file's sha256, to the export log.

    python -m dashboard.export --db data/visitors.duckdb --by feature,country --period month \\
        --from 2025-01-01 --to 2025-12-31 --format excel --lang ko
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import logging
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
from streamlit.logger import get_logger

if __name__ == "__main__":
    # run as the CLI there is no Streamlit runtime, and the query cache says so on import: expected here
    get_logger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from dashboard import queries
from dashboard.filters import COUNTRY_MODES, Filters, country_codes
from dashboard.gate import SHOWN, format_count, gate, margins
from dashboard.i18n import country_name, t
from dashboard.store import StoreUnreadable, StoreVersion, current_version
from etl.contract import AGE_GROUPS, FEATURES, GENDERS, MIN_CELL, TIMEZONE

FORMATS = ("excel", "raw")
LANGUAGES = ("ko", "en")
PERIODS = tuple(queries.PERIOD_SQL)  # day, week, month, year
DIMENSIONS = queries.GROUPABLE  # feature, country, gender, age_group
RAW_COLUMN = {"feature": "feature", "country": "country_code", "gender": "gender", "age_group": "age_group"}
LOG_ENV = "GANGNAM_EXPORT_LOG"
DEFAULT_LOG = "data/exports.log"
# OWASP CSV injection: a text cell starting with one of these is run as a formula by spreadsheets
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Export:
    """One exported file and what the log says of it."""

    filename: str
    content: bytes
    rows: int
    selection: dict[str, object]
    fmt: str
    min_cell: int

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


def escape_text(value: str) -> str:
    """A text cell made safe for spreadsheets: a leading formula character gets a `'` in front."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _cell(value: object) -> str:
    # numbers are written as they are: escaping would turn them into text
    if isinstance(value, int):
        return str(value)
    return escape_text(str(value))


def _csv_bytes(rows: Sequence[Sequence[object]], *, excel: bool) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n" if excel else "\n")
    writer.writerows([[_cell(value) for value in row] for row in rows])
    # the BOM is what makes Excel read UTF-8 (Hangul) instead of the system code page
    return out.getvalue().encode("utf-8-sig" if excel else "utf-8")


def export_filename(
    by: Sequence[str], period: str | None, start: date, end: date, fmt: str, lang: str, filtered: bool
) -> str:
    """An ASCII file name that states the selection and the period."""
    parts = ["visits", "by", "-".join(by) if by else "total", period or "all", start.isoformat(), end.isoformat()]
    if filtered:
        parts.append("filtered")
    parts.append(lang if fmt == "excel" else "raw")
    return "_".join(parts) + ".csv"


def _label(dim: str, code: str, lang: str) -> str:
    return country_name(code, lang) if dim == "country" else t(code, lang)


def _iso(value: object) -> str:
    return pd.Timestamp(value).date().isoformat()


def _selection(filters: Filters, by: Sequence[str], period: str | None, start: date, end: date) -> dict[str, object]:
    return {
        "by": list(by),
        "period": period,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "filters": {
            "features": list(filters.features),
            "countries": list(filters.countries),
            "country_mode": filters.country_mode,
            "genders": list(filters.genders),
            "age_groups": list(filters.age_groups),
        },
    }


def build_export(
    version: StoreVersion,
    filters: Filters,
    by: Sequence[str],
    period: str | None,
    start: date,
    end: date,
    fmt: str = "excel",
    lang: str = "ko",
    comparison: tuple[date, date] | None = None,
    min_cell: int = MIN_CELL,
) -> Export:
    """The gated CSV of counts by `by` (and `period`) in [start, end] under `filters`; writes nothing."""
    by = list(by)
    if comparison is not None:
        raise ValueError("comparison exports are not supported yet")
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    unknown = [dim for dim in by if dim not in DIMENSIONS]
    if unknown or len(set(by)) != len(by):
        raise ValueError(f"cannot group by {','.join(by)}: use distinct names among {', '.join(DIMENSIONS)}")
    if period is not None and period not in PERIODS:
        raise ValueError(f"unknown period {period!r}: use one of {', '.join(PERIODS)}")
    if not by and period is None:
        raise ValueError("choose at least one dimension or a period")
    if end < start:
        raise ValueError("the end date is before the start date")

    frame = queries.counts(version, filters, start, end, by=tuple(by), grain=period)
    dims = (["period"] if period else []) + by
    # every total of this table is protected, not only the grand total the file shows: the
    # dashboard shows the others for the same selection, and a manager could subtract
    gated = gate(frame, dims, totals_over=margins(dims), min_cell=min_cell)
    cells = gated.cells

    if fmt == "excel":
        header = ([f"{t(period, lang)} ({TIMEZONE})"] if period else []) + [t(dim, lang) for dim in by]
        rows: list[list[object]] = [[*header, t("visits", lang)]]
        for record in cells.itertuples(index=False):
            values = record._asdict()
            row: list[object] = [_iso(values["period"])] if period else []
            row += [_label(dim, values[dim], lang) for dim in by]
            row.append(_count(values["visits"], values["status"], min_cell))
            rows.append(row)
        total, status = gated.grand_total()
        rows.append([t("total", lang), *[""] * (len(dims) - 1), _count(total, status, min_cell)])
        rows.append([])
        rows.append([t("times_in", lang)])
        rows.append([f"<{min_cell}: {t('suppressed_small', lang)}"])
        rows.append([f"x: {t('suppressed_complement', lang)}"])
    else:
        header = ([f"event_{period}"] if period else []) + [RAW_COLUMN[dim] for dim in by]
        rows = [[*header, "visits", "suppressed"]]
        for record in cells.itertuples(index=False):
            values = record._asdict()
            row = [_iso(values["period"])] if period else []
            row += [values[dim] for dim in by]
            shown = values["status"] == SHOWN
            row += [int(values["visits"]) if shown else "", "false" if shown else "true"]
            rows.append(row)

    filtered = bool(filters.features or filters.countries or filters.genders or filters.age_groups)
    return Export(
        filename=export_filename(by, period, start, end, fmt, lang, filtered),
        content=_csv_bytes(rows, excel=fmt == "excel"),
        rows=len(cells),
        selection=_selection(filters, by, period, start, end),
        fmt=fmt,
        min_cell=min_cell,
    )


def _count(visits: object, status: str, min_cell: int) -> object:
    """A shown count as a plain integer (no thousands separator); `<10` or `x` where suppressed."""
    return int(visits) if status == SHOWN else format_count(visits, status, min_cell)


def log_path(override: str | Path | None = None) -> Path:
    """The export log: the override, else $GANGNAM_EXPORT_LOG, else data/exports.log."""
    return Path(override or os.environ.get(LOG_ENV) or DEFAULT_LOG)


def log_export(export: Export, path: Path, file: str | None = None) -> dict[str, object]:
    """Append one JSON line on `export` to the log at `path`; returns the entry."""
    entry = {
        "when": datetime.now(ZoneInfo(TIMEZONE)).isoformat(timespec="seconds"),
        "selection": export.selection,
        "format": export.fmt,
        "min_cell": export.min_cell,
        "timezone": TIMEZONE,
        "rows": export.rows,
        "sha256": export.sha256,
        "file": file or export.filename,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(entry, ensure_ascii=False) + "\n")
    return entry


def export_table(
    version: StoreVersion,
    filters: Filters,
    by: Sequence[str],
    period: str | None,
    start: date,
    end: date,
    fmt: str = "excel",
    lang: str = "ko",
    comparison: tuple[date, date] | None = None,
    *,
    log: str | Path | None = None,
    logged_file: str | None = None,
) -> tuple[str, bytes, int]:
    """Build an export and log it (every export is logged); returns (file name, bytes, data rows)."""
    export = build_export(version, filters, by, period, start, end, fmt, lang, comparison)
    log_export(export, log_path(log), logged_file)
    return export.filename, export.content, export.rows


# ---- the CLI: a thin layer over export_table


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one clear line, no usage block
        self.exit(2, f"{self.prog}: error: {message}\n")


def _iso_date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {value!r}") from None


def _members(allowed: Sequence[str] | frozenset[str], what: str):
    def parse(value: str) -> tuple[str, ...]:
        items = tuple(dict.fromkeys(item.strip() for item in value.split(",") if item.strip()))
        bad = [item for item in items if item not in allowed]
        if bad or not items:
            raise argparse.ArgumentTypeError(f"unknown {what}: {','.join(bad) or value!r}")
        return items

    return parse


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m dashboard.export", description="Export gated visit counts as CSV.")
    p.add_argument("--db", required=True, type=Path, help="the store file")
    p.add_argument("--by", type=_members(DIMENSIONS, "dimension"), default=(), help=f"any of {','.join(DIMENSIONS)}")
    p.add_argument("--period", choices=PERIODS, help="a row per day, week, month or year")
    p.add_argument("--from", dest="start", required=True, type=_iso_date, help="first day, YYYY-MM-DD (Korea time)")
    p.add_argument("--to", dest="end", required=True, type=_iso_date, help="last day, YYYY-MM-DD (included)")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="excel")
    p.add_argument("--lang", choices=LANGUAGES, default="ko")
    p.add_argument("--feature", type=_members(FEATURES, "feature"), default=(), help="only these features")
    p.add_argument("--gender", type=_members(GENDERS, "gender"), default=(), help="only these genders")
    p.add_argument("--age", type=_members(AGE_GROUPS, "age group"), default=(), help="only these age groups")
    p.add_argument("--country", type=_members(country_codes(), "country code"), default=(), help="alpha-2 codes")
    p.add_argument("--country-mode", choices=COUNTRY_MODES, default="include")
    p.add_argument("--out", type=Path, help="output file (default: the generated name in this folder)")
    p.add_argument("--log", help=f"export log (default: ${LOG_ENV} or {DEFAULT_LOG})")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if not args.by and args.period is None:
        p.error("give --by, --period or both")
    if args.end < args.start:
        p.error("--to is before --from")
    version = current_version(args.db)
    if version is None or not args.db.is_file():
        p.error(f"no store file at {args.db}")
    filters = Filters(
        preset="custom",
        start=args.start,
        end=args.end,
        countries=args.country,
        country_mode=args.country_mode,
        genders=args.gender,
        age_groups=args.age,
        features=args.feature,
        lang=args.lang,
    )
    try:
        export = build_export(version, filters, args.by, args.period, args.start, args.end, args.fmt, args.lang)
    except (StoreUnreadable, duckdb.Error):
        # DuckDB's own message may quote the file's content: name the file only (rule 3)
        p.error(f"not a readable store: {args.db}")
    except ValueError as error:
        p.error(str(error))
    out = args.out or Path(export.filename)
    try:
        out.write_bytes(export.content)
        log_export(export, log_path(args.log), out.name)
    except OSError as error:
        p.error(f"cannot write {error.filename}: {error.strerror}")
    print(f"{out}: {export.rows} rows, sha256 {export.sha256}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
