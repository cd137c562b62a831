"""The privacy gate (DESIGN.md rule 4): primary and complementary suppression, shares, changes, formatting.

Expected tables are written out in full. The property test draws random
tables with many small counts and checks, without calling the gate's own
helpers, that no small count can be read or worked out from what it shows.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract import MIN_CELL
from dashboard.gate import COMPLEMENT, SHOWN, SMALL, change, format_count, gate, is_small, margins, share

NA = None  # a suppressed count, as the tables below write it


def table(dims: list[str], rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=[*dims, "visits"])


def published(frame: pd.DataFrame) -> list[tuple]:
    """A gated frame as plain tuples: dimensions, visits (None when hidden), status."""
    return [
        (*row[:-2], None if pd.isna(row[-2]) else int(row[-2]), row[-1])
        for row in frame.itertuples(index=False, name=None)
    ]


def test_min_cell_is_ten():
    assert MIN_CELL == 10


# --- primary suppression -------------------------------------------------------------------------


def test_counts_from_one_to_nine_are_small_zero_and_ten_are_shown():
    frame = table(["country"], [("AA", 0), ("BB", 1), ("CC", 5), ("DD", 9), ("EE", 10), ("FF", 11), ("GG", 1234)])
    gated = gate(frame, ["country"])
    assert published(gated.cells) == [
        ("AA", 0, SHOWN),
        ("BB", NA, SMALL),
        ("CC", NA, SMALL),
        ("DD", NA, SMALL),
        ("EE", 10, SHOWN),
        ("FF", 11, SHOWN),
        ("GG", 1234, SHOWN),
    ]
    assert gated.totals == {}
    assert gated.min_cell == 10


def test_a_stricter_min_cell_of_eleven_hides_ten_too():
    frame = table(["country"], [("AA", 0), ("BB", 1), ("CC", 10), ("DD", 11), ("EE", 12)])
    assert published(gate(frame, ["country"], min_cell=11).cells) == [
        ("AA", 0, SHOWN),
        ("BB", NA, SMALL),
        ("CC", NA, SMALL),
        ("DD", 11, SHOWN),
        ("EE", 12, SHOWN),
    ]


def test_missing_counts_are_zeros_and_the_value_column_can_be_named():
    frame = pd.DataFrame({"feature": ["coupon", "self_diagnosis"], "n": [None, 3]})
    assert published(gate(frame, ["feature"], value="n").cells) == [("coupon", 0, SHOWN), ("self_diagnosis", NA, SMALL)]


def test_is_small():
    assert list(is_small(np.array([0, 1, 9, 10, 11]))) == [False, True, True, False, False]
    assert list(is_small(np.array([0, 1, 9, 10, 11]), min_cell=11)) == [False, True, True, True, False]


# --- complementary suppression, one dimension and a grand total ----------------------------------


def test_one_small_cell_beside_a_total_takes_the_smallest_shown_cell_with_it():
    frame = table(["country"], [("AA", 3), ("BB", 15), ("CC", 12), ("DD", 40), ("EE", 0)])
    gated = gate(frame, ["country"], totals_over=[()])
    # without the complement, 70 - 15 - 12 - 40 would give AA = 3
    assert published(gated.cells) == [
        ("AA", NA, SMALL),
        ("BB", 15, SHOWN),
        ("CC", NA, COMPLEMENT),
        ("DD", 40, SHOWN),
        ("EE", 0, SHOWN),
    ]
    assert published(gated.totals[()]) == [(70, SHOWN)]
    assert gated.grand_total() == (70, SHOWN)


def test_without_a_total_no_complement_is_needed():
    frame = table(["country"], [("AA", 3), ("BB", 15), ("CC", 12)])
    assert published(gate(frame, ["country"]).cells) == [("AA", NA, SMALL), ("BB", 15, SHOWN), ("CC", 12, SHOWN)]


def test_hidden_cells_that_add_up_to_a_small_count_take_one_more():
    frame = table(["country"], [("AA", 2), ("BB", 3), ("CC", 50), ("DD", 60)])
    gated = gate(frame, ["country"], totals_over=[()])
    # two hidden cells are not enough when 115 - 50 - 60 = 5 says they are small together
    assert published(gated.cells) == [("AA", NA, SMALL), ("BB", NA, SMALL), ("CC", NA, COMPLEMENT), ("DD", 60, SHOWN)]
    assert gated.grand_total() == (115, SHOWN)


def test_hidden_cells_that_add_up_to_ten_or_more_are_safe_as_they_are():
    frame = table(["country"], [("AA", 4), ("BB", 7), ("CC", 50)])
    gated = gate(frame, ["country"], totals_over=[()])
    assert published(gated.cells) == [("AA", NA, SMALL), ("BB", NA, SMALL), ("CC", 50, SHOWN)]
    assert gated.grand_total() == (61, SHOWN)


def test_zeros_are_never_used_as_complements():
    frame = table(["country"], [("AA", 3), ("BB", 0), ("CC", 0), ("DD", 25)])
    gated = gate(frame, ["country"], totals_over=[()])
    assert published(gated.cells) == [("AA", NA, SMALL), ("BB", 0, SHOWN), ("CC", 0, SHOWN), ("DD", NA, COMPLEMENT)]
    assert gated.grand_total() == (28, SHOWN)


def test_a_total_whose_other_parts_are_all_zero_is_hidden_itself():
    # the small cell is the whole total: nothing else can protect it
    gated = gate(table(["country"], [("AA", 4), ("BB", 0)]), ["country"], totals_over=[()])
    assert published(gated.cells) == [("AA", NA, SMALL), ("BB", 0, SHOWN)]
    assert gated.grand_total() == (None, SMALL)


def test_an_all_zero_table_is_shown():
    gated = gate(table(["country"], [("AA", 0), ("BB", 0)]), ["country"], totals_over=[()])
    assert published(gated.cells) == [("AA", 0, SHOWN), ("BB", 0, SHOWN)]
    assert gated.grand_total() == (0, SHOWN)


def test_an_empty_table_has_a_zero_total():
    gated = gate(table(["country"], []), ["country"], totals_over=[()])
    assert published(gated.cells) == []
    assert gated.grand_total() == (0, SHOWN)


def test_min_cell_eleven_with_a_total():
    frame = table(["country"], [("AA", 10), ("BB", 11), ("CC", 30)])
    gated = gate(frame, ["country"], totals_over=[()], min_cell=11)
    assert published(gated.cells) == [("AA", NA, SMALL), ("BB", NA, COMPLEMENT), ("CC", 30, SHOWN)]
    assert gated.grand_total() == (51, SHOWN)


# --- two dimensions with row, column and grand totals --------------------------------------------

GENDER_AGE = ["gender", "age_group"]
ALL_MARGINS = [("gender",), ("age_group",), ()]


def test_gender_by_age_with_all_totals():
    frame = table(
        GENDER_AGE,
        [
            ("female", "20-29", 4),
            ("female", "30-39", 30),
            ("female", "40-49", 25),
            ("male", "20-29", 15),
            ("male", "30-39", 40),
            ("male", "40-49", 12),
        ],
    )
    gated = gate(frame, GENDER_AGE, totals_over=ALL_MARGINS)
    # a rectangle of hidden cells: each row and column has two, and 4 could be anything from 0 to 19
    assert published(gated.cells) == [
        ("female", "20-29", NA, SMALL),
        ("female", "30-39", 30, SHOWN),
        ("female", "40-49", NA, COMPLEMENT),
        ("male", "20-29", NA, COMPLEMENT),
        ("male", "30-39", 40, SHOWN),
        ("male", "40-49", NA, COMPLEMENT),
    ]
    assert published(gated.totals[("gender",)]) == [("female", 59, SHOWN), ("male", 67, SHOWN)]
    assert published(gated.totals[("age_group",)]) == [
        ("20-29", 19, SHOWN),
        ("30-39", 70, SHOWN),
        ("40-49", 37, SHOWN),
    ]
    assert gated.grand_total() == (126, SHOWN)


def test_gender_by_age_where_a_zero_cannot_protect_a_column():
    frame = table(
        GENDER_AGE,
        [
            ("female", "20-29", 4),
            ("female", "30-39", 30),
            ("female", "40-49", 25),
            ("male", "20-29", 15),
            ("male", "30-39", 40),
            ("male", "40-49", 0),
        ],
    )
    gated = gate(frame, GENDER_AGE, totals_over=ALL_MARGINS)
    # 40-49 has one nonzero part left: its total is hidden instead, and that spreads
    assert published(gated.cells) == [
        ("female", "20-29", NA, SMALL),
        ("female", "30-39", NA, COMPLEMENT),
        ("female", "40-49", NA, COMPLEMENT),
        ("male", "20-29", NA, COMPLEMENT),
        ("male", "30-39", NA, COMPLEMENT),
        ("male", "40-49", 0, SHOWN),
    ]
    assert published(gated.totals[("gender",)]) == [("female", 59, SHOWN), ("male", 55, SHOWN)]
    assert published(gated.totals[("age_group",)]) == [
        ("20-29", NA, COMPLEMENT),
        ("30-39", 70, SHOWN),
        ("40-49", NA, COMPLEMENT),
    ]
    assert gated.grand_total() == (114, SHOWN)


def test_a_hidden_total_keeps_one_of_its_parts_hidden():
    frame = table(
        GENDER_AGE, [("female", "20-29", 3), ("female", "30-39", 20), ("male", "20-29", 0), ("male", "30-39", 0)]
    )
    gated = gate(frame, GENDER_AGE, totals_over=[("age_group",), ()])
    # 30-39 is hidden to protect 20-29 (23 - 20 = 3); its only part must not give it away
    assert published(gated.totals[("age_group",)]) == [("20-29", NA, SMALL), ("30-39", NA, COMPLEMENT)]
    assert published(gated.cells) == [
        ("female", "20-29", NA, SMALL),
        ("female", "30-39", NA, COMPLEMENT),
        ("male", "20-29", 0, SHOWN),
        ("male", "30-39", 0, SHOWN),
    ]
    assert gated.grand_total() == (23, SHOWN)


def test_a_row_a_column_and_the_grand_total_together_do_not_give_a_cell_away():
    frame = table(
        ["a", "b"],
        [
            ("r0", "c0", 0),
            ("r0", "c1", 19),
            ("r0", "c2", 0),
            ("r1", "c0", 0),
            ("r1", "c1", 10),
            ("r1", "c2", 0),
            ("r2", "c0", 36),
            ("r2", "c1", 3),
            ("r2", "c2", 2),
        ],
    )
    gated = gate(frame, ["a", "b"], totals_over=[("a",), ("b",), ()])
    # every sum on its own has two hidden parts or more, but showing row r2 (41) beside column c1 (32)
    # and the grand total (70) would give the cell where they cross: 41 + 32 - 70 = 3
    assert published(gated.cells) == [
        ("r0", "c0", 0, SHOWN),
        ("r0", "c1", NA, COMPLEMENT),
        ("r0", "c2", 0, SHOWN),
        ("r1", "c0", 0, SHOWN),
        ("r1", "c1", NA, COMPLEMENT),
        ("r1", "c2", 0, SHOWN),
        ("r2", "c0", NA, COMPLEMENT),
        ("r2", "c1", NA, SMALL),
        ("r2", "c2", NA, SMALL),
    ]
    assert published(gated.totals[("a",)]) == [("r0", NA, COMPLEMENT), ("r1", NA, COMPLEMENT), ("r2", NA, COMPLEMENT)]
    assert published(gated.totals[("b",)]) == [("c0", NA, COMPLEMENT), ("c1", 32, SHOWN), ("c2", NA, SMALL)]
    assert gated.grand_total() == (70, SHOWN)


def test_row_and_column_totals_imply_the_grand_total():
    frame = table(["a", "b"], [("r0", "c0", 5), ("r0", "c1", 30), ("r1", "c0", 40), ("r1", "c1", 50)])
    gated = gate(frame, ["a", "b"], totals_over=[("a",), ("b",)])
    # the grand total is not asked for, but both margins add up to it: it is protected as if shown
    assert gated.grand_total() == (125, SHOWN)
    assert published(gated.cells) == [
        ("r0", "c0", NA, SMALL),
        ("r0", "c1", NA, COMPLEMENT),
        ("r1", "c0", NA, COMPLEMENT),
        ("r1", "c1", NA, COMPLEMENT),
    ]


# --- the property test ---------------------------------------------------------------------------

MARGINS = [("a",), ("b",), ()]


@st.composite
def tables(draw):
    rows, columns = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    # mostly zeros and counts around the threshold, where suppression has work to do
    count = st.one_of(st.just(0), st.integers(0, 15), st.integers(1, 9), st.integers(10, 80))
    values = draw(st.lists(count, min_size=rows * columns, max_size=rows * columns))
    frame = table(
        ["a", "b"], [(f"a{i}", f"b{j}", values[i * columns + j]) for i in range(rows) for j in range(columns)]
    )
    totals = draw(st.lists(st.sampled_from(MARGINS), unique=True, max_size=3))
    min_cell = draw(st.sampled_from([10, 10, 11, 3]))
    return frame, totals, min_cell


def follows_exactly(equations: list[np.ndarray], unknown: int) -> bool:
    """Whether the shown sums, combined, pin one hidden cell: its unit vector is in their span."""
    if not equations:
        return False
    matrix = np.array(equations, dtype=float)
    unit = np.zeros(matrix.shape[1])
    unit[unknown] = 1.0
    return np.linalg.matrix_rank(np.vstack([matrix, unit])) == np.linalg.matrix_rank(matrix)


@settings(max_examples=examples(150, 1000), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_property_no_small_count_can_be_read_or_worked_out(case):
    frame, totals_over, min_cell = case
    gated = gate(frame, ["a", "b"], totals_over=totals_over, min_cell=min_cell)
    truth = frame["visits"].to_numpy()
    cells = gated.cells
    assert cells[["a", "b"]].equals(frame[["a", "b"]])
    hidden = (cells["status"] != SHOWN).to_numpy()
    # shown values are the true ones; the small ones are exactly the counts from 1 to min_cell - 1
    assert cells["visits"].isna().to_numpy().tolist() == hidden.tolist()
    assert (cells.loc[~hidden, "visits"].astype(int).to_numpy() == truth[~hidden]).all()
    assert ((cells["status"] == SMALL).to_numpy() == ((truth >= 1) & (truth < min_cell))).all()
    assert not (hidden & (truth == 0)).any(), "a zero is never hidden"
    assert {tuple(g) for g in totals_over} <= set(gated.totals)

    # every level as {key: (true count, status, cells in it)}: the cells, then each grouping's totals
    levels = {
        ("a", "b"): {
            (a, b): (v, s, frame.index[i : i + 1])
            for i, (a, b, v, s) in enumerate(zip(frame["a"], frame["b"], truth, cells["status"], strict=True))
        }
    }
    for grouping, totals in gated.totals.items():
        level = {}
        for row in totals.to_dict("records"):
            key = tuple(row[dim] for dim in grouping)
            inside = frame.index[
                np.logical_and.reduce([frame[d] == k for d, k in zip(grouping, key, strict=True)])
                if grouping
                else np.ones(len(frame), dtype=bool)
            ]
            true_total = int(truth[inside].sum())
            if row["status"] == SHOWN:
                assert row["visits"] == true_total
                assert not 1 <= true_total < min_cell
            else:
                assert pd.isna(row["visits"])
                assert row["status"] == (SMALL if 1 <= true_total < min_cell else COMPLEMENT)
                if true_total > 0:
                    assert hidden[inside].any(), "a hidden total keeps at least one of its cells hidden"
            level[key] = (true_total, row["status"], inside)
        levels[grouping] = level

    shown_sums: list[np.ndarray] = []
    for coarse in gated.totals:
        for total_key, (_, status, inside) in levels[coarse].items():
            if status != SHOWN:
                continue
            shown_sums.append(np.isin(np.flatnonzero(hidden), inside).astype(float))
            # every sum whose total is shown, over the cells or over a finer grouping's totals
            for finer, level in levels.items():
                if not set(coarse) < set(finer):
                    continue
                parts = [
                    (v, s)
                    for key, (v, s, _) in level.items()
                    if tuple(key[finer.index(d)] for d in coarse) == total_key
                ]
                hidden_parts = [v for v, s in parts if s != SHOWN]
                assert len(hidden_parts) != 1, f"{coarse}={total_key} over {finer}: one hidden part"
                assert not 1 <= sum(hidden_parts) < min_cell, f"{coarse}={total_key} over {finer}: a small hidden sum"
    # and all the shown sums at once: no small cell follows from them exactly
    for position, index in enumerate(np.flatnonzero(hidden)):
        if cells["status"].iloc[index] == SMALL:
            assert not follows_exactly(shown_sums, position), f"cell {index} can be worked out"


# --- shares, changes, formatting -----------------------------------------------------------------


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else round(float(v), 6) for v in series]


def test_share_of_a_shown_whole():
    part = pd.Series([20, pd.NA, 0, 30], dtype="Int64")
    assert values(share(part, 80)) == [0.25, None, 0.0, 0.375]


def test_share_is_na_when_the_whole_is_hidden_or_zero():
    part = pd.Series([20, 5], dtype="Int64")
    assert values(share(part, None)) == [None, None]
    assert values(share(part, 0)) == [None, None]
    whole = pd.Series([40, pd.NA], dtype="Int64")
    assert values(share(pd.Series([10, 10], dtype="Int64"), whole)) == [0.25, None]
    assert values(share(pd.Series([10, 10], dtype="Int64"), pd.Series([0, 20], dtype="Int64"))) == [None, 0.5]


def test_change_between_shown_counts():
    current = pd.Series([30, 10, 0], dtype="Int64")
    previous = pd.Series([20, 40, 15], dtype="Int64")
    assert values(change(current, previous)) == [0.5, -0.75, -1.0]


def test_change_is_na_when_either_is_hidden_or_the_base_is_zero():
    current = pd.Series([pd.NA, 30, 30, pd.NA], dtype="Int64")
    previous = pd.Series([20, pd.NA, 0, pd.NA], dtype="Int64")
    assert values(change(current, previous)) == [None, None, None, None]


@pytest.mark.parametrize(
    ("visits", "status", "min_cell", "expected"),
    [
        (0, SHOWN, 10, "0"),
        (10, SHOWN, 10, "10"),
        (1234, SHOWN, 10, "1,234"),
        (1234567, SHOWN, 10, "1,234,567"),
        (None, SMALL, 10, "<10"),
        (pd.NA, SMALL, 11, "<11"),
        (None, COMPLEMENT, 10, "x"),
    ],
)
def test_format_count(visits, status, min_cell, expected):
    assert format_count(visits, status, min_cell) == expected


def test_format_count_never_prints_a_hidden_value_even_if_given_one():
    assert format_count(7, SMALL) == "<10"
    assert format_count(25, COMPLEMENT, hidden_label="비공개") == "비공개"


def test_every_margin_combination_keeps_the_asked_totals():
    frame = table(["a", "b"], [("r0", "c0", 12), ("r0", "c1", 20), ("r1", "c0", 30), ("r1", "c1", 44)])
    for count in range(4):
        for totals in itertools.combinations(MARGINS, count):
            gated = gate(frame, ["a", "b"], totals_over=list(totals))
            assert set(totals) <= set(gated.totals)
            assert (gated.cells["status"] == SHOWN).all()


def test_margins_lists_every_total_of_a_table():
    assert margins(["country"]) == [()]
    assert margins(["period", "feature"]) == [("period",), ("feature",), ()]
    assert margins(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c"), ("a",), ("b",), ("c",), ()]


def test_three_dimensions_with_every_margin():
    rows = [
        (f"a{i}", f"b{j}", f"c{k}", (i * 7 + j * 5 + k * 3) % 14) for i in range(3) for j in range(2) for k in range(2)
    ]
    frame = pd.DataFrame(rows, columns=["a", "b", "c", "visits"])
    gated = gate(frame, ["a", "b", "c"], totals_over=margins(["a", "b", "c"]))
    assert set(gated.totals) == set(margins(["a", "b", "c"]))
    truth = frame["visits"].to_numpy()
    hidden = (gated.cells["status"] != SHOWN).to_numpy()
    assert ((gated.cells["status"] == SMALL).to_numpy() == ((truth >= 1) & (truth < 10))).all()
    for grouping, totals in gated.totals.items():
        for row in totals.to_dict("records"):
            inside = (
                np.logical_and.reduce([frame[d] == row[d] for d in grouping]) if grouping else np.ones(len(frame), bool)
            )
            if row["status"] == SHOWN:
                assert row["visits"] == truth[inside].sum()
                assert (inside & hidden).sum() != 1
                assert not 1 <= truth[inside & hidden].sum() < 10
