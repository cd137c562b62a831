"""The dashboard's figures (dashboard/charts.py) from small gated tables whose true counts are written out.

Each figure is read as the browser gets it (`plotly.io.to_json`, typed arrays decoded): the traces in
order with their names, colours and markers, the drawn values against the published ones (a gap, a
marker at the threshold, a hatched bar or a grey country where a count is suppressed), and no true count
from 1 to 9 anywhere in the data or the text. Every figure is also rebuilt with plotly's validation
(`go.Figure(fig.to_dict())`): the builders skip it for speed, so a misspelt property fails here.
"""

from __future__ import annotations

import base64
import json
import math
import re

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from contract import AGE_GROUPS, FEATURES, GENDERS, MIN_CELL, small_mark
from dashboard import charts
from dashboard.charts import PALETTE, SUPPRESSED_COLOR
from dashboard.gate import SHOWN, Gated, gate, margins
from dashboard.i18n import country_name, t

WEEKS = list(pd.to_datetime(["2026-10-05", "2026-10-12", "2026-10-19", "2026-10-26"]).as_unit("us"))
# true counts by week, as the trend and the services bars get them (rows by period, then feature)
TREND = {
    "coupon": [1, 0, 30, 7],
    "free_estimate": [40, 3, 0, 25],
    "self_diagnosis": [12, 15, 9, 11],
}
# the comparison period: one feature has no row at all
PREVIOUS = {"coupon": [11, 4, 12, 10], "free_estimate": [22, 5, 18, 0]}
# the pyramid: true counts by age group, one list per gender (other and unknown are left out of the chart)
PYRAMID = {
    "female": [0, 4, 30, 25, 12, 8, 0, 2, 1],
    "male": [0, 11, 3, 40, 22, 0, 9, 10, 0],
    "other": [0, 0, 2, 1, 0, 0, 0, 0, 0],
    "unknown": [1, 0, 5, 3, 0, 0, 0, 0, 6],
}
COUNTRIES = {"CN": 120, "US": 45, "JP": 3, "KR": 0, "FR": 9, "DE": 10, "unknown": 5, "XX": 30}
# the age mix by week: the last week's total is small, so none of its shares can be given
AGE_MIX = {
    "0-13": [2, 0, 0],
    "14-19": [12, 10, 0],
    "20-29": [40, 35, 1],
    "30-39": [33, 8, 2],
    "40-49": [20, 21, 0],
    "50-59": [0, 14, 0],
    "60-69": [5, 11, 0],
    "70+": [0, 0, 0],
    "unknown": [11, 3, 3],
}
SMALL = {
    count
    for table in (TREND, PREVIOUS, PYRAMID, AGE_MIX)
    for counts in table.values()
    for count in counts
    if 1 <= count < MIN_CELL
} | {count for count in COUNTRIES.values() if 1 <= count < MIN_CELL}


def table(dims: list[str], rows: list[tuple]) -> pd.DataFrame:
    """True counts by `dims` with made-up key sums (the gate perturbs by them)."""
    frame = pd.DataFrame(rows, columns=[*dims, "visits"])
    frame["key_sum"] = [(37 * index + 11) * 1_000_003 for index in range(len(frame))]
    return frame


def by_week(counts: dict[str, list[int]], dimension: str, weeks: list[pd.Timestamp] = WEEKS) -> pd.DataFrame:
    rows = [(week, value, counts[value][index]) for index, week in enumerate(weeks) for value in sorted(counts)]
    return table(["period", dimension], rows)


def trend() -> Gated:
    return gate(by_week(TREND, "feature"), ["period", "feature"], totals_over=margins(["period", "feature"]))


def comparison() -> pd.DataFrame:
    earlier = [week - pd.Timedelta(weeks=4) for week in WEEKS]
    cells = gate(by_week(PREVIOUS, "feature", earlier), ["period", "feature"]).cells
    cells["period"] = cells["period"] + pd.Timedelta(weeks=4)  # drawn over the current period, as the Overview
    return cells


