"""Report packs: one ZIP of the standard summary tables of a calendar month or an ISO week.

A pack holds, for the period (Korea time; a week runs Monday to Sunday), each
standard table exactly as `build_export` gives it (no filters), the web traffic
tables when the store holds an access log, plus a UTF-8
`README.txt`: the period, the filters, the suppression rule, the generation
time and a `sha256sum`-style line per CSV. What shapes it: the same store must
give the same ZIP bytes, so the entries carry a fixed timestamp (the period's
first day, 00:00) and the generation time is the store's publication time (its
mtime), never the clock. Building writes and logs nothing (`logged.py` logs).
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from contract import MIN_CELL, TIMEZONE
from dashboard.export.table import Export, build_export
from dashboard.filters import Filters
from dashboard.i18n import MAX_NOISE
from dashboard.store import StoreVersion, has_data

PACK_KINDS = ("month", "week")
# (by, period) of each table in the pack, in this order
PACK_TABLES: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (("feature",), "day"),  # features over time
    (("country",), None),  # countries
    (("gender", "age_group"), None),  # gender x age
    (("feature", "country"), None),  # features by country
)
# (count, by, period) of each web traffic table, as the Traffic page shows them, after those
TRAFFIC_PACK_TABLES: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("views", ("feature", "step"), "day"),  # page views over time
    ("visitors", ("feature", "step"), "day"),  # visitors over time
    ("funnel", ("feature",), None),  # the funnel by service, with the conversion
    ("funnel", ("country",), None),  # by country
    ("funnel", ("device",), None),  # by device
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
        "rule": "비공개 규칙: 1~{small}건은 <{min_cell}(으)로 표시하고, 0은 그대로 표시합니다. 그 밖의 모든 수치에는 "
        "최대 ±{noise}의 잡음이 더해져 있어(셀 키 방식) 부분의 합이 합계와 다를 수 있습니다. min_cell = {min_cell}.",
        "rule_raw": "비공개 규칙: 1~{small}건은 visits를 비우고 suppressed = true로 표시하고, 0은 그대로 표시합니다. "
        "그 밖의 모든 수치에는 최대 ±{noise}의 잡음이 더해져 있습니다(셀 키 방식). min_cell = {min_cell}.",
        "generated": "생성 시각: {when} (저장소 게시 시각; 같은 저장소는 같은 묶음을 만듭니다)",
        "files": "파일 (SHA-256):",
    },
    "en": {
        "title": "Gangnam visits report pack: {label}",
        "period": "Period: {start} to {end} (both included), Korea time ({tz})",
        "filters": "Filters: none",
        "rule": "Suppression: counts from 1 to {small} are shown as <{min_cell}; zero is shown. Every other count "
        "carries a noise of at most {noise} (the cell key method): parts need not add up to a total. "
        "min_cell = {min_cell}.",
        "rule_raw": "Suppression: counts from 1 to {small} have an empty visits and suppressed = true; zero is shown. "
        "Every other count carries a noise of at most {noise} (the cell key method). min_cell = {min_cell}.",
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

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


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
    """The ZIP's name: the period and the language (`raw` for the raw flavour)."""
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
        text["rule" if fmt == "excel" else "rule_raw"].format(small=min_cell - 1, min_cell=min_cell, noise=MAX_NOISE),
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
    tables = [("visits", by, period) for by, period in PACK_TABLES]
    if has_data(version, "page_views"):  # a store without an access log has no traffic to pack
        tables += TRAFFIC_PACK_TABLES
    exports = tuple(
        build_export(version, filters, by, period, start, end, fmt, lang, min_cell=min_cell, measure=measure)
        for measure, by, period in tables
    )
    when = datetime.fromtimestamp(version.mtime_ns / 1e9, ZoneInfo(TIMEZONE))
    readme = _readme(period_text, start, end, lang, fmt, min_cell, when, exports)
    entries = [(export.filename, export.content) for export in exports] + [(README_NAME, readme)]
    return Pack(pack_filename(period_text, lang, fmt), _zip(entries, start), exports)
