"""Plotly figures drawn from gated tables only.

A suppressed count is never drawn as zero nor left out silently: on a line
it is a gap with a down-pointing marker at the threshold ("fewer than 10"),
a bar is drawn hatched at the threshold's height, and a country on the map
is drawn in grey. The figures hold no suppressed number, not even in a
tooltip.

Each figure is written as plain dicts, its data sliced from arrays computed
once: plotly's validation of every property, and many small pandas steps
per trace, cost more than the rest of a page's script. tests/test_charts.py
builds every figure again with validation.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import sequential

from dashboard.gate import SHOWN, Gated, format_count
from dashboard.i18n import alpha3, country_name, t

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#db2777", "#7c3aed", "#0891b2", "#dc2626", "#65a30d", "#9ca3af"]
SUPPRESSED_COLOR = "#9ca3af"
# plotly's "Blues" written out as its validator writes a named scale (plotly.js has another "Blues")
BLUES = tuple((index / (len(sequential.Blues) - 1), color) for index, color in enumerate(sequential.Blues))
NO_ROWS = np.empty(0, dtype=np.intp)


def _figure(data: list[dict], layout: dict) -> go.Figure:
    figure = go.Figure(data=data, layout=layout, _validate=False)
    # what a page changes afterwards (update_layout, update_traces) is validated, as on any figure:
    # unvalidated, update_traces(text=None) would write a null instead of removing the text
    for part in (figure, figure.layout, *figure.data):
        part._validate = True
    return figure


def _layout(
    x_title: str, y_title: str, height: int = 380, *, xaxis: dict | None = None, yaxis: dict | None = None
) -> dict:
    return {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 30, "b": 10},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        "xaxis": {**(xaxis or {}), "title": {"text": x_title}},
        "yaxis": {**(yaxis or {}), "title": {"text": y_title}},
        "hovermode": "closest",
    }


def _rows(values: pd.Series, *, sort: bool) -> dict[object, np.ndarray]:
    """Each value -> the positions of its rows, in order; missing values left out, as by groupby."""
    codes, uniques = pd.factorize(values, sort=sort)
    return {key: np.flatnonzero(codes == code) for code, key in enumerate(uniques)}


def _each(values: pd.Series, label) -> np.ndarray:
    """label(value) for every row, asked once per distinct value."""
    codes, uniques = pd.factorize(values, use_na_sentinel=False)
    return np.array([label(value) for value in uniques], dtype=object)[codes]


def _shown(cells: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Whether each cell is shown, and its published count (NaN where suppressed)."""
    return cells["status"].to_numpy() == SHOWN, cells["visits"].to_numpy("float64", na_value=np.nan)


def lines(
    cells: pd.DataFrame,
    x: str,
    series: str,
    lang: str,
    *,
    min_cell: int,
    comparison: pd.DataFrame | None = None,
    x_title: str = "",
    y_title: str | None = None,
) -> go.Figure:
    """One line per value of `series` over `x`; the comparison period dashed alongside."""
    shown, visits = _shown(cells)
    xs, ys = cells[x].to_numpy(), np.where(shown, visits, np.nan)
    compared = comparison is not None and len(comparison) > 0
    if compared:
        before_rows = _rows(comparison[series], sort=False)
        before_shown, before_visits = _shown(comparison)
        before_xs, before_ys = comparison[x].to_numpy(), np.where(before_shown, before_visits, np.nan)
    data = []
    for index, (key, rows) in enumerate(_rows(cells[series], sort=True).items()):
        color = PALETTE[index % len(PALETTE)]
        name = t(str(key), lang) if series != "country" else country_name(str(key), lang)
        data.append(
            {
                "type": "scatter",
                "x": xs[rows],
                "y": ys[rows],
                "mode": "lines+markers",
                "name": name,
                "legendgroup": name,
                "line": {"color": color},
                "marker": {"size": 4},
                "connectgaps": False,
                "hovertemplate": f"{name}<br>%{{x}}<br>%{{y:,}}<extra></extra>",
            }
        )
        hidden = rows[~shown[rows]]
        if len(hidden):
            data.append(
                {
                    "type": "scatter",
                    "x": xs[hidden],
                    "y": [min_cell] * len(hidden),
                    "mode": "markers",
                    "name": f"{name} ({t('suppressed', lang)})",
                    "legendgroup": name,
                    "showlegend": False,
                    "marker": {"symbol": "triangle-down-open", "size": 9, "color": color},
                    "text": [t("suppressed_small", lang)] * len(hidden),
                    "hovertemplate": f"{name}<br>%{{x}}<br>%{{text}}<extra></extra>",
                }
            )
        if compared:
            before = before_rows.get(key, NO_ROWS)
            data.append(
                {
                    "type": "scatter",
                    "x": before_xs[before],
                    "y": before_ys[before],
                    "mode": "lines",
                    "name": f"{name} ({t('comparison_series', lang)})",
                    "legendgroup": name,
                    "line": {"color": color, "dash": "dot", "width": 1.5},
                    "opacity": 0.6,
                    "connectgaps": False,
                    "hovertemplate": f"{name} ({t('comparison_series', lang)})<br>%{{y:,}}<extra></extra>",
                }
            )
    return _figure(data, _layout(x_title, y_title if y_title is not None else t("submissions", lang)))


