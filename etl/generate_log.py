"""Synthetic web-server access logs: the second demo and test input of the ETL.

`generate_log()` writes what the demo site's nginx writes in its `combined`
format, one request per line, for the same days and the same submissions per
day as the form export of `etl.generate` with the same seed and arguments:
visitors who view a service page (routes.toml), load its assets and sometimes
post its form, crawlers and scripts, load-balancer health checks, personal data
where real logs carry it (the user field, query strings, referrers) and a share
of defects. The same seed and arguments always give the same bytes.

The truths a test needs (views and submits per Korea-time day and service from
people, bots, malformed lines) come back in the summary, never in the file.
Lines are built a chunk of days at a time with numpy and pyarrow kernels; only
the few malformed lines are made one by one.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from faker import Faker

from contract import FEATURES
from etl.generate import (
    _HOURLY_WEIGHTS,
    _IPV6_PREFIXES,
    _PUBLIC_FIRST_OCTETS,
    _calendar,
    _countries,
    _cumulative,
    _draw,
    _hex_groups,
    _joined_bytes,
    _numbers,
    _open_output,
    _text,
    _ymd,
    checked_arguments,
)
from etl.routes import ROUTES_PATH, load_routes

SITE = "https://www.gangnam-medical.example"

# Lines per chunk (whole days of them): pyarrow kernels dominate, memory stays flat.
_CHUNK_LINES = 200_000
# All lines (pages, assets, bots, health checks) per visit, measured: sizes the chunks only.
_LINES_PER_VISIT = 8.5
_KOREA_OFFSET = 9 * 3600
# Two servers behind the load balancer: one on Korea time, one left on UTC.
_UTC_SERVER_SHARE = 0.15

# Views per submission by service: the self-diagnosis quiz is often left half-way, a coupon is one click.
_VIEWS_PER_SUBMIT = {"free_estimate": 4.0, "self_diagnosis": 5.5, "coupon": 3.2}
_RELOAD_SHARE = 0.2  # a visit views its page a second time
# What else a visit asks for, each with its own chance.
_ASSET_SHARE = 0.55  # each of _ASSETS, the rest comes from the browser's cache
_FAVICON_SHARE = 0.3
_HOME_FIRST_SHARE = 0.35
_OTHER_PAGE_SHARE = 0.25
_NOT_FOUND_SHARE = 0.04
# Shares of all lines; people make the rest.
_BOT_SHARE = 0.30
_HEALTH_SHARE = 0.02
# Client addresses: IPv4, IPv6, IPv4-mapped IPv6 (a dual-stack listener).
_ADDRESS_MIX = (0.80, 0.15, 0.05)
_USER_FIELD_SHARE = 0.015  # basic auth on a staging link: a name or an email instead of "-"
_PERSONAL_QUERY_SHARE = 0.10
_CAMPAIGN_QUERY_SHARE = 0.15
_HTTP2_SHARE = 0.3
_POOL_SIZE = 100
_POOL_LOCALES = ("en_US", "ko_KR", "zh_CN", "ja_JP", "ru_RU", "vi_VN", "th_TH")

_ASSETS = (
    ("/static/css/main.3f9a1c.css", 48_211),
    ("/static/js/app.8c21d4.js", 182_530),
    ("/static/js/vendor.1b7e90.js", 412_907),
    ("/static/img/logo.png", 9_874),
    ("/static/img/hero-gangnam.png", 231_455),
    ("/static/img/clinic-1.png", 96_120),
)
_OTHER_PAGES = ("/", "/about", "/doctors", "/reviews", "/faq", "/contact", "/en", "/zh", "/ja", "/ko")
_HUMAN_NOT_FOUND = ("/event/2023-spring", "/old-promo", "/free_estimate", "/coupon", "/en/coupons/")
_PROBES = ("/wp-login.php", "/.env", "/xmlrpc.php", "/.git/config", "/admin/config.php", "/phpmyadmin/")
_ROBOT_PATHS = ("/robots.txt", "/sitemap.xml")
_METHODS = ("GET", "POST", "HEAD", "OPTIONS", "PUT", "PROPFIND")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# (weight, user agent): phones, desktops and tablets as the export generator's visitors use them.
_BROWSERS = (
    (0.20, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
    (0.09, "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"),
    (0.15, "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"),
    (0.07, "Mozilla/5.0 (Linux; Android 14; SM-S918N) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/25.0 Chrome/121.0.0.0 Mobile Safari/537.36"),
    (0.05, "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN"),
    (0.04, "Mozilla/5.0 (Linux; Android 14; SM-S921N Build/UP1A.231005.007; wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 Chrome/125.0.6422.165 Mobile Safari/537.36;KAKAOTALK 2410620"),
    (0.14, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"),
    (0.05, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36 Edg/125.0.2535.92"),
    (0.07, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15"),
    (0.04, "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:127.0) Gecko/20100101 Firefox/127.0"),
    (0.03, "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"),
    (0.05, "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"),
    (0.02, "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"),
)  # fmt: skip
_CRAWLERS = (
    (0.22, "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    (0.08, "Mozilla/5.0 (Linux; Android 6.0.1; Nexus 5X Build/MMB29P) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.6478.126 Mobile Safari/537.36 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"),
    (0.12, "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)"),
    (0.08, "Mozilla/5.0 (compatible; YandexBot/3.0; +http://yandex.com/bots)"),
    (0.12, "Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)"),
    (0.08, "Mozilla/5.0 (compatible; SemrushBot/7~bl; +http://www.semrush.com/bot.html)"),
    (0.06, "Mozilla/5.0 (compatible; Baiduspider/2.0; +http://www.baidu.com/search/spider.html)"),
    (0.04, "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)"),
    (0.04, "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"),
    # The last four are scripts: they also post the forms.
    (0.06, "curl/8.5.0"),
    (0.06, "python-requests/2.32.3"),
    (0.02, "Go-http-client/1.1"),
    (0.02, "Wget/1.21.4"),
)  # fmt: skip
_HEALTH_CHECKERS = ("ELB-HealthChecker/2.0", "kube-probe/1.30")
_SEARCH_REFERRERS = (
    "https://www.google.com/",
    "https://www.google.co.kr/",
    "https://search.naver.com/search.naver?query=%EA%B0%95%EB%82%A8+%EC%84%B1%ED%98%95",
    "https://www.baidu.com/link?url=Xk3Vb9Q",
    "https://yandex.ru/",
    "https://www.bing.com/",
    "https://l.facebook.com/",
    "https://www.instagram.com/",
)
# A visit comes from: nowhere, a search or social site, the site itself, a link carrying personal data.
_REFERRER_MIX = (0.30, 0.45, 0.20, 0.05)

# A defective line has one of these defects, drawn with these weights; the last six are malformed.
_DEFECTS = ("method", "status", "bytes", "truncated", "unquoted", "garbage", "empty", "csv", "json")
_DEFECT_WEIGHTS = (0.15, 0.15, 0.10, 0.15, 0.15, 0.10, 0.06, 0.07, 0.07)
_UNUSUAL = ("method", "status", "bytes")
_ODD_STATUSES = (301, 304, 404, 499, 500, 503)
# A TLS handshake sent to the plain-HTTP port, a UTF-16 byte order mark, NUL bytes: no quotes, no newlines.
_JUNK = (
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\xd2\x8f",
    b"\xff\xfe\x00G\x00E\x00T",
    b"\x00\x00\x00\x00\xc3\x28",
)


@dataclass(frozen=True)
class LogSummary:
    """What `generate_log()` wrote, and the truths a test checks the parser against."""

    path: Path
    lines: int
    bytes_written: int
    seconds: float
    # (Korea-time day, service, "view" or "submit") -> well-formed lines from people that are that step
    steps: dict[tuple[date, str, str], int]
    bot_lines: int  # well-formed lines from crawlers and scripts
    health_check_lines: int
    ipv6_lines: int  # well-formed lines from an IPv6 client (IPv4-mapped ones included)
    malformed_lines: int  # not in the combined format, empty lines included
    unusual_lines: int  # well-formed, with an unusual method, status or "-" for the byte count

    def total(self, step: str, service: str | None = None) -> int:
        return sum(n for (_, s, k), n in self.steps.items() if k == step and service in (None, s))


# --- lookup tables ----------------------------------------------------------


@dataclass(frozen=True)
class _Tables:
    paths: pa.Array  # views per feature, submits per feature, then the rest (see _path_index)
    queries: pa.Array  # "", campaign tags, then queries with personal data from `personal_query`
    personal_query: int
    referrers: pa.Array  # "-", search sites, the site's pages per path, then links with personal data
    internal_referrer: int  # index of the site's own page for path 0
    personal_referrer: int
    users: pa.Array  # "-", then names and emails
    user_agents: pa.Array  # browsers, crawlers, health checkers


def _path_index() -> dict[str, int]:
    index = {}
    for name in (
        *(f"view:{f}" for f in FEATURES),
        *(f"submit:{f}" for f in FEATURES),
        *(f"asset:{p}" for p, _ in _ASSETS),
        "favicon",
        "healthz",
        *(f"other:{p}" for p in _OTHER_PAGES),
        *(f"404:{p}" for p in _HUMAN_NOT_FOUND),
        *(f"probe:{p}" for p in _PROBES),
        *(f"robot:{p}" for p in _ROBOT_PATHS),
    ):
        index[name] = len(index)
    return index


@lru_cache(maxsize=4)
def _tables(seed: int, routes_path: Path) -> _Tables:
    routes = load_routes(routes_path).services
    paths = [routes[f][0] for f in FEATURES] + [routes[f][1] for f in FEATURES]
    paths += [p for p, _ in _ASSETS] + ["/favicon.ico", "/healthz"]
    paths += [*_OTHER_PAGES, *_HUMAN_NOT_FOUND, *_PROBES, *_ROBOT_PATHS]
    assert len(paths) == len(_path_index())

    # Personal data from Faker, percent-encoded as a browser sends it: once per seed, a few hundred values.
    names, emails, phones = [], [], []
    for locale in _POOL_LOCALES:
        fake = Faker(locale)
        fake.seed_instance(f"{seed}-log-{locale}")
        names += [fake.name() for _ in range(_POOL_SIZE)]
        emails += [fake.free_email() for _ in range(_POOL_SIZE)]
        phones += [fake.phone_number() for _ in range(_POOL_SIZE)]
    pick = random.Random(f"{seed}-log")
    q = lambda value: quote(value, safe="")  # noqa: E731
    personal = []
    for _ in range(2_000):
        form = pick.randrange(5)
        name, email, phone = pick.choice(names), pick.choice(emails), pick.choice(phones)
        token = f"{pick.getrandbits(128):032x}"
        personal.append(
            (
                f"?email={q(email)}&name={q(name)}",
                f"?name={q(name)}&phone={q(phone)}",
                f"?token={token}&email={q(email)}",
                f"?utm_source=newsletter&utm_medium=email&email={q(email)}",
                f"?reset_token={token}",
            )[form]
        )
    campaign = ("?utm_source=google&utm_medium=cpc&utm_campaign=spring", "?lang=en", "?lang=zh", "?ref=kakao")
    queries = ["", *campaign, *personal]

    referrers = ["-", *_SEARCH_REFERRERS, *(SITE + p for p in paths)]
    personal_referrer = len(referrers)
    for query in personal[:500]:
        referrers.append(
            pick.choice(
                (
                    f"{SITE}{paths[pick.randrange(len(FEATURES))]}{query}",
                    f"https://mail.google.com/mail/u/0/{query}",
                    f"https://partner-agency.example/landing{query}",
                )
            )
        )
    # The user field holds no spaces: a login name taken from the email, or the email itself.
    users = ["-", *emails[::2], *(e.split("@")[0] for e in emails[1::2])]
    user_agents = [ua for _, ua in _BROWSERS] + [ua for _, ua in _CRAWLERS] + list(_HEALTH_CHECKERS)
    return _Tables(
        paths=_text(paths),
        queries=_text(queries),
        personal_query=1 + len(campaign),
        referrers=_text(referrers),
        internal_referrer=1 + len(_SEARCH_REFERRERS),
        personal_referrer=personal_referrer,
        users=_text(users),
        user_agents=_text(user_agents),
    )


# --- the plan ---------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    first_day: int  # days since 1970-01-01, Korea time
    submits: np.ndarray  # days x features
    visits: np.ndarray  # days x features
    chunk_starts: np.ndarray  # first day of each chunk


def _plan(seed: int, rows: int, start: date, end: date) -> _Plan:
    """Submissions per day as the export generator draws them, its feature mix split out, and visits."""
    calendar = _calendar(seed, rows, start, end)
    rng = np.random.default_rng([seed, 5])
    shares = np.diff(calendar.feature_cumulative, axis=1, prepend=0.0)
    submits = rng.multinomial(calendar.day_counts, shares)
    visits_per_submit = np.array([_VIEWS_PER_SUBMIT[f] for f in FEATURES]) / (1 + _RELOAD_SHARE)
    visits = submits + rng.poisson(submits * (visits_per_submit - 1))
    # Whole days per chunk, about _CHUNK_LINES lines each.
    lines = visits.sum(axis=1) * _LINES_PER_VISIT
    chunk = ((np.cumsum(lines) - lines) // _CHUNK_LINES).astype(np.int64)
    starts = np.flatnonzero(np.diff(chunk, prepend=-1))
    return _Plan(calendar.first_day, submits, visits, starts)


# --- one chunk of days ------------------------------------------------------


# Addresses drawn to find which countries they are registered in: enough for about 40 of the
# smallest visiting country's.
_ADDRESS_SAMPLE = 1 << 20


@lru_cache(maxsize=2)
def _ipv4_by_country(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Public IPv4 addresses grouped by the country iptocc places them in, in the export's country order.

    Returns the addresses (uint32), and per country of `etl.generate`'s visitor mix its first index
    and count among them (0 where the sample holds none).
    """
    from iptocc import country_code

    rng = np.random.default_rng([seed, 7])
    first = rng.choice(_PUBLIC_FIRST_OCTETS, _ADDRESS_SAMPLE).astype(np.uint32)
    sample = (first << 24) | rng.integers(0, 1 << 24, _ADDRESS_SAMPLE, dtype=np.uint32)
    text = [f"{a >> 24}.{(a >> 16) & 255}.{(a >> 8) & 255}.{a & 255}" for a in sample.tolist()]
    index = {code: i for i, code in enumerate(_countries().codes)}
    placed = np.array([index.get(code, -1) for code in country_code(text)])
    order = np.argsort(placed, kind="stable")
    placed, sample = placed[order], sample[order]
    starts = np.searchsorted(placed, np.arange(len(index)))
    counts = np.searchsorted(placed, np.arange(len(index)), side="right") - starts
    return sample, starts, counts