def pyramid() -> tuple[pd.DataFrame, pd.Series]:
    """The Demographics page's input: female and male cells (rows by age group, so the index has holes), signed."""
    rows = [(gender, age, PYRAMID[gender][index]) for index, age in enumerate(AGE_GROUPS) for gender in GENDERS]
    cells = gate(table(["gender", "age_group"], rows), ["gender", "age_group"]).cells
    sides = cells[cells["gender"].isin(["female", "male"])].copy()
    return sides, sides["gender"].map({"female": -1, "male": 1}).astype(float)


def countries() -> Gated:
    return gate(table(["country"], list(COUNTRIES.items())), ["country"], totals_over=[()])


def age_mix() -> Gated:
    frame = by_week(AGE_MIX, "age_group", WEEKS[:3])
    return gate(frame, ["period", "age_group"], totals_over=margins(["period", "age_group"]))


# --- reading a figure -------------------------------------------------------------------------------


def decoded(value: object) -> object:
    """A value of the figure's JSON with plotly's base64 typed arrays read back as lists."""
    if isinstance(value, dict):
        if "bdata" in value:
            return np.frombuffer(base64.b64decode(value["bdata"]), dtype=np.dtype(value["dtype"])).tolist()
        return {key: decoded(item) for key, item in value.items()}
    if isinstance(value, list):
        return [decoded(item) for item in value]
    return value


def drawn(fig: go.Figure) -> dict:
    """The figure as st.plotly_chart sends it (its dict, written by plotly.io.to_json), arrays decoded."""
    return decoded(json.loads(pio.to_json(fig.to_dict(), validate=False)))


def gaps(values: list) -> list:
    """None for a gap (NaN or null), the value otherwise: NaN != NaN would hide a mismatch."""
    return [None if value is None or (isinstance(value, float) and math.isnan(value)) else value for value in values]


def small_numbers_in(fig: go.Figure, count_keys: tuple[str, ...] = ("x", "y", "z")) -> list[str]:
    """Where a true small count shows: as a number of the drawn data, or written in a text, name or tooltip."""
    found = []
    pattern = re.compile(rf"(?<![\d.])({'|'.join(str(count) for count in SMALL)})(?![\d.])")
    for index, trace in enumerate(drawn(fig)["data"]):
        for key in count_keys:
            for value in trace.get(key) or []:
                if isinstance(value, int | float) and abs(value) in SMALL:
                    found.append(f"trace {index} {key}: {value}")
        for key in ("x", "y", "text", "customdata", "hovertext", "hovertemplate", "name", "locations"):
            values = trace.get(key)
            for value in values if isinstance(values, list) else [values]:
                if isinstance(value, str) and pattern.search(value):
                    found.append(f"trace {index} {key}: {value!r}")
    return found


def assert_valid(fig: go.Figure) -> None:
    """plotly's validation on the whole figure: an unknown property or a bad value raises."""
    go.Figure(fig.to_dict())


def published(cells: pd.DataFrame, x: str, **where: str) -> list[tuple]:
    """(x, visits or None, status) of the gated cells matching `where`, in their order."""
    rows = cells
    for column, value in where.items():
        rows = rows[rows[column] == value]
    return [
        (key, None if pd.isna(visits) else int(visits), status)
        for key, visits, status in zip(rows[x], rows["visits"], rows["status"], strict=True)
    ]


def stamps(values) -> list[pd.Timestamp]:
    """Dates as Timestamps: the figure's JSON writes them as ISO strings."""
    return [pd.Timestamp(value) for value in values]


