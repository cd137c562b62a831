"""CSV exports for managers: the writers, the export log and the export CLI.

Every exported number passes the same gate as the dashboard (DESIGN.md rule
4). Two flavours: `excel` (UTF-8 with BOM, CRLF, labels in the UI language,
`<10` / `x` for suppressed cells, a protected grand total and a note on the
time zone) and `raw` (UTF-8, LF, machine column names, suppressed cells empty
with `suppressed` = `true`). Every export appends one JSON line, with the
file's sha256, to the export log.

    python -m dashboard.export --db data/visitors.duckdb --by feature,country --period month \\
        --from 2025-01-01 --to 2025-12-31 --format excel --lang ko [--compare previous|last_year]

The report pack: one ZIP for a calendar month or an ISO week (Monday to Sunday,
Korea time) holding the standard summary tables, each exactly the bytes
`build_export` gives for that selection (no filters), plus a UTF-8 `README.txt`
(period, filters, the suppression rule, the generation time, and a
`sha256sum`-style line per CSV). The entries carry a fixed timestamp (the
period's first day, 00:00) and the generation time is the store's publication
time (its mtime, Korea time), so the same store gives the same ZIP bytes.
A pack appends ONE LOG LINE PER CSV to the export log, the same entry a single
export writes, with `file` = `<zip name>/<csv name>`.

    python -m dashboard.export --db data/visitors.duckdb --pack month --month 2025-10 --out reports/
    python -m dashboard.export --db data/visitors.duckdb --pack week --week 2025-W42 --lang en --format raw
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import io
import logging
import re
import sys
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import NoReturn
from zoneinfo import ZoneInfo

import duckdb
import pandas as pd
from streamlit.logger import get_logger

if __name__ == "__main__":
    # run as the CLI there is no Streamlit runtime, and the query cache says so on import: expected here
    get_logger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

from contract import (
    AGE_GROUPS,
    COUNTRIES,
    FEATURES,
    FORMULA_STARTS,
    GENDERS,
    HIDDEN_MARK,
    LANGUAGES,
    MIN_CELL,
    TIMEZONE,
    export_log,
    small_mark,
)
from contract.export_log import DEFAULT_EXPORT_LOG, EXPORT_LOG_ENV, ExportLogEntry, export_log_path
from dashboard import queries
from dashboard.filters import COMPARISONS, COUNTRY_MODES, Filters
from dashboard.gate import SHOWN, Gated, change, change_of, format_count, gate, margins
from dashboard.i18n import country_name, t
from dashboard.store import StoreUnreadable, StoreVersion, current_version

FORMATS = ("excel", "raw")
PERIODS = tuple(queries.PERIOD_SQL)  # day, week, month, year
RAW_COLUMN = {"feature": "feature", "country": "country_code", "gender": "gender", "age_group": "age_group"}


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
    if isinstance(value, int | float):
        return str(value)
    return escape_text(str(value))


def _csv_bytes(rows: Sequence[Sequence[object]], *, excel: bool) -> bytes:
    out = io.StringIO(newline="")
    writer = csv.writer(out, quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n" if excel else "\n")
    writer.writerows([[_cell(value) for value in row] for row in rows])
    # the BOM is what makes Excel read UTF-8 (Hangul) instead of the system code page
    return out.getvalue().encode("utf-8-sig" if excel else "utf-8")


def export_filename(
    by: Sequence[str],
    period: str | None,
    start: date,
    end: date,
    fmt: str,
    lang: str,
    filtered: bool,
    comparison: tuple[date, date] | None = None,
) -> str:
    """An ASCII file name that states the selection, the period and the comparison period."""
    parts = ["visits", "by", "-".join(by) if by else "total", period or "all", start.isoformat(), end.isoformat()]
    if comparison is not None:
        parts += ["vs", comparison[0].isoformat(), comparison[1].isoformat()]
    if filtered:
        parts.append("filtered")
    parts.append(lang if fmt == "excel" else "raw")
    return "_".join(parts) + ".csv"


def _label(dim: str, code: str, lang: str) -> str:
    return country_name(code, lang) if dim == "country" else t(code, lang)


def _iso(value: object) -> str:
    return "" if pd.isna(value) else pd.Timestamp(value).date().isoformat()


def _selection(
    filters: Filters,
    by: Sequence[str],
    period: str | None,
    start: date,
    end: date,
    comparison: tuple[date, date] | None,
) -> dict[str, object]:
    return {
        "by": list(by),
        "period": period,
        "from": start.isoformat(),
        "to": end.isoformat(),
        "comparison": None
        if comparison is None
        else {"from": comparison[0].isoformat(), "to": comparison[1].isoformat()},
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
    """The gated CSV of counts by `by` (and `period`) in [start, end] under `filters`; writes nothing.

    With `comparison` (first and last day of another period), each row also
    holds the comparison period's count and the relative change: see
    `_compared` for how the rows of the two periods are matched.
    """
    by = list(by)
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}: use one of {', '.join(LANGUAGES)}")
    unknown = [dim for dim in by if dim not in queries.GROUPABLE]
    if unknown or len(set(by)) != len(by):
        raise ValueError(f"cannot group by {','.join(by)}: use distinct names among {', '.join(queries.GROUPABLE)}")
    if period is not None and period not in PERIODS:
        raise ValueError(f"unknown period {period!r}: use one of {', '.join(PERIODS)}")
    if not by and period is None:
        raise ValueError("choose at least one dimension or a period")
    if end < start:
        raise ValueError("the end date is before the start date")
    if comparison is not None and comparison[1] < comparison[0]:
        raise ValueError("the comparison period ends before it starts")

    gated = _gated(version, filters, by, period, start, end, min_cell)
    before = None if comparison is None else _gated(version, filters, by, period, *comparison, min_cell)
    dims = (["period"] if period else []) + by
    if before is None:
        cells = gated.cells
    else:
        cells = _compared(gated.cells, before.cells, by, period, (start, end), comparison)

    if fmt == "excel":
        header = ([f"{t(period, lang)} ({TIMEZONE})"] if period else []) + [t(dim, lang) for dim in by]
        header.append(t("visits", lang))
        if before is not None:
            header += ([f"{t('comparison_series', lang)}: {t(period, lang)}"] if period else []) + [
                t("comparison_visits", lang),
                t("change_percent", lang),
            ]
        rows: list[list[object]] = [header]
        for record in cells.itertuples(index=False):
            values = record._asdict()
            row: list[object] = [_iso(values["period"])] if period else []
            row += [_label(dim, values[dim], lang) for dim in by]
            row.append(_count(values["visits"], values["status"], min_cell))
            if before is not None:
                row += [_iso(values["before_period"])] if period else []
                row += [_count(values["before"], values["before_status"], min_cell), _percent(values["change"])]
            rows.append(row)
        total, status = gated.grand_total()
        last = ["" for _ in dims[1:]] + [_count(total, status, min_cell)]
        if before is not None:
            before_total, before_status = before.grand_total()
            last += [""] if period else []
            last += [
                _count(before_total, before_status, min_cell),
                _percent(change_of(total, before_total)),
            ]
        rows.append([t("total", lang), *last])
        rows.append([])
        rows.append([t("times_in", lang)])
        rows.append([f"{small_mark(min_cell)}: {t('suppressed_small', lang)}"])
        rows.append([f"{HIDDEN_MARK}: {t('suppressed_complement', lang)}"])
        if before is not None:
            rows.append(
                [t("comparison_note", lang).format(start=comparison[0].isoformat(), end=comparison[1].isoformat())]
            )
    else:
        header = ([f"event_{period}"] if period else []) + [RAW_COLUMN[dim] for dim in by] + ["visits", "suppressed"]
        if before is not None:
            header += ([f"comparison_event_{period}"] if period else []) + [
                "comparison_visits",
                "comparison_suppressed",
                "change",
            ]
        rows = [header]
        for record in cells.itertuples(index=False):
            values = record._asdict()
            row = [_iso(values["period"])] if period else []
            row += [values[dim] for dim in by]
            row += _raw_count(values["visits"], values["status"])
            if before is not None:
                row += [_iso(values["before_period"])] if period else []
                row += _raw_count(values["before"], values["before_status"])
                row.append("" if pd.isna(values["change"]) else round(float(values["change"]), 4))
            rows.append(row)

    filtered = bool(filters.features or filters.countries or filters.genders or filters.age_groups)
    return Export(
        filename=export_filename(by, period, start, end, fmt, lang, filtered, comparison),
        content=_csv_bytes(rows, excel=fmt == "excel"),
        rows=len(cells),
        selection=_selection(filters, by, period, start, end, comparison),
        fmt=fmt,
        min_cell=min_cell,
    )


def _gated(
    version: StoreVersion, filters: Filters, by: list[str], period: str | None, start: date, end: date, min_cell: int
) -> Gated:
    frame = queries.counts(version, filters, start, end, by=tuple(by), grain=period)
    dims = (["period"] if period else []) + by
    # every total of this table is protected, not only the grand total the file shows: the
    # dashboard shows the others for the same selection, and a manager could subtract
    return gate(frame, dims, totals_over=margins(dims), min_cell=min_cell)


def period_starts(start: date, end: date, period: str) -> list[pd.Timestamp]:
    """The first day of every day, ISO week, month or year that [start, end] touches (as the store truncates)."""
    frequency = {"day": "D", "week": "W-MON", "month": "MS", "year": "YS"}[period]
    first = pd.Timestamp(start).to_period({"day": "D", "week": "W-SUN", "month": "M", "year": "Y"}[period]).start_time
    return list(pd.date_range(first, pd.Timestamp(end), freq=frequency))


def _compared(
    current: pd.DataFrame,
    before: pd.DataFrame,
    by: list[str],
    period: str | None,
    span: tuple[date, date],
    comparison: tuple[date, date],
) -> pd.DataFrame:
    """The rows of both periods side by side, each with its own gate status.

    Rows are matched on the dimensions and, by period, on position: the first
    week of the period with the first week of the comparison period, and so on.
    A combination counted in one period only is a true zero in the other
    (zero is published as it is); a position one period lacks stays empty.
    """
    keys = list(by)
    if period:
        now, then = period_starts(*span, period), period_starts(*comparison, period)
        current = current.assign(slot=current["period"].map({p: i for i, p in enumerate(now)}))
        before = before.assign(slot=before["period"].map({p: i for i, p in enumerate(then)}))
        keys = ["slot", *keys]
    before = before.rename(columns={"visits": "before", "status": "before_status", "period": "before_period"})
    merged = current.merge(before, on=keys, how="outer", sort=True)
    if period:
        merged["period"] = merged["slot"].map(dict(enumerate(now)))
        merged["before_period"] = merged["slot"].map(dict(enumerate(then)))
        merged = merged.drop(columns="slot")
    for column, status, stamp in (("visits", "status", "period"), ("before", "before_status", "before_period")):
        exists = merged[stamp].notna() if period else pd.Series(True, index=merged.index)
        absent = merged[status].isna() & exists
        merged.loc[absent, column] = 0
        merged.loc[absent, status] = SHOWN
    merged["change"] = change(merged["visits"], merged["before"])
    if period:
        # a position only the comparison period has: no current period, so it is dated by the comparison
        merged = merged.sort_values(["period", *by], na_position="last", kind="stable")
    return merged.reset_index(drop=True)


def _percent(value: object) -> object:
    # a number, so that Excel sorts and charts it; one decimal, as on screen
    return "" if value is None or pd.isna(value) else round(float(value) * 100, 1)


def _raw_count(visits: object, status: object) -> list[object]:
    if pd.isna(status):
        return ["", ""]  # no such period in this window
    shown = status == SHOWN
    return [int(visits) if shown else "", "false" if shown else "true"]


def _count(visits: object, status: object, min_cell: int) -> object:
    """A shown count as a plain integer (no thousands separator); `<10` or `x` where suppressed."""
    if pd.isna(status):
        return ""  # no such period in this window
    return int(visits) if status == SHOWN else format_count(visits, status, min_cell)


log_path = export_log_path


def log_export(export: Export, path: Path, file: str | None = None, written: Path | None = None) -> ExportLogEntry:
    """Append the log line of `export` to the log at `path`; returns the entry.

    `written`: where the command line wrote the file (a download goes to the
    user's computer and has none), so that the audit can find it again.
    """
    entry = ExportLogEntry(
        selection=export.selection,
        format=export.fmt,
        min_cell=export.min_cell,
        rows=export.rows,
        sha256=export.sha256,
        file=file or export.filename,
        path=None if written is None else str(written.resolve()),
    )
    return export_log.append(path, entry)


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


# ---- the report pack: the standard summary tables of one month or one ISO week in one ZIP

PACK_KINDS = ("month", "week")
# (by, period) of each table in the pack, in this order
PACK_TABLES: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("feature",), "day"),  # features over time
    (("country",), None),  # countries
    (("gender", "age_group"), None),  # gender x age
    (("feature", "country"), None),  # features by country
)
PACK_PREFIX = "gangnam-visits"
README_NAME = "README.txt"
_MONTH = re.compile(r"(\d{4})-(\d{2})")
_WEEK = re.compile(r"(\d{4})-W(\d{2})")

README_TEXT = {
    "ko": {
        "title": "강남 방문 보고서 묶음: {label}",
        "period": "기간: {start} ~ {end} (양 끝 포함), 한국 시간 ({tz})",
        "filters": "필터: 없음",
        "rule": "비공개 규칙: 1~{small}건은 <{min_cell}(으)로 표시하고, 합계에서 빼서 작은 값을 알아낼 수 있는 "
        "칸은 x로 표시합니다. 0은 그대로 표시합니다. min_cell = {min_cell}.",
        "rule_raw": "비공개 규칙: 1~{small}건과, 합계에서 빼서 작은 값을 알아낼 수 있는 칸은 visits를 비우고 "
        "suppressed = true로 표시합니다. 0은 그대로 표시합니다. min_cell = {min_cell}.",
        "generated": "생성 시각: {when} (저장소 게시 시각; 같은 저장소는 같은 묶음을 만듭니다)",
        "files": "파일 (SHA-256):",
    },
    "en": {
        "title": "Gangnam visits report pack: {label}",
        "period": "Period: {start} to {end} (both included), Korea time ({tz})",
        "filters": "Filters: none",
        "rule": "Suppression: counts from 1 to {small} are shown as <{min_cell}; a cell from which a small count "
        "could be worked out by subtraction from a total is shown as x; zero is shown. min_cell = {min_cell}.",
        "rule_raw": "Suppression: counts from 1 to {small}, and cells from which a small count could be worked out "
        "by subtraction from a total, have an empty visits and suppressed = true; zero is shown. "
        "min_cell = {min_cell}.",
        "generated": "Generated: {when} (the store's publication time; the same store gives the same pack)",
        "files": "Files (SHA-256):",
    },
}


@dataclass(frozen=True)
class Pack:
    """One report pack: the ZIP and the exports inside it."""

    filename: str
    content: bytes
    exports: tuple[Export, ...]


def pack_period(kind: str, period_text: str) -> tuple[date, date]:
    """The first and last day of `2025-10` (a month) or `2025-W42` (an ISO week, Monday to Sunday)."""
    if kind == "month":
        match = _MONTH.fullmatch(period_text)
        if match is None or not 1 <= int(match[2]) <= 12:
            raise ValueError(f"not a month (YYYY-MM): {period_text!r}")
        start = date(int(match[1]), int(match[2]), 1)
        end = (start.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        return start, end
    if kind == "week":
        match = _WEEK.fullmatch(period_text)
        try:
            if match is None:
                raise ValueError
            start = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            raise ValueError(f"not an ISO week (YYYY-Www): {period_text!r}") from None
        return start, start + timedelta(days=6)
    raise ValueError(f"unknown pack {kind!r}: use one of {', '.join(PACK_KINDS)}")


def pack_filename(period_text: str, lang: str, fmt: str) -> str:
    return f"{PACK_PREFIX}_{period_text}_{lang if fmt == 'excel' else 'raw'}.zip"


def _readme(
    label: str, start: date, end: date, lang: str, fmt: str, min_cell: int, when: datetime, exports: Sequence[Export]
) -> bytes:
    text = README_TEXT[lang]
    lines = [
        text["title"].format(label=label),
        "",
        text["period"].format(start=start.isoformat(), end=end.isoformat(), tz=TIMEZONE),
        text["filters"],
        text["rule" if fmt == "excel" else "rule_raw"].format(small=min_cell - 1, min_cell=min_cell),
        text["generated"].format(when=when.isoformat(timespec="seconds")),
        "",
        text["files"],
        *(f"{export.sha256}  {export.filename}" for export in exports),
    ]
    return ("\n".join(lines) + "\n").encode("utf-8")


def _zip(entries: Sequence[tuple[str, bytes]], stamp: date) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in entries:
            info = zipfile.ZipInfo(name, date_time=(stamp.year, stamp.month, stamp.day, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # unix, whatever the platform
            info.external_attr = 0o644 << 16
            archive.writestr(info, content)
    return out.getvalue()


def make_pack(
    version: StoreVersion,
    kind: str,
    period_text: str,
    lang: str = "ko",
    fmt: str = "excel",
    min_cell: int = MIN_CELL,
) -> Pack:
    """The report pack of one month or ISO week; writes and logs nothing (see `build_pack`)."""
    start, end = pack_period(kind, period_text)
    filters = Filters(preset="custom", start=start, end=end, lang=lang)
    exports = tuple(
        build_export(version, filters, by, period, start, end, fmt, lang, min_cell=min_cell)
        for by, period in PACK_TABLES
    )
    when = datetime.fromtimestamp(version.mtime_ns / 1e9, ZoneInfo(TIMEZONE))
    readme = _readme(period_text, start, end, lang, fmt, min_cell, when, exports)
    entries = [(export.filename, export.content) for export in exports] + [(README_NAME, readme)]
    return Pack(pack_filename(period_text, lang, fmt), _zip(entries, start), exports)


def log_pack(pack: Pack, path: Path, written: Path | None = None) -> list[dict[str, object]]:
    """One log line per CSV in the pack, `file` naming the ZIP and the entry."""
    return [log_export(export, path, f"{pack.filename}/{export.filename}", written) for export in pack.exports]


def build_pack(
    version: StoreVersion,
    kind: str,
    period_text: str,
    lang: str = "ko",
    fmt: str = "excel",
    *,
    log: str | Path | None = None,
) -> tuple[str, bytes]:
    """Build a report pack and log it (one line per CSV); returns (ZIP file name, ZIP bytes)."""
    pack = make_pack(version, kind, period_text, lang, fmt)
    log_pack(pack, log_path(log))
    return pack.filename, pack.content


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
    p.add_argument(
        "--by", type=_members(queries.GROUPABLE, "dimension"), default=(), help=f"any of {','.join(queries.GROUPABLE)}"
    )
    p.add_argument("--period", choices=PERIODS, help="a row per day, week, month or year")
    p.add_argument("--from", dest="start", type=_iso_date, help="first day, YYYY-MM-DD (Korea time)")
    p.add_argument("--to", dest="end", type=_iso_date, help="last day, YYYY-MM-DD (included)")
    p.add_argument(
        "--compare",
        choices=[c for c in COMPARISONS if c != "none"],
        help="add the previous period of the same length, or the same period a year before (as the dashboard)",
    )
    p.add_argument("--compare-from", type=_iso_date, help="or: the comparison period's first day, YYYY-MM-DD")
    p.add_argument("--compare-to", type=_iso_date, help="and its last day, YYYY-MM-DD (included)")
    p.add_argument("--pack", choices=PACK_KINDS, help="a ZIP of the standard tables of one month or ISO week")
    p.add_argument("--month", help="the pack's month, YYYY-MM (with --pack month)")
    p.add_argument("--week", help="the pack's ISO week, YYYY-Www (with --pack week)")
    p.add_argument("--format", dest="fmt", choices=FORMATS, default="excel")
    p.add_argument("--lang", choices=LANGUAGES, default="ko")
    p.add_argument("--feature", type=_members(FEATURES, "feature"), default=(), help="only these features")
    p.add_argument("--gender", type=_members(GENDERS, "gender"), default=(), help="only these genders")
    p.add_argument("--age", type=_members(AGE_GROUPS, "age group"), default=(), help="only these age groups")
    p.add_argument("--country", type=_members(COUNTRIES, "country code"), default=(), help="alpha-2 codes")
    p.add_argument("--country-mode", choices=COUNTRY_MODES, default="include")
    p.add_argument("--out", type=Path, help="output file, or the folder for a pack (default: this folder)")
    p.add_argument("--log", help=f"export log (default: ${EXPORT_LOG_ENV} or {DEFAULT_EXPORT_LOG})")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.pack is not None:
        return _main_pack(p, args)
    if args.month is not None or args.week is not None:
        p.error("--month and --week go with --pack")
    if args.start is None or args.end is None:
        p.error("give --from and --to (or --pack)")
    if not args.by and args.period is None:
        p.error("give --by, --period or both")
    if args.end < args.start:
        p.error("--to is before --from")
    comparison = _comparison(p, args)
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
        export = build_export(
            version, filters, args.by, args.period, args.start, args.end, args.fmt, args.lang, comparison
        )
    except (StoreUnreadable, duckdb.Error):
        # DuckDB's own message may quote the file's content: name the file only (rule 3)
        p.error(f"not a readable store: {args.db}")
    except ValueError as error:
        p.error(str(error))
    out = args.out or Path(export.filename)
    try:
        out.write_bytes(export.content)
        log_export(export, log_path(args.log), out.name, out)
    except OSError as error:
        p.error(f"cannot write {error.filename}: {error.strerror}")
    print(f"{out}: {export.rows} rows, sha256 {export.sha256}")
    return 0


def _comparison(p: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[date, date] | None:
    """The comparison period: named (--compare), given (--compare-from/--compare-to), or none."""
    given = (args.compare_from, args.compare_to)
    if args.compare is not None:
        if any(given):
            p.error("give --compare or --compare-from/--compare-to, not both")
        return Filters(preset="custom", start=args.start, end=args.end, comparison=args.compare).comparison_period()
    if not any(given):
        return None
    if not all(given):
        p.error("--compare-from and --compare-to go together")
    if args.compare_to < args.compare_from:
        p.error("--compare-to is before --compare-from")
    return args.compare_from, args.compare_to


def _main_pack(p: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    given = {
        "--by": bool(args.by),
        "--period": args.period is not None,
        "--from": args.start is not None,
        "--to": args.end is not None,
        "--feature": bool(args.feature),
        "--gender": bool(args.gender),
        "--age": bool(args.age),
        "--country": bool(args.country),
        "--country-mode": args.country_mode != "include",
        "--compare": args.compare is not None,
        "--compare-from": args.compare_from is not None,
        "--compare-to": args.compare_to is not None,
    }
    clash = [option for option, present in given.items() if present]
    if clash:
        p.error(f"--pack takes no {', '.join(clash)}: a pack holds the standard tables, unfiltered")
    period_text = args.month if args.pack == "month" else args.week
    other = args.week if args.pack == "month" else args.month
    if other is not None:
        p.error(f"--pack {args.pack} takes --{args.pack}, not --{'week' if args.pack == 'month' else 'month'}")
    if period_text is None:
        p.error(f"--pack {args.pack} needs --{args.pack}")
    try:
        pack_period(args.pack, period_text)
    except ValueError as error:
        p.error(str(error))
    out_dir = args.out or Path()
    if not out_dir.is_dir():
        p.error(f"--out is not a folder: {out_dir}")
    version = current_version(args.db)
    if version is None or not args.db.is_file():
        p.error(f"no store file at {args.db}")
    try:
        pack = make_pack(version, args.pack, period_text, args.lang, args.fmt)
    except (StoreUnreadable, duckdb.Error):
        p.error(f"not a readable store: {args.db}")
    except ValueError as error:
        p.error(str(error))
    out = out_dir / pack.filename
    try:
        out.write_bytes(pack.content)
        log_pack(pack, log_path(args.log), out)
    except OSError as error:
        p.error(f"cannot write {error.filename}: {error.strerror}")
    print(f"{out}: {len(pack.exports)} tables, sha256 {hashlib.sha256(pack.content).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