def _dotted(addresses: np.ndarray) -> pa.Array:
    octets = _numbers(1, 256)
    parts = [octets.take(pa.array((addresses >> shift) & 255)) for shift in (24, 16, 8, 0)]
    return pc.binary_join_element_wise(*parts, ".")


def _addresses(rng: np.random.Generator, n: int, seed: int | None = None) -> tuple[pa.Array, np.ndarray]:
    """n public client addresses as nginx writes them, and which are IPv6.

    With `seed`, an IPv4 address is one registered in a country drawn from the export's visitor
    mix (etl.generate), so that the log's countries agree with the forms'; else anywhere.
    """
    octets, groups = _numbers(1, 256), _hex_groups()
    if seed is None:
        ipv4 = pc.binary_join_element_wise(
            octets.take(rng.choice(_PUBLIC_FIRST_OCTETS, n)),
            *[octets.take(rng.integers(0, 256, n)) for _ in range(3)],
            ".",
        )
    else:
        sample, starts, counts = _ipv4_by_country(seed)
        country = np.searchsorted(_countries().cumulative, rng.random(n), side="right")
        country = np.minimum(country, len(counts) - 1)
        anywhere = rng.integers(0, len(sample), n)
        picked = starts[country] + (rng.integers(0, 1 << 30, n) % np.maximum(counts[country], 1))
        ipv4 = _dotted(sample[np.where(counts[country] > 0, picked, anywhere)])
    ipv6 = pc.binary_join_element_wise(
        groups.take(rng.choice(_IPV6_PREFIXES, n)), *[groups.take(rng.integers(0, 0x10000, n)) for _ in range(7)], ":"
    )
    kind = _draw(rng, n, _ADDRESS_MIX)
    mapped = pc.binary_join_element_wise("::ffff:", ipv4, "")
    text = pc.if_else(pa.array(kind == 1), ipv6, pc.if_else(pa.array(kind == 2), mapped, ipv4))
    return text, kind > 0


