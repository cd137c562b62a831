"""Web server access logs: recognize one, and reduce it to page views and visitors by cell.

A log line carries personal data in nearly every field: the client's address,
the user field, the query string, the referrer and the user agent. The lines
are read and parsed by DuckDB in an in-memory connection that may not spill
to disk (privacy rule 2), in one pass, in the file's order, a batch at a time.
Of each line only its Korea-time day, its service step or the reason it is
not counted, its address and its user agent reach the batch; its new user
agents go through Python to a device class and a bot flag (`ua-parser`,
`crawlerdetect`). The batch becomes counts of lines by reason, and the lines
of people (not bots) wait, as a day, a service step, an address and a user
agent's salted hash, until the log is a day past their day. Then that day's
distinct addresses go through Python to a country (`iptocc`, offline), its
lines become counts by cell (views, distinct visitors, their key sums), and
they are dropped: memory holds a day or two of lines, however long the log.

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
from etl.guard import MemoryGuard, OverBudget, Progress, run_watched, watch
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
# Lines read at a time: a batch's new user agents go to the parsers, and its lines are counted in a few
# queries. About 40 MB of lines; a larger batch saves little time.
BATCH_LINES = 250_000
# Addresses of the days being counted handed to iptocc at a time: its batch call, without a list of
# every address in Python (a log out of time order has them all at its end).
CLIENT_BATCH = 100_000
# A log's lines are in time order, give or take a request that took long: a day's visitors are
# counted once the log has a line this much later, and a line of an earlier day then (a log out of
# order) has the log read again whole.
CLOSE_LAG = timedelta(days=1)
# Compressed bytes of a gzip log inflated to judge its size, for the read's progress.
COMPRESSION_SAMPLE = 4 << 20
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
    in_time_order: bool = True  # False: read twice, its visitors held until its end


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
    # a route by lookup in constant lists, not by a join: a join would lose the lines' order
    paths = ", ".join(sql_string(path) for path in steps["path"])
    route_steps = ", ".join(sql_string(step) for step in steps["route_step"])
    con.execute(f"create macro route_of(path) as (list_position([{paths}]::varchar[], path) - 1)::utinyint")
    con.execute(f"create macro route_step_of(route_id) as ([{route_steps}]::varchar[])[route_id + 1]")
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


class _OutOfOrder(Exception):
    """A counted line of a day whose counts were already made: the log is not in time order."""


def stage_log(
    source: AccessLogSource,
    progress: Progress | None = None,
    *,
    number_rejects: bool = False,
    parallel: bool = True,
    stop: threading.Event | None = None,
    routes: Routes | None = None,
    batch_lines: int | None = None,
) -> StagedLog:
    """Read one access log in memory and reduce it to counts by cell and lines by reason.

    As etl.stage.stage: a parallel read stops (ReadStopped) once `stop` is
    set; with `number_rejects`, a second single-threaded read numbers the
    rejected lines. Raises FileRefused.

    The lines are read in the file's order, `batch_lines` (BATCH_LINES) at a time. A
    server writes its log in time order, so the visitors of a day are counted
    once the log has gone a day past it, and forgotten: memory holds about
    two days of visitors however long the log. A log that is not in time
    order is read again, its visitors held until its end.
    """
    routes = routes or load_routes(os.environ.get(ROUTES_ENV) or None)
    batch_lines = batch_lines or BATCH_LINES
    options = {"number_rejects": number_rejects, "parallel": parallel, "stop": stop, "batch_lines": batch_lines}
    try:
        return _stage_log(source, progress, routes, in_order=True, **options)
    except _OutOfOrder:
        return _stage_log(source, progress, routes, in_order=False, **options)


def _stage_log(
    source: AccessLogSource,
    progress: Progress | None,
    routes: Routes,
    *,
    in_order: bool,
    number_rejects: bool,
    parallel: bool,
    stop: threading.Event | None,
    batch_lines: int,
) -> StagedLog:
    import pyarrow as pa

    salt = secrets.token_hex(16)  # this load's only: the hashes it keys are never stored
    params = _params(salt)
    con = log_connection(routes)
    # the read's own connection: its views and DuckDB's table of the lines its reader rejected
    reader = con.cursor()
    reader.execute("set TimeZone = ?", [TIMEZONE])
    guard = MemoryGuard.start()
    counter = _LogCounter(con, salt, in_order=in_order)
    size = source.path.stat().st_size
    ratio = _compression_ratio(source.path) if source.compressed else 1.0
    try:
        reader.execute(f"create temp view raw_log as {source.relation_sql(parallel=parallel)}")
        reader.execute(_bound(f"create temp view log_lines as {sql('staging/log_lines')}", params))

        def read() -> None:
            lines = reader.sql(_bound(sql("staging/log_stream"), params))
            with lines.to_arrow_reader(batch_size=batch_lines) as batches:
                # DuckDB hands out smaller batches than asked: put them together, fewer queries
                pending: list[pa.RecordBatch] = []
                for batch in batches:
                    pending.append(batch)
                    if sum(len(part) for part in pending) >= batch_lines:
                        counter.add(pa.Table.from_batches(pending))
                        pending = []
                if pending:
                    counter.add(pa.Table.from_batches(pending))
            counter.close()

        def interrupt() -> None:
            reader.interrupt()
            con.interrupt()

        try:
            watch(
                read,
                guard,
                interrupt=interrupt,
                total=size,
                progress=progress,
                done=lambda: int(counter.bytes_read / ratio),
                stop=stop,
            )
        except duckdb.Error as error:
            raise FileRefused(source.path, describe_duckdb_failure(error)) from None
        reader.execute(
            f"create temp table reader_rejects as {sql('staging/reader_rejects')}",
            {"header_lines": 0, "line_too_long": "LINE SIZE OVER MAXIMUM"},
        )
        for reason, lines, key_sum in reader.execute(sql("counts/log_reader_lines")).fetchall():
            counter.count(reason, lines, key_sum)
        by_reason = counter.by_reason
        rejected = {reason: by_reason[reason][0] for reason in REJECT_REASONS if reason in by_reason}
        counts = con.sql("select * from page_view_counts order by all").to_arrow_table()
        first_day, last_day = con.execute("select min(event_date), max(event_date) from page_view_counts").fetchone()
        rejects = None
        if number_rejects:
            rejects = _numbered_rejects(reader, source, guard, params, bool(rejected))
        return StagedLog(
            counts,
            rejected,
            sum(by_reason[reason][1] for reason in rejected),
            {reason: by_reason[reason][0] for reason in IGNORE_REASONS if reason in by_reason},
            rejects,
            sum(lines for lines, _ in by_reason.values()),
            by_reason.get("counted", (0, 0))[0],
            first_day,
            last_day,
            in_order,
        )
    except OverBudget:
        raise FileRefused(
            source.path,
            f"reading it went over the memory budget of {guard.budget >> 20:,} MB; no line of it was loaded",
        ) from None
    finally:
        reader.close()
        con.close()


class _LogCounter:
    """Counts an access log's lines a batch at a time (log_stream.sql): lines by reason, and the
    people's lines of the days not yet counted, which become counts by cell once the log is past them."""

    def __init__(self, con: duckdb.DuckDBPyConnection, salt: str, *, in_order: bool) -> None:
        self.con, self.salt, self.in_order = con, salt, in_order
        self.by_reason: dict[str, tuple[int, int]] = {}
        self.bytes_read = 0
        self.latest: date | None = None  # the latest day of a counted line so far
        self.counted_before: date | None = None  # the days before it have their counts
        con.execute("create temp table agent_classes (agent_key ubigint primary key, is_bot boolean, device varchar)")
        con.execute(
            "create temp table visitor_lines (event_date date, route_id utinyint, client varchar, agent_key ubigint, "
            "device varchar, record_key utinyint)"
        )
        con.execute(
            "create temp table page_view_counts (event_date date, feature varchar, step varchar, country varchar, "
            "device varchar, views bigint, views_key_sum bigint, visitors bigint, visitors_key_sum bigint)"
        )

    def count(self, reason: str, lines: int, key_sum: int) -> None:
        had_lines, had_key_sum = self.by_reason.get(reason, (0, 0))
        self.by_reason[reason] = (had_lines + lines, had_key_sum + key_sum)

    def add(self, batch: pa.Table) -> None:
        import pyarrow as pa
        import pyarrow.compute as pc

        con = self.con
        first, last = (value.as_py() for value in pc.min_max(batch.column("event_date")).values())
        if self.counted_before is not None and first is not None and first < self.counted_before:
            raise _OutOfOrder
        con.register("log_batch", batch)
        new = con.sql(sql("counts/log_batch_agents")).to_arrow_table()
        if new.num_rows:
            bots, devices = classify_agents(new.column("agent").to_pylist())
            classes = pa.table({"agent_key": new.column("agent_key"), "is_bot": bots, "device": devices})
            con.from_arrow(classes).insert_into("agent_classes")
        for reason, lines, key_sum in con.execute(sql("counts/log_batch_reasons")).fetchall():
            self.count(reason, lines, key_sum)
        con.execute(f"insert into visitor_lines {sql('counts/log_batch_visitors')}")
        con.unregister("log_batch")
        self.bytes_read += pc.sum(batch.column("line_bytes")).as_py() + batch.num_rows
        if last is not None and (self.latest is None or last > self.latest):
            self.latest = last
            # a line may come after one of the next day (a request that took long), not after two days
            if self.in_order and last - CLOSE_LAG > (self.counted_before or date.min):
                self._count_days_before(last - CLOSE_LAG)

    def close(self) -> None:
        """Counts for every day left."""
        if self.latest is not None:
            self._count_days_before(self.latest + timedelta(days=1))

    def _count_days_before(self, cutoff: date) -> None:
        import pyarrow as pa

        con = self.con
        clients = con.sql(sql("counts/log_day_clients"), params={"cutoff": cutoff}).to_arrow_table().column(0)
        # a batch at a time: a log out of time order has every address here at once
        countries = [
            pa.array(countries_of(clients.slice(start, CLIENT_BATCH).to_pylist()), pa.string())
            for start in range(0, len(clients), CLIENT_BATCH)
        ]
        con.register(
            "day_countries", pa.table({"client": clients, "country": pa.chunked_array(countries, pa.string())})
        )
        con.execute(
            f"insert into page_view_counts {sql('counts/page_view_counts')}", {"cutoff": cutoff, "salt": self.salt}
        )
        con.unregister("day_countries")
        # a table rebuilt, not rows deleted: DuckDB keeps deleted rows' memory
        con.execute(
            "create or replace temp table visitor_lines as from visitor_lines where event_date >= $cutoff",
            {"cutoff": cutoff},
        )
        self.counted_before = cutoff


def _compression_ratio(path: Path) -> float:
    """How many times larger than a gzip file its content is, judged by its first megabytes."""
    import zlib

    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
    with path.open("rb") as file:
        compressed = file.read(COMPRESSION_SAMPLE)
    try:
        plain = len(inflate.decompress(compressed))
    except zlib.error:
        return 1.0
    used = len(compressed) - len(inflate.unused_data) - len(inflate.unconsumed_tail)
    return max(plain / used, 1.0) if used else 1.0


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
