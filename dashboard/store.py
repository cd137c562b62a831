"""Read-only access to the store, reopened whenever the ETL publishes a new one.

The ETL replaces the store file with `os.replace`, so a new store is a new
inode. Each version gets its own in-memory DuckDB instance with the file
ATTACHed read-only: `duckdb.connect(path)` would hand back the process's
cached instance of the old file, while ATTACH opens the file anew. An
instance still serving a query keeps its own (old, complete) file open, so
a publish never breaks a query in flight and no reader ever takes a lock
that would stop the ETL.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import streamlit as st

from contract import DEFAULT_STORE

STORE_ENV = "GANGNAM_DB"


def store_path() -> Path:
    """The store the dashboard reads: $GANGNAM_DB, else data/visitors.duckdb."""
    return Path(os.environ.get(STORE_ENV) or DEFAULT_STORE)


@dataclass(frozen=True)
class StoreVersion:
    """The identity of one published store file."""

    path: str
    inode: int
    mtime_ns: int
    size: int

    @property
    def key(self) -> str:
        return f"{self.inode}-{self.mtime_ns}-{self.size}"


def current_version(path: Path | None = None) -> StoreVersion | None:
    path = path or store_path()
    try:
        stat = path.stat()
    except OSError:
        return None
    return StoreVersion(str(path.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)


class StoreUnreadable(Exception):
    """The file at the store's path is not a store this dashboard can read."""


@st.cache_resource(max_entries=2, show_spinner=False)
def _instance(version: StoreVersion) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:", config={"temp_directory": ""})
    try:
        con.execute("attach ? as store (read_only)", [version.path])
    except duckdb.Error as error:
        con.close()
        raise StoreUnreadable(type(error).__name__) from None
    return con


def query(version: StoreVersion, sql: str, params: list | dict | None = None) -> pd.DataFrame:
    """Run parametrized SQL on one store version, in a cursor of its own."""
    cursor = _instance(version).cursor()
    try:
        cursor.execute("use store")  # a cursor starts in the instance's own in-memory catalog
        return cursor.execute(sql, params or []).df()
    finally:
        cursor.close()


@st.cache_data(max_entries=8, show_spinner=False)  # a published store never changes: ask once per version
def store_tables(version: StoreVersion) -> frozenset[str]:
    """The tables and views of the store: a store written before the access logs has no page_views."""
    tables = query(version, "select table_name from information_schema.tables where table_catalog = 'store'")
    return frozenset(tables["table_name"])


# The public tables a page reads: the form submissions' counts, and the access logs'.
PUBLIC_TABLES = ("visit_counts", "page_views")


def any_data(version: StoreVersion) -> bool:
    """Whether any public table has a row: a store loaded from access logs only has data too."""
    return any(has_data(version, table) for table in PUBLIC_TABLES)


@st.cache_data(max_entries=8, show_spinner=False)
def has_data(version: StoreVersion, table: str = "visit_counts") -> bool:
    """Whether the store has `table` (a public table of the contract) with a row in it."""
    if table not in store_tables(version):
        return False
    return bool(query(version, f"select exists (select 1 from {table})").iloc[0, 0])
