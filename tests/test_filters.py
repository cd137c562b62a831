"""The filter state in the URL: the round trip, hostile links, and the periods each preset means."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from contract import AGE_GROUPS, COUNTRIES, FEATURES, GENDERS
from dashboard import filters as filters_module
from dashboard.filters import (
    COMPARISONS,
    COUNTRY_MODES,
    GRAINS,
    LANGUAGES,
    PRESETS,
    Filters,
    korea_today,
    parse_params,
    to_params,
)

D = date.fromisoformat


@pytest.fixture(autouse=True)
def korean_by_default(monkeypatch):
    """The tests read as if GANGNAM_LANG were not set: pages open in Korean."""
    monkeypatch.setattr(filters_module, "DEFAULT_LANGUAGE", "ko")


# --- the round trip ------------------------------------------------------------------------------

CODES = sorted(COUNTRIES)


@st.composite
def filter_states(draw) -> Filters:
    preset = draw(st.sampled_from(PRESETS))
    start = end = None
    if preset == "custom":
        first, second = sorted(draw(st.lists(st.dates(D("2000-01-01"), D("2100-12-31")), min_size=2, max_size=2)))
        start, end = first, second
    return Filters(
        preset=preset,
        start=start,
        end=end,
        countries=tuple(draw(st.lists(st.sampled_from(CODES), unique=True, max_size=6))),
        country_mode=draw(st.sampled_from(COUNTRY_MODES)),
        genders=tuple(draw(st.lists(st.sampled_from(GENDERS), unique=True))),
        age_groups=tuple(draw(st.lists(st.sampled_from(AGE_GROUPS), unique=True))),
        features=tuple(draw(st.lists(st.sampled_from(FEATURES), unique=True))),
        comparison=draw(st.sampled_from(COMPARISONS)),
        grain=draw(st.sampled_from(GRAINS)),
        lang=draw(st.sampled_from(LANGUAGES)),
    )


@settings(max_examples=300, deadline=None)
@given(filter_states())
def test_property_every_state_survives_the_round_trip(state):
    params = to_params(state)
    assert all(isinstance(key, str) and isinstance(value, str) for key, value in params.items())
    parsed = parse_params(params)
    assert parsed.notes == []
    assert parsed.filters == state
    # a query string holds the last value of a repeated parameter: lists of one value parse alike
    assert parse_params({key: [value] for key, value in params.items()}).filters == state


def test_the_default_state_is_an_empty_query_string():
    assert to_params(Filters()) == {}
    assert parse_params({}) == filters_module.Parsed(Filters(), [])


def test_a_full_state_written_out():
    state = Filters(
        preset="custom",
        start=D("2025-03-01"),
        end=D("2025-03-31"),
        countries=("CN", "US", "unknown"),
        country_mode="exclude",
        genders=("female",),
        age_groups=("0-13", "70+"),
        features=("coupon", "free_estimate"),
        comparison="last_year",
        grain="day",
        lang="en",
    )
    assert to_params(state) == {
        "period": "custom",
        "from": "2025-03-01",
        "to": "2025-03-31",
        "country": "CN,US,unknown",
        "gender": "female",
        "age": "0-13,70+",
        "feature": "coupon,free_estimate",
        "country_mode": "exclude",
        "compare": "last_year",
        "grain": "day",
        "lang": "en",
    }


def test_dates_are_only_written_for_a_custom_period():
    assert to_params(Filters(preset="last_7", start=D("2025-01-01"), end=D("2025-01-02"))) == {"period": "last_7"}
    # and dates in a link without the custom preset are ignored
    parsed = parse_params({"period": "last_30", "from": "2025-01-01", "to": "2025-01-31"})
    assert parsed.filters == Filters(preset="last_30")
    assert parsed.notes == []


def test_values_are_trimmed_and_repeats_kept_once():
    parsed = parse_params({"gender": " female , male ,", "feature": "coupon"})
    assert parsed.filters.genders == ("female", "male")
    assert parsed.notes == []
    assert parse_params({"country": "CN,CN,US"}).filters.countries == ("CN", "US")


def test_a_single_day_custom_period():
    parsed = parse_params({"period": "custom", "from": "2024-02-29", "to": "2024-02-29"})
    assert parsed.notes == []
    assert parsed.filters.period(D("2025-01-01")) == (D("2024-02-29"), D("2024-02-29"))


def test_lang_defaults_to_the_deployment_setting(monkeypatch):
    monkeypatch.setattr(filters_module, "DEFAULT_LANGUAGE", "en")
    assert parse_params({}).filters.lang == "en"
    assert to_params(replace(Filters(), lang="en")) == {}
    assert to_params(replace(Filters(), lang="ko")) == {"lang": "ko"}


# --- hostile and broken links --------------------------------------------------------------------

SQL = "CN' OR 1=1 --"
SCRIPT = "<script>alert(1)</script>"
PATH = "../../etc/passwd"


@pytest.mark.parametrize(
    ("params", "notes"),
    [
        ({"period": "yesterday"}, [("period", "invalid_value")]),
        ({"period": PATH}, [("period", "invalid_value")]),
        ({"period": "custom"}, [("period", "custom_needs_dates")]),
        ({"period": "custom", "from": "2025-03-01"}, [("period", "custom_needs_dates")]),
        ({"period": "custom", "from": "2025-02-30", "to": "2025-03-01"}, [("from", "invalid_date"), ("period", "custom_needs_dates")]),
        ({"period": "custom", "from": "2025-03-01", "to": "31/03/2025"}, [("to", "invalid_date"), ("period", "custom_needs_dates")]),
        ({"period": "custom", "from": "1999-12-31", "to": "2025-03-01"}, [("from", "invalid_date"), ("period", "custom_needs_dates")]),
        ({"period": "custom", "from": "2025-03-01", "to": "2101-01-01"}, [("to", "invalid_date"), ("period", "custom_needs_dates")]),
        ({"period": "custom", "from": "2025-03-31", "to": "2025-03-01"}, [("to", "end_before_start")]),
        ({"period": "custom", "from": SQL, "to": SCRIPT}, [("from", "invalid_date"), ("to", "invalid_date"), ("period", "custom_needs_dates")]),
        ({"country": "XX"}, [("country", "invalid_value")]),
        ({"country": "cn"}, [("country", "invalid_value")]),
        ({"country": "China"}, [("country", "invalid_value")]),
        ({"country": SQL}, [("country", "invalid_value")]),
        ({"country": SCRIPT}, [("country", "invalid_value")]),
        ({"country": PATH}, [("country", "invalid_value")]),
        ({"country_mode": "everything"}, [("country_mode", "invalid_value")]),
        ({"gender": "f"}, [("gender", "invalid_value")]),
        ({"gender": "female' --"}, [("gender", "invalid_value")]),
        ({"age": "20-30"}, [("age", "invalid_value")]),
        ({"feature": "newsletter"}, [("feature", "invalid_value")]),
        ({"feature": "coupon; drop table visit_counts"}, [("feature", "invalid_value")]),
        ({"compare": "tomorrow"}, [("compare", "invalid_value")]),
        ({"grain": "hour"}, [("grain", "invalid_value")]),
        ({"lang": "fr"}, [("lang", "invalid_value")]),
        ({"lang": SCRIPT}, [("lang", "invalid_value")]),
    ],
)  # fmt: skip
def test_an_invalid_value_falls_back_to_its_default_with_a_note(params, notes):
    parsed = parse_params(params)
    assert parsed.notes == notes
    assert parsed.filters == Filters()


def test_valid_values_beside_invalid_ones_are_kept():
    parsed = parse_params({"country": f"CN,{SQL},US,{SCRIPT}", "grain": "month", "lang": "en", "period": "hourly"})
    assert parsed.filters == Filters(countries=("CN", "US"), grain="month", lang="en")
    assert parsed.notes == [("period", "invalid_value"), ("country", "invalid_value")]


def test_unknown_parameters_and_empty_values_are_ignored():
    parsed = parse_params({"utm_source": SCRIPT, "period": "", "country": "", "gender": ",,", "x": PATH})
    assert parsed == filters_module.Parsed(Filters(), [])


def test_very_long_lists_do_not_raise_and_are_cut():
    """What comes out of hostile sizes; how fast is benchmarks/budgets.py's to say (a clock in a test is flaky)."""
    parsed = parse_params({"country": ",".join(["CN"] * 100_000), "gender": "female," * 50_000})
    assert parsed.filters.countries == ("CN",)
    assert parsed.filters.genders == ("female",)
    # a list longer than any dimension is not a link this dashboard wrote: it says so
    assert ("country", "invalid_value") in parsed.notes
    every_code = ",".join(CODES + ["ZZ"] * 1000)
    parsed = parse_params({"country": every_code})
    assert set(parsed.filters.countries) <= set(CODES)
    assert parsed.notes == [("country", "invalid_value")]
    long_text = parse_params({"period": "x" * 1_000_000, "from": "9" * 100_000, "lang": SCRIPT * 10_000})
    assert long_text.filters == Filters()


