"""The published number, worked out independently, and the differencing attacks a manager can run.

Two halves, shared by tests/test_attacks.py, tests/test_ons_peer.py and benchmarks/noise_cost.py:

- `Ptable` and `tabulate`: what the store's cells and the shipped ptable CSV say a published count
  must be (`true + pvalue(pcv(true), key_sum mod 256)`, `<10` for 1..9), read with pandas from the CSV
  and its parameters file, never through dashboard.gate or contract.ptable: a test that asked the gate
  what the gate should publish would prove nothing.
- `Attack` and the four attacks of issue 12, run with nothing but the documented export command (in
  process, through `dashboard.export.main`), and `consistent`: every true count a published number
  can come from, so that an attack is scored both as "the difference was right" and as "the attacker
  could be certain".
"""

from __future__ import annotations

import contextlib
import csv
import io
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
PTABLE_CSV = REPO / "contract" / "ptable_v1.csv"
PERIODS = ("day", "week", "month", "year")  # the export's --period
SMALL = "<10"  # a suppressed count as the attacks see it: the raw flavour's empty visits, suppressed = true
ABSENT = "absent"  # no row: no stored cell in that group, so the attacker knows the count is 0

# ONS's convention for counts above the table (their create_perturbed_table; docs/privacy.md)
_TOP_PCV, _REUSED_FROM, _REUSED_SPAN = 750, 501, 250
TOTAL_EN = "Total"  # the excel flavour's total row, in English


# --- the expected published number -----------------------------------------------------------------


@dataclass(frozen=True, eq=False)  # hashed by identity: one shipped table
class Ptable:
    """The shipped ptable as a matrix noise[pcv, ckey], with D and min_cell from its parameters file."""

    noise: np.ndarray
    max_noise: int
    min_cell: int

    @staticmethod
    @cache
    def shipped(csv_path: Path = PTABLE_CSV) -> Ptable:
        rows = pd.read_csv(csv_path, dtype="int64")
        params = tomllib.loads(csv_path.with_suffix(".toml").read_text(encoding="utf-8"))
        noise = np.zeros((rows["pcv"].max() + 1, 256), dtype=np.int64)  # a missing row means no noise (ONS)
        noise[rows["pcv"], rows["ckey"]] = rows["pvalue"]
        return Ptable(noise, int(params["max_noise"]), int(params["min_cell"]))

    def pcv(self, true: np.ndarray) -> np.ndarray:
        true = np.asarray(true, dtype=np.int64)
        return np.where(true <= _TOP_PCV, true, (true - 1) % _REUSED_SPAN + _REUSED_FROM)

    def publish(self, true: Iterable[int], key_sum: Iterable[int]) -> list[int | str]:
        """The published counts: SMALL for 1..min_cell-1, else true + noise."""
        true = np.asarray(list(true), dtype=np.int64)
        ckey = np.asarray(list(key_sum), dtype=np.int64) % 256
        out = true + self.noise[self.pcv(true), ckey]
        return [SMALL if 1 <= t < self.min_cell else int(o) for t, o in zip(true, out, strict=True)]

    @cache  # noqa: B019 (one shipped table per process)
    def support(self, true: int) -> frozenset[int]:
        """The noise values a true count can get, over all 256 cell keys."""
        return frozenset(int(v) for v in np.unique(self.noise[int(self.pcv(np.array([true]))[0])]))

    def consistent(self, published: int | str) -> frozenset[int]:
        """Every true count that can be published as `published`: what an attacker holding the ptable knows."""
        if published == ABSENT:
            return frozenset({0})
        if published == SMALL:
            return frozenset(range(1, self.min_cell))
        d = self.max_noise
        return frozenset(
            n
            for n in range(max(0, published - d), published + d + 1)
            if not 1 <= n < self.min_cell and published - n in self.support(n)
        )


def store_cells(db: Path) -> pd.DataFrame:
    """visit_counts as the truth: one row per stored cell with its visits and key_sum.

    With `event_day` (a date) and the first day of its week, month and year as ISO text, computed once: the
    attacks select and tabulate thousands of times.
    """
    with duckdb.connect(str(db), read_only=True) as con:
        cells = con.execute("select * from visit_counts").df()
    cells["event_day"] = pd.to_datetime(cells["event_date"]).dt.date
    for period in PERIODS:
        cells[period] = period_start(cells["event_date"], period)
    return cells


