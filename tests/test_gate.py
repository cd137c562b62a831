"""The privacy gate (DESIGN.md rule 4): small counts suppressed, every other count perturbed by the cell key method.

Expected numbers are written out (each checked by hand against contract/ptable_v1.csv: true count, key sum
mod 256 -> pvalue) or worked out by tests/cellkey.py, which reads the ptable CSV itself and never asks the
gate. The property test draws random tables with key sums and checks every published cell and total
against it: never 1..9, never more than D from the truth, the same cells always the same number.

Complementary suppression (`x`) is gone on purpose (issue 12): inside one table a subtraction now gives
the hidden count plus noise. Whether an attacker can still be *certain* of a small count, across tables
and queries, is measured by tests/test_attacks.py: it is not "never" (near the threshold, or with the
noise at its extremes, one subtraction can leave one possible value), but a rate the noise allows.
"""

from __future__ import annotations

import itertools

import cellkey
import numpy as np
import pandas as pd
import pytest
from conftest import examples
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract import MIN_CELL
from dashboard.gate import SHOWN, SMALL, change, format_count, gate, is_small, margins, share

NA = None  # a suppressed count, as the tables below write it
PTABLE = cellkey.Ptable.shipped()


def table(dims: list[str], rows: list[tuple]) -> pd.DataFrame:
    """A table of true counts: the dimensions, `visits` and `key_sum` (the sum of the cell's record keys)."""
    return pd.DataFrame(rows, columns=[*dims, "visits", "key_sum"])


def published(frame: pd.DataFrame) -> list[tuple]:
    """A gated frame as plain tuples: dimensions, visits (None when suppressed), status."""
    return [
        (*row[:-2], None if pd.isna(row[-2]) else int(row[-2]), row[-1])
        for row in frame.itertuples(index=False, name=None)
    ]


def expected(true: list[int], key_sums: list[int]) -> list[tuple[int | None, str]]:
    """(visits, status) the gate must publish, from tests/cellkey.py's reading of the ptable CSV."""
    return [(NA, SMALL) if value == cellkey.SMALL else (value, SHOWN) for value in PTABLE.publish(true, key_sums)]


def expected_totals(frame: pd.DataFrame, grouping: tuple[str, ...]) -> list[tuple]:
    """A grouping's totals: the sum of its cells' true counts, keyed by the sum of their key sums."""
    if not grouping:
        return [expected([int(frame["visits"].sum())], [int(frame["key_sum"].sum())])[0]]
    summed = frame.groupby(list(grouping), sort=False)[["visits", "key_sum"]].sum().reset_index()
    keys = summed[list(grouping)].itertuples(index=False, name=None)
    return [
        (*key, *value)
        for key, value in zip(keys, expected(list(summed["visits"]), list(summed["key_sum"])), strict=True)
    ]


def test_min_cell_is_ten_and_the_ptables():
    assert MIN_CELL == 10
    # the gate's threshold and the ptable's are one: the table was built to never publish 1..min_cell-1
    assert (PTABLE.min_cell, PTABLE.max_noise) == (MIN_CELL, 3)


# --- one count ------------------------------------------------------------------------------------


def test_small_counts_are_suppressed_zero_is_zero_and_the_rest_carry_the_ptables_noise():
    frame = table(
        ["country"],
        [
            ("AA", 0, 0),
            ("BB", 1, 200),
            ("CC", 5, 77),
            ("DD", 9, 1000),
            ("EE", 10, 123),  # the ptable's row 10 has no noise
            ("FF", 11, 40),  # ckey 40: -1
            ("GG", 11, 250),  # ckey 250: +3
            ("HH", 50, 7),  # ckey 7: -3
            ("II", 1234, 4321),  # above 750: row (1234 - 1) % 250 + 501 = 734, ckey 225: +2
        ],
    )
    gated = gate(frame, ["country"])
    assert published(gated.cells) == [
        ("AA", 0, SHOWN),
        ("BB", NA, SMALL),
        ("CC", NA, SMALL),
        ("DD", NA, SMALL),
        ("EE", 10, SHOWN),
        ("FF", 10, SHOWN),
        ("GG", 14, SHOWN),
        ("HH", 47, SHOWN),
        ("II", 1236, SHOWN),
    ]
    assert [row[1:] for row in published(gated.cells)] == expected(list(frame["visits"]), list(frame["key_sum"]))
    assert gated.totals == {}
    assert gated.min_cell == 10