@pytest.mark.parametrize(
    "value",
    [None, 0, 12, ["last_7", "this_year"], [], "\x00", "last_7\n", "ＣＮ", "２０２５-03-04", "2025-03-04T00:00", " "],
)
def test_odd_values_never_raise(value):
    params = {name: value for name in ("period", "from", "to", "country", "gender", "age", "feature", "lang", "grain")}
    parsed = parse_params(params)
    assert isinstance(parsed.filters, Filters)
    # whatever was read is within the closed domains
    assert parsed.filters.preset in PRESETS
    assert set(parsed.filters.countries) <= set(CODES)
    assert parsed.filters.lang in LANGUAGES


def test_a_repeated_parameter_takes_its_last_value():
    assert parse_params({"period": ["last_7", "this_year"]}).filters.preset == "this_year"


# --- the periods of each preset ------------------------------------------------------------------

# today -> preset -> (period, previous period, same period 52 weeks earlier)
PERIODS = {
    # the day after a leap day
    "2024-03-01": {
        "last_7": (("2024-02-24", "2024-03-01"), ("2024-02-17", "2024-02-23"), ("2023-02-25", "2023-03-03")),
        "last_30": (("2024-02-01", "2024-03-01"), ("2024-01-02", "2024-01-31"), ("2023-02-02", "2023-03-03")),
        "last_90": (("2023-12-03", "2024-03-01"), ("2023-09-04", "2023-12-02"), ("2022-12-04", "2023-03-03")),
        "this_month": (("2024-03-01", "2024-03-01"), ("2024-02-29", "2024-02-29"), ("2023-03-03", "2023-03-03")),
        "last_month": (("2024-02-01", "2024-02-29"), ("2024-01-03", "2024-01-31"), ("2023-02-02", "2023-03-02")),
        "this_year": (("2024-01-01", "2024-03-01"), ("2023-11-01", "2023-12-31"), ("2023-01-02", "2023-03-03")),
    },
    # the leap day itself
    "2024-02-29": {
        "last_7": (("2024-02-23", "2024-02-29"), ("2024-02-16", "2024-02-22"), ("2023-02-24", "2023-03-02")),
        "last_30": (("2024-01-31", "2024-02-29"), ("2024-01-01", "2024-01-30"), ("2023-02-01", "2023-03-02")),
        "last_90": (("2023-12-02", "2024-02-29"), ("2023-09-03", "2023-12-01"), ("2022-12-03", "2023-03-02")),
        "this_month": (("2024-02-01", "2024-02-29"), ("2024-01-03", "2024-01-31"), ("2023-02-02", "2023-03-02")),
        "last_month": (("2024-01-01", "2024-01-31"), ("2023-12-01", "2023-12-31"), ("2023-01-02", "2023-02-01")),
        "this_year": (("2024-01-01", "2024-02-29"), ("2023-11-02", "2023-12-31"), ("2023-01-02", "2023-03-02")),
    },
    # new year's day
    "2025-01-01": {
        "last_7": (("2024-12-26", "2025-01-01"), ("2024-12-19", "2024-12-25"), ("2023-12-28", "2024-01-03")),
        "last_30": (("2024-12-03", "2025-01-01"), ("2024-11-03", "2024-12-02"), ("2023-12-05", "2024-01-03")),
        "last_90": (("2024-10-04", "2025-01-01"), ("2024-07-06", "2024-10-03"), ("2023-10-06", "2024-01-03")),
        "this_month": (("2025-01-01", "2025-01-01"), ("2024-12-31", "2024-12-31"), ("2024-01-03", "2024-01-03")),
        "last_month": (("2024-12-01", "2024-12-31"), ("2024-10-31", "2024-11-30"), ("2023-12-03", "2024-01-02")),
        "this_year": (("2025-01-01", "2025-01-01"), ("2024-12-31", "2024-12-31"), ("2024-01-03", "2024-01-03")),
    },
    # the last day of a month after a short February
    "2025-03-31": {
        "last_7": (("2025-03-25", "2025-03-31"), ("2025-03-18", "2025-03-24"), ("2024-03-26", "2024-04-01")),
        "last_30": (("2025-03-02", "2025-03-31"), ("2025-01-31", "2025-03-01"), ("2024-03-03", "2024-04-01")),
        "last_90": (("2025-01-01", "2025-03-31"), ("2024-10-03", "2024-12-31"), ("2024-01-03", "2024-04-01")),
        "this_month": (("2025-03-01", "2025-03-31"), ("2025-01-29", "2025-02-28"), ("2024-03-02", "2024-04-01")),
        "last_month": (("2025-02-01", "2025-02-28"), ("2025-01-04", "2025-01-31"), ("2024-02-03", "2024-03-01")),
        "this_year": (("2025-01-01", "2025-03-31"), ("2024-10-03", "2024-12-31"), ("2024-01-03", "2024-04-01")),
    },
    # new year's eve
    "2025-12-31": {
        "last_7": (("2025-12-25", "2025-12-31"), ("2025-12-18", "2025-12-24"), ("2024-12-26", "2025-01-01")),
        "last_30": (("2025-12-02", "2025-12-31"), ("2025-11-02", "2025-12-01"), ("2024-12-03", "2025-01-01")),
        "last_90": (("2025-10-03", "2025-12-31"), ("2025-07-05", "2025-10-02"), ("2024-10-04", "2025-01-01")),
        "this_month": (("2025-12-01", "2025-12-31"), ("2025-10-31", "2025-11-30"), ("2024-12-02", "2025-01-01")),
        "last_month": (("2025-11-01", "2025-11-30"), ("2025-10-02", "2025-10-31"), ("2024-11-02", "2024-12-01")),
        "this_year": (("2025-01-01", "2025-12-31"), ("2024-01-02", "2024-12-31"), ("2024-01-03", "2025-01-01")),
    },
}