def period_start(dates: pd.Series, period: str | None) -> pd.Series:
    """The first day of each date's period, as ISO text (the raw export's `event_<period>` column)."""
    stamps = pd.to_datetime(dates)
    if period == "day":
        starts = stamps
    elif period == "week":  # ISO weeks start on Monday
        starts = stamps - pd.to_timedelta(stamps.dt.day_of_week, unit="D")
    elif period == "month":
        starts = stamps.dt.to_period("M").dt.start_time
    elif period == "year":
        starts = stamps.dt.to_period("Y").dt.start_time
    else:
        raise ValueError(period)
    return starts.dt.strftime("%Y-%m-%d")


def select(
    cells: pd.DataFrame,
    start: date,
    end: date,
    *,
    countries: Sequence[str] = (),
    country_mode: str = "include",
    **only: Sequence[str],
) -> pd.DataFrame:
    """The stored cells a selection counts (the dashboard's filters, as plain pandas)."""
    mask = (cells["event_day"] >= start) & (cells["event_day"] <= end)
    if countries:
        inside = cells["country"].isin(list(countries))
        mask &= ~inside if country_mode == "exclude" else inside
    for dim, values in only.items():
        if values:
            mask &= cells[dim].isin(list(values))
    return cells[mask]


def tabulate(cells: pd.DataFrame, by: Sequence[str], period: str | None = None) -> dict[tuple, tuple[int, int]]:
    """{(period start, *by values): (true count, key sum)} over the given cells; () for a grand total."""
    keys = ([period] if period else []) + list(by)
    if not keys:
        return {(): (int(cells["visits"].sum()), int(cells["key_sum"].sum()))}
    summed = cells.groupby(keys, sort=True)[["visits", "key_sum"]].sum()
    return {
        (k if isinstance(k, tuple) else (k,)): (int(v), int(s))
        for k, v, s in zip(summed.index, summed["visits"], summed["key_sum"], strict=True)
    }


def expected(cells: pd.DataFrame, by: Sequence[str], period: str | None = None) -> dict[tuple, int | str]:
    """What a raw export of these cells by `by` (and `period`) must publish, row by row."""
    return published_from(tabulate(cells, by, period))


def published_from(table: dict[tuple, tuple[int, int]]) -> dict[tuple, int | str]:
    """A tabulation's published counts: {key: (true count, key sum)} -> {key: published}."""
    values = list(table.values())
    return dict(zip(table, Ptable.shipped().publish([v for v, _ in values], [s for _, s in values]), strict=True))


# --- the export command, as a manager runs it ---------------------------------------------------------


def table_args(
    db: Path,
    by: Sequence[str],
    period: str | None,
    start: date,
    end: date,
    *,
    countries: Sequence[str] = (),
    country_mode: str = "include",
    features: Sequence[str] = (),
    fmt: str = "raw",
) -> list[str]:
    """The documented command's arguments (after `python -m dashboard.export`) for one table."""
    args = ["table", "--db", str(db), "--from", start.isoformat(), "--to", end.isoformat(), "--format", fmt]
    args += ["--by", ",".join(by)] if by else []
    args += ["--period", period] if period else []
    args += ["--country", ",".join(countries), "--country-mode", country_mode] if countries else []
    args += ["--feature", ",".join(features)] if features else []
    return args + (["--lang", "en"] if fmt == "excel" else [])


class Exporter:
    """Runs the export command in process (`dashboard.export.main`), writing files and the log under `folder`."""

    def __init__(self, db: Path, folder: Path) -> None:
        self.db = db
        self.folder = folder
        self.runs = 0
        folder.mkdir(parents=True, exist_ok=True)

    def bytes_of(self, args: Sequence[str]) -> bytes:
        from dashboard.export import main

        self.runs += 1
        out = self.folder / f"export-{self.runs}.csv"
        with contextlib.redirect_stdout(io.StringIO()):  # its one line per file
            assert main([*args, "--out", str(out), "--log", str(self.folder / "exports.log")]) == 0
        return out.read_bytes()

    def raw(self, args: Sequence[str]) -> dict[tuple, int | str]:
        return parse_raw(self.bytes_of(args))

    def excel(self, args: Sequence[str], labels: dict[str, str]) -> tuple[dict[tuple, int | str], int | str]:
        return parse_excel(self.bytes_of(args), labels)


