"""The shipped perturbation table (contract/ptable_v1.csv): its properties, its parameters file, its generator.

The properties are read from the CSV with pandas, not through contract.ptable; the lookup is then checked
against a plain merge and against the ONS package's own create_perturbed_table (the field's reference).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
import tomllib
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from cell_key_perturbation.create_perturbed_table import create_perturbed_table

from contract import MIN_CELL
from contract.ptable import (
    PtableMismatch,
    load_ptable,
    pcv,
    pcv_sql,
    perturb,
    ptable_csv_path,
    pvalue,
    read_ptable,
)
from contract.ptable_generate import main as generate_main

REPO = Path(__file__).resolve().parents[1]
CSV = REPO / "contract" / "ptable_v1.csv"
TOML = REPO / "contract" / "ptable_v1.toml"
PARAMS = tomllib.loads(TOML.read_text(encoding="utf-8"))
D = PARAMS["max_noise"]
V = PARAMS["variance"]
N_CKEYS = 256
# The 256 slots hold a probability to the nearest 1/256: each of the 2D inner boundaries of a row moves by at most
# half a slot, which moves the mean by at most D / 256 and the variance by at most D^2 / 256.
MEAN_TOLERANCE = D / N_CKEYS
VARIANCE_TOLERANCE = D**2 / N_CKEYS


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(CSV)


def moments(table: pd.DataFrame) -> pd.DataFrame:
    """Mean and (population) variance of pvalue over the ckeys of each pcv."""
    grouped = table.groupby("pcv")["pvalue"]
    return pd.DataFrame({"mean": grouped.mean(), "variance": grouped.var(ddof=0)})


def test_the_parameters_are_the_chosen_ones():
    assert (PARAMS["version"], D, V, PARAMS["min_cell"]) == (1, 3, 2.0, MIN_CELL)
    assert (PARAMS["n_ckeys"], PARAMS["max_pcv"]) == (256, 750)
    assert date.fromisoformat(PARAMS["generated_on"])
    assert "Giessing" in PARAMS["method"]


def test_columns_and_dtypes(table):
    assert CSV.read_bytes().startswith(b"pcv,ckey,pvalue\n")
    assert list(table.columns) == ["pcv", "ckey", "pvalue"]
    assert all(dtype == np.int64 for dtype in table.dtypes)


def test_every_pcv_and_ckey_exactly_once(table):
    expected = pd.MultiIndex.from_product([range(751), range(N_CKEYS)], names=["pcv", "ckey"])
    keys = pd.MultiIndex.from_frame(table[["pcv", "ckey"]])
    assert keys.is_unique
    assert keys.sort_values().equals(expected)


def test_zero_stays_zero(table):
    assert (table.loc[table.pcv == 0, "pvalue"] == 0).all()


def test_no_published_count_moves_more_than_d(table):
    # Counts 1..min_cell-1 are suppressed before perturbation; their rows send them to 0 (the ONS 10_5 rule).
    published = table[(table.pcv == 0) | (table.pcv >= MIN_CELL)]
    assert published.pvalue.abs().max() == D
    small = table[(table.pcv >= 1) & (table.pcv < MIN_CELL)]
    assert (small.pvalue == -small.pcv).all()


def test_a_perturbed_count_is_never_negative_nor_below_the_threshold(table):
    perturbed = table.pcv + table.pvalue
    assert (perturbed >= 0).all()
    assert not perturbed.between(1, MIN_CELL - 1).any()


def test_counts_from_min_cell_plus_d_are_unbiased_with_variance_v(table):
    full = moments(table).loc[MIN_CELL + D :]
    assert len(full) == 750 - (MIN_CELL + D) + 1
    assert full["mean"].abs().max() <= MEAN_TOLERANCE
    assert (full["variance"] - V).abs().max() <= VARIANCE_TOLERANCE


def documented_near_threshold_rows() -> dict[str, tuple[float, float]]:
    """The table 'The rows near the threshold' of docs/privacy.md: true count -> (mean, variance)."""
    text = (REPO / "docs" / "privacy.md").read_text(encoding="utf-8")
    section = text.split("### The rows near the threshold", 1)[1]
    rows = re.findall(r"^\| ([^|]+?) \| [^|]+ \| (-?[\d.]+) \| ([\d.]+) \|$", section, re.MULTILINE)
    return {count: (float(mean), float(variance)) for count, mean, variance in rows}


def test_the_near_threshold_rows_are_as_documented(table):
    documented = documented_near_threshold_rows()
    assert set(documented) == {"0", "10", "11", "12", f"{MIN_CELL + D} and above"}
    actual = moments(table)
    for count in range(MIN_CELL + D):
        if 1 <= count < MIN_CELL:
            continue  # documented as "-count", checked in test_no_published_count_moves_more_than_d
        assert actual.loc[count].tolist() == pytest.approx(documented[str(count)], abs=5e-5), count
    for count in (MIN_CELL + D, 500, 750):
        assert actual.loc[count].tolist() == pytest.approx(documented[f"{MIN_CELL + D} and above"], abs=5e-5)
    # unbiased as ptable makes them; less variance than V because they cannot go below the threshold
    near = actual.loc[MIN_CELL : MIN_CELL + D - 1]
    assert near["mean"].abs().max() <= MEAN_TOLERANCE
    assert (near["variance"] <= V + VARIANCE_TOLERANCE).all()


def test_counts_above_750_reuse_rows_501_to_750():
    assert [pcv(count) for count in (0, 9, 500, 750)] == [0, 9, 500, 750]
    assert [pcv(count) for count in (751, 1000, 1001, 1250, 1251)] == [501, 750, 501, 750, 501]
    # the ONS formula, written out
    for count in range(751, 3000):
        assert pcv(count) == ((count - 1) % 250) + 501
    assert perturb(1000, 7) == 1000 + pvalue(750, 7)
    with pytest.raises(ValueError):
        pcv(-1)


def test_the_sha256_in_the_parameters_file_is_the_csvs():
    assert hashlib.sha256(CSV.read_bytes()).hexdigest() == PARAMS["csv_sha256"]
    assert load_ptable().params.csv_sha256 == PARAMS["csv_sha256"]
    assert ptable_csv_path() == CSV


def test_a_changed_csv_does_not_load(tmp_path):
    shutil.copy(TOML, tmp_path / TOML.name)
    data = CSV.read_bytes()
    (tmp_path / CSV.name).write_bytes(data.replace(b"\n13,0,-3\n", b"\n13,0,-2\n", 1))
    with pytest.raises(PtableMismatch):
        read_ptable(tmp_path / CSV.name)


def test_regenerating_gives_the_same_bytes(tmp_path):
    out = tmp_path / "ptable_v1.csv"
    argv = ["--d", str(D), "--v", str(V), "--min-cell", str(PARAMS["min_cell"])]
    assert generate_main([*argv, "--out", str(out), "--date", PARAMS["generated_on"]]) == 0
    assert out.read_bytes() == CSV.read_bytes()
    assert out.with_suffix(".toml").read_bytes() == TOML.read_bytes()


def test_pvalue_is_a_plain_merge_on_the_table(table):
    rng = np.random.default_rng(12)
    cells = pd.DataFrame({"count": rng.integers(0, 2500, 2000), "key_sum": rng.integers(0, 500_000, 2000)})
    cells["pcv"] = np.where(cells["count"] <= 750, cells["count"], (cells["count"] - 1) % 250 + 501)
    cells["ckey"] = cells["key_sum"] % 256
    merged = cells.merge(table, how="left", on=["pcv", "ckey"])
    merged["pvalue"] = merged["pvalue"].fillna(0).astype(int)
    ours = [pvalue(count, ckey) for count, ckey in zip(merged["count"], merged["ckey"], strict=True)]
    assert ours == merged["pvalue"].tolist()
    published = [perturb(count, ckey) for count, ckey in zip(merged["count"], merged["ckey"], strict=True)]
    assert published == (merged["count"] + merged["pvalue"]).tolist()


def test_the_same_numbers_as_the_ons_package(table):
    """ONS's create_perturbed_table on microdata with record keys gives our perturb() for every cell."""
    rng = np.random.default_rng(2016)
    sizes = [1, 5, 9, 10, 11, 12, 13, 14, 20, 99, 500, 750, 751, 1000, 1001, *rng.integers(1, 1300, 15).tolist()]
    micro = pd.DataFrame({"cell": np.repeat(np.arange(len(sizes)), sizes)})
    micro["side"] = np.where(micro["cell"] % 3 == 0, "a", rng.choice(["a", "b"], len(micro)))  # some empty cells
    micro["record_key"] = rng.integers(0, 256, len(micro))
    ons = create_perturbed_table(micro, table, geog=[], tab_vars=["cell", "side"], record_key="record_key")

    truth = micro.groupby(["cell", "side"])["record_key"].agg(["size", "sum"])
    for row in ons.itertuples():
        count, key_sum = truth.loc[(row.cell, row.side)] if (row.cell, row.side) in truth.index else (0, 0)
        assert row.pre_sdc_count == count
        ours = perturb(int(count), int(key_sum) % 256)
        assert row.pvalue == ours - count
        # ONS hides every perturbed count below the threshold (zeros too); our gate shows zeros
        assert (pd.isna(row.count) and ours < MIN_CELL) or row.count == ours
    assert (ons["pre_sdc_count"] == 0).any() and (ons["pre_sdc_count"] > 750).any()


def test_the_table_in_duckdb_gives_the_same_numbers():
    con = duckdb.connect()
    load_ptable().install(con)
    assert con.cursor().execute("select count(*) from ptable").fetchone() == (751 * 256,)  # any cursor sees it
    cells = [(0, 0), (9, 77), (10, 3), (11, 200), (12, 5), (13, 255), (750, 128), (751, 1000), (2024, 123_456)]
    rows = con.execute(
        f"""
        with cells (count, key_sum) as (select * from (values {", ".join(map(str, cells))}))
        select count, key_sum, count + coalesce(p.pvalue, 0) as published
        from cells left join ptable p on p.pcv = {pcv_sql("count")} and p.ckey = key_sum % 256
        order by count
        """
    ).fetchall()
    assert rows == [(count, key_sum, perturb(count, key_sum % 256)) for count, key_sum in cells]


def test_loading_imports_only_the_standard_library_and_the_contract():
    code = (
        "import sys, contract.ptable as p; p.load_ptable(); "
        "print(sorted(m for m in ('scipy', 'numpy', 'pandas', 'pyarrow', 'duckdb') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO)
    assert out.stdout.strip() == "[]"
