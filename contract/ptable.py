"""The perturbation table (ptable) of the cell key method: which noise each published count gets.

Privacy rule 4: a published count is `true + pvalue(pcv(true), key_sum mod 256)`. The dashboard joins on the
table in SQL and the officer's audit recomputes the same numbers, so the table is a fact of the contract,
shipped as a versioned CSV in the ONS format (`pcv,ckey,pvalue`, the format of the ONS package
`cell-key-perturbation`) with a parameters file beside it (`ptable_v1.toml`: D, V, min_cell, method, date and
the CSV's SHA-256, checked on every load). `python -m contract.ptable_generate` writes both; docs/privacy.md
says what D and V mean and why they were chosen.

The ONS conventions, kept so that their `create_perturbed_table` gives the same numbers: record keys are
uniform in 0..255, the cell key is the sum of a cell's record keys mod 256, counts above 750 reuse the rows
501..750 (`pcv`), and a (pcv, ckey) absent from the table means no noise. Our table holds every row from
pcv 0 to 750. This module imports only the standard library and the contract (pyarrow, for DuckDB, lazily).
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import tomllib
from dataclasses import asdict, dataclass, field, fields
from functools import cache
from pathlib import Path
from typing import Any, Final

from contract import MIN_CELL

PTABLE_VERSION: Final = 1  # the ptable every published number uses
PTABLE_COLUMNS: Final = ("pcv", "ckey", "pvalue")
N_CKEYS: Final = 256  # record keys and cell keys are 0..255
MAX_PCV: Final = 750  # counts above it reuse the rows REUSED_PCV_FROM..MAX_PCV
REUSED_PCV_FROM: Final = 501
REUSED_PCV_SPAN: Final = MAX_PCV - REUSED_PCV_FROM + 1

_PACKAGE_DIR: Final = Path(__file__).parent


class PtableMismatch(Exception):
    """The ptable's CSV is not the one its parameters file describes (hash, header or a value)."""


@dataclass(frozen=True)
class PtableParams:
    """What the parameters file records about one ptable CSV."""

    version: int
    max_noise: int  # D: a published count is within D of the true count
    variance: float  # V: the noise variance of counts >= min_cell + D
    min_cell: int  # nothing from 1 to min_cell - 1 is ever published
    n_ckeys: int
    max_pcv: int
    method: str
    generated_on: str  # ISO date
    csv_sha256: str


def ptable_csv_path(version: int = PTABLE_VERSION) -> Path:
    return _PACKAGE_DIR / f"ptable_v{version}.csv"


def params_path(csv_path: Path) -> Path:
    """The parameters file beside a ptable CSV: ptable_v1.csv -> ptable_v1.toml."""
    return csv_path.with_suffix(".toml")


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


