"""TEMPORARY bridge, to be deleted when etl/redact.py lands (branch etl-split); see etl/audit/patterns.py."""
