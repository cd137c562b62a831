"""Synthetic raw exports: the demo, test and benchmark input of the ETL.

`generate()` writes a file that looks like the website's back-office export
(raw-export-spec.md): every contract column, fake personal data from Faker in
the visitors' own scripts, every spelling the contract allows, and a share of
realistic defects. The same seed and arguments always give the same bytes.

It is built for tens of millions of rows: Faker runs only once per seed to fill
small pools of identities and messages, rows are drawn from them with numpy,
and each chunk is assembled with pyarrow kernels, never a Python loop per row.
"""

from __future__ import annotations

import gzip
import random
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pycountry
from faker import Faker

from contract import AGE_BANDS, FEATURES, KNOWN_RAW_COLUMNS, TIMEZONE, country_name
from etl.lookups import COUNTRY_ALIASES

DEFAULT_END = date(2026, 10, 31)
DEFAULT_DAYS = 1095

# Rows per chunk: large enough that pyarrow kernels dominate, small enough for flat memory.
_CHUNK_ROWS = 100_000
# Faker values per locale (of female names, male names, emails, phones) and messages per language.
_POOL_SIZE = 1_000
_MESSAGE_POOL_SIZE = 400

_FORMATS = {".csv": ("csv", False), ".jsonl": ("jsonl", False), ".csv.gz": ("csv", True), ".jsonl.gz": ("jsonl", True)}

# Korea has had no daylight saving time since 1988: one fixed offset.
_SITE_OFFSET_SECONDS = int(ZoneInfo(TIMEZONE).utcoffset(datetime(2020, 1, 1)).total_seconds())
_SITE_OFFSET_TEXT = f"+{_SITE_OFFSET_SECONDS // 3600:02d}:{_SITE_OFFSET_SECONDS // 60 % 60:02d}"

# Columns the back office adds, placed after the contract column they follow in its export.
_BACK_OFFICE_EXTRAS = {"email": ("phone",), "residing_country": ("passport_no",), "message": ("memo", "coupon_code")}


@dataclass(frozen=True)
class GenerateSummary:
    """What `generate()` wrote."""

    path: Path
    rows: int
    dirty_rows: int
    bytes_written: int
    seconds: float


# --- visitors ---------------------------------------------------------------

# (alpha-2, weight, Faker locale, message language, UTC offsets of the visitors' devices)
_VISITOR_MIX = (
    ("CN", 17.0, "zh_CN", "zh_CN", ("+08:00",)),
    ("JP", 11.0, "ja_JP", "ja", ("+09:00",)),
    ("US", 10.0, "en_US", "en", ("-05:00", "-04:00", "-08:00", "-07:00", "-06:00")),
    ("KR", 8.0, "ko_KR", "ko", ("+09:00",)),
    ("RU", 6.0, "ru_RU", "ru", ("+03:00", "+07:00", "+10:00")),
    ("VN", 6.0, "vi_VN", "vi", ("+07:00",)),
    ("TH", 4.5, "th_TH", "th", ("+07:00",)),
    # No Mongolian or Kazakh Faker locale: Cyrillic Russian names are the closest.
    ("MN", 4.5, "ru_RU", "ru", ("+08:00",)),
    ("TW", 4.0, "zh_TW", "zh_TW", ("+08:00",)),
    ("KZ", 3.0, "ru_RU", "ru", ("+05:00", "+06:00")),
    ("UZ", 2.5, "uz_UZ", "ru", ("+05:00",)),
    # en_PH has no phone numbers; Filipino and Singaporean names are English-like anyway.
    ("PH", 2.5, "en_US", "en", ("+08:00",)),
    ("CA", 2.5, "en_CA", "en", ("-05:00", "-04:00", "-08:00")),
    ("HK", 2.0, "zh_TW", "zh_TW", ("+08:00",)),
    ("ID", 2.0, "id_ID", "en", ("+07:00",)),
    ("SG", 2.0, "en_US", "en", ("+08:00",)),
    ("AU", 2.0, "en_AU", "en", ("+10:00", "+11:00", "+08:00")),
    # ar_AE makes English names; ar_AA makes Arabic ones.
    ("AE", 1.5, "ar_AA", "en", ("+04:00",)),
    ("GB", 0.8, "en_GB", "en", ("+00:00", "+01:00")),
    ("MY", 0.8, "en_US", "en", ("+08:00",)),
    ("KG", 0.7, "ru_RU", "ru", ("+06:00",)),
    ("SA", 0.5, "ar_SA", "en", ("+03:00",)),
    ("DE", 0.5, "de_DE", "en", ("+01:00", "+02:00")),
    ("FR", 0.4, "fr_FR", "en", ("+01:00", "+02:00")),
    ("IN", 0.4, "en_IN", "en", ("+05:30",)),
    ("NZ", 0.3, "en_NZ", "en", ("+12:00", "+13:00")),
    ("TR", 0.3, "tr_TR", "en", ("+03:00",)),
    ("UA", 0.3, "uk_UA", "ru", ("+02:00", "+03:00")),
    ("MX", 0.2, "es_MX", "en", ("-06:00",)),
    ("BR", 0.2, "pt_BR", "en", ("-03:00",)),
)
# Shared by every other country: a few visitors from everywhere.
_REST_OF_WORLD_WEIGHT = 1.5
_REST_OF_WORLD = ("en_US", "en", ())

# alpha-2, alpha-3, English short name, Korean name, first alias, last alias
_SPELLING_STYLE_WEIGHTS = (0.25, 0.10, 0.30, 0.20, 0.075, 0.075)
# as typed, lower case, upper case, leading space, trailing space
_SPELLING_MANGLE_WEIGHTS = (0.90, 0.03, 0.03, 0.02, 0.02)

# Code, the site's label, the Korean site's label; drawn with these weights.
_FEATURE_SPELLINGS = {
    "free_estimate": ("free_estimate", "Free Estimate", "무료견적"),
    "self_diagnosis": ("self_diagnosis", "Self-Diagnosis", "자가진단"),
    "coupon": ("coupon", "Coupon", "쿠폰"),
}
_FEATURE_STYLE_WEIGHTS = (0.5, 0.3, 0.2)
# Baseline share of each feature; coupon campaigns multiply the coupon share.
_FEATURE_SHARES = {"free_estimate": 0.50, "self_diagnosis": 0.32, "coupon": 0.18}

