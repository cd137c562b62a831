"""The report of one audit run: its typed results, and how they are told (terminal, Markdown, JSON).

The officer files the Markdown and JSON as evidence, so their content stays
put: figures appear under the labels `results` gives them. No finding carries
an offending value in full: values are masked (`patterns.mask`) before they
reach a `Finding`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from audit.results import Check, CheckKey, Figures, FileHash, PtableInUse
from audit.thresholds import Thresholds

# findings printed per failed check on the terminal; the report lists them all
SHOWN_ON_TERMINAL = 3
# findings listed per check in the Markdown report; the JSON has every one
LISTED_IN_MARKDOWN = 200

F = TypeVar("F", bound=Figures)


@dataclass
class AuditReport:
    when: datetime
    store: FileHash
    wal: FileHash | None
    thresholds: Thresholds
    ptable: PtableInUse  # the perturbation table check 7 recomputed the exports with
    checks: list[Check]
    exports: list[FileHash]

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def verdict(self) -> str:
        return "PASS" if self.passed else "FAIL"

    def check(self, key: CheckKey) -> Check:
        """The result of one check, by its key."""
        return next(check for check in self.checks if check.key == key)

    def figures(self, kind: type[F]) -> F | None:
        """The figures of that kind (`RiskFigures`, ...), or None when its check could not measure."""
        return next((check.figures for check in self.checks if isinstance(check.figures, kind)), None)

    def verdict_lines(self) -> list[str]:
        p = self.ptable
        lines = [
            f"privacy audit of {self.store.path} (sha256 {self.store.sha256[:16]}…), {self.when:%Y-%m-%d %H:%M %Z}",
            f"perturbation table v{p.version} ({p.csv}, sha256 {p.csv_sha256[:16]}…): D = {p.max_noise}, "
            f"V = {p.variance:g}, threshold (min_cell) {p.min_cell}",
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
                "ptable": asdict(self.ptable),
                "checks": [_check_json(check) for check in self.checks],
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
            "## Perturbation table",
            "",
            "Every exported count was recomputed from the store's cells with this table (the cell key method, "
            "`contract/ptable.py`).",
            "",
            "| parameter | value |",
            "|---|---:|",
            *(f"| {name} | {format_figure(value)} |" for name, value in self.ptable.labelled().items()),
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
            if check.figures is not None:
                lines += ["", "| figure | value |", "|---|---:|"]
                lines += [
                    f"| {name.replace('_', ' ')} | {format_figure(value)} |"
                    for name, value in check.figures.labelled().items()
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


def _check_json(check: Check) -> dict[str, Any]:
    # the shape the JSON report has always had: figures by their labels, as in the Markdown
    return {
        "number": check.number,
        "key": str(check.key),
        "title": check.title,
        "passed": check.passed,
        "summary": check.summary,
        "figures": check.figures.labelled() if check.figures is not None else {},
        "findings": [asdict(finding) for finding in check.findings],
        "notes": check.notes,
    }


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
