"""Web server access logs through the ETL: no personal part of a line leaves it, the counts are true, the edges hold.

A log line carries an address, a user, a URL with its query string, a referrer
and a user agent: each holds a unique marker here, in lines that are counted,
ignored and rejected, and the real CLI loads them (with --rejects and
--purge-source). Then no marker, and no address in any spelling, may be in the
store, its WAL, stdout, stderr, the reject report or an export. The counts are
checked against a count made here with a regex and sets (`count_log`), never
with the ETL's code, on a generated log with a known truth and on hand-written
ones.
"""

from __future__ import annotations

import gzip
import ipaddress
import os
import re
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pytest
from conftest import FIRST_BATCH, REPO, SEED, folder_snapshot, read_rejects, run_etl, store_batches, store_rows
from test_privacy import files_under, leaked, table_values, token_in

from etl import access_log
from etl.__main__ import main as etl_main
from etl.access_log import StagedLog, recognize, stage_log
from etl.generate_log import generate_log

KST = timezone(timedelta(hours=9))
TODAY = date(2026, 11, 18)  # conftest's GANGNAM_TODAY: a line may be dated up to tomorrow, Korea time
ROUTES = tomllib.loads((REPO / "etl" / "routes.toml").read_text(encoding="utf-8"))
VIEWS = {ROUTES[f]["view"]: f for f in ("free_estimate", "self_diagnosis", "coupon")}
SUBMITS = {ROUTES[f]["submit"]: f for f in ("free_estimate", "self_diagnosis", "coupon")}
HEALTH = set(ROUTES["ignore"]["health_checks"])
ASSET_PREFIXES = tuple(ROUTES["ignore"]["asset_prefixes"])
ASSET_SUFFIXES = tuple(ROUTES["ignore"]["asset_suffixes"])
# Crawlers and scripts of the generated and hand-written logs, by name; no user agent at all is a script too.
BOTS = re.compile(r"bot|spider|crawl|facebookexternalhit|curl/|python-requests|go-http-client|wget", re.IGNORECASE)
# No browser sends a longer user agent: a longer one is a bot's (and is not parsed).
LONGEST_AGENT = 1_000
# DuckDB's longest line (its max_line_size default, 2 MB); only the heavy test writes a longer one.
LONGEST_LINE = 2_097_152

