"""Web server access logs: recognize one, and reduce it to page views and visitors by cell.

A log line carries personal data in nearly every field: the client's address,
the user field, the query string, the referrer and the user agent. The lines
are read and parsed by DuckDB in an in-memory connection that may not spill
to disk (privacy rule 2), in one pass that keeps, of each line, only its
Korea-time day, its service step or the reason it is not counted, and two
salted hashes (of its address and of its user agent). Only the distinct
addresses of counted lines and the distinct user agents go through Python, in
batches: to a country (`iptocc`, offline) and to a device class and a bot flag
(`ua-parser`, `crawlerdetect`). What leaves the connection is counts by cell
(views, distinct visitors, their key sums) and counts of lines by reason.

A visitor is an address and a user agent on one day, for one service step,
as Plausible counts without cookies: the salt is random, lives in memory for
one load, and is discarded; the store keeps the count, never a hash.
"""

from __future__ import annotations

import os
import re
import secrets
import threading
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from contract import COUNTRIES, EARLIEST_EVENT_DATE, TIMEZONE, UNKNOWN, korea_today
from etl.errors import FileRefused, describe_duckdb_failure
from etl.guard import MemoryGuard, OverBudget, Progress, run_watched
from etl.routes import ROUTES_ENV, Routes, load_routes
from etl.sources import LINE_DELIMITER, RecordScan, read_head, sql_string
from etl.sql_files import sql

if TYPE_CHECKING:
    import pyarrow as pa

# The NCSA combined format (nginx `combined`, Apache's `%h %l %u %t "%r" %>s %b "%{Referer}i"
# "%{User-agent}i"`): address, identity, user, [time], "request", status, bytes, "referrer",
# "user agent", and anything a server adds after them. RE2 and Python's re read it alike. Only the
# address, time, method, path (without its query string), status and user agent are captured; an
# odd request ("-", or no method) still matches, with no method and no path.
_QUOTED = r'(?:[^"\\]|\\.)*'
LINE_PATTERN = (
    # a byte order mark before the first line is not part of its address
    "^\ufeff?"
    r"(\S+) \S+ \S+ \[(\d{2}/[A-Za-z]{3}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "
    rf'"(?:([A-Z]+) ([^\s?#"\\]*){_QUOTED}|{_QUOTED})" (\d{{3}}) (?:\d+|-) "{_QUOTED}" "({_QUOTED})"'
)
LINE_FIELDS = ("client", "stamp", "method", "path", "status", "agent")
_LINE = re.compile(LINE_PATTERN)
# A file is a log when most of the first lines of its head are combined-format lines.
SAMPLE_LINES = 200
SAMPLE_SHARE = 0.5
# Addresses handed to iptocc at a time: its batch call, without a list of every address in Python.
CLIENT_BATCH = 100_000
# A user agent longer than this is no browser's, and is a bot without being parsed: crawlerdetect's
# regex takes time quadratic in the length (7 s for 10,000 characters), so one long line would stall a load.
AGENT_MAX_CHARS = 1_000

