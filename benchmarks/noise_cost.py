"""What the cell key noise costs and what it buys, on the demo store of `make run` (issue 12).

Cost: the mean absolute change (published minus true) of the numbers each page shows with its default
filters (last 90 days, by week, against the previous period), recorded from the real pages run with
Streamlit's AppTest by wrapping the gate, and of a typical export. Gain: the differencing attacks of
tests/test_attacks.py at this scale. Results go to docs/privacy.md ("What the noise costs").

    .venv/bin/python benchmarks/noise_cost.py                      # 300,000 submissions, as `make run`
    .venv/bin/python benchmarks/noise_cost.py --rows 30000 --workdir /tmp/noise-cost --no-write
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from cellkey import (  # noqa: E402
    SMALL,
    Exporter,
    all_but_one_country,
    bigger_set,
    countries_by_size,
    months,
    one_day_shorter,
    select,
    store_cells,
    table_args,
    tabulate,
    total_minus_parts,
)
from etl_bench import parse_size, write_section  # noqa: E402

from contract import AGE_GROUPS, GENDERS, TIMEZONE  # noqa: E402

DOC = ROOT / "docs" / "privacy.md"
SECTION = "What the noise costs"
PAGES = ("overview", "countries", "demographics", "services")


def build_store(rows: int, workdir: Path, end: date) -> Path:
    """The demo store as `make run` builds it: the export generated up to today (Korea time) and the access
    log of its last 180 days, then both loaded."""
    db = workdir / f"store-{rows}-{end.isoformat()}-log.duckdb"  # a store of another day would open on other data
    if db.exists():
        return db
    raw, log = workdir / f"raw-{rows}.csv", workdir / f"access-{rows}.log.gz"
    print(f"generating {rows:,} submissions and their access log ...", flush=True)
    days = ["--end", end.isoformat()]
    generate = [sys.executable, "-m", "etl", "generate", "--rows", str(rows), *days]
    subprocess.run([*generate, "--out", str(raw)], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    since = (end - timedelta(days=179)).isoformat()
    subprocess.run(
        [*generate, "--kind", "access-log", "--since", since, "--out", str(log)],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    subprocess.run([sys.executable, "-m", "etl", "load", str(log), str(raw), "--db", str(db)], cwd=ROOT, check=True)
    raw.unlink()
    log.unlink()
    return db


def changes_of(frame: pd.DataFrame, dims, totals_over, value: str, gated) -> list[tuple[int, int]]:
    """(true, published) for every shown number of one gated table: its cells and its totals."""
    true_cells = frame[value].fillna(0).astype("int64").to_numpy()
    pairs = list(zip(true_cells, gated.cells["visits"], gated.cells["status"], strict=True))
    for grouping, totals in gated.totals.items():
        truth = frame.assign(_v=frame[value].fillna(0).astype("int64"))
        if grouping:
            summed = truth.groupby(list(grouping), sort=False, dropna=False)["_v"].sum().reset_index()
            merged = totals.merge(summed, on=list(grouping), how="left")
            pairs += list(zip(merged["_v"], merged["visits"], merged["status"], strict=True))
        else:
            pairs.append((int(truth["_v"].sum()), totals["visits"].iloc[0], totals["status"].iloc[0]))
    return [(int(t), int(p)) for t, p, status in pairs if status == "shown"]


def page_numbers(db: Path) -> dict[str, list[tuple[int, int]]]:
    """Run each page as a planner first sees it, recording every table the gate publishes on it."""
    from streamlit.testing.v1 import AppTest

    # imported before the gate is wrapped, so that downloads and the About page keep the real one
    import dashboard.export.table
    import dashboard.gate
    import dashboard.ui

    real_gate = dashboard.gate.gate
    recorded: list[tuple[int, int]] = []

    def recording_gate(frame, dims, *, totals_over=(), value="visits", **kw):
        gated = real_gate(frame, dims, totals_over=totals_over, value=value, **kw)
        recorded.extend(changes_of(frame, dims, totals_over, value, gated))
        return gated

    os.environ["GANGNAM_DB"] = str(db)
    dashboard.gate.gate = recording_gate
    found = {}
    try:
        for page in PAGES:
            at = AppTest.from_file(str(ROOT / "dashboard" / "app.py"), default_timeout=300)
            at.run()
            if page != "overview":
                at.switch_page(f"views/{page}.py")
            recorded.clear()
            at.run()
            if at.exception:
                raise SystemExit(f"{page}: {at.exception[0].value}")
            found[page] = list(recorded)
    finally:
        dashboard.gate.gate = real_gate
    return found


def export_numbers(db: Path, cells: pd.DataFrame, today: date, workdir: Path) -> tuple[str, list[tuple[int, int]]]:
    """A typical manager's export: the last twelve months by service and country, monthly (raw)."""
    start = (pd.Timestamp(today) - pd.DateOffset(months=11)).date().replace(day=1)
    args = table_args(db, ["feature", "country"], "month", start, today)
    table = Exporter(db, workdir / "typical-export").raw(args)
    truth = tabulate(select(cells, start, today), ["feature", "country"], "month")
    command = " ".join(arg for arg in args[3:] if arg != str(db))
    return command, [(truth[key][0], value) for key, value in table.items() if value != SMALL]