def bars(
    cells: pd.DataFrame,
    x: str,
    color: str | None,
    lang: str,
    *,
    min_cell: int,
    stacked: bool = True,
    horizontal: bool = False,
    x_title: str = "",
    y_title: str | None = None,
    signed: pd.Series | None = None,
) -> go.Figure:
    """Bars of gated counts; a suppressed bar is hatched at the threshold's height."""
    shown, visits = _shown(cells)
    heights = np.where(shown, visits, float(min_cell))
    if signed is not None:
        heights = heights * signed.loc[cells.index].to_numpy("float64", na_value=np.nan)
    labels = np.array(
        [format_count(v, s, min_cell) for v, s in zip(cells["visits"].fillna(0), cells["status"], strict=True)],
        dtype=object,
    )
    categories = _each(cells[x], lambda v: country_name(v, lang) if x == "country" else t(str(v), lang))
    groups = _rows(cells[color], sort=False).items() if color else [(None, np.arange(len(cells)))]
    data = []
    for index, (key, rows) in enumerate(groups):
        name = (t(str(key), lang) if color != "country" else country_name(str(key), lang)) if color else ""
        solid = shown[rows]
        text = labels[rows].tolist()
        data.append(
            {
                "type": "bar",
                "x": heights[rows] if horizontal else categories[rows].tolist(),
                "y": categories[rows].tolist() if horizontal else heights[rows],
                "orientation": "h" if horizontal else "v",
                "name": name,
                "marker": {
                    "color": PALETTE[index % len(PALETTE)],
                    "pattern": {"shape": ["" if s else "/" for s in solid], "fgcolor": SUPPRESSED_COLOR},
                    "opacity": [1.0 if s else 0.45 for s in solid],
                },
                "text": text,
                "customdata": list(text),
                "hovertemplate": f"{name}<br>%{{{'y' if horizontal else 'x'}}}<br>%{{customdata}}<extra></extra>",
                "legendgroup": name,
                "showlegend": False,
            }
        )
        if color:
            # the legend takes its swatch from the first bar: a plain entry keeps it solid even when that bar is hatched
            data.append(
                {
                    "type": "bar",
                    "x": [None],
                    "y": [None],
                    "name": name,
                    "legendgroup": name,
                    "marker": {"color": PALETTE[index % len(PALETTE)]},
                }
            )
    layout = _layout(x_title, y_title if y_title is not None else t("submissions", lang))
    return _figure(data, {**layout, "barmode": "relative" if stacked else "group"})


def world_map(cells: pd.DataFrame, lang: str, *, min_cell: int, height: int = 460) -> go.Figure:
    """A choropleth by country; suppressed countries grey with "fewer than 10"."""
    shown, visits = _shown(cells)
    codes = cells["country"].tolist()
    iso3 = [None if code == "unknown" else alpha3(code) for code in codes]
    on_map = [row for row, code in enumerate(iso3) if code is not None]
    names = {row: country_name(codes[row], lang) for row in on_map}
    drawn = [row for row in on_map if shown[row]]
    hidden = [row for row in on_map if not shown[row]]
    data = [
        {
            "type": "choropleth",
            "locations": [iso3[row] for row in drawn],
            "z": visits[drawn],
            "customdata": [codes[row] for row in drawn],
            "text": [names[row] for row in drawn],
            "colorscale": [list(step) for step in BLUES],
            "marker": {"line": {"color": "white"}},
            "colorbar": {"title": {"text": t("submissions", lang)}},
            "hovertemplate": "%{text}<br>%{z:,}<extra></extra>",
        }
    ]
    if hidden:
        data.append(
            {
                "type": "choropleth",
                "locations": [iso3[row] for row in hidden],
                "z": [0] * len(hidden),
                "customdata": [codes[row] for row in hidden],
                "text": [f"{names[row]}<br>{t('suppressed_small', lang)}" for row in hidden],
                "colorscale": [[0, SUPPRESSED_COLOR], [1, SUPPRESSED_COLOR]],
                "showscale": False,
                "marker": {"line": {"color": "white"}},
                "hovertemplate": "%{text}<extra></extra>",
            }
        )
    geo = {"showframe": False, "showcoastlines": False, "projection": {"type": "natural earth"}, "resolution": 110}
    return _figure(data, {"geo": geo, "height": height, "margin": {"l": 0, "r": 0, "t": 0, "b": 0}})