class _Lines:
    """Columns of a chunk's lines, gathered part by part."""

    FIELDS = ("t", "client", "path", "query", "method", "status", "size", "referrer", "agent", "who")

    def __init__(self) -> None:
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name in self.FIELDS}

    def add(self, n: int, **columns: np.ndarray | int) -> None:
        for name in self.FIELDS:
            self.parts[name].append(np.broadcast_to(np.asarray(columns[name], dtype=np.int64), (n,)))

    def arrays(self) -> dict[str, np.ndarray]:
        return {name: np.concatenate(parts) for name, parts in self.parts.items()}


_PERSON, _BOT, _HEALTH = 0, 1, 2


def _chunk_lines(
    seed: int, plan: _Plan, chunk: int, tables: _Tables, defect_share: float
) -> tuple[pa.Array, dict[str, np.ndarray], np.ndarray]:
    """The chunk's lines as bytes, their columns in written order, and each line's defect (-1 for none)."""
    first = int(plan.chunk_starts[chunk])
    last = int(plan.chunk_starts[chunk + 1]) if chunk + 1 < len(plan.chunk_starts) else len(plan.visits)
    rng = np.random.default_rng([seed, 6, first])
    paths = _path_index()
    n_features = len(FEATURES)

    # Visits: each views one service page at a time of day drawn from the export's hourly weights.
    visits = plan.visits[first:last].ravel()
    group = np.repeat(np.arange(len(visits)), visits)
    n = len(group)
    rank = np.arange(n) - np.repeat(np.cumsum(visits) - visits, visits)
    submits = rank < plan.submits[first:last].ravel()[group]
    day = plan.first_day + first + group // n_features
    feature = group % n_features
    hour_cdf = np.concatenate([[0.0], _cumulative(_HOURLY_WEIGHTS)])
    second = np.interp(rng.random(n), hour_cdf, np.arange(25) * 3600.0).astype(np.int64)
    day_start = day * 86_400 - _KOREA_OFFSET  # UTC epoch of the Korea-time day's midnight
    t = day_start + np.minimum(second, 86_399)

    def within_day(visit: np.ndarray, offset: np.ndarray) -> np.ndarray:
        # A visit's later requests stay on its Korea-time day, so that each chunk holds whole days.
        return np.clip(t[visit] + offset, day_start[visit], day_start[visit] + 86_399)

    visit_clients, visit_v6 = _addresses(rng, n, seed)
    browser = _draw(rng, n, [w for w, _ in _BROWSERS])
    user = np.where(rng.random(n) < _USER_FIELD_SHARE, 1 + rng.integers(0, len(tables.users) - 1, n), 0)
    page_referrer = tables.internal_referrer + feature  # the service page, for what it loads
    lines = _Lines()

    def person(visit: np.ndarray, when: np.ndarray, **columns: np.ndarray | int) -> None:
        lines.add(len(visit), t=when, client=visit, agent=browser[visit], who=_PERSON, **columns)

    every = np.arange(n)
    came_from = _draw(rng, n, _REFERRER_MIX)
    referrer = np.choose(
        came_from,
        [
            0,
            1 + rng.integers(0, len(_SEARCH_REFERRERS), n),
            tables.internal_referrer + paths["other:/"],
            tables.personal_referrer + rng.integers(0, len(tables.referrers) - tables.personal_referrer, n),
        ],
    )
    query_kind = rng.random(n)
    query = np.where(
        query_kind < _PERSONAL_QUERY_SHARE,
        tables.personal_query + rng.integers(0, len(tables.queries) - tables.personal_query, n),
        np.where(query_kind < _PERSONAL_QUERY_SHARE + _CAMPAIGN_QUERY_SHARE, 1 + rng.integers(0, 4, n), 0),
    )
    page_size = np.array([18_342, 24_105, 15_877])[feature] + rng.integers(-400, 400, n)
    get, post = _METHODS.index("GET"), _METHODS.index("POST")
    person(every, t, path=feature, query=query, method=get, status=200, size=page_size, referrer=referrer)
    again = np.flatnonzero(rng.random(n) < _RELOAD_SHARE)
    person(
        again,
        within_day(again, rng.integers(5, 120, len(again))),
        path=feature[again],
        query=0,
        method=get,
        status=200,
        size=page_size[again],
        referrer=page_referrer[again],
    )
    visit, asset = np.nonzero(rng.random((n, len(_ASSETS))) < _ASSET_SHARE)
    cached = rng.random(len(visit)) < 0.3
    person(
        visit,
        within_day(visit, rng.integers(0, 3, len(visit))),
        path=paths[f"asset:{_ASSETS[0][0]}"] + asset,
        query=0,
        method=get,
        status=np.where(cached, 304, 200),
        size=np.where(cached, 0, np.array([size for _, size in _ASSETS])[asset]),
        referrer=page_referrer[visit],
    )
    favicon = np.flatnonzero(rng.random(n) < _FAVICON_SHARE)
    person(favicon, within_day(favicon, 1), path=paths["favicon"], query=0, method=get, status=200, size=1_150, referrer=0)  # fmt: skip
    home = np.flatnonzero(rng.random(n) < _HOME_FIRST_SHARE)
    person(
        home,
        within_day(home, -rng.integers(10, 180, len(home))),
        path=paths["other:/"],
        query=0,
        method=get,
        status=200,
        size=31_204,
        referrer=referrer[home],
    )
    other = np.flatnonzero(rng.random(n) < _OTHER_PAGE_SHARE)
    person(
        other,
        within_day(other, rng.integers(30, 1_200, len(other))),
        path=paths["other:/about"] + rng.integers(0, len(_OTHER_PAGES) - 1, len(other)),
        query=0,
        method=get,
        status=200,
        size=rng.integers(9_000, 40_000, len(other)),
        referrer=page_referrer[other],
    )
    lost = np.flatnonzero(rng.random(n) < _NOT_FOUND_SHARE)
    person(
        lost,
        within_day(lost, rng.integers(5, 600, len(lost))),
        path=paths[f"404:{_HUMAN_NOT_FOUND[0]}"] + rng.integers(0, len(_HUMAN_NOT_FOUND), len(lost)),
        query=0,
        method=get,
        status=404,
        size=555,
        referrer=0,
    )
    # The form, posted from the page: redirect-after-post mostly, some answer with a page. Its referrer
    # is the page as the visitor saw it, query string (and any email in it) included.
    sent = np.flatnonzero(submits)
    redirect = rng.random(len(sent)) < 0.7
    sent_query = np.where(rng.random(len(sent)) < 0.05, query[sent], 0)
    person(
        sent,
        within_day(sent, rng.integers(30, 900, len(sent))),
        path=n_features + feature[sent],
        query=sent_query,
        method=post,
        status=np.where(redirect, 303, 200),
        size=np.where(redirect, 0, rng.integers(2_000, 2_600, len(sent))),
        referrer=np.where(query[sent] >= tables.personal_query, referrer[sent], page_referrer[sent]),
    )
    humans = sum(len(part) for part in lines.parts["t"])

    # Crawlers and scripts on the same days: service pages, robots.txt, probes for known holes, spam posts.
    n_bots = round(humans * _BOT_SHARE / (1 - _BOT_SHARE - _HEALTH_SHARE))
    bot_clients, bot_v6 = _addresses(rng, n_bots)
    bot_day = plan.first_day + first + rng.integers(0, last - first, n_bots)
    bot_target = _draw(rng, n_bots, (0.25, 0.12, 0.18, 0.18, 0.12, 0.10, 0.05))
    bot_path = np.choose(
        bot_target,
        [
            rng.integers(0, n_features, n_bots),
            paths["other:/"],
            paths["other:/about"] + rng.integers(0, len(_OTHER_PAGES) - 1, n_bots),
            paths[f"robot:{_ROBOT_PATHS[0]}"] + rng.integers(0, len(_ROBOT_PATHS), n_bots),
            paths[f"probe:{_PROBES[0]}"] + rng.integers(0, len(_PROBES), n_bots),
            paths[f"asset:{_ASSETS[0][0]}"] + rng.integers(0, len(_ASSETS), n_bots),
            n_features + rng.integers(0, n_features, n_bots),
        ],
    )
    probe = bot_target == 4
    lines.add(
        n_bots,
        t=bot_day * 86_400 - _KOREA_OFFSET + rng.integers(0, 86_400, n_bots),
        client=n + np.arange(n_bots),
        path=bot_path,
        query=0,
        method=np.where(bot_target == 6, post, get),
        status=np.where(probe, 404, 200),
        size=np.where(probe, 555, rng.integers(500, 30_000, n_bots)),
        referrer=0,
        # Form spam comes from scripts, not from search engines.
        agent=len(_BROWSERS)
        + np.where(
            bot_target == 6,
            len(_CRAWLERS) - 4 + rng.integers(0, 4, n_bots),
            _draw(rng, n_bots, [w for w, _ in _CRAWLERS]),
        ),
        who=_BOT,
    )
    # The load balancer's health checks, from its private addresses.
    n_health = round(humans * _HEALTH_SHARE / (1 - _BOT_SHARE - _HEALTH_SHARE))
    health_clients = pc.binary_join_element_wise("10.0.1.", _numbers(1, 256).take(rng.integers(2, 6, n_health)), "")
    lines.add(
        n_health,
        t=(plan.first_day + first) * 86_400 - _KOREA_OFFSET + rng.integers(0, (last - first) * 86_400, n_health),
        client=n + n_bots + np.arange(n_health),
        path=paths["healthz"],
        query=0,
        method=get,
        status=200,
        size=2,
        referrer=0,
        agent=len(_BROWSERS) + len(_CRAWLERS) + rng.integers(0, len(_HEALTH_CHECKERS), n_health),
        who=_HEALTH,
    )

    # In time order, as the server writes them.
    columns = lines.arrays()
    order = np.argsort(columns["t"], kind="stable")
    columns = {name: values[order] for name, values in columns.items()}
    total = len(order)
    clients = pa.concat_arrays([visit_clients, bot_clients, health_clients.cast(pa.string())])
    columns["ipv6"] = np.concatenate([visit_v6, bot_v6, np.zeros(n_health, bool)])[columns["client"]]
    user_of = np.concatenate([user, np.zeros(n_bots + n_health, np.int64)])

    # Defects: unusual methods, statuses and byte counts here; malformed lines once the lines are made.
    defect = np.where(rng.random(total) < defect_share, _draw(rng, total, _DEFECT_WEIGHTS), -1)
    variant = rng.integers(0, 1 << 30, total)
    odd = defect == _DEFECTS.index("method")
    columns["method"][odd] = 2 + variant[odd] % (len(_METHODS) - 2)
    odd = defect == _DEFECTS.index("status")
    columns["status"][odd] = np.array(_ODD_STATUSES)[variant[odd] % len(_ODD_STATUSES)]
    columns["size"][odd & (columns["status"] == 499)] = 0
    size = pc.cast(pa.array(columns["size"]), pa.string())
    size = pc.replace_with_mask(size, pa.array(defect == _DEFECTS.index("bytes")), pa.array(["-"] * total))

    # [02/Dec/2026:13:05:07 +0900] on the server's clock.
    on_utc = rng.random(total) < _UTC_SERVER_SHARE
    local = columns["t"] + np.where(on_utc, 0, _KOREA_OFFSET)
    years, months, days = _ymd(local // 86_400)
    clock = local % 86_400
    two = _numbers(2, 100)
    stamp = pc.binary_join_element_wise(
        two.take(days),
        _text(_MONTHS).take(months - 1),
        _numbers(4, 10_000).take(years),
        "/",
    )
    stamp = pc.binary_join_element_wise(
        stamp,
        two.take(clock // 3600),
        two.take(clock // 60 % 60),
        two.take(clock % 60),
        ":",
    )
    protocol = _text(("HTTP/1.1", "HTTP/2.0")).take((rng.random(total) < _HTTP2_SHARE).astype(np.int64))
    text = pc.binary_join_element_wise(
        clients.take(columns["client"]),
        " - ",
        tables.users.take(user_of[columns["client"]]),
        " [",
        stamp,
        _text((" +0900", " +0000")).take(on_utc.astype(np.int64)),
        '] "',
        _text(_METHODS).take(columns["method"]),
        " ",
        tables.paths.take(columns["path"]),
        tables.queries.take(columns["query"]),
        " ",
        protocol,
        '" ',
        pc.cast(pa.array(columns["status"]), pa.string()),
        " ",
        size,
        ' "',
        tables.referrers.take(columns["referrer"]),
        '" "',
        tables.user_agents.take(columns["agent"]),
        '"\n',
        "",
    ).cast(pa.binary())
    return _malformed(text, defect, variant), columns, defect


def _malformed(text: pa.Array, defect: np.ndarray, variant: np.ndarray) -> pa.Array:
    broken = np.flatnonzero(defect >= _DEFECTS.index("truncated"))
    if not broken.size:
        return text
    replacements = []
    for i, line in zip(broken.tolist(), text.take(broken).to_pylist(), strict=True):
        kind, v = _DEFECTS[defect[i]], int(variant[i])
        ip, _, _, stamp, offset, method, path, _, status, size = line.split(b" ")[:10]
        if kind == "truncated":  # the disk filled up, or the server was killed mid-write
            replacements.append(line[: 1 + v % (len(line) - 3)] + b"\n")
        elif kind == "unquoted":  # a log_format without quotes around the request
            replacements.append(line.replace(b'"', b"", 2))
        elif kind == "garbage":
            replacements.append(line[: 1 + v % (len(line) - 3)] + _JUNK[v % len(_JUNK)] + b"\n")
        elif kind == "empty":
            replacements.append(b"\n")
        elif kind == "csv":  # a line from another tool's export, pasted in
            replacements.append(b",".join((stamp[1:], ip, method[1:], path, status, size)) + b"\n")
        else:  # nginx's JSON log_format, for the days it was switched on
            replacements.append(
                b'{"time_local": "%s %s", "remote_addr": "%s", "request": "%s %s", "status": %s}\n'
                % (stamp[1:], offset[:-1], ip, method[1:], path, status)
            )
    mask = np.zeros(len(text), bool)
    mask[broken] = True
    return pc.replace_with_mask(text, pa.array(mask), pa.array(replacements, pa.binary()))


# --- the whole log ----------------------------------------------------------


def generate_log(
    out: Path,
    rows: int,
    seed: int = 42,
    *,
    start: date | None = None,
    end: date | None = None,
    defect_share: float = 0.02,
    routes: Path = ROUTES_PATH,
    since: date | None = None,
) -> LogSummary:
    """Write the access log of `rows` form submissions' worth of traffic to `out` (gzip if it ends in .gz).

    Days and submissions per day are those of `etl.generate.generate()` with the same seed, rows
    and period (default: the 1095 days ending at DEFAULT_END). `defect_share` of the lines carry one
    defect each, about 60% of them malformed lines. With `since`, only the log's latest part is
    written: whole chunks of days (about _CHUNK_LINES lines each) from the one holding `since`,
    the same lines as in the whole log.
    """
    started = time.perf_counter()
    out = Path(out)
    start, end = checked_arguments(rows, seed, ("defect_share", defect_share), start, end)

    plan = _plan(seed, rows, start, end)
    tables = _tables(seed, Path(routes))
    n_days, n_features = len(plan.visits), len(FEATURES)
    steps = np.zeros((n_days, n_features, 2), np.int64)
    counts = dict.fromkeys(("lines", "bots", "health", "ipv6", "malformed", "unusual"), 0)
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + ".part")
    try:
        with _open_output(partial, out.name.lower().endswith(".gz")) as write:
            first_chunk = 0
            if since is not None:
                first_chunk = max(int(np.searchsorted(plan.chunk_starts, (since - start).days, side="right")) - 1, 0)
            for chunk in range(first_chunk, len(plan.chunk_starts) if rows else 0):
                text, columns, defect = _chunk_lines(seed, plan, chunk, tables, defect_share)
                write(_joined_bytes(text))
                malformed = defect >= _DEFECTS.index("truncated")
                formed = ~malformed
                who, status, method, path = columns["who"], columns["status"], columns["method"], columns["path"]
                person = formed & (who == _PERSON)
                view = person & (method == _METHODS.index("GET")) & (path < n_features) & (status // 100 == 2)
                submit = person & (method == _METHODS.index("POST")) & (path >= n_features) & (path < 2 * n_features)
                submit &= (status >= 200) & (status < 400)
                day = (columns["t"] + _KOREA_OFFSET) // 86_400 - plan.first_day
                for step, mask in enumerate((view, submit)):
                    cell = day[mask] * n_features + path[mask] % n_features
                    steps[..., step] += np.bincount(cell, minlength=n_days * n_features).reshape(n_days, n_features)
                counts["lines"] += len(defect)
                counts["bots"] += int(np.count_nonzero(formed & (who == _BOT)))
                counts["health"] += int(np.count_nonzero(formed & (who == _HEALTH)))
                counts["ipv6"] += int(np.count_nonzero(formed & columns["ipv6"]))
                counts["malformed"] += int(np.count_nonzero(malformed))
                counts["unusual"] += int(np.count_nonzero(np.isin(defect, [_DEFECTS.index(k) for k in _UNUSUAL])))
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    truths = {
        (start + timedelta(days=int(d)), FEATURES[f], ("view", "submit")[s]): int(steps[d, f, s])
        for d, f, s in zip(*np.nonzero(steps), strict=True)
    }
    return LogSummary(
        path=out,
        lines=counts["lines"],
        bytes_written=out.stat().st_size,
        seconds=time.perf_counter() - started,
        steps=truths,
        bot_lines=counts["bots"],
        health_check_lines=counts["health"],
        ipv6_lines=counts["ipv6"],
        malformed_lines=counts["malformed"],
        unusual_lines=counts["unusual"],
    )
