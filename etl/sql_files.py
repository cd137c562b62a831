"""The ETL's SQL, read by name from `etl/sql/`, one statement a file.

SQL longer than a line lives in a `.sql` file, in layers (STYLE.md): `staging/`
reads one raw file in memory, `counts/` reduces it to counts by cell, `marts/`
builds the public tables of a new store from the counts of every batch, and
`store/` reads a published store's batch log. A file holds one query, with
`?` or `$name` parameters; the Python that runs it names the table it fills, so
each file can be read, diffed and run on its own.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

SQL_DIR = Path(__file__).with_name("sql")


@cache
def sql(name: str) -> str:
    """The text of `etl/sql/<name>.sql`, such as sql("staging/staging")."""
    return (SQL_DIR / f"{name}.sql").read_text(encoding="utf-8")