_GENDER_SPELLINGS = (
    ("F", "female", "Female", "여", "여성"),
    ("M", "male", "Male", "남", "남성"),
    ("other", "Other"),
)
# female, male, other, left blank: cosmetic surgery and coupons skew female.
_GENDER_MIX = {
    "free_estimate": (0.70, 0.26, 0.01, 0.03),
    "self_diagnosis": (0.53, 0.42, 0.01, 0.04),
    "coupon": (0.78, 0.18, 0.01, 0.03),
}
# Weight of each contract age band: a few percent are children brought by a parent.
_AGE_MIX = {
    "free_estimate": {"0-13": 2, "14-19": 4, "20-29": 28, "30-39": 28, "40-49": 18, "50-59": 12, "60-69": 6, "70+": 2},
    "self_diagnosis": {"0-13": 4, "14-19": 3, "20-29": 15, "30-39": 22, "40-49": 22, "50-59": 18, "60-69": 11, "70+": 5},
    "coupon": {"0-13": 1, "14-19": 6, "20-29": 38, "30-39": 28, "40-49": 14, "50-59": 8, "60-69": 4, "70+": 1},
}  # fmt: skip
_OLDEST_AGE = 89
_GUARDIAN_BELOW_AGE = 14
# Guardians who fill in the form for a child are mostly mothers.
_MOTHER_SHARE = 0.7

# How submitted_at is written: site offset, UTC from JavaScript (with milliseconds), no offset
# (Korea time), device offset, UTC without milliseconds, the back office's own offset.
_TIMESTAMP_STYLES = ("site", "utc_millis", "korea_time", "device", "utc", "back_office")
_BACK_OFFICE_OFFSET = "-05:00"  # a back office on US Eastern time, whatever the visitor's
_DOB_SEPARATORS = ("-", ".", "/")


@dataclass(frozen=True)
class FormatMix:
    """How often each spelling of submitted_at (_TIMESTAMP_STYLES) and date_of_birth (_DOB_SEPARATORS) is written."""

    timestamp_weights: tuple[float, ...]
    dob_separator_weights: tuple[float, ...]


_CLEAN_TIMESTAMPS = (0.45, 0.20, 0.15, 0.20, 0.0, 0.0)
# A real back office's export: 40% of timestamps rewritten to end in Z, -05:00 or nothing (a third
# each), the rest as the site writes them; half the dates of birth with dots or slashes.
_REWRITTEN_SHARE = 0.4
_REWRITTEN_TIMESTAMPS = (0.0, 0.0, 1 / 3, 0.0, 1 / 3, 1 / 3)
MIXES = {
    "clean": FormatMix(_CLEAN_TIMESTAMPS, (0.6, 0.25, 0.15)),
    "real": FormatMix(
        tuple(
            (1 - _REWRITTEN_SHARE) * site + _REWRITTEN_SHARE * rewritten
            for site, rewritten in zip(_CLEAN_TIMESTAMPS, _REWRITTEN_TIMESTAMPS, strict=True)
        ),
        (0.5, 0.25, 0.25),
    ),
}

# Submissions per hour of the day in Korea time: Asian evenings, American mornings.
_HOURLY_WEIGHTS = (
    1.7,
    1.3,
    0.9,
    0.7,
    0.6,
    0.6,
    0.8,
    1.1,
    1.5,
    2.0,
    2.5,
    2.7,
    2.6,
    2.7,
    2.8,
    2.7,
    2.6,
    2.5,
    2.4,
    2.6,
    3.0,
    3.3,
    3.1,
    2.4,
)
# Monday to Sunday: people plan trips early in the week.
_WEEKDAY_WEIGHTS = np.array([1.12, 1.08, 1.04, 1.00, 0.93, 0.84, 0.99])
_YEARLY_GROWTH = 1.30
# Peaks in mid-April and mid-October, the medical-tourism high seasons.
_SEASON_AMPLITUDE = 0.20
_SEASON_PEAK_DAY_OF_YEAR = 105
_DAILY_NOISE = 0.08
_DAYS_PER_CAMPAIGN = 180