def write_params(params: PtableParams, path: Path) -> None:
    lines = [
        "# The parameters of the ptable CSV beside this file. Written by python -m contract.ptable_generate: do not",
        "# edit by hand (contract/ptable.py checks csv_sha256 on every load).",
        *(f"{name} = {_toml_value(value)}" for name, value in asdict(params).items()),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def read_params(path: Path) -> PtableParams:
    raw = tomllib.loads(path.read_text(encoding="utf-8"))
    names = [field.name for field in fields(PtableParams)]
    if sorted(raw) != sorted(names):
        raise PtableMismatch(f"{path.name}: expected exactly the keys {', '.join(names)}")
    return PtableParams(**raw)


def pcv(count: int) -> int:
    """The ptable row of a true count: itself up to 750, above that one of 501..750 (as ONS)."""
    if count < 0:
        raise ValueError("a count is never negative")
    return count if count <= MAX_PCV else (count - 1) % REUSED_PCV_SPAN + REUSED_PCV_FROM


def pcv_sql(count: str) -> str:
    """`pcv` as a SQL expression over the SQL expression `count`, for joining on the ptable in DuckDB."""
    return (
        f"(case when ({count}) <= {MAX_PCV} then ({count})"
        f" else (({count}) - 1) % {REUSED_PCV_SPAN} + {REUSED_PCV_FROM} end)"
    )


def cell_key(key_sum: int) -> int:
    """A cell's key from the sum of its record keys (the store's key_sum)."""
    return key_sum % N_CKEYS


@dataclass(frozen=True)
class Ptable:
    """One loaded ptable: its parameters and its rows (pcv, ckey, pvalue), sorted by pcv then ckey."""

    params: PtableParams
    rows: tuple[tuple[int, int, int], ...]
    _pvalues: dict[tuple[int, int], int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        pvalues = {(pcv_, ckey): pvalue for pcv_, ckey, pvalue in self.rows}
        object.__setattr__(self, "_pvalues", pvalues)  # a frozen dataclass's derived index

    def pvalue(self, count: int, ckey: int) -> int:
        """The noise of a count with a given cell key; 0 where the table has no row (ONS)."""
        if not 0 <= ckey < self.params.n_ckeys:
            raise ValueError(f"a cell key is in 0..{self.params.n_ckeys - 1}")
        return self._pvalues.get((pcv(count), ckey), 0)

    def perturb(self, count: int, ckey: int) -> int:
        """The published count: count + pvalue (0 stays 0; 1..min_cell-1 become 0, the gate shows them <10)."""
        return count + self.pvalue(count, ckey)

    def moments(self, pcv_: int) -> tuple[float, float]:
        """The mean and variance of pvalue over the ckeys of one row: what a row's noise really is."""
        values = [self._pvalues.get((pcv_, ckey), 0) for ckey in range(self.params.n_ckeys)]
        mean = sum(values) / len(values)
        return mean, sum((value - mean) ** 2 for value in values) / len(values)

    def to_arrow(self):  # -> pyarrow.Table
        """The rows as an Arrow table of int32 columns pcv, ckey, pvalue (pyarrow is imported here only)."""
        import pyarrow as pa

        columns = list(zip(*self.rows, strict=True))
        return pa.table(
            {name: pa.array(column, pa.int32()) for name, column in zip(PTABLE_COLUMNS, columns, strict=True)}
        )

    def install(self, con, table: str = "memory.main.ptable") -> None:
        """Create `table` (pcv, ckey, pvalue) in a DuckDB connection for SQL to join on.

        The default lives in the connection's own in-memory catalog, which every cursor of the connection
        sees, also when the store is ATTACHed read-only (dashboard/store.py). Join on
        `pcv = <pcv_sql(count)> and ckey = key_sum % 256`, with `coalesce(pvalue, 0)`.
        """
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}", table):
            raise ValueError("the table name must be a plain (optionally qualified) identifier")
        arrow_rows = self.to_arrow()
        con.register("_ptable_arrow", arrow_rows)
        try:
            con.execute(f"create or replace table {table} as select * from _ptable_arrow order by pcv, ckey")
        finally:
            con.unregister("_ptable_arrow")


def read_ptable(csv_path: Path) -> Ptable:
    """Load a ptable CSV and its parameters file, checking the SHA-256, the header and the values."""
    params = read_params(params_path(csv_path))
    data = csv_path.read_bytes()
    if hashlib.sha256(data).hexdigest() != params.csv_sha256:
        raise PtableMismatch(f"{csv_path.name}: its SHA-256 is not the one in {params_path(csv_path).name}")
    reader = csv.reader(io.StringIO(data.decode("ascii")))
    if tuple(next(reader, ())) != PTABLE_COLUMNS:
        raise PtableMismatch(f"{csv_path.name}: the header must be {','.join(PTABLE_COLUMNS)}")
    rows = tuple(sorted((int(pcv_), int(ckey), int(pvalue)) for pcv_, ckey, pvalue in reader))
    if any(abs(pvalue) > max(params.max_noise, params.min_cell - 1) for _, _, pvalue in rows):
        raise PtableMismatch(f"{csv_path.name}: a pvalue is beyond what D and min_cell allow")
    return Ptable(params, rows)


@cache
def load_ptable(version: int = PTABLE_VERSION) -> Ptable:
    """The shipped ptable of that version (contract/ptable_v<N>.csv), loaded and checked once per process."""
    ptable = read_ptable(ptable_csv_path(version))
    if ptable.params.version != version or ptable.params.min_cell != MIN_CELL:
        raise PtableMismatch(f"ptable v{version} was not made for version {version} and min_cell {MIN_CELL}")
    return ptable


def pvalue(count: int, ckey: int) -> int:
    """The noise of the shipped ptable for a true count and its cell key."""
    return load_ptable().pvalue(count, ckey)


def perturb(count: int, ckey: int) -> int:
    """The published count under the shipped ptable (0 stays 0)."""
    return load_ptable().perturb(count, ckey)