@pytest.mark.parametrize("count", [10, 11, 12, 13, 20, 100, 500, 750, 751, 1000, 123_456])
def test_every_cell_key_gives_the_ptables_number(count):
    # the same count under each of the 256 cell keys, and each key sum 256 further on: the key is mod 256
    key_sums = [*range(256), *(256 * count - 1 - k for k in range(256))]
    frame = table(["k"], [(k, count, k) for k in key_sums])
    got = published(gate(frame, ["k"]).cells)
    assert [row[1:] for row in got] == expected([count] * len(key_sums), key_sums)
    noise = {visits - count for _, visits, _ in got}
    assert noise <= set(range(-PTABLE.max_noise, PTABLE.max_noise + 1))
    assert all(visits >= MIN_CELL for _, visits, _ in got)


def test_missing_counts_and_key_sums_are_zeros_and_the_columns_can_be_named():
    frame = pd.DataFrame({"feature": ["coupon", "self_diagnosis", "free_estimate"], "n": [None, 3, 50], "k": [0, 5, 7]})
    assert published(gate(frame, ["feature"], value="n", key="k").cells) == [
        ("coupon", 0, SHOWN),
        ("self_diagnosis", NA, SMALL),
        ("free_estimate", 47, SHOWN),
    ]
    # a missing key sum is a zero key sum (ckey 0): 50 under ckey 0 is the ptable's (50, 0)
    frame["k"] = [None, None, None]
    assert published(gate(frame, ["feature"], value="n", key="k").cells)[2] == (
        "free_estimate",
        *expected([50], [0])[0],
    )


def test_is_small():
    assert list(is_small(np.array([0, 1, 9, 10, 11]))) == [False, True, True, False, False]
    assert list(is_small(np.array([0, 1, 9, 10, 11]), min_cell=11)) == [False, True, True, True, False]


def test_a_threshold_other_than_the_ptables_is_refused():
    # under min_cell 11 the min_cell-10 table could publish a true 11 as 10 (row 11, ckey 40: -1)
    frame = table(["country"], [("AA", 11, 40)])
    with pytest.raises(ValueError, match="built for min_cell 10"):
        gate(frame, ["country"], min_cell=11)


# --- totals: cells of their own --------------------------------------------------------------------


def test_a_total_is_a_cell_of_its_own_keyed_by_its_parts_key_sums():
    frame = table(["country"], [("AA", 3, 3), ("BB", 15, 1900), ("CC", 12, 1800), ("DD", 40, 5000), ("EE", 0, 0)])
    gated = gate(frame, ["country"], totals_over=[()])
    # no part is hidden to protect AA: the total is 70 under key sum 3 + 1900 + 1800 + 5000 = 8703 (ckey 255: +3)
    assert published(gated.cells) == [
        ("AA", NA, SMALL),
        ("BB", 15, SHOWN),  # ckey 108: 0
        ("CC", 10, SHOWN),  # ckey 8: -2
        ("DD", 40, SHOWN),  # ckey 136: 0
        ("EE", 0, SHOWN),
    ]
    assert published(gated.totals[()]) == [(73, SHOWN)]
    assert gated.grand_total() == (73, SHOWN)
    # the parts need not add up: 15 + 10 + 40 + a small count is at most 74, and 73 - 65 says nothing certain
    assert published(gate(table(["all"], [("all", 70, 8703)]), ["all"]).cells) == [("all", 73, SHOWN)]