def _sums(groups: list[int], values: list[float], count: int) -> list[float]:
    """Sums by group, NaN left out: in row order with Kahan's compensation, as pandas' groupby sum, so a grey
    share is the one drawn before to the last bit (a plain sum differs in about one case in thirteen)."""
    sums, compensation = [0.0] * count, [0.0] * count
    for group, value in zip(groups, values, strict=True):
        if not math.isnan(value):
            y = value - compensation[group]
            total = sums[group] + y
            compensation[group] = total - sums[group] - y
            sums[group] = total
    return sums


def share_bars(gated: Gated, x: str, dimension: str, values: list[str], lang: str) -> go.Figure:
    """Each value's share of every `x` (100% stacked bars).

    Small cells are drawn together as one grey share, what the shown shares
    leave of the total. Every share is of published numbers, each with its
    own noise, so a stack can end a little short of 100% or past it.
    """
    cells = gated.cells
    totals = gated.totals[(x,)]
    total_of = dict(zip(totals[x].tolist(), totals["visits"].to_numpy("float64", na_value=np.nan), strict=True))
    shown, visits = _shown(cells)
    codes, uniques = pd.factorize(cells[x], use_na_sentinel=False)
    whole = np.array([total_of.get(key, np.nan) for key in uniques], dtype="float64")[codes]
    # as gate.share: at most 1, none where the total is hidden or zero
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.minimum(visits / whole, 1.0)
    shares[np.isnan(whole) | (whole == 0)] = np.nan
    named = x in ("country", "age_group")
    if named:
        # categories read as names; kept in the order given
        labels = [country_name(v, lang) if x == "country" else t(v, lang) for v in uniques]
        xs = np.array(labels, dtype=object)[codes]
    else:
        labels, xs = list(uniques), cells[x].to_numpy()
    # the cells of one label are one bar, as grouped by label
    group_of = {}
    groups = np.array([group_of.setdefault(label, len(group_of)) for label in labels], dtype=np.intp)[codes]
    by_value = _rows(cells[dimension], sort=False)
    data = []
    for index, value in enumerate(values):
        rows = by_value.get(value, NO_ROWS)
        rows = rows[shown[rows]]
        name = t(value, lang)
        data.append(
            {
                "type": "bar",
                "x": xs[rows],
                "y": shares[rows],
                "name": name,
                "marker": {"color": PALETTE[index % len(PALETTE)]},
                "hovertemplate": f"{name}<br>%{{x}}<br>%{{y:.1%}}<extra></extra>",
            }
        )
    # each label with a suppressed cell, in the order of its first one: what its shown shares leave
    first_hidden = {}
    for row in np.flatnonzero(~shown).tolist():
        first_hidden.setdefault(groups[row].item(), row)
    if first_hidden:
        summed = _sums(groups[shown].tolist(), shares[shown].tolist(), len(group_of))
        data.append(
            {
                "type": "bar",
                "x": xs[list(first_hidden.values())],
                "y": np.array([max(1 - summed[group], 0.0) for group in first_hidden], dtype="float64"),
                "name": t("suppressed", lang),
                "marker": {"color": SUPPRESSED_COLOR, "pattern": {"shape": "/"}},
                "hovertemplate": f"{t('suppressed_small', lang)}<br>%{{x}}<br>%{{y:.1%}}<extra></extra>",
            }
        )
    xaxis = {"categoryorder": "array", "categoryarray": list(group_of)} if named else None
    layout = _layout("", t("share", lang), height=340, xaxis=xaxis, yaxis={"tickformat": ".0%"})
    return _figure(data, {**layout, "barmode": "stack"})