_GENERIC_USER_AGENTS = (
    (0.22, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
    (0.10, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    (0.16, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"),
    (0.08, "Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"),
    (0.14, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"),
    (0.05, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.2535.92"),
    (0.07, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"),
    (0.04, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"),
    (0.04, "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
    (0.03, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
)  # fmt: skip
# In-app browsers of the messengers that share the site's links.
_IN_APP_USER_AGENTS = {
    "CN": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN",
    "KR": "Mozilla/5.0 (Linux; Android 14; SM-S921N Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36;KAKAOTALK 2410620",
    "JP": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/14.9.0",
    "TH": "Mozilla/5.0 (Linux; Android 13; SM-A536E) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/124.0.6367.82 Mobile Safari/537.36 Line/14.8.1/IAB",
    "TW": "Mozilla/5.0 (iPhone; CPU iPhone OS 16_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 Safari Line/14.7.0",
}  # fmt: skip
_IN_APP_SHARE = 0.3
_IPV6_SHARE = 0.25
_IPV6_PREFIXES = (0x2001, 0x2400, 0x2404, 0x2408, 0x240E, 0x2600, 0x2607, 0x2A00, 0x2A02, 0x2406)
# First octets of public IPv4 addresses (no private, loopback or multicast ranges).
_PUBLIC_FIRST_OCTETS = np.setdiff1d(np.arange(1, 224), (10, 127, 169, 172, 192))

# Procedures and message templates per language; {proc}, {name}, {phone}, {email} are filled from the pools.
_MESSAGES = {
    "en": (
        (
            "double eyelid surgery",
            "rhinoplasty",
            "skin booster",
            "dental veneers",
            "full health check-up",
            "liposuction",
        ),
        (
            "Hello, I'd like a price estimate for {proc}. How many days do I need to stay in Seoul?",
            "Hi!\nI'm planning to visit Gangnam next month. Is {proc} possible on the day of the consultation?",
            "Please contact me on WhatsApp {phone}. Interested in {proc}.",
            'My email is {email}, please send the "all-inclusive" price for {proc}.',
            "I had {proc} 3 years ago in another clinic, can you check the result?\nI will send photos.",
            "Do you have an English-speaking coordinator? I'm {name}, travelling with my mother.",
            "Is the coupon valid for {proc}? Thanks",
            "{phone} call me after 6pm please",
            "- {proc}\n- recovery time?\n- price?",
            '=HYPERLINK("http://example.com/photo","see photo")',
        ),
    ),
    "zh_CN": (
        ("双眼皮手术", "隆鼻", "皮肤管理", "牙齿贴面", "全身体检", "吸脂"),
        (
            "你好，我想咨询{proc}的价格，大概需要在首尔待几天？",
            "请加我微信：{phone}，想了解{proc}。",
            "我的邮箱是{email}，麻烦发一下“{proc}”的报价，谢谢！",
            '之前在别的医院做过{proc}，\n效果不太满意，可以修复吗？"急"',
            "下个月去江南，能当天面诊当天手术吗？我是{name}。",
        ),
    ),
    "zh_TW": (
        ("雙眼皮手術", "隆鼻", "皮膚管理", "牙齒貼片", "健康檢查", "抽脂"),
        (
            "您好，想詢問{proc}的費用，需要在首爾停留幾天？",
            "請用LINE聯絡我：{phone}",
            "我的信箱是{email}，請寄「{proc}」的報價給我，謝謝！",
            "下個月會去江南，可以當天諮詢當天手術嗎？\n{name}",
        ),
    ),
    "ja": (
        ("二重まぶた手術", "鼻整形", "肌管理", "歯のラミネート", "健康診断", "脂肪吸引"),
        (
            "こんにちは。{proc}の見積もりをお願いします。ソウルに何日滞在が必要ですか？",
            "LINEで連絡ください：{phone}",
            "メールアドレスは{email}です。「{proc}」の料金を教えてください。",
            "来月江南へ行きます。\n日本語の通訳はいますか？ {name}",
        ),
    ),
    "ru": (
        ("блефаропластика", "ринопластика", "уход за кожей", "виниры", "комплексное обследование", "липосакция"),
        (
            "Здравствуйте! Сколько стоит {proc}? Сколько дней нужно быть в Сеуле?",
            "Пишите в WhatsApp: {phone}",
            'Моя почта {email}, пришлите, пожалуйста, цену на "{proc}".',
            "Планирую поездку в следующем месяце.\nЕсть ли русскоязычный координатор? {name}",
        ),
    ),
    "vi": (
        ("cắt mí", "nâng mũi", "chăm sóc da", "dán sứ veneer", "khám sức khỏe tổng quát", "hút mỡ"),
        (
            "Xin chào, tôi muốn hỏi giá {proc}. Tôi cần ở Seoul bao nhiêu ngày?",
            "Liên hệ Zalo: {phone}",
            'Email của tôi là {email}, vui lòng gửi báo giá "{proc}".',
            "Tôi là {name}, tháng sau sang Gangnam,\ncó phiên dịch tiếng Việt không?",
        ),
    ),
    "th": (
        ("ทำตาสองชั้น", "เสริมจมูก", "ดูแลผิว", "วีเนียร์", "ตรวจสุขภาพ", "ดูดไขมัน"),
        (
            "สวัสดีค่ะ อยากทราบราคา{proc} ต้องอยู่โซลกี่วันคะ",
            "ติดต่อทางไลน์: {phone}",
            'อีเมลของฉันคือ {email} ขอใบเสนอราคา "{proc}" ด้วยค่ะ',
        ),
    ),
    "ko": (
        ("쌍꺼풀 수술", "코 성형", "피부 관리", "라미네이트", "종합 건강검진", "지방흡입"),
        (
            "안녕하세요, {proc} 견적 문의드립니다. 회복 기간은 얼마나 걸리나요?",
            "연락처: {phone} (오후 6시 이후 통화 가능)",
            '이메일 {email}로 "{proc}" 비용 보내주세요.',
            "다음 달 방문 예정입니다.\n주차 가능한가요? - {name}",
        ),
    ),
}
# The Faker locale that fills a language's messages with contact details.
_MESSAGE_LOCALES = {
    "en": "en_US", "zh_CN": "zh_CN", "zh_TW": "zh_TW", "ja": "ja_JP",
    "ru": "ru_RU", "vi": "vi_VN", "th": "th_TH", "ko": "ko_KR",
}  # fmt: skip
# Visitors write in their own language this often, else in English.
_OWN_LANGUAGE_SHARE = 0.7
_BLANK_MESSAGE_SHARE = 0.25

# Back-office staff notes.
_MEMOS = (
    "통역 필요", "VIP", "재방문 고객", "전화 상담 완료, 견적 발송", "노쇼 이력 있음", "카톡 문의 병행",
    "보호자 동반 예정", '고객 요청: "오전 예약"', "견적서 재발송\n(금액 수정)", "에이전시 경유",
)  # fmt: skip
_MEMO_SHARE = 0.12
_PHONE_SHARE = 0.85
_GENERIC_COUPON_CODES = ("WELCOME10", "FIRSTVISIT", "GANGNAM5")
_SEASONS = ("WINTER", "SPRING", "SUMMER", "AUTUMN")  # December to February is winter

# --- defects ----------------------------------------------------------------

# A dirty row has exactly one defect, of one of these kinds, drawn with equal weights.
_FIELD_DEFECTS = ("submitted_at", "feature", "date_of_birth", "residing_country", "gender")
_CSV_DEFECTS = (*_FIELD_DEFECTS, "field_count", "encoding")
_JSONL_DEFECTS = (*_FIELD_DEFECTS, "json")
_BAD_FEATURES = ("", "newsletter", "contact_us", "undefined", "test")
_BAD_COUNTRIES = ("", "Atlantis", "Wakanda", "Earth", "XX", "N/A", "??")
_BAD_GENDERS = ("Famale", "mael", "?", "xx", "0", "ㅇ")
# Text saved in a legacy encoding inside a UTF-8 file: CP949 Korean, Latin-1, a cut multi-byte character.
_BROKEN_TEXTS = ("김민수".encode("cp949"), "José Müller".encode("latin-1"), "서울".encode()[:-1])


def generate(
    out: Path,
    rows: int,
    seed: int = 42,
    *,
    start: date | None = None,
    end: date | None = None,
    dirty_share: float = 0.02,
    extra_columns: bool = True,
    mix: str = "clean",
) -> GenerateSummary:
    """Write `rows` synthetic submissions to `out` (.csv, .jsonl, .csv.gz or .jsonl.gz).

    The period defaults to the 1095 days ending at `end` (default DEFAULT_END, fixed so
    that output is reproducible). `dirty_share` of the rows carry one defect each. `mix`
    (a key of MIXES) says how often each spelling of a timestamp and a date of birth occurs.
    """
    started = time.perf_counter()
    out = Path(out)
    fmt, compress = _output_format(out)
    start, end = checked_arguments(rows, seed, ("dirty_share", dirty_share), start, end)
    if mix not in MIXES:
        raise ValueError(f"mix must be one of {', '.join(MIXES)}, not {mix!r}")

    defects = _CSV_DEFECTS if fmt == "csv" else _JSONL_DEFECTS
    order = _column_order(extra_columns)
    calendar = _calendar(seed, rows, start, end)
    pools = _pools(seed)
    encoder = _Encoder(_csv_values if fmt == "csv" else _json_values)
    dirty_rows = 0
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    try:
        with _open_output(partial, compress) as write:
            if fmt == "csv":
                write(_csv_header(order, seed))
            for index, low in enumerate(range(0, rows, _CHUNK_ROWS)):
                chunk = _chunk(
                    seed, index, low, min(low + _CHUNK_ROWS, rows), calendar, pools, dirty_share, defects, MIXES[mix]
                )
                dirty_rows += int(np.count_nonzero(chunk.defect >= 0))
                lines = _csv_lines(chunk, order, encoder) if fmt == "csv" else _jsonl_lines(chunk, order, encoder)
                write(_joined_bytes(lines))
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return GenerateSummary(out, rows, dirty_rows, out.stat().st_size, time.perf_counter() - started)


def checked_arguments(
    rows: int, seed: int, share: tuple[str, float], start: date | None, end: date | None
) -> tuple[date, date]:
    """The period a generator writes (default: DEFAULT_DAYS ending at DEFAULT_END); ValueError for a bad argument."""
    end = DEFAULT_END if end is None else end
    start = end - timedelta(days=DEFAULT_DAYS - 1) if start is None else start
    name, value = share
    if rows < 0:
        raise ValueError(f"rows must be 0 or more, not {rows}")
    if seed < 0:
        raise ValueError(f"seed must be 0 or more, not {seed}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be between 0 and 1, not {value}")
    if start > end:
        raise ValueError(f"start {start} is after end {end}")
    return start, end


def _output_format(out: Path) -> tuple[str, bool]:
    name = out.name.lower()
    for suffix in sorted(_FORMATS, key=len, reverse=True):
        if name.endswith(suffix):
            return _FORMATS[suffix]
    raise ValueError(f"cannot tell the format of {out.name!r}: the name must end in .csv, .jsonl, .csv.gz or .jsonl.gz")


def _column_order(extra_columns: bool) -> list[str]:
    order = []
    for name in KNOWN_RAW_COLUMNS:
        order.append(name)
        if extra_columns:
            order.extend(_BACK_OFFICE_EXTRAS.get(name, ()))
    return order


# --- lookup tables ----------------------------------------------------------


class _Coded(NamedTuple):
    """A column as indices into a shared table of values, so that each value is encoded once."""

    values: pa.Array
    index: np.ndarray


def _text(values: list[str] | tuple[str, ...]) -> pa.Array:
    return pa.array(values, pa.string())


@cache
def _numbers(width: int, count: int) -> pa.Array:
    return _text([f"{i:0{width}d}" for i in range(count)])


@cache
def _hex_groups() -> pa.Array:
    return _text([f"{i:x}" for i in range(0x10000)])


def _cumulative(weights: tuple[float, ...] | list[float] | np.ndarray) -> np.ndarray:
    cumulative = np.cumsum(np.asarray(weights, dtype=np.float64), axis=-1)
    return cumulative / cumulative[..., -1:]


def _draw(rng: np.random.Generator, n: int, weights: tuple[float, ...] | np.ndarray) -> np.ndarray:
    """n draws of a category with the given weights."""
    cumulative = _cumulative(weights)
    return np.searchsorted(cumulative, rng.random(n), side="right")


def _draw_per_row(rng: np.random.Generator, cumulative: np.ndarray) -> np.ndarray:
    """One draw per row, each row with its own cumulative weights (rows x categories)."""
    return (cumulative <= rng.random(len(cumulative))[:, None]).sum(axis=1)


@dataclass(frozen=True)
class _Countries:
    codes: tuple[str, ...]  # ISO alpha-2, in the order of the arrays below
    cumulative: np.ndarray  # visit weights
    locale: np.ndarray  # index into _Pools locales
    language: np.ndarray  # index into _MESSAGES
    spellings: pa.Array  # every way a country is written, then _BAD_COUNTRIES
    spelling: np.ndarray  # countries x styles x mangles -> index into spellings
    offset_count: np.ndarray
    offset_seconds: np.ndarray  # countries x offsets
    offset_suffix: np.ndarray  # countries x offsets -> index into suffixes
    suffixes: pa.Array  # "", "Z", the site offset, then every device offset and the back office's
    back_office_suffix: int  # index into suffixes
    in_app: np.ndarray  # index into user agents, -1 for none
    user_agents: pa.Array
    user_agent_cumulative: np.ndarray

    @property
    def bad_spelling_start(self) -> int:
        return len(self.spellings) - len(_BAD_COUNTRIES)


def _offset_seconds(offset: str) -> int:
    """Seconds east of UTC of an offset written as +HH:MM or -HH:MM."""
    sign = -1 if offset.startswith("-") else 1
    return sign * (int(offset[1:3]) * 3600 + int(offset[4:6]) * 60)


@cache
def _countries() -> _Countries:
    named = {alpha2: (weight, locale, language, offsets) for alpha2, weight, locale, language, offsets in _VISITOR_MIX}
    everyone = [c.alpha_2 for c in pycountry.countries]
    rest_weight = _REST_OF_WORLD_WEIGHT / (len(everyone) - len(named))
    ordered = list(named) + [alpha2 for alpha2 in everyone if alpha2 not in named]
    locales = _locales()
    languages = list(_MESSAGES)
    device_offsets = {o for *_, offsets in _VISITOR_MIX for o in offsets}
    suffixes = ["", "Z", _SITE_OFFSET_TEXT, *sorted(device_offsets | {_BACK_OFFICE_OFFSET})]
    most_offsets = max(len(offsets) for *_, offsets in _VISITOR_MIX)
    user_agents = [ua for _, ua in _GENERIC_USER_AGENTS] + list(_IN_APP_USER_AGENTS.values())
    typed = {}  # the aliases people type, by country, from the load's own table
    for spelling, code in COUNTRY_ALIASES.items():
        typed.setdefault(code, []).append(spelling)

    spellings: dict[str, int] = {}
    table = np.zeros((len(ordered), len(_SPELLING_STYLE_WEIGHTS), len(_SPELLING_MANGLE_WEIGHTS)), np.int32)
    weights, locale, language = [], [], []
    offset_count = np.zeros(len(ordered), np.int64)
    offset_seconds = np.zeros((len(ordered), most_offsets), np.int64)
    offset_suffix = np.zeros((len(ordered), most_offsets), np.int64)
    in_app = np.full(len(ordered), -1)
    for i, alpha2 in enumerate(ordered):
        weight, loc, lang, offsets = named.get(alpha2, (rest_weight, *_REST_OF_WORLD))
        weights.append(weight)
        locale.append(locales.index(loc))
        language.append(languages.index(lang))
        offset_count[i] = len(offsets)
        for j, offset in enumerate(offsets):
            offset_seconds[i, j] = _offset_seconds(offset)
            offset_suffix[i, j] = suffixes.index(offset)
        if alpha2 in _IN_APP_USER_AGENTS:
            in_app[i] = user_agents.index(_IN_APP_USER_AGENTS[alpha2])
        country = pycountry.countries.get(alpha_2=alpha2)
        english = country.name
        aliases = typed.get(alpha2) or (getattr(country, "common_name", english),)
        korean = country_name(alpha2, "ko")
        styles = (alpha2, country.alpha_3, english, korean, aliases[0], aliases[-1])
        for s, written in enumerate(styles):
            for m, mangled in enumerate((written, written.lower(), written.upper(), " " + written, written + "  ")):
                table[i, s, m] = spellings.setdefault(mangled, len(spellings))
    return _Countries(
        codes=tuple(ordered),
        cumulative=_cumulative(weights),
        locale=np.array(locale),
        language=np.array(language),
        spellings=_text(list(spellings) + list(_BAD_COUNTRIES)),
        spelling=table,
        offset_count=offset_count,
        offset_seconds=offset_seconds,
        offset_suffix=offset_suffix,
        suffixes=_text(suffixes),
        back_office_suffix=suffixes.index(_BACK_OFFICE_OFFSET),
        in_app=in_app,
        user_agents=_text(user_agents),
        user_agent_cumulative=_cumulative([w for w, _ in _GENERIC_USER_AGENTS]),
    )


@cache
def _locales() -> tuple[str, ...]:
    return tuple(sorted({locale for _, _, locale, _, _ in _VISITOR_MIX} | {_REST_OF_WORLD[0]}))


@cache
def _small_tables() -> dict[str, pa.Array]:
    features = [s for code in FEATURES for s in _FEATURE_SPELLINGS[code]]
    genders = [s for spellings in _GENDER_SPELLINGS for s in spellings]
    return {
        # Index 0 is the blank value in every table.
        "feature": _text(["", *features, *(b for b in _BAD_FEATURES if b)]),
        "gender": _text(["", *genders, *_BAD_GENDERS]),
        "memo": _text(["", *_MEMOS]),
        "millis": _text(["", *(f".{i:03d}" for i in range(1000))]),
        "letters": _text([chr(c) for c in range(ord("A"), ord("Z") + 1)]),
    }


@dataclass(frozen=True)
class _Pools:
    """Faker-made values: per locale for people, per language for messages; index 0 is blank."""

    names: pa.Array  # per locale: female names, then male names
    emails: pa.Array
    phones: pa.Array
    messages: pa.Array


@lru_cache(maxsize=4)
def _pools(seed: int) -> _Pools:
    names, emails, phones, messages = [""], [""], [""], [""]
    by_locale: dict[str, tuple[list[str], list[str], list[str]]] = {}
    for locale in _locales():
        fake = Faker(locale)
        fake.seed_instance(f"{seed}-{locale}")
        made = (
            [fake.name_female() for _ in range(_POOL_SIZE)] + [fake.name_male() for _ in range(_POOL_SIZE)],
            [fake.free_email() for _ in range(_POOL_SIZE)],
            [fake.phone_number() for _ in range(_POOL_SIZE)],
        )
        by_locale[locale] = made
        names += made[0]
        emails += made[1]
        phones += made[2]
    for language, (procedures, templates) in _MESSAGES.items():
        pick = random.Random(f"{seed}-{language}")
        people, addresses, numbers = by_locale[_MESSAGE_LOCALES[language]]
        messages += [
            pick.choice(templates).format(
                proc=pick.choice(procedures),
                name=pick.choice(people),
                email=pick.choice(addresses),
                phone=pick.choice(numbers),
            )
            for _ in range(_MESSAGE_POOL_SIZE)
        ]
    return _Pools(_text(names), _text(emails), _text(phones), _text(messages))


# --- the calendar -----------------------------------------------------------


@dataclass(frozen=True)
class _Calendar:
    first_day: int  # days since 1970-01-01
    day_ends: np.ndarray  # cumulative rows at the end of each day
    day_counts: np.ndarray
    feature_cumulative: np.ndarray  # days x features
    campaign: np.ndarray  # per day, the running campaign's index into coupon_codes, or -1
    coupon_codes: pa.Array  # "", the generic codes, then one per campaign


def _calendar(seed: int, rows: int, start: date, end: date) -> _Calendar:
    """How many submissions each day gets, and each day's feature mix."""
    rng = np.random.default_rng([seed, 1])
    n_days = (end - start).days + 1
    first_day = (start - date(1970, 1, 1)).days
    days = np.arange(first_day, first_day + n_days)
    day_of_year = days - days.astype("datetime64[D]").astype("datetime64[Y]").astype("datetime64[D]").astype(np.int64)
    volume = (
        (1 + _SEASON_AMPLITUDE * np.cos(4 * np.pi * (day_of_year - _SEASON_PEAK_DAY_OF_YEAR) / 365.25))
        * _WEEKDAY_WEIGHTS[(days + 3) % 7]  # 1970-01-01 was a Thursday
        * _YEARLY_GROWTH ** (np.arange(n_days) / 365.25)
        * np.exp(rng.normal(0.0, _DAILY_NOISE, n_days))
    )
    # Coupon campaigns: one per segment of the period, a week or two, strongest on launch day.
    boost = np.ones(n_days)
    campaign = np.full(n_days, -1)
    codes = ["", *_GENERIC_COUPON_CODES]
    n_campaigns = max(1, round(n_days / _DAYS_PER_CAMPAIGN))
    segment = n_days // n_campaigns
    for k in range(n_campaigns):
        length = min(int(rng.choice([7, 10, 14])), n_days)
        first = k * segment + int(rng.integers(0, max(1, segment - length)))
        peak = rng.uniform(3.0, 5.0)
        span = slice(first, first + length)
        boost[span] = 1 + (peak - 1) * np.exp(-2.0 * np.arange(length) / length)[: n_days - first]
        launch = start + timedelta(days=first)
        campaign[span] = len(codes)
        codes.append(f"{_SEASONS[launch.month % 12 // 3]}{launch.year % 100:02d}")
    shares = np.array([_FEATURE_SHARES[f] for f in FEATURES]) * np.ones((n_days, 1))
    shares[:, FEATURES.index("coupon")] *= boost
    volume *= shares.sum(axis=1)
    counts = rng.multinomial(rows, volume / volume.sum())
    return _Calendar(first_day, np.cumsum(counts), counts, _cumulative(shares), campaign, _text(codes))


# --- one chunk of rows ------------------------------------------------------


@dataclass(frozen=True)
class _Chunk:
    columns: dict[str, pa.Array | _Coded]
    defect: np.ndarray  # index into the format's defects, -1 for a clean row
    defects: tuple[str, ...]
    variant: np.ndarray  # picks one form of the row's defect


def _ymd(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    as_days = days.astype("datetime64[D]")
    months = as_days.astype("datetime64[M]")
    years = months.astype("datetime64[Y]").astype(np.int64) + 1970
    return years, months.astype(np.int64) % 12 + 1, (as_days - months).astype(np.int64) + 1


def _date_text(days: np.ndarray, separators: pa.Array | pa.Scalar) -> pa.Array:
    years, months, day_of_month = _ymd(days)
    two = _numbers(2, 100)
    return pc.binary_join_element_wise(
        _numbers(4, 10_000).take(years), separators, two.take(months), separators, two.take(day_of_month), ""
    )


def _chunk(
    seed: int,
    index: int,
    low: int,
    high: int,
    calendar: _Calendar,
    pools: _Pools,
    dirty_share: float,
    defects: tuple[str, ...],
    mix: FormatMix,
) -> _Chunk:
    # Each chunk has its own random stream, so a chunk never depends on how many draws came before.
    rng = np.random.default_rng([seed, 2, index])
    n = high - low
    countries = _countries()
    tables = _small_tables()
    two = _numbers(2, 100)

    # When: rows are in time order; stratified draws keep each day's times sorted across chunks.
    row = np.arange(low, high)
    day = np.searchsorted(calendar.day_ends, row, side="right")
    rank = row - (calendar.day_ends[day] - calendar.day_counts[day])
    hour_cdf = np.concatenate([[0.0], _cumulative(_HOURLY_WEIGHTS)])
    second = np.interp((rank + rng.random(n)) / calendar.day_counts[day], hour_cdf, np.arange(25) * 3600.0)
    second = np.minimum(second.astype(np.int64), 86_399)
    site_day = calendar.first_day + day
    feature = _draw_per_row(rng, calendar.feature_cumulative[day])

    # Who: a country, an age that fits the feature, and a guardian for under-14s.
    country = np.searchsorted(countries.cumulative, rng.random(n), side="right")
    locale = countries.locale[country]
    age_cumulative, youngest, oldest = _age_table()
    band = _draw_per_row(rng, age_cumulative[feature])
    age = youngest[band] + (rng.random(n) * (oldest[band] - youngest[band] + 1)).astype(np.int64)
    birth_day = site_day - (age * 365.2425).astype(np.int64) - rng.integers(0, 365, n)
    years, months, days_of_month = _ymd(site_day)
    birth = _ymd(birth_day)
    exact_age = years - birth[0] - (months * 100 + days_of_month < birth[1] * 100 + birth[2])
    minor = exact_age < _GUARDIAN_BELOW_AGE

    gender = _draw_per_row(rng, _cumulative([_GENDER_MIX[f] for f in FEATURES])[feature])
    spelled = gender < len(_GENDER_SPELLINGS)
    first_spelling = np.cumsum([1] + [len(s) for s in _GENDER_SPELLINGS])
    spellings = np.diff(first_spelling)
    # Names follow the gender (0 female, 1 male); "other" and blank rows get either.
    male = np.where(gender < 2, gender, rng.random(n) < 0.5).astype(np.int64)
    gender = np.minimum(gender, len(_GENDER_SPELLINGS) - 1)
    gender_index = np.where(spelled, first_spelling[gender] + (rng.random(n) * spellings[gender]).astype(np.int64), 0)
    feature_index = 1 + feature * 3 + _draw(rng, n, _FEATURE_STYLE_WEIGHTS)
    written, mangled = _draw(rng, n, _SPELLING_STYLE_WEIGHTS), _draw(rng, n, _SPELLING_MANGLE_WEIGHTS)
    country_index = countries.spelling[country, written, mangled]

    def person(share: np.ndarray | float, sex: np.ndarray | None = None) -> np.ndarray:
        """Indices into the row's locale's pool (for names, its female or male half); 0 (blank) if none."""
        slot = locale if sex is None else 2 * locale + sex
        drawn = 1 + slot * _POOL_SIZE + rng.integers(0, _POOL_SIZE, n)
        return np.where(rng.random(n) < share, drawn, 0)

    # submitted_at, as the server, the visitor's browser, a JavaScript toISOString() or the back office
    # wrote it: the same instant, on another clock.
    style = _draw(rng, n, mix.timestamp_weights)
    device = _TIMESTAMP_STYLES.index("device")
    style[(style == device) & (countries.offset_count[country] == 0)] = 0
    which_offset = (rng.random(n) * countries.offset_count[country]).astype(np.int64)
    device_offset = countries.offset_seconds[country, which_offset]
    offsets = {
        "site": (_SITE_OFFSET_SECONDS, 2),
        "utc_millis": (0, 1),
        "korea_time": (_SITE_OFFSET_SECONDS, 0),
        "device": (device_offset, countries.offset_suffix[country, which_offset]),
        "utc": (0, 1),
        "back_office": (_offset_seconds(_BACK_OFFICE_OFFSET), countries.back_office_suffix),
    }
    assert tuple(offsets) == _TIMESTAMP_STYLES
    wall = site_day * 86_400 + second - _SITE_OFFSET_SECONDS + np.choose(style, [o for o, _ in offsets.values()])
    suffix = np.choose(style, [s for _, s in offsets.values()])
    millis = np.where(style == _TIMESTAMP_STYLES.index("utc_millis"), 1 + rng.integers(0, 1000, n), 0)
    clock = wall % 86_400
    submitted_at = pc.binary_join_element_wise(
        _date_text(wall // 86_400, pa.scalar("-")),
        "T",
        two.take(clock // 3600),
        ":",
        two.take(clock // 60 % 60),
        ":",
        two.take(clock % 60),
        tables["millis"].take(millis),
        countries.suffixes.take(suffix),
        "",
    )
    date_of_birth = _date_text(birth_day, _text(_DOB_SEPARATORS).take(_draw(rng, n, mix.dob_separator_weights)))

    # Where from: an IPv4 or IPv6 address, and a browser (often a messenger's in-app one).
    octets, groups = _numbers(1, 256), _hex_groups()
    ipv4 = pc.binary_join_element_wise(
        octets.take(rng.choice(_PUBLIC_FIRST_OCTETS, n)), *[octets.take(rng.integers(0, 256, n)) for _ in range(3)], "."
    )
    ipv6 = pc.binary_join_element_wise(
        groups.take(rng.choice(_IPV6_PREFIXES, n)), *[groups.take(rng.integers(0, 0x10000, n)) for _ in range(7)], ":"
    )
    ip_address = pc.if_else(pa.array(rng.random(n) < _IPV6_SHARE), ipv6, ipv4)
    in_app = (countries.in_app[country] >= 0) & (rng.random(n) < _IN_APP_SHARE)
    browser = np.searchsorted(countries.user_agent_cumulative, rng.random(n), side="right")
    user_agent = np.where(in_app, countries.in_app[country], browser)

    language = np.where(rng.random(n) < _OWN_LANGUAGE_SHARE, countries.language[country], 0)
    message = 1 + language * _MESSAGE_POOL_SIZE + rng.integers(0, _MESSAGE_POOL_SIZE, n)
    message = np.where(rng.random(n) < _BLANK_MESSAGE_SHARE, 0, message)

    # The back office's own columns: a coupon code is mostly the running campaign's.
    campaign = calendar.campaign[day]
    generic_code = 1 + rng.integers(0, len(_GENERIC_COUPON_CODES), n)
    coupon_code = np.where((campaign >= 0) & (rng.random(n) < 0.85), campaign, generic_code)
    coupon_code = np.where((feature == FEATURES.index("coupon")) & (rng.random(n) < 0.9), coupon_code, 0)
    # Staff ask for a passport number to quote a treatment (and to write a visa invitation).
    passport_share = np.where(feature == FEATURES.index("free_estimate"), 0.4, 0.05)
    passport = pc.binary_join_element_wise(
        tables["letters"].take(rng.integers(0, 26, n)),
        pc.utf8_lpad(pa.array(rng.integers(0, 10**8, n)).cast(pa.string()), 8, "0"),
        "",
    )
    passport_no = pc.if_else(pa.array(rng.random(n) < passport_share), passport, "")
    memo = np.where(rng.random(n) < _MEMO_SHARE, 1 + rng.integers(0, len(_MEMOS), n), 0)

    # Defects: one per dirty row, in a field here, or in the row's structure when it is written.
    defect = np.where(rng.random(n) < dirty_share, rng.integers(0, len(defects), n), -1)
    variant = rng.integers(0, 1 << 30, n)

    def dirty(kind: str) -> np.ndarray:
        return defect == defects.index(kind)

    bad = dirty("feature")
    bad_features = np.array([0, *range(1 + 3 * len(FEATURES), len(tables["feature"]))])
    feature_index[bad] = bad_features[variant[bad] % len(bad_features)]
    bad = dirty("gender")
    gender_index[bad] = len(tables["gender"]) - len(_BAD_GENDERS) + variant[bad] % len(_BAD_GENDERS)
    bad = dirty("residing_country")
    country_index[bad] = countries.bad_spelling_start + variant[bad] % len(_BAD_COUNTRIES)
    bad = dirty("submitted_at")
    submitted_at = _replace(submitted_at, bad, _bad_timestamps(variant[bad], years[bad], second[bad]))
    bad = dirty("date_of_birth")
    date_of_birth = _replace(date_of_birth, bad, _bad_birth_dates(variant[bad], *(part[bad] for part in birth)))

    guardian = minor.astype(np.float64)
    columns: dict[str, pa.Array | _Coded] = {
        "submission_id": pa.array(row + 100_001).cast(pa.string()),
        "submitted_at": submitted_at,
        "feature": _Coded(tables["feature"], feature_index),
        "name": _Coded(pools.names, person(1.0, male)),
        "gender": _Coded(tables["gender"], gender_index),
        "date_of_birth": date_of_birth,
        "email": _Coded(pools.emails, person(1.0)),
        "phone": _Coded(pools.phones, person(_PHONE_SHARE)),
        "residing_country": _Coded(countries.spellings, country_index),
        "passport_no": passport_no,
        "guardian_name": _Coded(pools.names, person(guardian, (rng.random(n) >= _MOTHER_SHARE).astype(np.int64))),
        "guardian_email": _Coded(pools.emails, person(guardian)),
        "guardian_phone": _Coded(pools.phones, person(guardian)),
        "ip_address": ip_address,
        "user_agent": _Coded(countries.user_agents, user_agent),
        "message": _Coded(pools.messages, message),
        "memo": _Coded(tables["memo"], memo),
        "coupon_code": _Coded(calendar.coupon_codes, coupon_code),
    }
    return _Chunk(columns, defect, defects, variant)


@cache
def _age_table() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per feature, cumulative weights of the contract's age bands; each band's youngest and oldest age."""
    weights = [[_AGE_MIX[feature][label] for label, _, _ in AGE_BANDS] for feature in FEATURES]
    youngest = np.array([low for _, low, _ in AGE_BANDS])
    oldest = np.array([_OLDEST_AGE if high is None else high for _, _, high in AGE_BANDS])
    return _cumulative(weights), youngest, oldest


def _replace(values: pa.Array, mask: np.ndarray, replacements: list[str]) -> pa.Array:
    if not replacements:
        return values
    return pc.replace_with_mask(values, pa.array(mask), _text(replacements))


def _bad_timestamps(variants: np.ndarray, years: np.ndarray, seconds: np.ndarray) -> list[str]:
    forms = []
    for variant, year, second in zip(variants.tolist(), years.tolist(), seconds.tolist(), strict=True):
        clock = f"{second // 3600:02d}:{second // 60 % 60:02d}:{second % 60:02d}"
        choices = (
            "",
            "yesterday",
            f"31/02/{year}",
            f"{year}-02-30T{clock}{_SITE_OFFSET_TEXT}",
            "0000-00-00 00:00:00",  # MySQL's zero date
            "1970-01-01T00:00:00Z",  # an epoch default, long before the site existed
            "#VALUE!",  # the file went through a spreadsheet
        )
        forms.append(choices[variant % len(choices)])
    return forms


def _bad_birth_dates(variants: np.ndarray, years: np.ndarray, months: np.ndarray, days: np.ndarray) -> list[str]:
    forms = []
    for variant, year, month, day in zip(
        variants.tolist(), years.tolist(), months.tolist(), days.tolist(), strict=True
    ):
        choices = (
            "",
            "0000-00-00",
            "0001-01-01",
            f"{year + 100:04d}-{month:02d}-{day:02d}",  # a typo in the year that lands in the future
            f"{day:02d}/{month:02d}/{year}",  # day first: not a contract format
            f"{year}-02-30",
        )
        forms.append(choices[variant % len(choices)])
    return forms


# --- encoding ---------------------------------------------------------------


def _csv_values(values: pa.Array) -> pa.Array:
    """RFC 4180: quote a value holding a comma, quote or line break, and double its quotes."""
    quoted = pc.binary_join_element_wise('"', pc.replace_substring(values, '"', '""'), '"', "")
    return pc.if_else(pc.match_substring_regex(values, '[,"\r\n]'), quoted, values)


def _json_values(values: pa.Array) -> pa.Array:
    """JSON strings (blank as null); the generator's text holds no other control characters."""
    escaped = values
    for raw, escape in (("\\", "\\\\"), ('"', '\\"'), ("\n", "\\n"), ("\r", "\\r"), ("\t", "\\t")):
        escaped = pc.replace_substring(escaped, raw, escape)
    return pc.if_else(pc.equal(values, ""), "null", pc.binary_join_element_wise('"', escaped, '"', ""))


class _Encoder:
    """Encodes columns for one output format, each shared table only once."""

    def __init__(self, encode_values: Callable[[pa.Array], pa.Array]):
        self._encode_values = encode_values
        # Keyed by id: the tables live as long as the generate() call that holds this encoder.
        self._tables: dict[int, pa.Array] = {}

    def __call__(self, column: pa.Array | _Coded) -> pa.Array:
        if isinstance(column, _Coded):
            key = id(column.values)
            if key not in self._tables:
                self._tables[key] = self._encode_values(column.values)
            return self._tables[key].take(column.index)
        return self._encode_values(column)


def _csv_header(order: list[str], seed: int) -> bytes:
    """The header as this back office spells it: some names capitalized or padded, maybe a BOM."""
    rng = np.random.default_rng([seed, 3])
    names = []
    for name in order:
        forms = (name, "_".join(part.capitalize() for part in name.split("_")), name.upper(), f" {name} ")
        names.append(forms[0] if rng.random() < 0.7 else forms[int(rng.integers(1, len(forms)))])
    bom = "\ufeff" if rng.random() < 0.5 else ""
    return (bom + ",".join(names) + "\r\n").encode()


def _csv_lines(chunk: _Chunk, order: list[str], encode: _Encoder) -> pa.Array:
    fields = [encode(chunk.columns[name]) for name in order]
    ended = [*fields[:-1], pc.binary_join_element_wise(fields[-1], "\r\n", "")]
    lines = pc.binary_join_element_wise(*ended, ",").cast(pa.binary())
    broken = np.flatnonzero(
        np.isin(chunk.defect, [chunk.defects.index("field_count"), chunk.defects.index("encoding")])
    )
    if not broken.size:
        return lines
    taken = [field.take(broken).to_pylist() for field in fields]
    user_agent, name = order.index("user_agent"), order.index("name")
    replacements = []
    for j, i in enumerate(broken):
        row = [values[j] for values in taken]
        variant = int(chunk.variant[i])
        if chunk.defects[chunk.defect[i]] == "encoding":
            parts = [part.encode() for part in row]
            parts[name] = _BROKEN_TEXTS[variant % len(_BROKEN_TEXTS)]
            replacements.append(b",".join(parts) + b"\r\n")
            continue
        if variant % 2:
            row.pop()  # the export stopped before the last field
        elif row[user_agent].startswith('"') and "," in row[user_agent]:
            row[user_agent] = row[user_agent][1:-1]  # written unquoted: its commas split it
        else:
            row.append("")  # a stray trailing comma
        replacements.append((",".join(row) + "\r\n").encode())
    mask = np.zeros(len(lines), bool)
    mask[broken] = True
    return pc.replace_with_mask(lines, pa.array(mask), pa.array(replacements, pa.binary()))


def _jsonl_lines(chunk: _Chunk, order: list[str], encode: _Encoder) -> pa.Array:
    pieces: list[pa.Array | str] = []
    for k, name in enumerate(order):
        pieces += [("{" if k == 0 else ", ") + f'"{name}": ', encode(chunk.columns[name])]
    lines = pc.binary_join_element_wise(*pieces, "}\n", "")
    broken = np.flatnonzero(chunk.defect == chunk.defects.index("json"))
    if not broken.size:
        return lines
    replacements = []
    for i, line in zip(broken, lines.take(broken).to_pylist(), strict=True):
        body = line.rstrip("\n")
        forms = (
            body[: len(body) // 2],  # cut off mid-object
            body.replace('"', "'"),  # a Python dict printed instead of JSON
            body[:-1] + ", }",  # a trailing comma
        )
        replacements.append(forms[int(chunk.variant[i]) % len(forms)] + "\n")
    mask = np.zeros(len(lines), bool)
    mask[broken] = True
    return pc.replace_with_mask(lines, pa.array(mask), _text(replacements))


def _joined_bytes(lines: pa.Array) -> pa.Buffer:
    """All lines as one buffer, without a copy into Python objects."""
    _, offsets, data = lines.buffers()
    bounds = np.frombuffer(offsets, np.int32)[lines.offset : lines.offset + len(lines) + 1]
    return data.slice(int(bounds[0]), int(bounds[-1] - bounds[0]))


# --- output -----------------------------------------------------------------


@contextmanager
def _open_output(path: Path, compress: bool) -> Iterator[Callable[[bytes | pa.Buffer], None]]:
    """A write function; writing and gzip run on a second thread while the next chunk is made."""
    # mtime=0 and no file name in the gzip header: the same rows give the same bytes.
    # Level 6 is gzip's own default, about twice as fast as Python's 9 for 1% more bytes.
    with ExitStack() as stack:
        stream = stack.enter_context(open(path, "wb"))
        if compress:
            stream = stack.enter_context(
                gzip.GzipFile(filename="", mode="wb", compresslevel=6, fileobj=stream, mtime=0)
            )
        worker = stack.enter_context(ThreadPoolExecutor(max_workers=1))
        pending: deque[Future] = deque()

        def write(data: bytes | pa.Buffer) -> None:
            pending.append(worker.submit(stream.write, data))
            while len(pending) > 1:  # one chunk in flight while the next is made: memory stays flat
                pending.popleft().result()

        yield write
        while pending:
            pending.popleft().result()