def test_a_total_over_one_nonzero_cell_is_that_cells_number():
    # zeros add nothing to the key: the same records give the same number, as a cell or as a total
    frame = table(["country"], [("AA", 0, 0), ("BB", 50, 7), ("CC", 0, 0)])
    gated = gate(frame, ["country"], totals_over=[()])
    assert published(gated.cells)[1] == ("BB", 47, SHOWN)
    assert gated.grand_total() == (47, SHOWN)


def test_small_zero_and_empty_totals():
    gated = gate(table(["country"], [("AA", 4, 300), ("BB", 0, 0)]), ["country"], totals_over=[()])
    assert published(gated.cells) == [("AA", NA, SMALL), ("BB", 0, SHOWN)]
    assert gated.grand_total() == (None, SMALL)
    gated = gate(table(["country"], [("AA", 0, 0), ("BB", 0, 0)]), ["country"], totals_over=[()])
    assert published(gated.cells) == [("AA", 0, SHOWN), ("BB", 0, SHOWN)]
    assert gated.grand_total() == (0, SHOWN)
    gated = gate(table(["country"], []), ["country"], totals_over=[()])
    assert published(gated.cells) == []
    assert gated.grand_total() == (0, SHOWN)


GENDER_AGE = ["gender", "age_group"]
ALL_MARGINS = [("gender",), ("age_group",), ()]
GENDER_AGE_ROWS = [
    ("female", "20-29", 4, 511),
    ("female", "30-39", 30, 3828),
    ("female", "40-49", 25, 3000),
    ("male", "20-29", 15, 1900),
    ("male", "30-39", 40, 5000),
    ("male", "40-49", 0, 0),
]


def test_gender_by_age_with_every_total():
    frame = table(GENDER_AGE, GENDER_AGE_ROWS)
    gated = gate(frame, GENDER_AGE, totals_over=ALL_MARGINS)
    assert published(gated.cells) == [
        ("female", "20-29", NA, SMALL),
        ("female", "30-39", 32, SHOWN),  # ckey 244: +2
        ("female", "40-49", 26, SHOWN),  # ckey 184: +1
        ("male", "20-29", 15, SHOWN),  # ckey 108: 0
        ("male", "30-39", 40, SHOWN),  # ckey 136: 0
        ("male", "40-49", 0, SHOWN),
    ]
    assert published(gated.cells) == [
        (*row[:2], *value)
        for row, value in zip(
            GENDER_AGE_ROWS, expected([r[2] for r in GENDER_AGE_ROWS], [r[3] for r in GENDER_AGE_ROWS]), strict=True
        )
    ]
    for grouping in ALL_MARGINS:
        assert published(gated.totals[grouping]) == expected_totals(frame, grouping), grouping


def test_a_total_is_the_gate_of_one_cell_holding_its_parts():
    frame = table(GENDER_AGE, GENDER_AGE_ROWS)
    gated = gate(frame, GENDER_AGE, totals_over=ALL_MARGINS)
    female_total = published(gated.totals[("gender",)])[0]
    alone = gate(table(["gender"], [("female", 4 + 30 + 25, 511 + 3828 + 3000)]), ["gender"])
    assert published(alone.cells) == [female_total]


def test_the_same_input_twice_and_in_another_order_gives_the_same_numbers():
    frame = table(GENDER_AGE, GENDER_AGE_ROWS)
    first = gate(frame, GENDER_AGE, totals_over=ALL_MARGINS)
    again = gate(frame.copy(), GENDER_AGE, totals_over=ALL_MARGINS)
    shuffled = gate(frame.iloc[::-1], GENDER_AGE, totals_over=ALL_MARGINS)
    assert published(first.cells) == published(again.cells) == sorted(published(shuffled.cells))
    for grouping in ALL_MARGINS:
        assert published(first.totals[grouping]) == published(again.totals[grouping])
        assert sorted(published(first.totals[grouping])) == sorted(published(shuffled.totals[grouping]))


# --- the property test -----------------------------------------------------------------------------

