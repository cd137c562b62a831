"""ETL speed and memory, side by side with the bare DuckDB SQL transform.

For each size it generates a raw CSV (etl generate, `--mix clean`: the site's
own spellings, or `--mix real`: a real back office's mix, where 40% of the
timestamps end in Z, -05:00 or nothing and half the dates of birth use dots
or slashes), then alternates runs of

- `python -m etl load` (the real thing: checks, reject numbering, hash, batch
  log, atomic publish), and
- the bare transform: one DuckDB query that reads the same five columns as
  text, applies the same normalization (the same lookup tables) and groups by,
  writing the counts to a file; no checks, no rejects, no publish; and the
  same query with the ETL's own date-of-birth parse (the macro of
  etl/sql/staging/birth_date.sql, which casts what strptime would read),
  so that the ETL's overhead shows apart from the cost of the parse,

each in its own process, and records the median wall time, rows/s and peak
RSS (the child's ru_maxrss). Results go to docs/performance.md, one section
per mix. The bare query reads every spelling of the contract (trimmed, any
offset or none, the three date formats), so it does the same normalization
on either mix.

    .venv/bin/python benchmarks/etl_bench.py                       # 5M rows, 3 runs each
    .venv/bin/python benchmarks/etl_bench.py --sizes 1M,5M,20M --runs 3
    .venv/bin/python benchmarks/etl_bench.py --mix real --sizes 2M,20M
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "performance.md"
SECTIONS = {"clean": "ETL load", "real": "ETL load: a real back office's mix of spellings"}
MIX_NOTES = {
    "clean": "The raw files are the generator's own (`etl generate`, `--mix clean`).",
    "real": "The raw files are `etl generate --mix real`: the same submissions as the generator's own, "
    "but 40% of the timestamps rewritten to end in `Z`, `-05:00` or nothing (Korea time) and half the "
    "dates of birth written `YYYY.MM.DD` or `YYYY/MM/DD`.",
}

BARE_SQL = """
import sys, duckdb
from etl.lookups import KEY_MACRO_SQL, lookup_tables
from contract import AGE_BANDS
raw, out, dates = sys.argv[1], sys.argv[2], sys.argv[3]
con = duckdb.connect()
con.execute("set TimeZone = 'Asia/Seoul'")
con.execute(KEY_MACRO_SQL)
if dates == "cast":
    from etl.sql_files import sql
    con.execute(sql("staging/birth_date"))
    birth = "birth_date(date_of_birth)"
else:
    birth = "try_strptime(trim(date_of_birth), ['%Y-%m-%d', '%Y.%m.%d', '%Y/%m/%d'])::date"
for table, spellings in lookup_tables().items():
    con.execute(f"create table {table} (spelling varchar, code varchar)")
    con.executemany(f"insert into {table} values (?, ?)", list(spellings.items()))
con.execute("create table age_lookup (age integer, age_group varchar)")
con.executemany("insert into age_lookup values (?, ?)",
    [(a, label) for label, lo, hi in AGE_BANDS for a in range(lo, (150 if hi is None else hi) + 1)])