# Reasons a line is rejected (a defect of the file: in the reject report and the batch log) ...
REJECT_REASONS = ("malformed", "bad_timestamp", "date_out_of_range", "invalid_encoding", "line_too_long")
# ... and reasons a well-formed line is not counted (the site works as it should).
IGNORE_REASONS = ("bot", "health_check", "asset", "other_page", "other_method_or_status")
# DuckDB's reader errors -> reject reasons; a line is one field, so any other error is a malformed line.
READER_REASONS = {
    "LINE SIZE OVER MAXIMUM": "line_too_long",
    "INVALID ENCODING": "invalid_encoding",
    "INVALID UNICODE": "invalid_encoding",
}
# A client address written as an IPv4-mapped IPv6 (a dual-stack listener): iptocc places only the IPv4.
_MAPPED = re.compile(r"^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$", re.IGNORECASE)
_TABLETS = ("iPad", "Kindle", "Tablet", "Nexus 7", "Nexus 9", "Nexus 10", "Galaxy Tab")
_MOBILE_SYSTEMS = ("iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "HarmonyOS", "Tizen")
_DESKTOP_SYSTEMS = ("Windows", "Mac OS X", "Linux", "Ubuntu", "Fedora", "Debian", "Chrome OS", "FreeBSD", "OpenBSD")


@dataclass(frozen=True)
class AccessLogSource:
    """A file recognized as a web server access log."""

    path: Path
    compressed: bool
    line_end: bytes = b"\n"
    unknown_columns: tuple[str, ...] = ()  # a log has no columns; the load's report reads it

    file_format = "access_log"
    header_lines = 0

    @property
    def label(self) -> str:
        return self.file_format + (".gz" if self.compressed else "")

    def record_scan(self) -> RecordScan:
        return RecordScan(quoted=False, newline=self.line_end)

    def relation_sql(self, *, numbered: bool = False, parallel: bool = True) -> str:
        """SQL for the view `raw_log`: row_no (null unless `numbered`) and each line as text.

        One column, no quotes: a line is never split. Lines DuckDB cannot read
        (not UTF-8, over its line size) go to its temporary `csv_rejects` table,
        of which only line numbers and error types are ever read.
        """
        rejects = "csv_rejects_again" if numbered else "csv_rejects"
        row_no, ordinality = ("ordinality", " with ordinality") if numbered else ("null::bigint", "")
        return (
            f"select {row_no} as row_no, coalesce(line, '') as line "
            f"from read_csv({sql_string(str(self.path))}, columns = {{'line': 'VARCHAR'}}, header = false, "
            f"delim = '{LINE_DELIMITER}', quote = '', escape = '', auto_detect = false, skip = 0, comment = '', "
            "strict_mode = true, ignore_errors = true, store_rejects = true, "
            f"rejects_table = '{rejects}', rejects_scan = '{rejects}_scans', "
            f"compression = '{'gzip' if self.compressed else 'none'}'"
            f"{'' if parallel and not numbered else ', parallel = false'}){ordinality}"
        )


def looks_like_access_log(head: bytes) -> bool:
    """Whether most of the first lines of a file's head are combined-format log lines."""
    text = head.decode("utf-8", errors="replace")
    # the head may end inside a line: only whole lines, unless it holds a single one
    lines = text.splitlines()[:-1] or [text]
    sample = [line for line in lines if line.strip()][:SAMPLE_LINES]
    return bool(sample) and sum(bool(_LINE.match(line)) for line in sample) >= SAMPLE_SHARE * len(sample)


def recognize(path: Path) -> AccessLogSource | None:
    """The file as an access log when its content reads as one (gzip by its magic bytes, whatever its
    name); None when it does not, for the form exports' reader to judge. Raises FileRefused for a file
    that cannot be read at all."""
    path = Path(path)
    # read_head refuses what is not a regular, readable, non-empty file before opening it (a pipe would block)
    head = read_head(path, compressed=False)
    compressed = head.startswith(b"\x1f\x8b")
    if compressed:
        head = read_head(path, compressed=True)
    return access_log_source(path, head, compressed)


def access_log_source(path: Path, head: bytes, compressed: bool) -> AccessLogSource | None:
    """The file as a log, when its head reads as one."""
    if not looks_like_access_log(head):
        return None
    crlf = head.find(b"\r\n")
    return AccessLogSource(path, compressed, b"\r\n" if 0 <= crlf == head.find(b"\n") - 1 else b"\n")


# --- what Python is asked: the distinct addresses and user agents -------------


def countries_of(addresses: list[str]) -> list[str]:
    """The country each address is registered in (iptocc's offline RIR data), or unknown."""
    from iptocc import country_code

    unwrapped = [m.group(1) if (m := _MAPPED.match(a)) else a for a in addresses]
    return [code if code in COUNTRIES else UNKNOWN for code in country_code(unwrapped)]


def classify_agents(agents: list[str]) -> tuple[list[bool], list[str]]:
    """For each user agent: a crawler or script (crawlerdetect, or ua-parser's Spider), and its device class."""
    import ua_parser
    from crawlerdetect import CrawlerDetect

    detector = CrawlerDetect()
    bots, devices = [], []
    for agent in agents:
        if len(agent) > AGENT_MAX_CHARS:
            bots.append(True)
            devices.append("other")
            continue
        parsed = ua_parser.parse(agent).with_defaults()
        # no user agent at all is a script: every browser sends one
        bots.append(agent.strip() in ("", "-") or parsed.device.family == "Spider" or detector.isCrawler(agent))
        devices.append(device_class(agent, parsed.device.family, parsed.os.family))
    return bots, devices


def device_class(agent: str, device: str, system: str) -> str:
    """desktop, mobile, tablet or other, from ua-parser's device and OS families."""
    if any(name in device for name in _TABLETS):
        return "tablet"
    if system == "Android":
        # Android tablets leave "Mobile" out of their user agent (Google's guidance to browsers)
        return "mobile" if "Mobile" in agent else "tablet"
    if system in _MOBILE_SYSTEMS or device in ("iPhone", "iPod") or "Mobile" in agent:
        return "mobile"
    if system in _DESKTOP_SYSTEMS:
        return "desktop"
    return "other"


# --- the read ----------------------------------------------------------------


@dataclass(frozen=True)
class StagedLog:
    counts: pa.Table  # PAGE_VIEW_DIMENSIONS + views, views_key_sum, visitors, visitors_key_sum
    rejected: dict[str, int]  # reject reason -> lines
    rejected_key_sum: int
    ignored: dict[str, int]  # ignore reason -> lines
    rejects: pa.Table | None  # row, reason; only when row numbers were asked for
    rows_read: int
    rows_loaded: int  # lines counted as a view or a submit
    first_event_date: date | None
    last_event_date: date | None


def _alternation(literals: tuple[str, ...], *, at_start: bool) -> str:
    escaped = "|".join(re.escape(text) for text in literals)
    return (f"^(?:{escaped})" if at_start else f"(?:{escaped})$") if literals else "$^"


def log_connection(routes: Routes) -> duckdb.DuckDBPyConnection:
    """An in-memory connection, spilling off, with the parse's macros and the routes table."""
    con = duckdb.connect(":memory:", config={"temp_directory": ""})
    con.execute("set TimeZone = ?", [TIMEZONE])
    # hand memory back between the read's phases: the peak is what a busy server must have free
    con.execute("set allocator_flush_threshold = '16MB'")
    con.execute("set allocator_background_threads = true")
    fields = ", ".join(f"'{name}'" for name in LINE_FIELDS)
    # constant patterns, so that DuckDB compiles each regex once
    con.execute(f"create macro log_fields(line) as regexp_extract(line, {sql_string(LINE_PATTERN)}, [{fields}])")
    health = "|".join(re.escape(p) for p in routes.health_checks) or "$^"
    con.execute(f"create macro is_health_check(path) as regexp_full_match(path, {sql_string(f'(?:{health})')})")
    assets = (
        f"{_alternation(routes.asset_prefixes, at_start=True)}|{_alternation(routes.asset_suffixes, at_start=False)}"
    )
    con.execute(f"create macro is_asset(path) as regexp_matches(path, {sql_string(assets)})")
    steps = routes.steps()
    con.execute(
        "create table route_steps as select unnest($path::varchar[]) as path, "
        "unnest(range(len($path)))::utinyint as route_id, unnest($feature::varchar[]) as feature, "
        "unnest($route_step::varchar[]) as route_step",
        steps,
    )
    con.execute(
        "create table reader_reasons as select unnest($error_type::varchar[]) as error_type, "
        "unnest($reason::varchar[]) as reason",
        {"error_type": list(READER_REASONS), "reason": list(READER_REASONS.values())},
    )
    return con


def _params(salt: str) -> dict[str, object]:
    return {
        "earliest": date.fromisoformat(EARLIEST_EVENT_DATE),
        "latest": korea_today() + timedelta(days=1),
        "salt": salt,
    }


def _to_table(con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, list]) -> None:
    import pyarrow as pa

    con.from_arrow(pa.table(columns)).create(name)