def dates(pair: tuple[str, str]) -> tuple[date, date]:
    return D(pair[0]), D(pair[1])


@pytest.mark.parametrize(
    ("today", "preset"), [(today, preset) for today, presets in PERIODS.items() for preset in presets]
)
def test_the_period_of_each_preset(today, preset):
    period, previous, year_ago = PERIODS[today][preset]
    today = D(today)
    assert Filters(preset=preset).period(today) == dates(period)
    assert Filters(preset=preset, comparison="previous").comparison_period(today) == dates(previous)
    assert Filters(preset=preset, comparison="last_year").comparison_period(today) == dates(year_ago)
    assert Filters(preset=preset, comparison="none").comparison_period(today) is None


def test_every_preset_but_custom_is_covered():
    for presets in PERIODS.values():
        assert set(presets) == set(PRESETS) - {"custom"}


@pytest.mark.parametrize("today", list(PERIODS))
def test_comparisons_are_as_long_as_the_period_and_end_before_it(today):
    today = D(today)
    for preset in PERIODS[str(today)]:
        start, end = Filters(preset=preset).period(today)
        for comparison in ("previous", "last_year"):
            before_start, before_end = Filters(preset=preset, comparison=comparison).comparison_period(today)
            assert before_end - before_start == end - start
        # the previous period ends the day before this one starts
        assert Filters(preset=preset).comparison_period(today)[1] == start - timedelta(days=1)
        # last year is aligned by weekday: the same weekdays, 52 weeks (364 days) back; so a whole
        # year's period (this_year on 31 December) overlaps its comparison by a day
        year_ago = Filters(preset=preset, comparison="last_year").comparison_period(today)
        assert [d.weekday() for d in year_ago] == [start.weekday(), end.weekday()]
        assert (start - year_ago[0], end - year_ago[1]) == (timedelta(days=364), timedelta(days=364))


def test_a_custom_period_and_its_comparisons():
    state = Filters(preset="custom", start=D("2024-02-26"), end=D("2024-03-03"))
    today = D("2030-06-15")  # a custom period does not depend on today
    assert state.period(today) == (D("2024-02-26"), D("2024-03-03"))
    assert state.comparison_period(today) == (D("2024-02-19"), D("2024-02-25"))
    assert replace(state, comparison="last_year").comparison_period(today) == (D("2023-02-27"), D("2023-03-05"))


def test_today_is_korea_time(monkeypatch):
    monkeypatch.delenv("GANGNAM_TODAY")  # the suite's frozen day (conftest): here the real clock
    before = datetime.now(ZoneInfo("Asia/Seoul")).date()
    today = korea_today()
    last_7 = Filters(preset="last_7").period()
    after = datetime.now(ZoneInfo("Asia/Seoul")).date()
    assert before <= today <= after
    assert last_7[1] in (before, after)


def test_gangnam_today_fixes_the_day_for_tests(monkeypatch):
    monkeypatch.setenv("GANGNAM_TODAY", "2024-02-29")
    assert korea_today() == D("2024-02-29")
    assert Filters(preset="last_7").period() == (D("2024-02-23"), D("2024-02-29"))