# --- lines --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_a_line_per_feature_with_gaps_and_markers_where_suppressed_and_the_comparison_dashed(lang):
    gated, previous = trend(), comparison()
    fig = charts.lines(gated.cells, "period", "feature", lang, min_cell=MIN_CELL, comparison=previous, x_title="D")
    spec = drawn(fig)
    traces = iter(spec["data"])
    for index, feature in enumerate(sorted(FEATURES)):
        name, color = t(feature, lang), PALETTE[index]
        cells = published(gated.cells, "period", feature=feature)
        line = next(traces)
        assert (line["type"], line["name"], line["legendgroup"]) == ("scatter", name, name)
        assert line["mode"] == "lines+markers"
        assert line["line"] == {"color": color} and line["marker"] == {"size": 4} and line["connectgaps"] is False
        assert stamps(line["x"]) == stamps(x for x, _, _ in cells)
        # a suppressed week is a gap, never a zero
        assert gaps(line["y"]) == [visits if status == SHOWN else None for _, visits, status in cells]
        assert line["hovertemplate"] == f"{name}<br>%{{x}}<br>%{{y:,}}<extra></extra>"
        hidden = [x for x, _, status in cells if status != SHOWN]
        assert hidden, "every feature has a small week"
        marker = next(traces)
        assert marker["name"] == f"{name} ({t('suppressed', lang)})" and marker["legendgroup"] == name
        assert marker["mode"] == "markers" and marker["showlegend"] is False
        assert marker["marker"] == {"symbol": "triangle-down-open", "size": 9, "color": color}
        assert stamps(marker["x"]) == stamps(hidden) and marker["y"] == [MIN_CELL] * len(hidden)
        assert marker["text"] == [t("suppressed_small", lang)] * len(hidden)
        assert marker["hovertemplate"] == f"{name}<br>%{{x}}<br>%{{text}}<extra></extra>"
        earlier = published(previous, "period", feature=feature)
        dashed = next(traces)
        label = f"{name} ({t('comparison_series', lang)})"
        assert (dashed["name"], dashed["legendgroup"], dashed["mode"], dashed["opacity"]) == (label, name, "lines", 0.6)
        assert dashed["line"] == {"color": color, "dash": "dot", "width": 1.5} and dashed["connectgaps"] is False
        assert stamps(dashed["x"]) == stamps(x for x, _, _ in earlier)
        assert gaps(dashed["y"]) == [visits if status == SHOWN else None for _, visits, status in earlier]
        assert dashed["hovertemplate"] == f"{label}<br>%{{y:,}}<extra></extra>"
    assert next(traces, None) is None
    assert spec["layout"]["xaxis"]["title"] == {"text": "D"}
    assert spec["layout"]["yaxis"]["title"] == {"text": t("submissions", lang)}
    assert spec["layout"]["height"] == 380 and spec["layout"]["hovermode"] == "closest"
    assert spec["layout"]["margin"] == {"l": 10, "r": 10, "t": 30, "b": 10}
    assert spec["layout"]["legend"] == {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}
    assert not small_numbers_in(fig)
    assert_valid(fig)


def test_lines_without_a_comparison_and_without_small_counts():
    cells = trend().cells
    cells = cells[cells["status"] == SHOWN]
    fig = charts.lines(cells, "period", "feature", "en", min_cell=MIN_CELL)
    assert [trace["name"] for trace in drawn(fig)["data"]] == [t(f, "en") for f in sorted(FEATURES)]
    assert drawn(fig)["layout"]["xaxis"]["title"] == {"text": ""}
    assert_valid(fig)