def stage_log(
    source: AccessLogSource,
    progress: Progress | None = None,
    *,
    number_rejects: bool = False,
    parallel: bool = True,
    stop: threading.Event | None = None,
    routes: Routes | None = None,
) -> StagedLog:
    """Read one access log in memory and reduce it to counts by cell and lines by reason.

    As etl.stage.stage: a parallel read stops (ReadStopped) once `stop` is
    set; with `number_rejects`, a second single-threaded read numbers the
    rejected lines. Raises FileRefused.
    """
    routes = routes or load_routes(os.environ.get(ROUTES_ENV) or None)
    salt = secrets.token_hex(16)  # this load's only: the hashes it keys are never stored
    params = _params(salt)
    con = log_connection(routes)
    guard = MemoryGuard.start()
    try:
        con.execute(f"create temp view raw_log as {source.relation_sql(parallel=parallel)}")
        con.execute(_bound(f"create temp view log_lines as {sql('staging/log_lines')}", params))
        try:
            run_watched(
                con,
                _bound(f"create temp table line_groups as {sql('counts/log_line_groups')}", params),
                guard,
                total=source.path.stat().st_size,
                progress=progress,
                stop=stop,
            )
        except duckdb.Error as error:
            raise FileRefused(source.path, describe_duckdb_failure(error)) from None
        agents = [a for (a,) in con.execute(sql("counts/log_agents")).fetchall()]
        bots, devices = classify_agents(agents)
        _to_table(con, "agent_classes", {"agent": agents, "is_bot": bots, "device": devices})
        _place_clients(con, salt)
        # joined in the order written (page_view_counts.sql): DuckDB would build a hash table of the
        # visitor groups, about 100 bytes each, when it guesses them fewer than the addresses (9 bytes)
        con.execute("set disabled_optimizers = 'join_order,build_side_probe_side'")
        con.execute(f"create temp table page_view_counts as {sql('counts/page_view_counts')}", {"salt": salt})
        con.execute("reset disabled_optimizers")
        counts = con.sql("select * from page_view_counts").to_arrow_table()
        first_day, last_day = con.execute("select min(event_date), max(event_date) from page_view_counts").fetchone()
        con.execute(
            f"create temp table reader_rejects as {sql('staging/reader_rejects')}",
            {"header_lines": 0, "line_too_long": "LINE SIZE OVER MAXIMUM"},
        )
        by_reason = con.execute(sql("counts/log_lines_by_reason")).fetchall()
        rejected = {reason: lines for reason, lines, _ in by_reason if reason in REJECT_REASONS}
        rejects = None
        if number_rejects:
            rejects = _numbered_rejects(con, source, guard, params, bool(rejected))
        return StagedLog(
            counts,
            rejected,
            sum(key for reason, _, key in by_reason if reason in REJECT_REASONS),
            {reason: lines for reason, lines, _ in by_reason if reason in IGNORE_REASONS},
            rejects,
            sum(lines for _, lines, _ in by_reason),
            sum(lines for reason, lines, _ in by_reason if reason == "counted"),
            first_day,
            last_day,
        )
    except OverBudget:
        raise FileRefused(
            source.path,
            f"reading it went over the memory budget of {guard.budget >> 20:,} MB; no line of it was loaded",
        ) from None
    finally:
        con.close()