# The combined format, read here on its own terms: address, identity, user, [time], "request", status, bytes,
# "referrer", "user agent". A request is "METHOD TARGET PROTOCOL", or anything else (then no method).
COMBINED = re.compile(
    "^\ufeff?"  # a byte order mark before the first line
    r"(?P<client>\S+) \S+ \S+ \[(?P<stamp>\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    r'"(?P<request>(?:[^"\\]|\\.)*)" (?P<status>\d{3}) (?:\d+|-) "(?:[^"\\]|\\.)*" "(?P<agent>(?:[^"\\]|\\.)*)"'
)
REQUEST = re.compile(r"^(?P<method>[A-Z]+) (?P<path>[^\s?#]*)")

DESKTOP = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Mobile/15E148 Safari/604.1"
)
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def line(
    client: str = "1.11.0.1",
    stamp: str = "17/Nov/2026:10:00:00 +0900",
    request: str = "GET /coupons HTTP/1.1",
    status: int | str = 200,
    agent: str = DESKTOP,
    user: str = "-",
    referrer: str = "-",
) -> str:
    """One line in nginx's combined format (no line end)."""
    return f'{client} - {user} [{stamp}] "{request}" {status} 512 "{referrer}" "{agent}"'


def write_log(path: Path, lines: list[str | bytes], end: bytes = b"\n") -> Path:
    """Lines as bytes, each ended by `end`; gzip-compressed when the name ends with .gz."""
    data = b"".join((item if isinstance(item, bytes) else item.encode()) + end for item in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data, mtime=0) if path.name.endswith(".gz") else data)
    return path


# --- the independent count ------------------------------------------------------------------------


@dataclass
class LogCount:
    """What a log holds, counted here: lines by reason, and views and visitors by (Korea day, service, step)."""

    lines: int = 0
    rejected: Counter = field(default_factory=Counter)
    ignored: Counter = field(default_factory=Counter)
    views: Counter = field(default_factory=Counter)
    visitors: dict[tuple[date, str, str], set[tuple[str, str]]] = field(default_factory=dict)
    reject_rows: list[tuple[int, str]] = field(default_factory=list)

    def visitor_counts(self) -> dict[tuple[date, str, str], int]:
        return {cell: len(people) for cell, people in self.visitors.items()}

    @property
    def counted(self) -> int:
        return sum(self.views.values())


def classify(text: str, today: date = TODAY) -> tuple[str, tuple[date, str, str] | None, tuple[str, str] | None]:
    """(reason or "counted", its cell, its visitor) for one decoded line."""
    found = COMBINED.match(text)
    if not found:
        return "malformed", None, None
    try:
        moment = datetime.strptime(found["stamp"], "%d/%b/%Y:%H:%M:%S %z")
    except ValueError:
        return "bad_timestamp", None, None
    if not -timedelta(hours=12) <= moment.utcoffset() <= timedelta(hours=14):
        return "bad_timestamp", None, None  # no time zone has this offset
    day = moment.astimezone(KST).date()
    if not date(2000, 1, 1) <= day <= today + timedelta(days=1):
        return "date_out_of_range", None, None
    request = REQUEST.match(found["request"])
    method, path = (request["method"], request["path"]) if request else (None, None)
    status, agent = int(found["status"]), found["agent"]
    # a dual-stack listener writes an IPv4 client as ::ffff:1.2.3.4: the same visitor as 1.2.3.4
    client = found["client"][7:] if found["client"].lower().startswith("::ffff:") else found["client"]
    if path in HEALTH:
        return "health_check", None, None
    if agent.strip() in ("", "-") or BOTS.search(agent) or len(agent) > LONGEST_AGENT:
        return "bot", None, None
    if path in VIEWS:
        if method == "GET" and 200 <= status <= 299:
            return "counted", (day, VIEWS[path], "view"), (client, agent)
        return "other_method_or_status", None, None
    if path in SUBMITS:
        if method == "POST" and 200 <= status <= 399:
            return "counted", (day, SUBMITS[path], "submit"), (client, agent)
        return "other_method_or_status", None, None
    if path and (path.startswith(ASSET_PREFIXES) or path.endswith(ASSET_SUFFIXES)):
        return "asset", None, None
    return "other_page", None, None


def count_log(data: bytes, today: date = TODAY) -> LogCount:
    """Count a log's bytes (already unzipped) line by line, in plain Python."""
    count = LogCount()
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, raw in enumerate(lines, start=1):
        count.lines += 1
        raw = raw.removesuffix(b"\r")
        if len(raw) > LONGEST_LINE:
            reason, cell, visitor = "line_too_long", None, None
        else:
            try:
                reason, cell, visitor = classify(raw.decode("utf-8"), today)
            except UnicodeDecodeError:
                reason, cell, visitor = "invalid_encoding", None, None
        if reason == "counted":
            count.views[cell] += 1
            count.visitors.setdefault(cell, set()).add(visitor)
        elif reason in ("malformed", "bad_timestamp", "date_out_of_range", "invalid_encoding", "line_too_long"):
            count.rejected[reason] += 1
            count.reject_rows.append((number, reason))
        else:
            count.ignored[reason] += 1
    return count


# --- the ETL's answer, read back --------------------------------------------------------------------

LOADED = re.compile(
    r"^(?P<path>.+): batch (?P<batch>\d+) \(access log\): (?P<read>[\d,]+) lines read, (?P<counted>[\d,]+) counted "
    r"as a view or a submit, (?P<ignored>[\d,]+) not counted, (?P<rejected>[\d,]+) rejected \([\d.]+ s\)$"
)


def number(text: str) -> int:
    return int(text.replace(",", ""))


def reported(out: str) -> dict[str, dict]:
    """The CLI's report of each loaded log: its counts, and its lines by reason."""
    files: dict[str, dict] = {}
    current = None
    for text in out.splitlines():
        if found := LOADED.match(text):
            current = files[Path(found["path"]).name] = {
                "read": number(found["read"]),
                "counted": number(found["counted"]),
                "ignored": number(found["ignored"]),
                "rejected": number(found["rejected"]),
                "not counted": Counter(),
                "rejected by reason": Counter(),
            }
        elif current is not None and (found := re.match(r"^  not counted, (\w+): ([\d,]+)$", text)):
            current["not counted"][found[1]] = number(found[2])
        elif current is not None and (found := re.match(r"^  rejected (\w+): ([\d,]+)$", text)):
            current["rejected by reason"][found[1]] = number(found[2])
    return files


def page_view_totals(db: Path, batch_id: int | None = None) -> tuple[Counter, Counter]:
    """(views, visitors) by (day, service, step), summed over country and device: of page_views, or of one batch."""
    where = "page_views" if batch_id is None else f"page_view_batch_counts where batch_id = {int(batch_id)}"
    with duckdb.connect(str(db), read_only=True) as con:
        rows = con.execute(
            f"select event_date, feature, step, sum(views)::bigint, sum(visitors)::bigint from {where} group by all"
        ).fetchall()
    return Counter({row[:3]: row[3] for row in rows}), Counter({row[:3]: row[4] for row in rows})


def page_view_cells(db: Path) -> list[tuple]:
    """page_views without its key sums, dates as ISO text, sorted."""
    with duckdb.connect(str(db), read_only=True) as con:
        return con.execute(
            "select event_date::varchar, feature, step, country, device, views, visitors from page_views order by all"
        ).fetchall()


def assert_counts_equal(db: Path, out: str, name: str, expected: LogCount) -> None:
    """The file's batch in the store, the CLI's report and the batch log against the independent count."""
    (batch,) = [b for b in store_batches(db) if b["file_name"] == name]
    views, visitors = page_view_totals(db, batch["batch_id"])
    assert views == expected.views
    assert visitors == Counter(expected.visitor_counts())
    report = reported(out)[name]
    assert report["read"] == expected.lines
    assert report["counted"] == expected.counted
    assert report["not counted"] == expected.ignored
    assert report["ignored"] == sum(expected.ignored.values())
    assert report["rejected by reason"] == expected.rejected
    assert (batch["rows_read"], batch["rows_loaded"], batch["rows_rejected"]) == (
        expected.lines,
        expected.counted,
        expected.rejected.total(),
    )


# --- adversarial: a marker in every personal part of every kind of line ------------------------------


class HostileLog:
    """Builds access logs with a unique marker in every personal part, and remembers the markers and addresses."""

    def __init__(self) -> None:
        self.markers: list[str] = []
        self.addresses: list[str] = []
        self.serial = 0

    def mark(self, template: str) -> str:
        self.serial += 1
        marker = template.format(n=self.serial)
        self.markers.append(marker)
        return marker

    def address(self) -> str:
        """A new documentation-range address (RFC 5737, RFC 3849): IPv4, IPv6 or IPv4-mapped IPv6, in turn."""
        self.serial += 1
        n = self.serial
        v4 = f"{('192.0.2', '198.51.100', '203.0.113')[n % 3]}.{n % 250 + 2}"
        kind = n % 4
        text = (v4, f"2001:db8:{n:x}::{n * 7 % 65_536:x}", f"::ffff:{v4}", f"2001:DB8:0:{n:x}:0:0:0:{n:x}")[kind]
        assert text not in self.addresses
        self.addresses.append(text)
        return text

    def personal(self, agent: str | None = None) -> dict[str, str]:
        """An address, a user, a referrer and a user agent (`agent`, else a browser's), each with a marker."""
        client = self.address()
        user = self.mark("zquser{n:03d}xk@privacy-test.example" if self.serial % 2 else "ZqLogin{n:03d}xk")
        referrer = self.mark("https://mail.example/inbox?to=zqref{n:03d}xk%40privacy-test.example&name=Zq+Ref{n:03d}xk")
        if agent is None:
            agent = DESKTOP if self.serial % 3 else IPHONE
        return {"client": client, "user": user, "referrer": referrer, "agent": self.mark(f"{agent} ZQUA{{n:03d}}XK")}

    def query(self) -> str:
        return self.mark("?email=zqmail{n:03d}xk%40privacy-test.example&name=Zq%20Name{n:03d}xk&token=ZQTOK{n:03d}XK")

    def lines(self, day: int) -> list[str | bytes]:
        """Every kind of line once: counted, ignored for each reason, rejected for each reason."""
        stamp = f"{day:02d}/Nov/2026:10:{self.serial % 60:02d}:00 +0900"
        out: list[str | bytes] = []
        for request, status in (
            (f"GET /free-estimate{self.query()} HTTP/1.1", 200),
            (f"GET /self-diagnosis{self.query()} HTTP/2.0", 200),
            (f"POST /coupons/claim{self.query()} HTTP/1.1", 303),
            (f"GET /coupons{self.query()} HTTP/1.1", 404),  # other_method_or_status
            (f"GET /static/js/app.js{self.query()} HTTP/1.1", 200),  # asset
            (self.mark("GET /patients/zqpath{n:03d}xk/records HTTP/1.1"), 200),  # other_page: a name in the path
            (self.mark("GET /u/zqpath{n:03d}xk@privacy-test.example HTTP/1.1"), 200),
            (f"GET /healthz{self.query()} HTTP/1.1", 200),  # health_check
        ):
            out.append(line(stamp=stamp, request=request, status=status, **self.personal()))
        bot = self.personal(agent=GOOGLEBOT)
        out.append(line(stamp=stamp, request=f"GET /coupons{self.query()} HTTP/1.1", **bot))
        scripted = self.personal(agent="curl/8.5.0")
        out.append(line(stamp=stamp, request=f"POST /free-estimate/submit{self.query()} HTTP/1.1", **scripted))
        # rejected: a bad time, a day out of range, bytes that are not UTF-8, cut short, not the format at all
        out.append(
            line(
                stamp="31/Nov/2026:10:00:00 +0900",  # no such day
                request=f"GET /coupons{self.query()} HTTP/1.1",
                **self.personal(),
            )
        )
        out.append(
            line(stamp="01/Jan/1999:10:00:00 +0900", request=f"GET /coupons{self.query()} HTTP/1.1", **self.personal())
        )
        broken = line(stamp=stamp, request=f"GET /coupons{self.query()} HTTP/1.1", **self.personal())
        out.append(broken.encode().replace(b"Mozilla", b"Mo\xff\xfezilla", 1))
        cut = line(stamp=stamp, request=f"GET /coupons{self.query()} HTTP/1.1", **self.personal())
        out.append(cut[:-1])  # cut short: no closing quote
        ip, email = self.address(), self.mark("zqcsv{n:03d}xk@privacy-test.example")
        out.append(f"2026-11-{day:02d}T10:00:00+09:00,{ip},{email},GET,/coupons,200")  # a CSV-looking line
        ip, token = self.address(), self.mark("ZQJSON{n:03d}XK")
        out.append(f'{{"remote_addr": "{ip}", "remote_user": "{token}", "request": "GET /coupons", "status": 200}}')
        ip, name = self.address(), self.mark("ZqUnquoted{n:03d}xk")
        out.append(f"{ip} - - [{stamp}] GET /coupons?name={name} HTTP/1.1 200 5 - {DESKTOP}")  # quotes left out
        out.append(b"\x16\x03\x01\x02\x00" + self.mark("ZQTLS{n:03d}XK").encode())
        return out


def ip_spellings(text: str) -> list[bytes]:
    """An address as text in the ways a program may write it, and an IPv6 address as its 16 bytes.

    An IPv4 address's 4 bytes are not searched: 4 bytes occur by chance in any DuckDB file.
    """
    address = ipaddress.ip_address(text)
    v4 = address if address.version == 4 else address.ipv4_mapped
    found = {text, str(address), address.exploded}
    if v4 is not None:
        mapped = ipaddress.IPv6Address(f"::ffff:{v4}")
        found |= {str(v4), f"::ffff:{v4}", mapped.exploded, f"::ffff:{int(v4) >> 16:x}:{int(v4) & 0xFFFF:x}"}
    spelled = [s.encode() for s in found] + [s.upper().encode() for s in found]
    if address.version == 6:
        spelled.append(address.packed)
    return spelled


def addresses_in(data: bytes, addresses: list[str]) -> list[str]:
    return [text for text in addresses if any(spelling in data for spelling in ip_spellings(text))]


def test_no_personal_part_of_a_log_line_leaves_the_etl(tmp_path):
    hostile = HostileLog()
    raw_dir = tmp_path / "raw"
    plain = write_log(raw_dir / "access.log", [item for day in (10, 11, 12) for item in hostile.lines(day)])
    rotated = write_log(raw_dir / "access.log.2.gz", [item for day in (13, 14) for item in hostile.lines(day)])
    expected = {
        "access.log": count_log(plain.read_bytes()),
        "access.log.2.gz": count_log(gzip.decompress(rotated.read_bytes())),
    }
    assert len(set(hostile.markers)) == len(hostile.markers) > 200
    raw = plain.read_bytes() + gzip.decompress(rotated.read_bytes())
    assert [m for m in hostile.markers if m.encode() not in raw and not token_in(m, raw)] == []
    assert addresses_in(raw, hostile.addresses) == hostile.addresses
    # every reason occurs, so every path through the parse carried markers
    for count in expected.values():
        assert set(count.ignored) == {"bot", "health_check", "asset", "other_page", "other_method_or_status"}
        assert set(count.rejected) == {"malformed", "bad_timestamp", "date_out_of_range", "invalid_encoding"}

    # a second name for each file's bytes: after the purge it shows what is left on the disk
    witnesses = tmp_path / "witness"
    witnesses.mkdir()
    sizes = {}
    for path in (plain, rotated):
        os.link(path, witnesses / path.name)
        sizes[path.name] = path.stat().st_size
    work, temp = tmp_path / "work", tmp_path / "tmp"
    work.mkdir()
    temp.mkdir()
    db, rejects = tmp_path / "store" / "visitors.duckdb", tmp_path / "out" / "rejects.csv"
    env = {"TMPDIR": str(temp)}
    code, out, err = run_etl(
        "load", plain, rotated, "--db", db, "--rejects", rejects, "--purge-source", cwd=work, env=env
    )
    outputs = [out, err]
    assert (code, err) == (0, "")
    assert out.count("  source file destroyed (overwritten and deleted)\n") == 2
    assert list(raw_dir.iterdir()) == []
    assert {path.name: path.read_bytes() for path in witnesses.iterdir()} == {
        name: bytes(size) for name, size in sizes.items()
    }
    code, listed, err = run_etl("batches", "--db", db, cwd=work, env=env)
    outputs += [listed, err]
    assert code == 0 and listed.count(", source destroyed ") == 2
    assert [(b["file_name"], b["file_format"], b["source_destroyed"]) for b in store_batches(db)] == [
        ("access.log", "access_log", True),
        ("access.log.2.gz", "access_log.gz", True),
    ]
    for name, count in expected.items():
        assert_counts_equal(db, out, name, count)
    views, visitors = page_view_totals(db)
    assert views == expected["access.log"].views + expected["access.log.2.gz"].views
    assert visitors == Counter(expected["access.log"].visitor_counts()) + Counter(
        expected["access.log.2.gz"].visitor_counts()
    )
    assert read_rejects(rejects)[1:] == [
        [name, str(row), reason] for name, count in expected.items() for row, reason in count.reject_rows
    ]

    # an export of the store, and the officer's audit of it
    exports = tmp_path / "exports"
    done = subprocess.run(
        [sys.executable, "-m", "dashboard.export", "table", "--db", db, "--by", "feature,country",
         "--from", "2026-11-01", "--to", "2026-11-18", "--out", exports / "by-country.csv", "--log", exports / "exports.log"],
        cwd=work, capture_output=True, text=True, timeout=300, check=False, env={**_env(), **env},
    )  # fmt: skip
    outputs += [done.stdout, done.stderr]
    assert done.returncode == 0, done.stderr
    audit = subprocess.run(
        [sys.executable, "-m", "audit", "--db", db, "--exports", exports, "--export-log", exports / "exports.log",
         "--report", tmp_path / "out" / "audit"],
        cwd=REPO, capture_output=True, text=True, timeout=300, check=False, env={**_env(), **env},
    )  # fmt: skip
    outputs += [audit.stdout, audit.stderr]
    assert audit.returncode == 0, audit.stdout + audit.stderr

    assert {str(p.relative_to(tmp_path)) for p in files_under(tmp_path, skip=raw_dir)} >= {
        "store/visitors.duckdb",
        "out/rejects.csv",
        "exports/by-country.csv",
        "exports/exports.log",
        "out/audit.md",
        "out/audit.json",
    }
    left = [db.read_bytes(), table_values(db), *(text.encode() for text in outputs)]
    left += [path.read_bytes() for path in files_under(tmp_path, skip=raw_dir)]
    wal = Path(f"{db}.wal")
    if wal.exists():
        left.append(wal.read_bytes())
    for data in left:
        assert leaked(data, hostile.markers) == []
        assert addresses_in(data, hostile.addresses) == []


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO)}


