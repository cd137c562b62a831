"""The synthetic access log: reproducible bytes, nginx's combined format, its traffic mix, and true counts.

The log is read back here with its own regex, routes from routes.toml and a
list of crawler names; the summary's truths must equal what that count finds.
"""

from __future__ import annotations

import gzip
import re
import tomllib
from collections import Counter
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import etl.generate_log as generate_log_module
from contract import FEATURES
from etl.__main__ import main
from etl.generate import _calendar
from etl.generate_log import generate_log
from etl.routes import ROUTES_PATH, load_routes

SEED = 11
ROWS = 1_000
START, END = date(2026, 3, 1), date(2026, 4, 29)

LINE = re.compile(
    r"^(?P<ip>[0-9A-Fa-f:.]+) - (?P<user>\S+) "
    r"\[(?P<stamp>\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4})\] "
    r'"(?P<method>[A-Z]+) (?P<target>/\S*) HTTP/(?:1\.1|2\.0)" (?P<status>\d{3}) (?P<size>\d+|-) '
    r'"(?P<referrer>[^"]*)" "(?P<agent>[^"]*)"$'
)
BOTS = re.compile(r"bot|spider|crawl|facebookexternalhit|curl/|python-requests|go-http-client|wget", re.IGNORECASE)
HEALTH = re.compile(r"HealthChecker|kube-probe")
KST = timezone(timedelta(hours=9))
SERVICE_PAGES = {view for view, _ in load_routes().services.values()}


def read_lines(path: Path) -> list[str]:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    assert data.endswith(b"\n")
    return data.decode("utf-8", errors="surrogateescape").split("\n")[:-1]


def routes() -> dict[str, tuple[str, str]]:
    with open(ROUTES_PATH, "rb") as file:
        table = tomllib.load(file)
    return {feature: (table[feature]["view"], table[feature]["submit"]) for feature in FEATURES}


def korea_day(stamp: str) -> date:
    return datetime.strptime(stamp, "%d/%b/%Y:%H:%M:%S %z").astimezone(KST).date()


@pytest.fixture(scope="module")
def log(tmp_path_factory):
    path = tmp_path_factory.mktemp("log") / "access.log"
    summary = generate_log(path, ROWS, SEED, start=START, end=END)
    lines = read_lines(path)
    return summary, lines, [LINE.match(line) for line in lines]


def test_same_seed_same_bytes_other_seed_other_bytes(tmp_path):
    first = generate_log(tmp_path / "a.log", 200, SEED, start=START, end=START + timedelta(days=9))
    again = generate_log(tmp_path / "b.log", 200, SEED, start=START, end=START + timedelta(days=9))
    other = generate_log(tmp_path / "c.log", 200, SEED + 1, start=START, end=START + timedelta(days=9))
    assert first.lines > 0
    assert (tmp_path / "a.log").read_bytes() == (tmp_path / "b.log").read_bytes()
    assert (tmp_path / "a.log").read_bytes() != (tmp_path / "c.log").read_bytes()
    assert first.steps == again.steps
    assert other.steps != first.steps


def test_gz_is_the_same_bytes_compressed(tmp_path):
    generate_log(tmp_path / "a.log", 200, SEED, start=START, end=START + timedelta(days=9))
    summary = generate_log(tmp_path / "a.log.gz", 200, SEED, start=START, end=START + timedelta(days=9))
    packed = (tmp_path / "a.log.gz").read_bytes()
    assert packed[:2] == b"\x1f\x8b"
    assert gzip.decompress(packed) == (tmp_path / "a.log").read_bytes()
    assert summary.bytes_written == len(packed)