MARGINS = [("a",), ("b",), ()]


@st.composite
def tables(draw):
    rows, columns = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    # mostly zeros and counts around the threshold, where the ptable's rows differ most; and some large ones
    count = st.one_of(st.just(0), st.integers(0, 15), st.integers(1, 9), st.integers(10, 80), st.integers(700, 5000))
    values = draw(st.lists(count, min_size=rows * columns, max_size=rows * columns))
    # a valid key sum: each of the cell's records has a key of 0..255
    keys = [draw(st.integers(0, 255 * value)) for value in values]
    frame = table(
        ["a", "b"],
        [
            (f"a{i}", f"b{j}", values[i * columns + j], keys[i * columns + j])
            for i in range(rows)
            for j in range(columns)
        ],
    )
    totals = draw(st.lists(st.sampled_from(MARGINS), unique=True, max_size=3))
    return frame, totals


def check_published(value: int | None, status: str, true: int) -> None:
    """One published number: `<10` exactly for 1..9, zero for zero, else within D of the truth and >= 10."""
    if 1 <= true < MIN_CELL:
        assert (value, status) == (NA, SMALL)
        return
    assert status == SHOWN
    if true == 0:
        assert value == 0
    else:
        assert value >= MIN_CELL and abs(value - true) <= PTABLE.max_noise
        # and one published number alone never tells its true count (the ptable's support)
        assert true in PTABLE.consistent(value) and len(PTABLE.consistent(value)) > 1