con.execute("attach ? as out", [out])
con.execute('''
create table out.counts as
with src as (
    select * from read_csv(?, all_varchar = true, header = true, ignore_errors = true, normalize_names = true)
),
typed as (
    select try_cast(trim(submitted_at) as timestamptz)::date as event_date,
        {birth} as birth_date,
        f.code as feature, coalesce(g.code, 'unknown') as gender, coalesce(c.code, 'unknown') as country
    from src
    left join feature_lookup f on f.spelling = lookup_key(src.feature)
    left join gender_lookup g on g.spelling = lookup_key(src.gender)
    left join country_lookup c on c.spelling = lookup_key(src.residing_country)
)
select event_date, feature, country, gender, coalesce(a.age_group, 'unknown') as age_group, count(*) as visits
from typed left join age_lookup a on a.age = case when birth_date between date '1900-01-01' and event_date
    then year(event_date) - year(birth_date)
        - (month(event_date) * 100 + day(event_date) < month(birth_date) * 100 + day(birth_date))::int end
where event_date is not null and feature is not null
group by all
'''.replace("{birth}", birth), [raw])
"""
# the bare query's date-of-birth parse: strptime, as a plain query would; cast, as the ETL does
BARE_DATES = ("strptime", "cast")


def parse_size(text: str) -> int:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM]?)", text.strip())
    if not match:
        raise argparse.ArgumentTypeError(f"not a row count: {text}")
    scale = {"": 1, "k": 1_000, "m": 1_000_000}[match.group(2).lower()]
    return int(float(match.group(1)) * scale)


def measured_run(cmd: list[str]) -> tuple[float, float, float]:
    """Run a command; return (wall seconds, peak RSS in MB, CPU seconds of all its threads) of that process.

    CPU time says what the work cost when other processes share the cores and stretch the wall time.
    """
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stderr.read().decode(errors='replace')[-2000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def timed(cmd: list[str]) -> tuple[float, float]:
    """Run a command; return (wall seconds, peak RSS in MB of that process)."""
    wall, rss, _ = measured_run(cmd)
    return wall, rss


def bench_size(rows: int, runs: int, workdir: Path, mix: str = "clean") -> dict[str, object]:
    raw = workdir / f"raw-{mix}-{rows}.csv"
    if not raw.exists():
        print(f"generating {rows:,} rows ({mix}) ...", flush=True)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "etl",
                "generate",
                "--rows",
                str(rows),
                "--seed",
                "1",
                "--mix",
                mix,
                "--out",
                str(raw),
            ],
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )
    kinds = ["etl", *(f"bare_{dates}" for dates in BARE_DATES)]
    measured: dict[str, list[tuple[float, float, float]]] = {kind: [] for kind in kinds}
    for run in range(runs):
        # rotate which goes first so that none always gets the warmer cache
        for which in kinds[run % len(kinds) :] + kinds[: run % len(kinds)]:
            db = workdir / f"{which}.duckdb"
            for leftover in workdir.glob(f"{which}.duckdb*"):
                leftover.unlink()
            if which == "etl":
                command = ["-m", "etl", "load", str(raw), "--db", str(db)]
            else:
                command = ["-c", BARE_SQL, str(raw), str(db), which.removeprefix("bare_")]
            measured[which].append(measured_run([sys.executable, *command]))
        print(f"  run {run + 1}: " + ", ".join(f"{k} {v[-1][0]:.1f} s" for k, v in measured.items()), flush=True)
    wall = {kind: statistics.median(w for w, _, _ in runs_of) for kind, runs_of in measured.items()}
    cpu = {kind: statistics.median(c for _, _, c in runs_of) for kind, runs_of in measured.items()}
    return {
        "rows": rows,
        "file_mb": raw.stat().st_size / 1e6,
        "etl_wall": wall["etl"],
        "bare_wall": wall["bare_strptime"],
        "ratio": wall["etl"] / wall["bare_strptime"],
        "bare_cast_wall": wall["bare_cast"],
        "ratio_cast": wall["etl"] / wall["bare_cast"],
        "cpu_ratio": cpu["etl"] / cpu["bare_strptime"],
        "cpu_ratio_cast": cpu["etl"] / cpu["bare_cast"],
        "etl_rss": max(r for _, r, _ in measured["etl"]),
        "bare_rss": max(r for _, r, _ in measured["bare_strptime"]),
        "store_mb": (workdir / "etl.duckdb").stat().st_size / 1e6,
    }


def write_doc(results: list[dict[str, object]], runs: int, mix: str = "clean") -> str:
    lines = [
        f"## {SECTIONS[mix]}",
        "",
        f"Measured {date.today().isoformat()} by `benchmarks/etl_bench.py --mix {mix}` on {os.cpu_count()} cores "
        f"({platform.machine()}, Python {platform.python_version()}); median of {runs} alternating runs, "
        "each in its own process. *bare* is one DuckDB query doing the same normalization and group by "
        "with no checks, reject numbering, hashing or publish, its dates of birth read by strptime in the "
        "three formats; *bare, cast* is the same query with the ETL's cheaper parse of them "
        "(`etl/sql/staging/birth_date.sql`), so that its ratio is the ETL's overhead alone. *CPU* is the "
        "ratio of the median CPU seconds (all threads), which other processes on the cores stretch less "
        f"than wall time. Targets: wall time within 1.3x of bare, peak RSS under 1 GB and flat with size. "
        f"{MIX_NOTES[mix]}",
        "",
        "| rows | raw CSV | etl load | bare SQL | ratio | CPU | bare, cast | ratio | CPU | etl rows/s "
        "| etl peak RSS | bare peak RSS | store |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r['rows']:,} | {r['file_mb']:,.0f} MB | {r['etl_wall']:.1f} s | {r['bare_wall']:.1f} s | "
            f"{r['ratio']:.2f}x | {r['cpu_ratio']:.2f}x | {r['bare_cast_wall']:.1f} s | {r['ratio_cast']:.2f}x | "
            f"{r['cpu_ratio_cast']:.2f}x | {r['rows'] / r['etl_wall']:,.0f} | {r['etl_rss']:,.0f} MB | "
            f"{r['bare_rss']:,.0f} MB | {r['store_mb']:.1f} MB |"
        )
    return write_section(SECTIONS[mix], "\n".join(lines) + "\n")


def write_section(title: str, section: str, doc: Path = DOC) -> str:
    """Replace (or add) one `## title` section of a document in docs/ (docs/performance.md by default)."""
    text = doc.read_text(encoding="utf-8") if doc.exists() else f"# {doc.stem.capitalize()}\n\n"
    pattern = re.compile(rf"## {re.escape(title)}\n.*?(?=\n## |\Z)", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text, encoding="utf-8")
    return section


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="5M", help="comma-separated row counts, e.g. 1M,5M,20M")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--mix", choices=tuple(SECTIONS), default="clean", help="raw files to load (etl generate --mix)"
    )
    parser.add_argument("--workdir", type=Path, help="keep generated files here (default: a temp folder)")
    args = parser.parse_args()
    sizes = [parse_size(s) for s in args.sizes.split(",")]
    with tempfile.TemporaryDirectory(prefix="etl-bench-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        results = [bench_size(rows, args.runs, workdir, args.mix) for rows in sizes]
    print(write_doc(results, args.runs, args.mix))


if __name__ == "__main__":
    main()