def test_lines_are_combined_format_but_the_malformed(log):
    summary, lines, matches = log
    assert summary.lines == len(lines)
    bad = [line for line, match in zip(lines, matches, strict=True) if match is None]
    assert len(bad) == summary.malformed_lines
    assert 0.005 <= len(bad) / len(lines) <= 0.025
    assert "" in bad  # an empty line
    assert any(line.startswith("{") for line in bad)  # a JSON line
    assert any(re.match(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:[\d:]+,", line) for line in bad)  # a CSV line
    assert any("\udc16\x03\x01" in line or "\x00" in line for line in bad)  # garbage bytes


def test_traffic_mix(log):
    summary, lines, matches = log
    parsed = [m for m in matches if m]
    agents = [m["agent"] for m in parsed]
    bots = sum(bool(BOTS.search(a)) for a in agents)
    assert bots == summary.bot_lines
    assert 0.25 <= bots / len(lines) <= 0.35
    assert sum(bool(HEALTH.search(a)) for a in agents) == summary.health_check_lines
    ipv6 = [m["ip"] for m in parsed if ":" in m["ip"]]
    assert len(ipv6) == summary.ipv6_lines
    assert 0.15 <= len(ipv6) / len(lines) <= 0.25
    assert any(ip.startswith("::ffff:") for ip in ipv6)
    people = [a for a in agents if not BOTS.search(a) and not HEALTH.search(a)]
    for device in ("iPhone", "Android", "iPad", "Windows NT", "Macintosh"):
        assert any(device in a for a in people), device
    for crawler in ("Googlebot", "bingbot", "YandexBot", "AhrefsBot", "curl/", "python-requests/"):
        assert any(crawler in a for a in agents), crawler
    offsets = Counter(m["stamp"][-5:] for m in parsed)
    assert set(offsets) == {"+0900", "+0000"}
    assert offsets["+0900"] > 3 * offsets["+0000"]
    # unusual but well-formed lines
    assert {"HEAD", "OPTIONS", "PUT", "PROPFIND"} <= {m["method"] for m in parsed}
    assert {"301", "304", "404", "499", "500", "503"} <= {m["status"] for m in parsed}
    assert any(m["size"] == "-" for m in parsed)
    paths = {m["target"].split("?")[0] for m in parsed}
    assert {"/healthz", "/favicon.ico", "/", "/robots.txt", "/wp-login.php"} <= paths
    assert any(p.startswith("/static/") and p.endswith(".css") for p in paths)


def test_visitors_come_from_the_exports_countries(log):
    """A person's IPv4 address is registered in a country of the export's visitor mix, in its proportions."""
    from iptocc import country_code

    _, _, matches = log
    people = [
        m["ip"].removeprefix("::ffff:")
        for m in matches
        if m and m["target"] in SERVICE_PAGES and not BOTS.search(m["agent"])
    ]
    placed = Counter(country_code([ip for ip in people if "." in ip]))
    total = sum(placed.values())
    # etl.generate's visitor mix: CN 17, JP 11, US 10 of 100 (the rest of the world shares what is left)
    for country, weight in (("CN", 0.17), ("JP", 0.11), ("US", 0.10)):
        assert 0.7 * weight <= placed[country] / total <= 1.3 * weight, country
    assert placed["KR"] > 0


def test_personal_data_where_real_logs_have_it(log):
    _, _, matches = log
    parsed = [m for m in matches if m]
    users = [m["user"] for m in parsed if m["user"] != "-"]
    assert users and any("@" in u for u in users) and any("@" not in u for u in users)
    assert any(re.search(r"[?&]email=[^&]+%40", m["target"]) for m in parsed)
    assert any(re.search(r"[?&]name=", m["target"]) for m in parsed)
    assert any(re.search(r"[?&]phone=", m["target"]) for m in parsed)
    assert any(re.search(r"[?&](reset_)?token=[0-9a-f]{32}", m["target"]) for m in parsed)
    assert any(re.search(r"[?&]email=[^&]+%40", m["referrer"]) for m in parsed)


def count_steps(matches: list[re.Match | None]) -> Counter:
    """Views and submits from people per Korea-time day and service, as the page_views parser will count them."""
    steps = Counter()
    view_paths = {view: feature for feature, (view, _) in routes().items()}
    submit_paths = {submit: feature for feature, (_, submit) in routes().items()}
    for m in matches:
        if m is None or BOTS.search(m["agent"]) or HEALTH.search(m["agent"]):
            continue
        path, status = m["target"].split("?")[0], int(m["status"])
        if m["method"] == "GET" and path in view_paths and 200 <= status < 300:
            steps[korea_day(m["stamp"]), view_paths[path], "view"] += 1
        elif m["method"] == "POST" and path in submit_paths and 200 <= status < 400:
            steps[korea_day(m["stamp"]), submit_paths[path], "submit"] += 1
    return steps


def test_summary_counts_equal_a_count_of_the_written_lines(log):
    summary, _, matches = log
    steps = count_steps(matches)
    assert steps == summary.steps
    assert all(START <= day <= END for day, _, _ in steps)


def test_chunks_of_days_keep_the_counts_and_the_order(tmp_path, monkeypatch):
    monkeypatch.setattr(generate_log_module, "_CHUNK_LINES", 2_000)
    path = tmp_path / "chunked.log"
    summary = generate_log(path, 300, SEED, start=START, end=START + timedelta(days=19))
    matches = [LINE.match(line) for line in read_lines(path)]
    assert count_steps(matches) == summary.steps
    days = [korea_day(m["stamp"]) for m in matches if m]
    assert days == sorted(days)  # each chunk holds whole days, in order
    assert len(set(days)) == 20


def test_since_writes_the_whole_logs_latest_days_the_same(tmp_path, monkeypatch):
    """make run's demo log: the latest chunks of days only, line for line those of the whole log."""
    monkeypatch.setattr(generate_log_module, "_CHUNK_LINES", 2_000)
    end = START + timedelta(days=19)
    whole = tmp_path / "whole.log"
    generate_log(whole, 300, SEED, start=START, end=end)
    since = START + timedelta(days=12)
    part = tmp_path / "part.log"
    summary = generate_log(part, 300, SEED, start=START, end=end, since=since)
    lines, every = read_lines(part), read_lines(whole)
    assert 0 < len(lines) < len(every)
    assert lines == every[len(every) - len(lines) :]
    days = {korea_day(m["stamp"]) for m in map(LINE.match, lines) if m}
    assert since in days and max(days) == end
    assert min(days) > START  # the earlier chunks are not written
    assert count_steps([LINE.match(line) for line in lines]) == summary.steps


def test_a_visitor_makes_several_requests(log):
    _, _, matches = log
    people = Counter(
        (m["ip"], m["agent"]) for m in matches if m and not BOTS.search(m["agent"]) and not HEALTH.search(m["agent"])
    )
    requests = sorted(people.values())
    assert requests[len(requests) // 2] >= 3


def test_submits_follow_the_export_and_views_outnumber_them(log):
    summary, _, _ = log
    for feature in FEATURES:
        views, submits = summary.total("view", feature), summary.total("submit", feature)
        assert submits > 0 and 2 * submits < views < 8 * submits, feature
    # The export's submissions per day (same seed, rows, period), less the few lost to defects.
    calendar = _calendar(SEED, ROWS, START, END)
    per_day = Counter()
    for (day, _, step), count in summary.steps.items():
        if step == "submit":
            per_day[day] += count
    for offset, expected in enumerate(calendar.day_counts):
        assert 0.9 * expected - 2 <= per_day[START + timedelta(days=offset)] <= expected
    assert summary.total("submit") >= 0.95 * ROWS


def test_routes_file_is_what_the_generator_uses():
    assert load_routes().services == routes()
    assert set(routes()) == set(FEATURES)


def test_cli_writes_the_log_and_one_line(tmp_path, capsys):
    out = tmp_path / "raw" / "access.log.gz"
    period = ["--start", "2026-01-01", "--end", "2026-01-10"]
    code = main(["generate", "--kind", "access-log", "--out", str(out), "--rows", "100", "--seed", str(SEED), *period])
    assert code == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert len(printed) == 1 and str(out) in printed[0] and "lines" in printed[0]
    lines = read_lines(out)
    assert len(lines) > 1_000
    days = {korea_day(m["stamp"]) for m in map(LINE.match, lines) if m}
    assert min(days) >= date(2026, 1, 1) and max(days) <= date(2026, 1, 10)


def test_bad_arguments():
    with pytest.raises(ValueError, match="after end"):
        generate_log(Path("unused.log"), 10, start=END, end=START)
    with pytest.raises(ValueError, match="defect_share"):
        generate_log(Path("unused.log"), 10, defect_share=2.0)