def parse_raw(content: bytes) -> dict[tuple, int | str]:
    """A raw export as {(period, *codes): published count or SMALL}."""
    rows = list(csv.reader(io.StringIO(content.decode("utf-8"))))
    header, body = rows[0], rows[1:]
    assert header[-2:] == ["visits", "suppressed"], header
    return {tuple(row[:-2]): SMALL if row[-1] == "true" else int(row[-2]) for row in body}


def parse_excel(content: bytes, labels: dict[str, str]) -> tuple[dict[tuple, int | str], int | str]:
    """An excel export by one dimension (no period, English labels) as ({(code,): count}, grand total).

    `labels` maps the English labels back to codes (a label not in it is kept as it is).
    """
    rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
    parts: dict[tuple, int | str] = {}
    for row in rows[1:]:
        value = SMALL if row[-1] == SMALL else int(row[-1])
        if row[0] == TOTAL_EN:  # the total row, then the notes
            return parts, value
        parts[(labels.get(row[0], row[0]),)] = value
    raise AssertionError("no total row")


# --- the attacks ---------------------------------------------------------------------------------------


@dataclass
class Attack:
    """One attack's tally over the hidden small counts it targets (true count 1..min_cell-1)."""

    name: str
    hidden: int = 0  # hidden small counts targeted
    attackable: int = 0  # of them, where both published numbers are numbers: the difference is a guess
    exact: int = 0  # of them, where the difference equals the true count
    certain: int = 0  # of all targeted, where the published numbers allow only the true count
    examples: list[str] = field(default_factory=list)

    def score(self, truth: int, published: Sequence[int | str], signs: Sequence[int], what: str) -> None:
        """Score one hidden count `truth` against sum(sign * published) (the attacker's difference)."""
        ptable = Ptable.shipped()
        self.hidden += 1
        if all(isinstance(p, int) or p == ABSENT for p in published):
            self.attackable += 1
            guess = sum(sign * (0 if p == ABSENT else p) for p, sign in zip(published, signs, strict=True))
            self.exact += guess == truth
        # every value of the hidden count that the published numbers allow (each true count is unknown)
        possible = {0}
        for p, sign in zip(published, signs, strict=True):
            possible = {x + sign * n for x in possible for n in ptable.consistent(p)}
        possible &= set(range(1, ptable.min_cell))
        assert truth in possible, f"{self.name}: {what}: the truth {truth} is not among {sorted(possible)}"
        if possible == {truth}:
            self.certain += 1
            self.examples.append(f"{what} = {truth}")

    @property
    def exact_rate(self) -> float:
        return self.exact / self.attackable if self.attackable else 0.0

    def line(self) -> str:
        return (
            f"{self.name}: {self.hidden} hidden counts; difference exact in {self.exact} of {self.attackable} "
            f"({self.exact_rate:.1%}); certain in {self.certain} ({self.certain / max(self.hidden, 1):.1%})"
        )


def months(cells: pd.DataFrame) -> tuple[date, date]:
    """The first day of the store's first month and the last day of its last month."""
    dates = pd.to_datetime(cells["event_date"])
    return dates.min().date().replace(day=1), month_end(dates.max().date())


def month_end(day: date) -> date:
    return (pd.Timestamp(day) + pd.offsets.MonthEnd(0)).date()


def countries_by_size(cells: pd.DataFrame) -> list[str]:
    return list(cells.groupby("country")["visits"].sum().sort_values(ascending=False, kind="stable").index)


# check(table, chosen cells, by, period, total=None): what the caller verifies of every export the attacks run
Check = Callable[..., None]


def _export(exporter: Exporter, check: Check, chosen: pd.DataFrame, by: list[str], period: str | None, **kw):
    table = exporter.raw(table_args(exporter.db, by, period, *kw.pop("dates"), **kw))
    check(table, chosen, by, period)
    return table


