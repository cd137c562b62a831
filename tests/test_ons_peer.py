"""Peer check: our published tables against the UK ONS's own cell key tool, `cell-key-perturbation` (issue 12).

A seeded microdata frame of 5,000 submissions with record keys 0..255 is tabulated twice: by ONS's
`create_perturbed_table` with the shipped ptable CSV, and by us from a store built from the same frame
(`key_sum` = the sum of the record keys of each cell, as the ETL stores it) through the dashboard's
export and its query layer and gate. They must agree cell for cell. The one difference, by design: ONS
gives NaN for every count below the threshold, zero included; we show a zero as 0 (a zero gives no
one away, and a chart without it would draw a gap), and `<10` for 1..9.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from cell_key_perturbation.create_perturbed_table import create_perturbed_table

from contract import AGE_GROUPS, FEATURES, GENDERS, MIN_CELL, STORE_TABLES
from dashboard.export import build_export
from dashboard.filters import Filters
from dashboard.gate import gate
from dashboard.queries import complete, counts
from dashboard.store import current_version
from tests.cellkey import ABSENT, PTABLE_CSV, SMALL, parse_raw, period_start

RECORDS = 5000
SEED = 20261202
START, DAYS = date(2025, 1, 1), 181
COUNTRIES = ["KR", "CN", "JP", "US", "VN", "TH", "MN", "DE", "FR", "unknown"]


def microdata() -> pd.DataFrame:
    """One row per submission, dimensions like the store's, skewed so that every size of count occurs."""
    rng = np.random.default_rng(SEED)

    def draw(values, weights):
        weights = np.asarray(weights, dtype=float)
        return rng.choice(np.asarray(values, dtype=object), RECORDS, p=weights / weights.sum())

    days = rng.integers(0, DAYS, RECORDS)
    data = pd.DataFrame(
        {
            "event_date": [START + timedelta(days=int(d)) for d in days],
            "feature": draw(FEATURES, [5, 3, 2]),
            "country": draw(COUNTRIES, [30, 25, 15, 10, 8, 5, 3, 2, 1, 1]),
            "gender": draw(GENDERS, [50, 40, 3, 7]),
            "age_group": draw(AGE_GROUPS, [1, 3, 25, 25, 18, 12, 8, 4, 4]),
            "record_key": rng.integers(0, 256, RECORDS),
        }
    )
    data["month"] = period_start(data["event_date"], "month")
    data["week"] = period_start(data["event_date"], "week")
    data["day"] = period_start(data["event_date"], "day")
    return data


def write_store(data: pd.DataFrame, db: Path) -> None:
    """The store as the contract defines it (contract.STORE_TABLES), one batch holding every cell."""
    dims = [c for c in STORE_TABLES["visit_counts"] if c not in ("visits", "key_sum")]
    cells = data.groupby(dims).agg(visits=("record_key", "size"), key_sum=("record_key", "sum")).reset_index()
    batch = {
        "batch_id": 1,
        "file_name": "peer.csv",
        "content_blake3": "0" * 64,
        "file_format": "csv",
        "file_bytes": 1,
        "loaded_at": pd.Timestamp("2025-07-01T00:00:00Z"),
        "rows_read": RECORDS,
        "rows_loaded": RECORDS,
        "rows_rejected": 0,
        "rejected_key_sum": 0,
        "first_event_date": min(data["event_date"]),
        "last_event_date": max(data["event_date"]),
        "source_destroyed": False,
        "source_destroyed_at": None,
    }
    frames = {
        "visit_counts": cells,
        "batch_counts": cells.assign(batch_id=1),
        "batches": pd.DataFrame([batch]),
    }
    with duckdb.connect(str(db)) as con:
        for table, columns in STORE_TABLES.items():
            con.execute(f"create table {table} ({', '.join(f'{n} {t}' for n, t in columns.items())})")
            if table not in frames:
                continue  # no access log in this store: its tables stay empty
            con.register("frame", frames[table])
            con.execute(f"insert into {table} select {', '.join(columns)} from frame")
            con.unregister("frame")


