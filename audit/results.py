"""The audit's typed results: each check by a stable key, its verdict, findings and named figures.

Callers (the CLI, the dashboard's Audit page, tests) read a figure by its
attribute, never by the English label the report prints beside it: the labels
(`labelled()`) belong to the Markdown and JSON report and may change with it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class CannotAudit(Exception):
    """The audit cannot run: the store is missing, unreadable, or not a DuckDB file."""


class CheckKey(StrEnum):
    """The checks of the audit, in the order they run and are numbered (1 to 7)."""

    SCHEMA = "schema"
    DOMAINS = "domains"
    PATTERNS = "patterns"
    BYTES = "bytes"
    RISK = "risk"
    UNDER_14 = "under_14"
    EXPORTS = "exports"

    @property
    def number(self) -> int:
        return list(CheckKey).index(self) + 1


@dataclass(frozen=True)
class Finding:
    where: str  # table.column and row, or file and row: never the value
    what: str  # the kind of problem, with a masked value at most


@dataclass(frozen=True)
class SchemaFigures:
    tables: int
    columns: int

    def labelled(self) -> dict[str, int | float]:
        return {"tables": self.tables, "columns": self.columns}


@dataclass(frozen=True)
class DomainFigures:
    columns_checked: int

    def labelled(self) -> dict[str, int | float]:
        return {"columns checked": self.columns_checked}


@dataclass(frozen=True)
class PatternFigures:
    values_scanned: int  # distinct text values
    found: dict[str, int]  # a pattern kind (patterns.KINDS) -> how many values hold one
    dates_in_file_names: int  # in the batch log's file names: counted, not failed

    def labelled(self) -> dict[str, int | float]:
        labelled: dict[str, int | float] = {"distinct text values scanned": self.values_scanned}
        labelled |= {f"{kind} found": count for kind, count in self.found.items()}
        if self.dates_in_file_names:
            labelled["dates in file names (not failed)"] = self.dates_in_file_names
        return labelled


@dataclass(frozen=True)
class ByteFigures:
    bytes_scanned: int
    files: int  # the store file, and its WAL when there is one
    free_blocks: int

    def labelled(self) -> dict[str, int | float]:
        return {"bytes scanned": self.bytes_scanned, "files": self.files, "free blocks": self.free_blocks}


@dataclass(frozen=True)
class RiskFigures:
    """k-anonymity of the classes (country, gender, age group, feature, month) and prosecutor risk."""

    k: int  # the class size the figures are measured against
    classes: int
    records: int
    smallest_class: int
    classes_below_k: int
    records_below_k: int
    unique_classes: int  # classes of one record
    share_at_risk: float  # records in classes below k / records
    highest_risk: float  # 1 / smallest class
    average_risk: float  # classes / records

    def labelled(self) -> dict[str, int | float]:
        return {
            "classes": self.classes,
            "records": self.records,
            "smallest class": self.smallest_class,
            f"classes below k={self.k}": self.classes_below_k,
            f"records in classes below k={self.k}": self.records_below_k,
            "unique classes (one record)": self.unique_classes,
            "records at risk (prosecutor risk above 1/k), share": self.share_at_risk,
            "highest prosecutor risk (1 / smallest class)": self.highest_risk,
            "average prosecutor risk (classes / records)": self.average_risk,
        }


@dataclass(frozen=True)
class Under14Figures:
    under_14_submissions: int  # visits in the 0-13 band

    def labelled(self) -> dict[str, int | float]:
        return {"submissions of under-14s (0-13)": self.under_14_submissions}


@dataclass(frozen=True)
class ExportFigures:
    files_checked: int  # CSV files, a report pack's tables each counted
    files_recomputed: int  # logged files whose every count was recomputed from the store and the ptable
    export_log_lines: int
    logged_files_not_found: int

    def labelled(self) -> dict[str, int | float]:
        return {
            "files checked": self.files_checked,
            "files recomputed from the store": self.files_recomputed,
            "export log lines": self.export_log_lines,
            "logged files not found": self.logged_files_not_found,
        }


Figures = SchemaFigures | DomainFigures | PatternFigures | ByteFigures | RiskFigures | Under14Figures | ExportFigures


@dataclass
class Check:
    """One check's result. `figures` is None only when the check could not measure (a missing table)."""

    key: CheckKey
    title: str  # as the report prints it (English); a page names the check by `key`
    passed: bool = True
    summary: str = ""
    figures: Figures | None = None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def number(self) -> int:
        return self.key.number

    def fail(self, where: str, what: str) -> None:
        self.passed = False
        self.findings.append(Finding(where, what))


@dataclass(frozen=True)
class PtableInUse:
    """The perturbation table every published count must follow (contract/ptable.py), as the audit read it.

    Check 7 recomputes each exported count with it; the report states it so that the officer can tell which
    table a report was made against (its CSV's SHA-256 was checked against its parameters file on loading).
    """

    version: int
    max_noise: int  # D: no published count is further than this from its true count
    variance: float  # V: the noise variance of counts well above the threshold
    min_cell: int  # the threshold: no count from 1 to min_cell - 1 is published
    csv: str  # the CSV's file name
    csv_sha256: str

    def labelled(self) -> dict[str, int | float | str]:
        return {
            "version": self.version,
            "D (maximum noise)": self.max_noise,
            "V (noise variance)": self.variance,
            "threshold (min_cell)": self.min_cell,
            "CSV": self.csv,
            "CSV SHA-256": self.csv_sha256,
        }


@dataclass(frozen=True)
class FileHash:
    path: str
    sha256: str
    bytes: int
