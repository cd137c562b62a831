"""The privacy officer's audit: certify a store, and the exports made from it, without trusting their writers.

`run_audit` opens the store read-only and runs every check; each check reads
the store or the files itself and knows only the contract (`contract`),
never the code that wrote them.
"""

from audit.report import AuditReport, CannotAudit, Check, Finding, Thresholds, load_thresholds
from audit.run import run_audit

__all__ = ["AuditReport", "CannotAudit", "Check", "Finding", "Thresholds", "load_thresholds", "run_audit"]