def _place_clients(con: duckdb.DuckDBPyConnection, salt: str) -> None:
    """The table client_countries: each address of a visitor group, as its hash under this load's salt, and
    its country, a batch at a time.

    One row per distinct address, and page_view_counts.sql builds its join on it: a hash and a one-byte
    country keep that join's table at about a third of the addresses' text (20M lines: 4M addresses).
    """
    import pyarrow as pa

    codes = ", ".join(sql_string(code) for code in sorted(COUNTRIES))
    con.execute(f"create type country_code as enum ({codes})")
    con.execute("create temp table client_countries (client_key ubigint, country country_code)")
    # arrow holds the addresses compactly; the same connection cannot insert while a reader is open on it
    every = con.sql(sql("counts/log_clients"), params={"salt": salt}).to_arrow_table().column(0)
    keyed = f"hash(client, {sql_string(salt)}) as client_key, country::country_code as country"
    for start in range(0, len(every), CLIENT_BATCH):
        clients = every.slice(start, CLIENT_BATCH)
        placed = pa.table({"client": clients, "country": pa.array(countries_of(clients.to_pylist()), pa.string())})
        con.from_arrow(placed).project(keyed).insert_into("client_countries")


def _bound(query: str, params: dict[str, object]) -> str:
    """A statement with its $parameters written in as literals: run_watched runs text only."""
    for name, value in sorted(params.items(), key=lambda item: -len(item[0])):
        literal = (
            f"date '{value.isoformat()}'"
            if isinstance(value, date)
            else (str(value) if isinstance(value, int) else sql_string(str(value)))
        )
        query = query.replace(f"${name}", literal)
    return query


def _numbered_rejects(
    con: duckdb.DuckDBPyConnection, source: AccessLogSource, guard: MemoryGuard, params: dict, any_rejected: bool
) -> pa.Table:
    if any_rejected:
        con.execute(f"create or replace temp view raw_log as {source.relation_sql(numbered=True)}")
        run_watched(
            con,
            _bound(
                "create temp table query_rejects as select row_no, reject_reason as reason from log_lines "
                "where reject_reason is not null",
                params,
            ),
            guard,
        )
    else:
        con.execute("create temp table query_rejects (row_no bigint, reason varchar)")
    return con.sql(sql("staging/reject_rows"), params={"other_error": "malformed"}).to_arrow_table()