def _difference(attack: Attack, target: pd.DataFrame, by, period, big: dict, small: dict, label: str) -> None:
    """Score `big - small` for each key whose true count over `target` is a hidden small count."""
    min_cell = Ptable.shipped().min_cell
    for key, (true, _) in tabulate(target, by, period).items():
        if 1 <= true < min_cell:
            attack.score(true, [big.get(key, ABSENT), small.get(key, ABSENT)], [1, -1], f"{label} {key}")


def all_but_one_country(exporter: Exporter, cells: pd.DataFrame, countries: Sequence[str], check: Check) -> Attack:
    """All countries minus "all but C", monthly by feature, for each C."""
    attack = Attack("all countries minus all but C")
    dates = months(cells)
    everyone = _export(exporter, check, select(cells, *dates), ["feature"], "month", dates=dates)
    for country in countries:
        others = {"countries": [country], "country_mode": "exclude"}
        allbut = _export(exporter, check, select(cells, *dates, **others), ["feature"], "month", dates=dates, **others)
        target = select(cells, *dates, countries=[country])
        _difference(attack, target, ["feature"], "month", everyone, allbut, country)
    return attack


def one_day_shorter(
    exporter: Exporter, cells: pd.DataFrame, start: date, days: int, check: Check, countries: Sequence[str] = ()
) -> Attack:
    """[start, end] minus [start, end - 1 day], by feature, for each end day: the count of day `end`."""
    attack = Attack("a period minus the same period one day shorter")
    only = {"countries": list(countries)}
    cells = select(cells, start, start + timedelta(days=days), **only)
    shorter = _export(exporter, check, select(cells, start, start), ["feature"], None, dates=(start, start), **only)
    for offset in range(1, days):
        end = start + timedelta(days=offset)
        longer = _export(exporter, check, select(cells, start, end), ["feature"], None, dates=(start, end), **only)
        _difference(attack, select(cells, end, end), ["feature"], None, longer, shorter, end.isoformat())
        shorter = longer
    return attack


def bigger_set(
    exporter: Exporter, cells: pd.DataFrame, base: Sequence[str], others: Sequence[str], check: Check
) -> Attack:
    """Countries `base` + C minus `base`, monthly by feature, for each other C."""
    attack = Attack("a set of countries minus a smaller set")
    dates = months(cells)
    smaller = _export(
        exporter, check, select(cells, *dates, countries=base), ["feature"], "month", dates=dates, countries=base
    )
    for country in others:
        chosen = [*base, country]
        bigger = _export(
            exporter,
            check,
            select(cells, *dates, countries=chosen),
            ["feature"],
            "month",
            dates=dates,
            countries=chosen,
        )
        target = select(cells, *dates, countries=[country])
        _difference(attack, target, ["feature"], "month", bigger, smaller, country)
    return attack


def total_minus_parts(
    exporter: Exporter,
    cells: pd.DataFrame,
    labels: dict[str, dict[str, str]],
    check: Check,
    countries: Sequence[str] = (),
) -> Attack:
    """Each month's table by one dimension (excel, with its grand total) minus its shown parts: the `<10` bound.

    `labels`: for each dimension, its English labels -> codes.
    """
    attack = Attack("a total minus its shown parts")
    month, last = months(cells)
    min_cell = Ptable.shipped().min_cell
    while month <= last:
        end = month_end(month)
        chosen = select(cells, month, end, countries=countries)
        for dim, dim_labels in labels.items():
            parts, total = exporter.excel(
                table_args(exporter.db, [dim], None, month, end, fmt="excel", countries=countries), dim_labels
            )
            check(parts, chosen, [dim], None, total=total)
            hidden = [key for key, value in parts.items() if value == SMALL]
            truth = tabulate(chosen, [dim])
            h = sum(truth[key][0] for key in hidden)
            if hidden and 1 <= h < min_cell:
                shown = [value for value in parts.values() if value != SMALL]
                attack.score(h, [total, *shown], [1] + [-1] * len(shown), f"{month:%Y-%m} {dim} {hidden}")
        month = end + timedelta(days=1)
    return attack
