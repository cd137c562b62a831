"""What an audit found, and how it is told: a verdict on the terminal, a report in Markdown and JSON.

No finding carries an offending value in full: values are masked
(`patterns.mask`) before they reach a `Finding`.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from pathlib import Path
from typing import Any

from contract import EARLIEST_EVENT_DATE, MIN_CELL

DEFAULT_THRESHOLDS = Path(__file__).with_name("thresholds.toml")
# findings printed per failed check on the terminal; the report lists them all
SHOWN_ON_TERMINAL = 3
# findings listed per check in the Markdown report; the JSON has every one
LISTED_IN_MARKDOWN = 200


class CannotAudit(Exception):
    """The audit cannot run: the store is missing, unreadable, or not a DuckDB file."""


@dataclass(frozen=True)
class Finding:
    where: str  # table.column and row, or file and row: never the value
    what: str  # the kind of problem, with a masked value at most


@dataclass
class Check:
    number: int
    key: str
    title: str
    passed: bool = True
    summary: str = ""
    figures: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def fail(self, where: str, what: str) -> None:
        self.passed = False
        self.findings.append(Finding(where, what))


@dataclass(frozen=True)
class Thresholds:
    """Where the checks draw the line; the defaults live in thresholds.toml."""

    k: int
    max_share_of_records_at_risk: float
    max_average_risk: float
    max_highest_risk: float
    min_cell: int
    earliest_event_date: str


def load_thresholds(path: Path | None = None) -> Thresholds:
    """The contract's and thresholds.toml's values, overridden by the keys of a TOML file (`--config`)."""
    values: dict[str, Any] = {"min_cell": MIN_CELL, "earliest_event_date": EARLIEST_EVENT_DATE}
    for source in (DEFAULT_THRESHOLDS, path):
        if source is None:
            continue
        try:
            data = tomllib.loads(Path(source).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
            raise CannotAudit(f"{source}: not a readable TOML file ({type(error).__name__})") from None
        # keys count in any section, or at the top
        for key, section in data.items():
            values.update(section if isinstance(section, dict) else {key: section})
    unknown = sorted(set(values) - {f.name for f in fields(Thresholds)})
    if unknown:
        raise CannotAudit(f"{path}: unknown threshold(s): {', '.join(unknown)}")
    for name, value in values.items():
        if name in ("k", "min_cell"):
            ok, wanted = isinstance(value, int) and not isinstance(value, bool), "a whole number"
        elif name == "earliest_event_date":
            ok, wanted = isinstance(value, str), "a date"
        else:
            ok, wanted = isinstance(value, int | float) and not isinstance(value, bool), "a number"
        if not ok:
            raise CannotAudit(f"{path}: {name} must be {wanted}")
    try:
        date.fromisoformat(values["earliest_event_date"])
    except ValueError:
        raise CannotAudit(f"{path}: earliest_event_date is not a date (YYYY-MM-DD)") from None
    thresholds = Thresholds(**values)
    if thresholds.k < 2 or thresholds.min_cell < 2:
        raise CannotAudit(f"{path}: k and min_cell must be at least 2")
    return thresholds


@dataclass(frozen=True)
class FileHash:
    path: str
    sha256: str
    bytes: int


@dataclass
class AuditReport:
    when: datetime
    store: FileHash
    wal: FileHash | None
    thresholds: Thresholds
    checks: list[Check]
    exports: list[FileHash]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def verdict_lines(self) -> list[str]:
        lines = [
            f"privacy audit of {self.store.path} (sha256 {self.store.sha256[:16]}…), {self.when:%Y-%m-%d %H:%M %Z}"
        ]
        for check in self.checks:
            mark = "PASS" if check.passed else "FAIL"
            lines.append(f"{mark}  {check.number}. {check.title}: {check.summary}")
            for finding in check.findings[:SHOWN_ON_TERMINAL] if not check.passed else ():
                lines.append(f"        {finding.where}: {finding.what}")
            if not check.passed and len(check.findings) > SHOWN_ON_TERMINAL:
                lines.append(f"        … and {len(check.findings) - SHOWN_ON_TERMINAL:,} more in the report")
        failed = sum(not check.passed for check in self.checks)
        lines.append(
            f"verdict: {self.verdict}"
            + (f" ({failed} of {len(self.checks)} checks failed)" if failed else f" (all {len(self.checks)} checks)")
        )
        return lines

    def to_json(self) -> str:
        return json.dumps(
            {
                "report": "privacy audit of the Gangnam visitor store",
                "when": self.when.isoformat(timespec="seconds"),
                "verdict": self.verdict,
                "store": asdict(self.store),
                "wal": asdict(self.wal) if self.wal else None,
                "thresholds": asdict(self.thresholds),
                "checks": [asdict(check) for check in self.checks],
                "exports": [asdict(export) for export in self.exports],
            },
            ensure_ascii=False,
            indent=2,
            default=str,
        )

    def to_markdown(self) -> str:
        t = self.thresholds
        lines = [
            "# Privacy audit of the visitor store",
            "",
            f"- Date: {self.when.isoformat(timespec='seconds')}",
            f"- Store: `{self.store.path}`, {self.store.bytes:,} bytes, SHA-256 `{self.store.sha256}`",
            f"- WAL: `{self.wal.path}`, {self.wal.bytes:,} bytes, SHA-256 `{self.wal.sha256}`"
            if self.wal
            else "- WAL: none",
            f"- Exports checked: {len(self.exports)}",
            f"- **Verdict: {self.verdict}**",
            "",
            "## Thresholds",
            "",
            "| threshold | value |",
            "|---|---:|",
            f"| k (class size, Korean de-identification guideline example) | {t.k} |",
            f"| fail above: share of records in classes below k | {t.max_share_of_records_at_risk:.1%} |",
            f"| fail above: average prosecutor risk | {t.max_average_risk:.3f} |",
            f"| fail above: highest prosecutor risk | {t.max_highest_risk:.3f} |",
            f"| min_cell of published counts | {t.min_cell} |",
            f"| earliest event date | {t.earliest_event_date} |",
            "",
            "## Checks",
            "",
            "| # | check | result | summary |",
            "|---:|---|---|---|",
            *(
                f"| {c.number} | {c.title} | {'pass' if c.passed else '**FAIL**'} | {_cell(c.summary)} |"
                for c in self.checks
            ),
        ]
        for check in self.checks:
            lines += ["", f"## {check.number}. {check.title}: {'pass' if check.passed else 'FAIL'}", "", check.summary]
            if check.figures:
                lines += ["", "| figure | value |", "|---|---:|"]
                lines += [
                    f"| {name.replace('_', ' ')} | {format_figure(value)} |" for name, value in check.figures.items()
                ]
            if check.findings:
                lines += ["", f"Findings ({len(check.findings):,}):", ""]
                lines += [f"- {_cell(f.where)}: {_cell(f.what)}" for f in check.findings[:LISTED_IN_MARKDOWN]]
                if len(check.findings) > LISTED_IN_MARKDOWN:
                    lines.append(f"- … {len(check.findings) - LISTED_IN_MARKDOWN:,} more in the JSON report")
            for note in check.notes:
                lines += ["", f"> {note}"]
        if self.exports:
            lines += ["", "## Exports checked", "", "| file | bytes | SHA-256 |", "|---|---:|---|"]
            lines += [f"| `{e.path}` | {e.bytes:,} | `{e.sha256}` |" for e in self.exports]
        return "\n".join(lines) + "\n"

    def write(self, path: Path) -> tuple[Path, Path]:
        """The report as `<path>.md` and `<path>.json` side by side (a .md or .json suffix is replaced)."""
        base = path.with_suffix("") if path.suffix in (".md", ".json") else path
        markdown, data = base.with_name(base.name + ".md"), base.with_name(base.name + ".json")
        markdown.parent.mkdir(parents=True, exist_ok=True)
        markdown.write_text(self.to_markdown(), encoding="utf-8")
        data.write_text(self.to_json() + "\n", encoding="utf-8")
        return markdown, data


def _cell(text: str) -> str:
    # a finding goes into a Markdown table or list: keep it on one line, pipes escaped
    return " ".join(str(text).split()).replace("|", "\\|")


def format_figure(value: Any) -> str:
    """A figure as the report prints it: counts with separators, ratios with four decimals."""
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, int):
        return f"{value:,}"
    return _cell(str(value))