# --- bars ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_pyramid_hatches_a_suppressed_bar_at_the_threshold_on_its_side(lang):
    sides, sign = pyramid()
    fig = charts.bars(
        sides, "age_group", "gender", lang, min_cell=MIN_CELL, horizontal=True, x_title="N", y_title="", signed=sign
    )
    spec = drawn(fig)
    assert len(spec["data"]) == 4
    for index, gender in enumerate(["female", "male"]):
        bar, legend = spec["data"][2 * index : 2 * index + 2]
        name, color, side = t(gender, lang), PALETTE[index], -1 if gender == "female" else 1
        cells = published(sides, "age_group", gender=gender)
        shown = [status == SHOWN for _, _, status in cells]
        counts = [visits for _, visits, _ in cells]
        assert (bar["type"], bar["orientation"], bar["name"], bar["legendgroup"]) == ("bar", "h", name, name)
        assert bar["showlegend"] is False
        assert bar["y"] == [t(age, lang) for age in AGE_GROUPS]
        # a suppressed count is drawn at the threshold, never as zero nor left out
        assert bar["x"] == [side * (n if ok else MIN_CELL) for n, ok in zip(counts, shown, strict=True)]
        labels = [f"{n:,}" if ok else small_mark() for n, ok in zip(counts, shown, strict=True)]
        assert bar["text"] == labels and bar["customdata"] == labels
        assert bar["marker"] == {
            "color": color,
            "pattern": {"shape": ["" if ok else "/" for ok in shown], "fgcolor": SUPPRESSED_COLOR},
            "opacity": [1.0 if ok else 0.45 for ok in shown],
        }
        assert bar["hovertemplate"] == f"{name}<br>%{{y}}<br>%{{customdata}}<extra></extra>"
        # the legend's entry: a plain swatch, no bar
        assert legend == dict(type="bar", x=[None], y=[None], name=name, legendgroup=name, marker={"color": color})
    layout = spec["layout"]
    assert layout["barmode"] == "relative" and layout["height"] == 380
    assert layout["xaxis"]["title"] == {"text": "N"} and layout["yaxis"]["title"] == {"text": ""}
    assert not small_numbers_in(fig)
    assert_valid(fig)
    # the page's own additions land beside the builder's
    fig.update_layout(yaxis={"categoryorder": "array", "categoryarray": [t(a, lang) for a in AGE_GROUPS]})
    fig.update_xaxes(tickvals=[-40, 0, 40], ticktext=["40", "0", "40"])
    layout = drawn(fig)["layout"]
    assert layout["yaxis"]["title"] == {"text": ""} and layout["yaxis"]["categoryorder"] == "array"
    assert layout["xaxis"]["title"] == {"text": "N"} and layout["xaxis"]["tickvals"] == [-40, 0, 40]
    assert_valid(fig)


def test_the_services_bars_by_week_grouped_and_without_labels():
    cells = trend().cells
    fig = charts.bars(cells, "period", "feature", "en", min_cell=MIN_CELL, stacked=False, x_title="Date")
    spec = drawn(fig)
    # features in the order of their first row, each with its legend entry
    assert [trace["name"] for trace in spec["data"]] == [t(f, "en") for f in sorted(FEATURES) for _ in (0, 1)]
    for bar in spec["data"][::2]:
        assert bar["orientation"] == "v" and bar["x"] == [str(week) for week in WEEKS]
        assert all(height >= MIN_CELL or height == 0 for height in bar["y"])
    assert spec["layout"]["barmode"] == "group"
    assert spec["layout"]["yaxis"]["title"] == {"text": "Submissions"}
    assert not small_numbers_in(fig)
    # the Services page drops the labels: the tooltip keeps them
    fig.update_traces(text=None)
    assert not any("text" in trace for trace in drawn(fig)["data"])
    assert all(trace["customdata"] for trace in drawn(fig)["data"][::2])
    assert_valid(fig)


def test_bars_without_a_colour_are_one_trace():
    cells = countries().cells
    fig = charts.bars(cells, "country", None, "en", min_cell=MIN_CELL)
    (bar,) = drawn(fig)["data"]
    assert bar["x"] == [country_name(code, "en") for code in COUNTRIES]
    assert bar["marker"]["pattern"]["shape"] == ["" if not 1 <= n < MIN_CELL else "/" for n in COUNTRIES.values()]
    assert not small_numbers_in(fig)
    assert_valid(fig)