@pytest.fixture(scope="module")
def peer(tmp_path_factory) -> tuple[pd.DataFrame, Path]:
    data = microdata()
    db = tmp_path_factory.mktemp("ons_peer") / "visitors.duckdb"
    write_store(data, db)
    return data, db


def ons(data: pd.DataFrame, tab_vars: list[str]) -> pd.DataFrame:
    ptable = pd.read_csv(PTABLE_CSV)
    return create_perturbed_table(data, ptable, geog=[], tab_vars=tab_vars, record_key="record_key", threshold=MIN_CELL)


def ours(db: Path, by: list[str], period: str | None) -> dict[tuple, int | str]:
    end = START + timedelta(days=DAYS - 1)
    export = build_export(
        current_version(db), Filters(preset="custom", start=START, end=end), by, period, START, end, "raw"
    )
    return parse_raw(export.content)


def compare(ons_table: pd.DataFrame, tab_vars: list[str], published: dict[tuple, int | str]) -> dict[str, int]:
    """Cell for cell; returns how many cells of each kind were compared."""
    seen = {"equal": 0, "small": 0, "zero": 0}
    keys = set()
    for row in ons_table.to_dict("records"):
        key = tuple(str(row[var]) for var in tab_vars)
        keys.add(key)
        true, theirs, mine = int(row["pre_sdc_count"]), row["count"], published.get(key, ABSENT)
        if true >= MIN_CELL:
            assert mine == int(theirs), f"{key}: true {true}, ONS {theirs}, ours {mine}"
            seen["equal"] += 1
        elif true > 0:
            assert pd.isna(theirs) and mine == SMALL, f"{key}: true {true}, ONS {theirs}, ours {mine}"
            seen["small"] += 1
        else:  # ONS hides a zero, the export has no row for it (a page shows 0: below)
            assert pd.isna(theirs) and mine in (ABSENT, 0), f"{key}: ONS {theirs}, ours {mine}"
            seen["zero"] += 1
    assert set(published) <= keys, "every cell we publish is one ONS tabulates"
    return seen


@pytest.mark.parametrize(
    ("by", "period"),
    [
        (["feature", "country"], "month"),
        (["gender", "age_group"], None),
        (["country", "gender", "age_group"], None),
        (["feature"], "week"),
        (["feature"], "day"),
        (["country"], None),
    ],
)
def test_our_export_equals_ons_create_perturbed_table(peer, by, period):
    data, db = peer
    tab_vars = ([period] if period else []) + by
    seen = compare(ons(data, tab_vars), tab_vars, ours(db, by, period))
    assert seen["equal"] >= 5, seen
    if by != ["country"] and period != "week":  # 190 a week: few small counts
        assert seen["small"] >= 5, seen
    # the noise is really there: cells of 13 and more are mostly changed (as ONS changes them)
    theirs = ons(data, tab_vars)
    big = theirs[theirs["pre_sdc_count"] >= 13]
    if len(big) >= 20:
        assert (big["count"] != big["pre_sdc_count"]).mean() > 0.5


def test_a_page_table_equals_ons_and_shows_zeros_where_ons_hides_them(peer):
    """The Demographics table of one small country (query layer, every combination completed, gate) against ONS."""
    data, db = peer
    end = START + timedelta(days=DAYS - 1)
    filters = Filters(preset="custom", start=START, end=end, countries=("MN",))
    frame = counts(current_version(db), filters, START, end, by=("gender", "age_group"))
    frame = complete(frame, {"gender": list(GENDERS), "age_group": list(AGE_GROUPS)})
    cells = gate(frame, ["gender", "age_group"]).cells
    page = {(g, a): SMALL if status != "shown" else int(v) for g, a, v, status in cells.itertuples(index=False)}
    theirs = ons(data[data["country"] == "MN"], ["gender", "age_group"])
    seen = compare(theirs, ["gender", "age_group"], page)
    zeros = theirs[theirs["pre_sdc_count"] == 0]
    assert seen["zero"] == len(zeros) > 0, "the country has empty combinations"
    assert zeros["count"].isna().all(), "ONS hides a zero"
    assert all(page[(g, a)] == 0 for g, a in zip(zeros["gender"], zeros["age_group"], strict=True)), "we show it"
    assert seen["equal"] >= 1 and seen["small"] >= 5, seen