def summary(pairs: list[tuple[int, int]]) -> tuple[int, float, float, int]:
    """Numbers (not zero), mean |change|, mean |change| / true, largest |change|."""
    nonzero = np.array([(t, p) for t, p in pairs if t > 0], dtype=float).reshape(-1, 2)
    if not len(nonzero):
        return 0, 0.0, 0.0, 0
    change = np.abs(nonzero[:, 1] - nonzero[:, 0])
    return len(nonzero), float(change.mean()), float((change / nonzero[:, 0]).mean()), int(change.max())


def run_attacks(db: Path, cells: pd.DataFrame, workdir: Path) -> list:
    exporter = Exporter(db, workdir / "attack-exports")
    countries = countries_by_size(cells)
    _, last = months(cells)
    from dashboard.i18n import t

    labels = {
        dim: {t(code, "en"): code for code in domain}
        for dim, domain in (("gender", GENDERS), ("age_group", AGE_GROUPS))
    }
    # at this scale a day by service is rarely small: in a country of about six submissions a day, days
    # by service and months by gender and age group are
    per_day = cells.groupby("country")["visits"].sum() / cells["event_day"].nunique()
    middle = (per_day - 6).abs().idxmin()
    year_ago = last - timedelta(days=365)
    check = lambda *args, **kw: None  # noqa: E731 (tests/test_attacks.py checks each number; here: figures only)
    started = time.perf_counter()
    attacks = [
        all_but_one_country(exporter, cells, countries, check),
        one_day_shorter(exporter, cells, year_ago, 180, check, countries=[middle]),
        bigger_set(exporter, cells, countries[:3], countries[3:], check),
        total_minus_parts(exporter, cells, labels, check, countries=[middle]),
    ]
    print(f"{exporter.runs} exports in {time.perf_counter() - started:.0f} s (one-country attacks: {middle})")
    for attack in attacks:
        print(attack.line())
    return attacks


def write_doc(rows: int, pages: dict, export: tuple, attacks: list, seconds: float) -> str:
    lines = [
        f"## {SECTION}",
        "",
        f"Measured by `.venv/bin/python benchmarks/noise_cost.py --rows {rows}` on the demo store of `make run`",
        f"({rows:,} generated submissions over three years up to today, loaded by the ETL; {seconds:.0f} s).",
        "The record keys are drawn afresh at every load, so another run gives slightly different figures.",
        "",
        "**The cost**: how far the published numbers are from the true ones, over every number a page shows",
        "with its default filters (last 90 days by week, against the previous period: cells, totals and KPI",
        "cards; zeros and `<10` left out, they carry no noise), recorded from the real pages:",
        "",
        "| where | numbers | mean change | mean change / count | largest |",
        "|---|---|---|---|---|",
    ]
    for page, pairs in pages.items():
        n, mean, relative, largest = summary(pairs)
        lines.append(f"| {page.capitalize()} page | {n:,} | {mean:.2f} | {relative:.2%} | {largest} |")
    command, pairs = export
    n, mean, relative, largest = summary(pairs)
    lines.append(f"| export `{command}` | {n:,} | {mean:.2f} | {relative:.2%} | {largest} |")
    lines += [
        "",
        "**The gain**: the differencing attacks of tests/test_attacks.py at this scale, with the export command",
        "(the day and total attacks within one country of about six submissions a day, where days by service",
        "and months by gender and age group are still small):",
        "",
        "| attack | hidden counts 1-9 | both numbers published | difference exact | attacker certain |",
        "|---|---|---|---|---|",
    ]
    for attack in attacks:
        lines.append(
            f"| {attack.name} | {attack.hidden:,} | {attack.attackable:,} | {attack.exact:,} "
            f"({attack.exact_rate:.1%}) | {attack.certain} ({attack.certain / max(attack.hidden, 1):.2%}) |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=parse_size, default=300_000, help="generated submissions (default 300000)")
    parser.add_argument("--workdir", type=Path, help="keep the store here (default: a temp folder)")
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/privacy.md alone")
    args = parser.parse_args()
    today = pd.Timestamp.now(tz=ZoneInfo(TIMEZONE)).date()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="noise-cost-") as tmp:
        workdir = args.workdir or Path(tmp)
        workdir.mkdir(parents=True, exist_ok=True)
        db = build_store(args.rows, workdir, today)
        cells = store_cells(db)
        pages = page_numbers(db)
        export = export_numbers(db, cells, today, workdir)
        attacks = run_attacks(db, cells, workdir)
    section = write_doc(args.rows, pages, export, attacks, time.perf_counter() - started)
    print(section if args.no_write else write_section(SECTION, section, DOC))


if __name__ == "__main__":
    main()