# --- the map ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_map_greys_suppressed_countries_and_leaves_out_unknown(lang):
    cells = countries().cells
    fig = charts.world_map(cells, lang, min_cell=MIN_CELL)
    spec = drawn(fig)
    coloured, grey = spec["data"]
    rows = published(cells, "country")
    shown = [(code, visits) for code, visits, status in rows if status == SHOWN and code not in ("unknown", "XX")]
    hidden = [code for code, _, status in rows if status != SHOWN and code != "unknown"]
    assert [code for code, _ in shown] == ["CN", "US", "KR", "DE"] and hidden == ["JP", "FR"]
    alpha3 = {"CN": "CHN", "US": "USA", "KR": "KOR", "DE": "DEU", "JP": "JPN", "FR": "FRA"}
    assert coloured["type"] == "choropleth" and coloured["locations"] == [alpha3[code] for code, _ in shown]
    assert coloured["z"] == [visits for _, visits in shown]
    assert coloured["customdata"] == [code for code, _ in shown]
    assert coloured["text"] == [country_name(code, lang) for code, _ in shown]
    # plotly's "Blues", written out as the validator spells a named scale
    assert coloured["colorscale"][0] == [0.0, "rgb(247,251,255)"]
    assert coloured["colorscale"][-1] == [1.0, "rgb(8,48,107)"]
    assert coloured["colorbar"] == {"title": {"text": t("submissions", lang)}}
    assert coloured["marker"] == {"line": {"color": "white"}}
    assert coloured["hovertemplate"] == "%{text}<br>%{z:,}<extra></extra>"
    assert grey["locations"] == [alpha3[code] for code in hidden] and grey["z"] == [0] * len(hidden)
    assert grey["customdata"] == hidden
    assert grey["text"] == [f"{country_name(code, lang)}<br>{t('suppressed_small', lang)}" for code in hidden]
    assert grey["colorscale"] == [[0, SUPPRESSED_COLOR], [1, SUPPRESSED_COLOR]] and grey["showscale"] is False
    assert grey["hovertemplate"] == "%{text}<extra></extra>"
    layout = spec["layout"]
    assert layout["geo"] == {
        "showframe": False,
        "showcoastlines": False,
        "projection": {"type": "natural earth"},
        "resolution": 110,
    }
    assert layout["height"] == 460 and layout["margin"] == {"l": 0, "r": 0, "t": 0, "b": 0}
    assert not small_numbers_in(fig)
    assert_valid(fig)


def test_a_map_without_suppressed_countries_has_one_trace():
    cells = countries().cells
    fig = charts.world_map(cells[cells["status"] == SHOWN], "en", min_cell=MIN_CELL, height=300)
    assert [trace["type"] for trace in drawn(fig)["data"]] == ["choropleth"]
    assert drawn(fig)["layout"]["height"] == 300
    assert_valid(fig)


# --- shares -------------------------------------------------------------------------------------------


def expected_shares(gated: Gated, x: str, dimension: str) -> tuple[dict, dict]:
    """{(x, value): share} of the shown cells (None where the total is hidden or zero), and {x: the grey rest}
    for each x with a suppressed cell, from the published numbers in plain Python."""
    totals = {row[x]: row["visits"] for _, row in gated.totals[(x,)].iterrows()}
    shares, rest = {}, {}
    for _, row in gated.cells.iterrows():
        if row["status"] != SHOWN:
            rest[row[x]] = 0.0
            continue
        total = totals[row[x]]
        shares[row[x], row[dimension]] = None if pd.isna(total) or total == 0 else min(row["visits"] / total, 1.0)
    for key in rest:
        rest[key] = max(1 - sum(s or 0.0 for (k, _), s in shares.items() if k == key), 0.0)
    return shares, rest


