"""TEMPORARY bridge: delete this package (etl/audit/) when etl/redact.py lands (branch etl-split).

The audit moved to the top-level package `audit/`, which etl/ must not import.
Until the ETL has its own file-name redaction (etl/redact.py), etl/load.py and
dashboard/ui.py still import `redact` from here; this keeps them working.
"""

from audit.patterns import redact

__all__ = ["redact"]
