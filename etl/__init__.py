"""The writer: turns raw form exports into the anonymized DuckDB store."""