@pytest.mark.parametrize("lang", ["en", "ko"])
def test_the_age_mix_draws_shown_shares_and_one_grey_rest_for_the_suppressed(lang):
    gated = age_mix()
    fig = charts.share_bars(gated, "period", "age_group", list(AGE_GROUPS), lang)
    spec = drawn(fig)
    shares, rest = expected_shares(gated, "period", "age_group")
    *parts, grey = spec["data"]
    assert [trace["name"] for trace in parts] == [t(age, lang) for age in AGE_GROUPS]
    for index, (age, trace) in enumerate(zip(AGE_GROUPS, parts, strict=True)):
        mine = {week: share for (week, value), share in shares.items() if value == age}
        assert trace["type"] == "bar" and trace["marker"] == {"color": PALETTE[index % len(PALETTE)]}
        assert stamps(trace["x"]) == stamps(mine)
        assert gaps(trace["y"]) == pytest.approx(list(mine.values()), abs=1e-12)
        assert trace["hovertemplate"] == f"{t(age, lang)}<br>%{{x}}<br>%{{y:.1%}}<extra></extra>"
    # the last week's total is small: its cells are drawn without a share, all of it grey
    assert WEEKS[2] in rest and rest[WEEKS[2]] == 1.0
    assert grey["name"] == t("suppressed", lang)
    assert grey["marker"] == {"color": SUPPRESSED_COLOR, "pattern": {"shape": "/"}}
    assert stamps(grey["x"]) == stamps(rest) and grey["y"] == pytest.approx(list(rest.values()), abs=1e-12)
    assert grey["hovertemplate"] == f"{t('suppressed_small', lang)}<br>%{{x}}<br>%{{y:.1%}}<extra></extra>"
    layout = spec["layout"]
    assert layout["barmode"] == "stack" and layout["height"] == 340
    assert layout["yaxis"] == {"tickformat": ".0%", "title": {"text": t("share", lang)}}
    assert layout["xaxis"] == {"title": {"text": ""}}
    # shares are not counts (a share can be 100%): the counts are checked in the texts only
    assert not small_numbers_in(fig, count_keys=())
    assert_valid(fig)


@pytest.mark.parametrize(("x", "name"), [("age_group", t), ("country", country_name)])
def test_shares_by_a_named_category_keep_the_order_given(x, name):
    codes = list(AGE_GROUPS) if x == "age_group" else ["US", "CN", "unknown", "JP"]
    counts = {code: [12 + 7 * index, 3 if index % 3 else 0, 30 - index] for index, code in enumerate(codes)}
    rows = [(code, feature, counts[code][index]) for code in codes for index, feature in enumerate(FEATURES)]
    gated = gate(table([x, "feature"], rows), [x, "feature"], totals_over=margins([x, "feature"]))
    fig = charts.share_bars(gated, x, "feature", list(FEATURES), "en")
    spec = drawn(fig)
    shares, rest = expected_shares(gated, x, "feature")
    labels = [name(code, "en") for code in codes]
    assert spec["layout"]["xaxis"] == {"categoryorder": "array", "categoryarray": labels, "title": {"text": ""}}
    *parts, grey = spec["data"]
    for feature, trace in zip(FEATURES, parts, strict=True):
        mine = {code: share for (code, value), share in shares.items() if value == feature}
        assert trace["x"] == [name(code, "en") for code in mine]
        assert gaps(trace["y"]) == pytest.approx(list(mine.values()), abs=1e-12)
    assert grey["x"] == [name(code, "en") for code in rest]
    assert grey["y"] == pytest.approx(list(rest.values()), abs=1e-12)
    assert_valid(fig)


def test_shares_without_a_suppressed_cell_have_no_grey_bar():
    rows = [(week, feature, 20 + index) for week in WEEKS for index, feature in enumerate(FEATURES)]
    gated = gate(table(["period", "feature"], rows), ["period", "feature"], totals_over=margins(["period", "feature"]))
    fig = charts.share_bars(gated, "period", "feature", list(FEATURES), "en")
    assert [trace["name"] for trace in drawn(fig)["data"]] == [t(f, "en") for f in FEATURES]
    assert_valid(fig)


def test_a_misspelt_property_fails_validation():
    fig = charts.lines(trend().cells, "period", "feature", "en", min_cell=MIN_CELL)
    figure = fig.to_dict()
    figure["data"][0]["hovertemplat"] = "x"
    with pytest.raises(ValueError, match="hovertemplat"):
        go.Figure(figure)
