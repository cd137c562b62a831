"""Access-log load speed and memory, side by side with bare DuckDB SQL that parses the same lines.

For each size it generates an access log (`etl generate --kind access-log`, seed 1; cached in
--cache, keyed by seed and rows, since a 20M-line log is 4.7 GB and takes a while to write), then
alternates rounds of

- `python -m etl load FILE --db fresh.duckdb` (the real thing: the parse, the two groupings, user
  agents and addresses through Python, the counts by cell, the batch log, the atomic publish),
- the same command in a worktree of --baseline (a commit; '' for none), with the same interpreter, and
- the bare anchor: one DuckDB query, written here and not calling etl.access_log.stage_log, that
  reads the same file with the same reader settings (AccessLogSource.relation_sql), parses each
  line with the same regex (etl.access_log.LINE_PATTERN) and groups the lines of the service paths
  (routes.toml) by Korea day, path, method and status, with views and distinct visitors (address
  and user agent), written to a DuckDB file,

each in its own process, alternating which goes first. It records wall time, CPU time (user and
system, all threads) and peak RSS (ru_maxrss of the child from wait4: the largest of it and any
process it waited for), the median and the worst of the rounds, and the 1-minute load average
before each round, and writes its section of docs/performance.md. A size ending in `.gz` is the
same log gzip-compressed.

    .venv/bin/python benchmarks/log_bench.py                          # 1M,5M,20M,1M.gz lines, 3 rounds
    .venv/bin/python benchmarks/log_bench.py --sizes 1M --rounds 5 --baseline ''
    .venv/bin/python benchmarks/log_bench.py --clean                  # then delete the cached logs
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from etl_bench import parse_size, write_section

ROOT = Path(__file__).resolve().parents[1]
SECTION = "Access log load"
DEFAULT_CACHE = Path(tempfile.gettempdir()) / "gangnam-log-bench"
SEED = 1
# the access-log generator writes about this many lines per form row (`--rows`)
LINES_PER_ROW = 30.3
TARGET_RATIO = 1.5
TARGET_RSS_MB = 1024
# the access-log load before it read a batch at a time (issue 15): the whole log's visitor groups held at once
DEFAULT_BASELINE = "3b905d2"

BARE_SQL = """
import sys, duckdb
from etl.access_log import LINE_FIELDS, LINE_PATTERN, AccessLogSource
from etl.routes import load_routes
from pathlib import Path
raw, out, compressed = sys.argv[1], sys.argv[2], sys.argv[3] == "gz"
con = duckdb.connect()
con.execute("set TimeZone = 'Asia/Seoul'")
con.execute(f"create view raw_log as {AccessLogSource(Path(raw), compressed).relation_sql()}")
con.execute("attach ? as out", [out])
pattern = "'" + LINE_PATTERN.replace("'", "''") + "'"
fields = ", ".join(f"'{name}'" for name in LINE_FIELDS)
con.execute(f'''
create table out.counts as
with parsed as (
    select regexp_extract(line, {pattern}, [{fields}]) as field
    from raw_log
),
typed as (
    select
        try_strptime(nullif(field.stamp, ''), '%d/%b/%Y:%H:%M:%S %z')::date as event_date,
        field.path as path, field.method as method, try_cast(field.status as integer) as status,
        field.client as client, field.agent as agent
    from parsed
)
select event_date, path, method, status, count(*) as views, count(distinct (client, agent)) as visitors
from typed
where path in (select unnest($paths::varchar[])) and event_date is not null
group by all
''', {"paths": load_routes().steps()["path"]})
"""


@dataclass
class Size:
    lines_asked: int
    compressed: bool
    path: Path = Path()
    lines: int = 0
    runs: dict[str, list[tuple[float, float, float]]] = field(default_factory=dict)
    loads: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.lines_asked / 1e6:g}M lines" + (", gzip" if self.compressed else "")


def parse_sizes(text: str) -> list[Size]:
    sizes = []
    for item in text.split(","):
        compressed = item.strip().lower().endswith(".gz")
        sizes.append(Size(parse_size(item.strip().removesuffix(".gz").removesuffix(".GZ")), compressed))
    return sizes


def cached_log(size: Size, cache: Path) -> None:
    """Generate the log of a size once; its line count is kept beside it."""
    rows = round(size.lines_asked / LINES_PER_ROW, -3)  # whole thousands: 1M lines, 33,000 rows
    rows = int(rows)
    size.path = cache / f"access-{rows}-seed{SEED}.log{'.gz' if size.compressed else ''}"
    about = size.path.with_name(size.path.name + ".json")
    if not (size.path.exists() and about.exists()):
        print(f"generating {size.label} ({rows:,} rows) ...", flush=True)
        # in a process of its own: a child forked from a parent grown by the generator would inherit its peak RSS
        write = (
            "import json, sys; from pathlib import Path; from etl.generate_log import generate_log; "
            "s = generate_log(Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])); "
            "Path(sys.argv[4]).write_text(json.dumps({'lines': s.lines, 'bytes': s.bytes_written}))"
        )
        subprocess.run(
            [sys.executable, "-c", write, str(size.path), str(rows), str(SEED), str(about)], cwd=ROOT, check=True
        )
    size.lines = json.loads(about.read_text())["lines"]


def measured_run(cmd: list[str], cwd: Path = ROOT) -> tuple[float, float, float]:
    """Run a command; (wall seconds, CPU seconds, peak RSS in MB) of it and the processes it waited for."""
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode(errors='replace')[-2000:]}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def worktree(ref: str, folder: Path) -> Path:
    """A detached worktree of `ref`: its etl and contract, run by this interpreter (`python -m` reads the cwd's)."""
    path = folder / "baseline"
    subprocess.run(["git", "worktree", "add", "--detach", "--force", str(path), ref], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    return path


def bench(size: Size, rounds: int, workdir: Path, baseline: Path | None) -> None:
    kinds = ["load", *(["baseline"] if baseline else []), "bare"]
    size.runs = {kind: [] for kind in kinds}
    for round_ in range(rounds):
        size.loads.append(os.getloadavg()[0])
        # rotate which goes first, so that none always meets the warmer page cache or the quieter moment
        for kind in kinds[round_ % len(kinds) :] + kinds[: round_ % len(kinds)]:
            out = workdir / f"{kind}.duckdb"
            for leftover in workdir.glob(f"{kind}.duckdb*"):
                leftover.unlink()
            if kind == "bare":
                command = ["-c", BARE_SQL, str(size.path), str(out), "gz" if size.compressed else "plain"]
            else:
                command = ["-m", "etl", "load", str(size.path), "--db", str(out)]
            cwd = baseline if kind == "baseline" else ROOT
            size.runs[kind].append(measured_run([sys.executable, *command], cwd))
        print(
            f"  {size.label}, round {round_ + 1}: "
            + ", ".join(
                f"{k} {v[-1][0]:.1f} s ({v[-1][1]:.1f} s CPU, {v[-1][2]:,.0f} MB)" for k, v in size.runs.items()
            ),
            flush=True,
        )


def _median_worst(values: list[float], unit: str, digits: int = 1) -> str:
    return f"{statistics.median(values):,.{digits}f} {unit} ({max(values):,.{digits}f})"


def _column(runs: list[tuple[float, float, float]], index: int) -> list[float]:
    return [run[index] for run in runs]


def report(sizes: list[Size], rounds: int, baseline: str | None) -> str:
    loads = [load for size in sizes for load in size.loads]
    before = f"`{baseline}`" if baseline else ""
    lines = [
        f"## {SECTION}",
        "",
        f"Measured {date.today().isoformat()} by `benchmarks/log_bench.py` on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}): {rounds} rounds per size, each side in its "
        "own process, the side that goes first rotating; median (worst) of the rounds. *load* is "
        "`python -m etl load FILE --db` into a fresh store"
        + (f"; *{baseline}* the same at commit {before}, before the log was read a batch at a time" if baseline else "")
        + "; *bare* is one DuckDB query in the benchmark that reads the same file with the same reader settings, "
        "parses each line with the same regex (`etl.access_log.LINE_PATTERN`) and groups the lines of the service "
        "paths by Korea day, path, method and status, with views and distinct visitors (address and user agent). "
        "*CPU* is user and system seconds of all threads, which other processes on the cores stretch less than wall "
        "time; ratios are of the medians. Peak RSS is the process's `ru_maxrss`. The logs are "
        f"`etl generate --kind access-log --seed {SEED}` (about {LINES_PER_ROW:g} lines a form row). Targets "
        f"(issue 15): within {TARGET_RATIO}x of bare, peak RSS under {TARGET_RSS_MB:,} MB and flat from 1M to 20M "
        f"lines. The 1-minute load average before the rounds was {min(loads):.1f}-{max(loads):.1f} on the 2 cores "
        "(the higher it is, the more other work shared them): trust the ratios over the times.",
        "",
        "| log | file | load | bare | ratio | CPU load | CPU bare | CPU ratio | load peak RSS | bare peak RSS "
        + (f"| {baseline} | {baseline} peak RSS " if baseline else "")
        + "| load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|" + ("---:|---:|" if baseline else "") + "---:|",
    ]
    for size in sizes:
        load, bare = size.runs["load"], size.runs["bare"]
        wall_ratio = statistics.median(_column(load, 0)) / statistics.median(_column(bare, 0))
        cpu_ratio = statistics.median(_column(load, 1)) / statistics.median(_column(bare, 1))
        old = (
            f"| {_median_worst(_column(size.runs['baseline'], 0), 's')} "
            f"| {_median_worst(_column(size.runs['baseline'], 2), 'MB', 0)} "
            if baseline
            else ""
        )
        lines.append(
            f"| {size.lines:,} lines{', gzip' if size.compressed else ''} | {size.path.stat().st_size / 1e6:,.0f} MB "
            f"| {_median_worst(_column(load, 0), 's')} | {_median_worst(_column(bare, 0), 's')} | {wall_ratio:.2f}x "
            f"| {_median_worst(_column(load, 1), 's')} | {_median_worst(_column(bare, 1), 's')} | {cpu_ratio:.2f}x "
            f"| {_median_worst(_column(load, 2), 'MB', 0)} | {_median_worst(_column(bare, 2), 'MB', 0)} "
            f"{old}| {min(size.loads):.1f}-{max(size.loads):.1f} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1M,5M,20M,1M.gz", help="lines per log, comma-separated; .gz: gzip")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--baseline", default=DEFAULT_BASELINE, help="a commit to load with too; '' for none")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="generated logs (default: %(default)s)")
    parser.add_argument("--clean", action="store_true", help="delete the cached logs afterwards")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/performance.md")
    args = parser.parse_args()
    sizes = parse_sizes(args.sizes)
    args.cache.mkdir(parents=True, exist_ok=True)
    try:
        with ExitStack() as stack:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="log-bench-")))
            baseline = None
            if args.baseline:
                baseline = worktree(args.baseline, workdir)
                stack.callback(
                    subprocess.run, ["git", "worktree", "remove", "--force", str(baseline)], cwd=ROOT, check=False
                )
            for size in sizes:
                cached_log(size, args.cache)
                bench(size, args.rounds, workdir, baseline)
        section = report(sizes, args.rounds, args.baseline or None)
    finally:
        if args.clean:
            shutil.rmtree(args.cache, ignore_errors=True)
    print(section)
    if not args.no_write:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
