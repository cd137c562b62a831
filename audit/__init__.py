"""The privacy officer's audit: certify a store, and the exports made from it, without trusting their writers.

Independent by design: this package imports only the contract (`contract`),
DuckDB and the standard library, never `etl` or `dashboard`, and keeps its own
identifier detector (`audit.patterns`) that nothing else imports. A check the
writer shared code with would share its blind spots.

The public API is what this module exports: `run_audit` returns an
`AuditReport` of typed `Check` results, each named by a `CheckKey`, with its
figures as dataclasses (`RiskFigures`, ...), and the perturbation table it checked
the exports against as a `PtableInUse`. The command line is
`python -m audit`.
"""

from audit.report import AuditReport
from audit.results import (
    ByteFigures,
    CannotAudit,
    Check,
    CheckKey,
    DomainFigures,
    ExportFigures,
    Figures,
    FileHash,
    Finding,
    PatternFigures,
    PtableInUse,
    RiskFigures,
    SchemaFigures,
    Under14Figures,
)
from audit.run import run_audit
from audit.thresholds import Thresholds, load_thresholds

__all__ = [
    "AuditReport",
    "ByteFigures",
    "CannotAudit",
    "Check",
    "CheckKey",
    "DomainFigures",
    "ExportFigures",
    "Figures",
    "FileHash",
    "Finding",
    "PatternFigures",
    "PtableInUse",
    "RiskFigures",
    "SchemaFigures",
    "Thresholds",
    "Under14Figures",
    "load_thresholds",
    "run_audit",
]