@settings(max_examples=examples(150, 1000), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_property_every_published_count_is_the_ptables_never_small_and_within_d(case):
    frame, totals_over = case
    gated = gate(frame, ["a", "b"], totals_over=totals_over)
    again = gate(frame, ["a", "b"], totals_over=totals_over)
    cells = gated.cells
    assert cells[["a", "b"]].equals(frame[["a", "b"]])
    assert published(cells) == published(again.cells)
    assert [row[2:] for row in published(cells)] == expected(list(frame["visits"]), list(frame["key_sum"]))
    for (*_, value, status), true in zip(published(cells), frame["visits"], strict=True):
        check_published(value, status, int(true))
    assert {tuple(g) for g in totals_over} <= set(gated.totals)
    for grouping, totals in gated.totals.items():
        assert published(totals) == expected_totals(frame, grouping), grouping
        assert published(totals) == published(again.totals[grouping])
        true_totals = frame.groupby(list(grouping), sort=False)["visits"].sum() if grouping else None
        for row in published(totals):
            true = int(frame["visits"].sum()) if not grouping else int(true_totals.loc[row[0]])
            check_published(row[-2], row[-1], true)


# --- shares, changes, formatting -----------------------------------------------------------------


def values(series: pd.Series) -> list:
    return [None if pd.isna(v) else round(float(v), 6) for v in series]


def test_share_of_a_shown_whole():
    part = pd.Series([20, pd.NA, 0, 30], dtype="Int64")
    assert values(share(part, 80)) == [0.25, None, 0.0, 0.375]


def test_a_share_is_never_above_one():
    # a part that is all of its total can be published above it: 13 and 12 under their own noise
    assert values(share(pd.Series([13, 6], dtype="Int64"), 12)) == [1.0, 0.5]


def test_share_is_na_when_the_whole_is_hidden_or_zero():
    part = pd.Series([20, 5], dtype="Int64")
    assert values(share(part, None)) == [None, None]
    assert values(share(part, 0)) == [None, None]
    whole = pd.Series([40, pd.NA], dtype="Int64")
    assert values(share(pd.Series([10, 10], dtype="Int64"), whole)) == [0.25, None]
    assert values(share(pd.Series([10, 10], dtype="Int64"), pd.Series([0, 20], dtype="Int64"))) == [None, 0.5]


def test_shares_and_changes_of_gated_tables_use_the_published_numbers():
    frame = table(["country"], [("AA", 3, 3), ("BB", 15, 1900), ("CC", 12, 1800), ("DD", 40, 5000)])
    gated = gate(frame, ["country"], totals_over=[()])
    # published 10, 15, 40 of a published 73 (the true 12, 15, 40 of 70 would give other shares)
    assert values(share(gated.cells["visits"], gated.grand_total()[0])) == [
        None,
        round(15 / 73, 6),
        round(10 / 73, 6),
        round(40 / 73, 6),
    ]
    before = gate(table(["country"], [("AA", 20, 7), ("BB", 11, 40), ("CC", 50, 7), ("DD", 4, 9)]), ["country"])
    # AA 20 -> 17 (ckey 7: -3), BB 11 -> 10, CC 50 -> 47, DD small
    assert published(before.cells) == [("AA", 17, SHOWN), ("BB", 10, SHOWN), ("CC", 47, SHOWN), ("DD", NA, SMALL)]
    assert values(change(gated.cells["visits"], before.cells["visits"])) == [
        None,
        round(15 / 10 - 1, 6),
        round(10 / 47 - 1, 6),
        None,
    ]


def test_change_between_shown_counts():
    current = pd.Series([30, 10, 0], dtype="Int64")
    previous = pd.Series([20, 40, 15], dtype="Int64")
    assert values(change(current, previous)) == [0.5, -0.75, -1.0]


def test_change_is_na_when_either_is_hidden_or_the_base_is_zero():
    current = pd.Series([pd.NA, 30, 30, pd.NA], dtype="Int64")
    previous = pd.Series([20, pd.NA, 0, pd.NA], dtype="Int64")
    assert values(change(current, previous)) == [None, None, None, None]


@pytest.mark.parametrize(
    ("visits", "status", "min_cell", "expected_text"),
    [
        (0, SHOWN, 10, "0"),
        (10, SHOWN, 10, "10"),
        (1234, SHOWN, 10, "1,234"),
        (1234567, SHOWN, 10, "1,234,567"),
        (None, SMALL, 10, "<10"),
        (pd.NA, SMALL, 11, "<11"),
    ],
)
def test_format_count(visits, status, min_cell, expected_text):
    assert format_count(visits, status, min_cell) == expected_text


def test_format_count_never_prints_a_hidden_value_even_if_given_one():
    assert format_count(7, SMALL) == "<10"


def test_every_margin_combination_keeps_the_asked_totals():
    frame = table(["a", "b"], [("r0", "c0", 12, 91), ("r0", "c1", 20, 80), ("r1", "c0", 30, 244), ("r1", "c1", 44, 9)])
    for count in range(4):
        for totals in itertools.combinations(MARGINS, count):
            gated = gate(frame, ["a", "b"], totals_over=list(totals))
            assert set(totals) <= set(gated.totals)
            assert (gated.cells["status"] == SHOWN).all()
            for grouping in totals:
                assert published(gated.totals[grouping]) == expected_totals(frame, grouping)


def test_margins_lists_every_total_of_a_table():
    assert margins(["country"]) == [()]
    assert margins(["period", "feature"]) == [("period",), ("feature",), ()]
    assert margins(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c"), ("a",), ("b",), ("c",), ()]


def test_three_dimensions_with_every_margin():
    rows = [
        (f"a{i}", f"b{j}", f"c{k}", (i * 7 + j * 5 + k * 3) % 14, (i * 7 + j * 5 + k * 3) % 14 * 97 + i + j + k)
        for i in range(3)
        for j in range(2)
        for k in range(2)
    ]
    frame = pd.DataFrame(rows, columns=["a", "b", "c", "visits", "key_sum"])
    gated = gate(frame, ["a", "b", "c"], totals_over=margins(["a", "b", "c"]))
    assert set(gated.totals) == set(margins(["a", "b", "c"]))
    assert [row[3:] for row in published(gated.cells)] == expected(list(frame["visits"]), list(frame["key_sum"]))
    for grouping, totals in gated.totals.items():
        assert published(totals) == expected_totals(frame, grouping), grouping