# --- counts: a generated log with a known truth, and a hand-written one ---------------------------------


def test_a_generated_log_counts_its_truth(tmp_path):
    log = generate_log(tmp_path / "raw" / "access.log", 300, seed=SEED, start=date(2026, 10, 1), end=date(2026, 10, 14))
    expected = count_log(log.path.read_bytes())
    # the independent count agrees with the generator's truth ...
    assert expected.lines == log.lines
    assert expected.views == Counter(log.steps)
    assert expected.ignored["bot"] == log.bot_lines
    assert expected.ignored["health_check"] == log.health_check_lines
    # the generator's malformed lines hold its junk bytes too: not UTF-8, those are rejected as invalid_encoding
    assert expected.rejected.total() == log.malformed_lines
    assert set(expected.rejected) == {"malformed", "invalid_encoding"}
    # ... and the ETL with both
    db = tmp_path / "store" / "visitors.duckdb"
    code, out, err = run_etl("load", log.path, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert_counts_equal(db, out, "access.log", expected)
    views, _ = page_view_totals(db)
    assert views == Counter(log.steps)
    # visitors of a cell are distinct (address, user agent) pairs: never more than its views
    _, visitors = page_view_totals(db)
    assert all(0 < visitors[cell] <= views[cell] for cell in views)


HAND_WRITTEN = [
    line(),  # KR desktop, a view of the coupon page
    line(request="GET /coupons?lang=en HTTP/1.1"),  # the same visitor again: 2 views, 1 visitor
    line(request="GET /coupons#top HTTP/2.0", agent=IPHONE),  # same address, another device: another visitor
    line(client="::ffff:1.11.0.1", request="POST /coupons/claim HTTP/1.1", status=303, agent=IPHONE),  # KR
    line(client="133.0.0.1", request="GET /free-estimate HTTP/1.1", agent=IPAD),  # JP tablet
    line(client="2001:200::1", request="POST /free-estimate/submit HTTP/1.1", status=200),  # JP, IPv6
    line(client="2001:db8::1", request="GET /self-diagnosis HTTP/1.1"),  # documentation range: unknown
    line(client="8.8.8.8", request="GET /self-diagnosis HTTP/1.1", agent=GOOGLEBOT),  # bot
    line(client="8.8.8.8", request="POST /self-diagnosis/submit HTTP/1.1", agent="curl/8.5.0"),  # bot
    line(client="8.8.8.8", request="GET /coupons HTTP/1.1", agent="-"),  # bot: no user agent
    line(client="10.0.1.2", request="GET /healthz HTTP/1.1", agent="kube-probe/1.30"),  # health check
    line(client="10.0.1.2", request="GET /ping HTTP/1.1", agent=GOOGLEBOT),  # health check, whoever asks
    line(request="HEAD /coupons HTTP/1.1"),  # other method
    line(request="GET /coupons HTTP/1.1", status=404),  # other status
    line(request="POST /coupons/claim HTTP/1.1", status=500),  # other status
    line(request="GET /coupons/claim HTTP/1.1"),  # a GET of the form's path
    line(request="GET /static/css/main.css HTTP/1.1"),  # asset
    line(request="GET /favicon.ico HTTP/1.1"),  # asset
    line(request="GET /about HTTP/1.1"),  # other page
    line(request="GET /Coupons HTTP/1.1"),  # other page: paths are matched exactly
    line(request="-"),  # other page: no request at all
    line(stamp="32/Nov/2026:10:00:00 +0900"),  # bad timestamp
    line(stamp="17/Foo/2026:10:00:00 +0900"),  # bad timestamp
    line(stamp="20/Nov/2026:10:00:00 +0900"),  # out of range: after tomorrow, Korea time
    line(stamp="31/Dec/1999:10:00:00 +0900"),  # out of range: before 2000
    line().encode().replace(b"Windows", b"Win\xffdows"),  # invalid encoding
    "",  # blank: malformed
    "not a log line at all",  # malformed
    line()[:-1],  # cut short: malformed
]
# (day, service, step, country, device, views, visitors), written out
HAND_WRITTEN_CELLS = [
    ("2026-11-17", "coupon", "submit", "KR", "mobile", 1, 1),
    ("2026-11-17", "coupon", "view", "KR", "desktop", 2, 1),
    ("2026-11-17", "coupon", "view", "KR", "mobile", 1, 1),
    ("2026-11-17", "free_estimate", "submit", "JP", "desktop", 1, 1),
    ("2026-11-17", "free_estimate", "view", "JP", "tablet", 1, 1),
    ("2026-11-17", "self_diagnosis", "view", "unknown", "desktop", 1, 1),
]
HAND_WRITTEN_REASONS = {
    "not counted": Counter(bot=3, health_check=2, other_method_or_status=4, asset=2, other_page=3),
    "rejected by reason": Counter(bad_timestamp=2, date_out_of_range=2, invalid_encoding=1, malformed=3),
}
HAND_WRITTEN_REJECTS = [
    [str(row), reason]
    for row, reason in [
        (22, "bad_timestamp"),
        (23, "bad_timestamp"),
        (24, "date_out_of_range"),
        (25, "date_out_of_range"),
        (26, "invalid_encoding"),
        (27, "malformed"),
        (28, "malformed"),
        (29, "malformed"),
    ]
]


@pytest.mark.parametrize("end", [b"\n", b"\r\n"], ids=["lf", "crlf"])
def test_a_hand_written_log_gives_its_cells_and_reasons(tmp_path, end):
    raw = write_log(tmp_path / "raw" / "access.log", HAND_WRITTEN, end=end)
    expected = count_log(raw.read_bytes())
    db, rejects = tmp_path / "store" / "visitors.duckdb", tmp_path / "rejects.csv"
    code, out, err = run_etl("load", raw, "--db", db, "--rejects", rejects, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert page_view_cells(db) == HAND_WRITTEN_CELLS
    report = reported(out)["access.log"]
    assert (report["read"], report["counted"]) == (len(HAND_WRITTEN), 7)
    assert {key: report[key] for key in HAND_WRITTEN_REASONS} == HAND_WRITTEN_REASONS
    assert [row[1:] for row in read_rejects(rejects)[1:]] == HAND_WRITTEN_REJECTS
    # the independent count says the same
    assert_counts_equal(db, out, "access.log", expected)
    assert expected.reject_rows == [(int(row), reason) for row, reason in HAND_WRITTEN_REJECTS]


# --- edges ---------------------------------------------------------------------------------------------


# (the time on the line, with the server's offset; its day in Korea, or None for a bad timestamp)
STAMPS = [
    ("17/Nov/2026:23:30:00 -0500", "2026-11-18"),  # 04:30 UTC, 13:30 in Korea
    ("17/Nov/2026:09:29:59 -0500", "2026-11-17"),  # 14:29:59 UTC, 23:29:59 in Korea
    ("17/Nov/2026:14:59:59 +0000", "2026-11-17"),
    ("17/Nov/2026:15:00:00 +0000", "2026-11-18"),
    ("17/Nov/2026:23:59:59 +0900", "2026-11-17"),
    ("18/Nov/2026:00:00:00 +0900", "2026-11-18"),
    ("17/Nov/2026:20:00:00 +1400", "2026-11-17"),  # Kiribati: 06:00 UTC, 15:00 in Korea
    ("16/Nov/2026:20:00:00 -1200", "2026-11-17"),  # Baker Island: 08:00 UTC, 17:00 in Korea
    ("17/Nov/2026:10:00:00 +0545", "2026-11-17"),  # Nepal
    ("31/Dec/2025:15:00:00 +0000", "2026-01-01"),  # a new year in Korea first
    ("19/Nov/2026:14:59:59 +0000", "2026-11-19"),  # tomorrow in Korea: the last day allowed
    ("16/nov/2026:10:00:00 +0900", "2026-11-16"),  # a month in lower case
    ("16/NOV/2026:10:00:00 -0000", "2026-11-16"),
    # offsets no time zone has: a corrupt time, not a day moved by up to four days
    ("17/Nov/2026:10:00:00 +1500", None),
    ("17/Nov/2026:10:00:00 -1300", None),
    ("17/Nov/2026:10:00:00 +2400", None),
    ("17/Nov/2026:10:00:00 +9999", None),
    ("17/Nov/2026:10:00:00 +0960", None),
    ("17/Nov/2026:24:00:00 +0900", None),
    ("29/Feb/2026:10:00:00 +0900", None),
]


def test_the_korea_day_comes_from_the_lines_own_offset(tmp_path):
    # one visitor a line: the cells count lines by day
    lines = [line(stamp=stamp, agent=f"{DESKTOP} n{number}") for number, (stamp, _) in enumerate(STAMPS)]
    lines.append(line(stamp="19/Nov/2026:15:00:00 +0000"))  # the day after tomorrow in Korea
    raw = write_log(tmp_path / "access.log", lines)
    db, rejects = tmp_path / "visitors.duckdb", tmp_path / "rejects.csv"
    code, out, err = run_etl("load", raw, "--db", db, "--rejects", rejects, cwd=tmp_path)
    assert (code, err) == (0, "")
    days = Counter(day for _, day in STAMPS if day is not None)
    assert page_view_cells(db) == [
        (day, "coupon", "view", "KR", "desktop", views, views) for day, views in sorted(days.items())
    ]
    assert [(str(b["first_event_date"]), str(b["last_event_date"])) for b in store_batches(db)] == [
        ("2026-01-01", "2026-11-19")
    ]
    assert read_rejects(rejects)[1:] == [
        *(["access.log", str(number), "bad_timestamp"] for number, (_, day) in enumerate(STAMPS, 1) if day is None),
        ["access.log", str(len(lines)), "date_out_of_range"],
    ]
    assert_counts_equal(db, out, "access.log", count_log(raw.read_bytes()))


def test_an_ipv4_mapped_address_is_placed_in_its_ipv4s_country(tmp_path):
    pairs = [("1.11.0.1", "KR"), ("133.0.0.1", "JP"), ("8.8.8.8", "US")]
    lines = [line(client=f"::ffff:{v4}", agent=f"{DESKTOP} n{i}") for i, (v4, _) in enumerate(pairs)]
    lines += [line(client=f"::FFFF:{v4}", agent=f"{DESKTOP} u{i}") for i, (v4, _) in enumerate(pairs)]
    lines += [line(client="2001:200::1", agent=IPAD), line(client="2001:DB8::1"), line(client="::ffff:192.0.2.1")]
    raw = write_log(tmp_path / "access.log", lines)
    db = tmp_path / "visitors.duckdb"
    code, _, err = run_etl("load", raw, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert page_view_cells(db) == [
        ("2026-11-17", "coupon", "view", "JP", "desktop", 2, 2),
        ("2026-11-17", "coupon", "view", "JP", "tablet", 1, 1),
        ("2026-11-17", "coupon", "view", "KR", "desktop", 2, 2),
        ("2026-11-17", "coupon", "view", "US", "desktop", 2, 2),
        ("2026-11-17", "coupon", "view", "unknown", "desktop", 2, 2),
    ]


def test_one_address_in_both_spellings_and_after_a_byte_order_mark_is_one_visitor(tmp_path):
    lines = [
        "\ufeff" + line(client="8.8.8.8"),  # a byte order mark before the first line
        line(client="::ffff:8.8.8.8", stamp="17/Nov/2026:10:01:00 +0900"),
        line(client="::FFFF:8.8.8.8", stamp="17/Nov/2026:10:02:00 +0900"),
        line(client="2001:4860::8888", stamp="17/Nov/2026:10:03:00 +0900"),
    ]
    raw = write_log(tmp_path / "access.log", lines)
    db = tmp_path / "visitors.duckdb"
    code, out, err = run_etl("load", raw, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert page_view_cells(db) == [("2026-11-17", "coupon", "view", "US", "desktop", 4, 2)]
    assert_counts_equal(db, out, "access.log", count_log(raw.read_bytes()))


# --- read a batch at a time: a day's visitors counted once the log is past it -----------------------


def staged_cells(staged: StagedLog) -> dict[tuple, tuple[int, int]]:
    """(day, service, step, country, device) -> (views, visitors) of a staged log; key sums are random per load."""
    table = staged.counts.to_pylist()
    return {
        (r["event_date"], r["feature"], r["step"], r["country"], r["device"]): (r["views"], r["visitors"])
        for r in table
    }


def staged_totals(staged: StagedLog) -> tuple[Counter, Counter]:
    """(views, visitors) by (day, service, step), summed over country and device."""
    views, visitors = Counter(), Counter()
    for (day, feature, step, _, _), (cell_views, cell_visitors) in staged_cells(staged).items():
        views[day, feature, step] += cell_views
        visitors[day, feature, step] += cell_visitors
    return views, visitors


def staged_reasons(staged: StagedLog) -> tuple:
    return (
        staged.rows_read,
        staged.rows_loaded,
        staged.rejected,
        staged.ignored,
        staged.first_event_date,
        staged.last_event_date,
    )


@pytest.fixture
def reads(monkeypatch) -> dict[str, list]:
    """Spies on the read: whether each attempt counted days along the way (in time order), and the days it did."""
    seen: dict[str, list] = {"in_order": [], "cutoffs": []}
    stage, count_days = access_log._stage_log, access_log._LogCounter._count_days_before

    def spied_stage(*args, in_order, **options):
        seen["in_order"].append(in_order)
        return stage(*args, in_order=in_order, **options)

    def spied_count(self, cutoff):
        seen["cutoffs"].append(cutoff)
        return count_days(self, cutoff)

    monkeypatch.setattr(access_log, "_stage_log", spied_stage)
    monkeypatch.setattr(access_log._LogCounter, "_count_days_before", spied_count)
    return seen


def test_a_log_read_a_few_lines_at_a_time_counts_as_when_read_whole(tmp_path, reads):
    log = generate_log(tmp_path / "access.log", 300, seed=SEED, start=date(2026, 10, 1), end=date(2026, 10, 14))
    truth = count_log(log.path.read_bytes())
    whole = stage_log(recognize(log.path), batch_lines=log.lines + 1)
    # one batch: the days a day before its last counted after it, the rest at the end
    assert reads == {"in_order": [True], "cutoffs": [date(2026, 10, 13), date(2026, 10, 15)]}
    reads["cutoffs"].clear()
    # about 700 lines a day: a day's visitors come in several batches, and each day is counted a day later
    in_batches = stage_log(recognize(log.path), batch_lines=97)
    assert reads["in_order"] == [True, True]
    assert reads["cutoffs"] == [date(2026, 9, 30) + timedelta(days=n) for n in range(14)] + [date(2026, 10, 15)]
    assert staged_cells(in_batches) == staged_cells(whole)
    assert staged_reasons(in_batches) == staged_reasons(whole)
    views, visitors = staged_totals(in_batches)
    assert views == truth.views
    assert visitors == Counter(truth.visitor_counts())


def test_a_log_out_of_time_order_is_read_again_whole_and_counts_the_same(tmp_path, reads):
    log = generate_log(tmp_path / "access.log", 300, seed=SEED, start=date(2026, 10, 1), end=date(2026, 10, 14))
    lines = log.path.read_bytes().splitlines(keepends=True)
    # two servers' logs put one after the other: the second week first, then the first
    shuffled = tmp_path / "both.log"
    shuffled.write_bytes(b"".join(lines[len(lines) // 2 :] + lines[: len(lines) // 2]))
    truth = count_log(shuffled.read_bytes())
    staged = stage_log(recognize(shuffled), batch_lines=97, number_rejects=True)
    # the first read counted the second week's early days, then met the first week: read again, counting at the end
    assert reads["in_order"] == [True, False]
    assert reads["cutoffs"][-1] == date(2026, 10, 15)
    views, visitors = staged_totals(staged)
    assert views == truth.views
    assert visitors == Counter(truth.visitor_counts())
    assert staged.rows_read == truth.lines
    assert staged.ignored == dict(truth.ignored)
    assert staged.rejected == dict(truth.rejected)
    assert staged.rejects.to_pylist() == [{"row": row, "reason": reason} for row, reason in truth.reject_rows]


def test_the_operator_is_told_a_log_was_not_in_time_order(tmp_path, monkeypatch, capsys):
    log = generate_log(tmp_path / "access.log", 300, seed=SEED, start=date(2026, 10, 1), end=date(2026, 10, 14))
    lines = log.path.read_bytes().splitlines(keepends=True)
    shuffled = tmp_path / "raw" / "both.log"
    shuffled.parent.mkdir()
    shuffled.write_bytes(b"".join(lines[len(lines) // 2 :] + lines[: len(lines) // 2]))
    monkeypatch.setattr(access_log, "BATCH_LINES", 500)
    db = tmp_path / "visitors.duckdb"
    assert etl_main(["load", str(log.path), str(shuffled), "--db", str(db)]) == 0
    out = capsys.readouterr().out
    note = "  not in time order: read twice, every visitor held in memory until its end"
    assert out.count(note) == 1
    assert out.index(note) > out.index("both.log: batch 2")
    assert_counts_equal(db, out, "both.log", count_log(shuffled.read_bytes()))
    assert page_view_totals(db, 1) == page_view_totals(db, 2)


@pytest.mark.parametrize("name", ["access.log", "access.log.gz"])
def test_progress_runs_to_the_files_size(tmp_path, name):
    log = generate_log(tmp_path / name, 300, seed=SEED, start=date(2026, 10, 1), end=date(2026, 10, 14))
    seen: list[tuple[int, int]] = []
    staged = stage_log(recognize(log.path), lambda done, total: seen.append((done, total)), batch_lines=97)
    size = log.path.stat().st_size
    assert staged.rows_read == log.lines
    assert seen[-1] == (size, size)
    assert all(0 <= done <= total == size for done, total in seen)
    assert [done for done, _ in seen] == sorted(done for done, _ in seen)


def test_a_gzip_logs_size_is_judged_from_its_head(tmp_path, monkeypatch):
    monkeypatch.setattr(access_log, "COMPRESSION_SAMPLE", 64 << 10)
    log = generate_log(tmp_path / "access.log", 3_000, seed=SEED, start=date(2026, 9, 1), end=date(2026, 10, 31))
    packed = tmp_path / "access.log.gz"
    packed.write_bytes(gzip.compress(log.path.read_bytes(), mtime=0))
    assert packed.stat().st_size > 10 * access_log.COMPRESSION_SAMPLE  # judged from its head only
    ratio = log.path.stat().st_size / packed.stat().st_size
    assert access_log._compression_ratio(packed) == pytest.approx(ratio, rel=0.1)
    assert access_log._compression_ratio(log.path) == 1.0  # not gzip at all


def test_a_visitor_late_by_less_than_a_day_is_still_one_visitor(tmp_path, reads):
    lines = [
        line(stamp="15/Nov/2026:23:59:58 +0900"),
        line(stamp="16/Nov/2026:00:00:01 +0900", agent=IPHONE),
        # written after a line of the next day (a slow request): still the 15th's visitor
        line(stamp="15/Nov/2026:23:59:59 +0900", request="GET /coupons?page=2 HTTP/1.1"),
        line(stamp="16/Nov/2026:09:00:00 +0900", agent=IPHONE),
        line(stamp="17/Nov/2026:00:00:00 +0900"),
        # a day late and more: the log is out of order, and read again whole
        line(stamp="15/Nov/2026:12:00:00 +0900"),
    ]
    raw = write_log(tmp_path / "access.log", lines)
    out_of_order = stage_log(recognize(raw), batch_lines=1)
    assert reads["in_order"] == [True, False]
    assert staged_cells(out_of_order) == {
        (date(2026, 11, 15), "coupon", "view", "KR", "desktop"): (3, 1),
        (date(2026, 11, 16), "coupon", "view", "KR", "mobile"): (2, 1),
        (date(2026, 11, 17), "coupon", "view", "KR", "desktop"): (1, 1),
    }
    reads["in_order"].clear()
    write_log(raw, lines[:-1])
    staged = stage_log(recognize(raw), batch_lines=1)
    assert reads["in_order"] == [True]
    assert staged_cells(staged) == {
        (date(2026, 11, 15), "coupon", "view", "KR", "desktop"): (2, 1),
        (date(2026, 11, 16), "coupon", "view", "KR", "mobile"): (2, 1),
        (date(2026, 11, 17), "coupon", "view", "KR", "desktop"): (1, 1),
    }


def test_a_truncated_gzip_is_refused_and_the_store_is_unchanged(store, tmp_path):
    log = generate_log(tmp_path / "full.log", 2_000, seed=SEED, start=date(2026, 9, 1), end=date(2026, 10, 31))
    packed = gzip.compress(log.path.read_bytes(), mtime=0)
    assert len(packed) > 1 << 20  # longer than the head read to recognize it: the cut is found by the read
    cut = tmp_path / "raw" / "access.log.3.gz"
    cut.parent.mkdir()
    cut.write_bytes(packed[: len(packed) * 4 // 5])
    before = folder_snapshot(store.parent)
    code, out, err = run_etl("load", cut, "--db", store, "--rejects", tmp_path / "rejects.csv", cwd=tmp_path)
    assert code == 2
    assert err == f"{cut}: refused: corrupt or truncated gzip data\n"
    assert out.splitlines()[-1].startswith("0 file(s) loaded, 0 skipped, 1 refused; 0 rows loaded, 0 rejected")
    assert folder_snapshot(store.parent) == before
    assert read_rejects(tmp_path / "rejects.csv") == [["file", "row", "reason"]]


def test_crlf_line_ends_and_blank_lines(tmp_path):
    lines = ["", line(), "", "", line(request="POST /coupons/claim HTTP/1.1", status=302), ""]
    db = tmp_path / "visitors.duckdb"
    raw = write_log(tmp_path / "access.log", lines, end=b"\r\n")
    code, out, err = run_etl("load", raw, "--db", db, "--rejects", tmp_path / "rejects.csv", cwd=tmp_path)
    assert (code, err) == (0, "")
    assert page_view_cells(db) == [
        ("2026-11-17", "coupon", "submit", "KR", "desktop", 1, 1),
        ("2026-11-17", "coupon", "view", "KR", "desktop", 1, 1),
    ]
    # a blank line is no request: rejected as malformed, with its line number
    assert reported(out)["access.log"]["rejected by reason"] == Counter(malformed=4)
    assert [row[1:] for row in read_rejects(tmp_path / "rejects.csv")[1:]] == [
        ["1", "malformed"],
        ["3", "malformed"],
        ["4", "malformed"],
        ["6", "malformed"],
    ]
    assert_counts_equal(db, out, "access.log", count_log(raw.read_bytes()))


def test_a_file_that_is_neither_a_log_nor_an_export_is_refused_by_name(store, tmp_path):
    notes = tmp_path / "server-notes.txt"
    notes.write_text("the nginx logs rotate at midnight\n203.0.113.9 asked for /coupons twice\n", encoding="utf-8")
    before = folder_snapshot(store.parent)
    code, out, err = run_etl("load", notes, "--db", store, cwd=tmp_path)
    assert code == 2
    assert err == (
        f"{notes}: refused: neither a form export (.csv or .jsonl, optionally .gz) nor a web server access log "
        "(its first lines are not in the combined log format)\n"
    )
    assert "203.0.113.9" not in out + err
    assert folder_snapshot(store.parent) == before


def test_the_same_log_twice_is_skipped_by_its_hash(tmp_path):
    raw = write_log(tmp_path / "raw" / "access.log", HAND_WRITTEN)
    rotated = tmp_path / "raw" / "access.log.1"
    rotated.write_bytes(raw.read_bytes())
    db = tmp_path / "visitors.duckdb"
    code, out, err = run_etl("load", raw, rotated, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert f"{rotated}: skipped: same content as {raw}, loaded in this run\n" in out
    code, out, err = run_etl("load", rotated, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out.startswith(f"{rotated}: skipped: already loaded as batch 1\n")
    assert page_view_cells(db) == HAND_WRITTEN_CELLS
    assert len(store_batches(db)) == 1


def test_a_rotated_log_compressed_by_logrotate_is_skipped_as_the_same_lines(tmp_path):
    """logrotate's `delaycompress`: access.log.1 today is access.log.2.gz tomorrow, the same lines."""
    raw = write_log(tmp_path / "raw" / "access.log.1", HAND_WRITTEN)
    db = tmp_path / "visitors.duckdb"
    code, _, err = run_etl("load", raw, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    rotated = tmp_path / "raw" / "access.log.2.gz"
    rotated.write_bytes(gzip.compress(raw.read_bytes(), mtime=0))
    raw.unlink()
    code, out, err = run_etl("load", rotated, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out.startswith(f"{rotated}: skipped: already loaded as batch 1\n")
    assert page_view_cells(db) == HAND_WRITTEN_CELLS
    # and the other way round, in one run: compressed at another level, the same lines
    other = tmp_path / "other.duckdb"
    again = write_log(tmp_path / "raw" / "access.log.1", HAND_WRITTEN)
    (tmp_path / "raw" / "fast.gz").write_bytes(gzip.compress(again.read_bytes(), compresslevel=1, mtime=1))
    code, out, err = run_etl("load", tmp_path / "raw" / "fast.gz", again, "--db", other, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert f"{again}: skipped: same content as {tmp_path / 'raw' / 'fast.gz'}, loaded in this run\n" in out
    assert page_view_cells(other) == HAND_WRITTEN_CELLS


def test_remove_batch_takes_a_log_out(store, tmp_path):
    first = write_log(tmp_path / "access.log.1", HAND_WRITTEN)
    second = write_log(tmp_path / "access.log", [line(request="GET /free-estimate HTTP/1.1")] * 3)
    code, _, err = run_etl("load", first, second, "--db", store, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert [b["batch_id"] for b in store_batches(store)] == [1, 2, 3]
    together = page_view_cells(store)
    assert ("2026-11-17", "free_estimate", "view", "KR", "desktop", 3, 1) in together
    code, out, err = run_etl("remove-batch", "3", "--db", store, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert out == f"batch 3 (access.log, 3 rows) removed from {store}\n"
    assert page_view_cells(store) == HAND_WRITTEN_CELLS
    code, _, err = run_etl("remove-batch", "2", "--db", store, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert page_view_cells(store) == []
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("select count(*) from page_view_batch_counts").fetchone() == (0,)
    # the form export's batch is untouched
    assert [b["batch_id"] for b in store_batches(store)] == [1]
    assert store_rows(store) == FIRST_BATCH


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        (None, "the routes file cannot be read (No such file or directory)"),
        ("[free_estimate\n", "not valid TOML"),
        ('[coupon]\nview = "/coupons"\n', "no [free_estimate] table with its view and submit paths"),
        (
            (REPO / "etl" / "routes.toml").read_text(encoding="utf-8").replace('view = "/coupons"', 'view = "coupons"'),
            "[coupon] needs view and submit, each a path starting with /",
        ),
        (
            (REPO / "etl" / "routes.toml").read_text(encoding="utf-8") + '\n[hair_transplant]\nview = "/hair"\n',
            "unknown table(s) hair_transplant",
        ),
    ],
)
def test_a_wrong_routes_file_is_one_error_naming_it(store, tmp_path, text, reason):
    routes = tmp_path / "my-routes.toml"
    if text is not None:
        routes.write_text(text, encoding="utf-8")
    raw = write_log(tmp_path / "access.log", HAND_WRITTEN)
    before = folder_snapshot(store.parent)
    code, out, err = run_etl("load", raw, "--db", store, cwd=tmp_path, env={"GANGNAM_ROUTES": str(routes)})
    assert code == 2
    assert len(err.splitlines()) == 1
    assert err.startswith(f"{routes}: {reason}")
    assert out == ""
    assert folder_snapshot(store.parent) == before
    assert raw.exists()


def test_a_very_long_user_agent_is_a_bot_and_does_not_stall_the_load(tmp_path):
    """crawlerdetect takes time quadratic in a user agent's length (7 s for 10,000 characters): before the
    limit, the 200,000-character line below held the load for about an hour."""
    padded = DESKTOP + " " + "x" * (LONGEST_AGENT - len(DESKTOP) - 1)
    lines = [
        line(agent=padded),  # the longest user agent a browser may send: parsed, counted
        line(agent=padded + "x"),  # one character longer: a bot
        line(agent="Mozilla/5.0 (" + "a" * 200_000 + ")"),
        line(request="POST /coupons/claim HTTP/1.1", agent=DESKTOP + " " + "a" * 50_000),
    ]
    raw = write_log(tmp_path / "access.log", lines)
    db = tmp_path / "visitors.duckdb"
    code, out, err = run_etl("load", raw, "--db", db, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert page_view_cells(db) == [("2026-11-17", "coupon", "view", "KR", "desktop", 1, 1)]
    assert reported(out)["access.log"]["not counted"] == Counter(bot=3)
    assert_counts_equal(db, out, "access.log", count_log(raw.read_bytes()))


@pytest.mark.heavy
def test_a_100_mb_line_is_rejected_and_the_rest_loaded(tmp_path):
    huge = line(request="GET /coupons?q=" + "zqhuge" * (100_000_000 // 6) + " HTTP/1.1")
    lines = [line(), line(agent=IPHONE), huge, line(request="GET /free-estimate HTTP/1.1"), line(client="133.0.0.1")]
    raw = write_log(tmp_path / "raw" / "access.log", lines)
    assert raw.stat().st_size > 100_000_000
    db, rejects = tmp_path / "store" / "visitors.duckdb", tmp_path / "rejects.csv"
    code, out, err = run_etl("load", raw, "--db", db, "--rejects", rejects, cwd=tmp_path)
    assert (code, err) == (0, "")
    assert page_view_cells(db) == [
        ("2026-11-17", "coupon", "view", "JP", "desktop", 1, 1),
        ("2026-11-17", "coupon", "view", "KR", "desktop", 1, 1),
        ("2026-11-17", "coupon", "view", "KR", "mobile", 1, 1),
        ("2026-11-17", "free_estimate", "view", "KR", "desktop", 1, 1),
    ]
    assert reported(out)["access.log"]["rejected by reason"] == Counter(line_too_long=1)
    assert read_rejects(rejects)[1:] == [["access.log", "3", "line_too_long"]]
    assert_counts_equal(db, out, "access.log", count_log(raw.read_bytes()))
    assert b"zqhuge" not in db.read_bytes() and "zqhuge" not in out
