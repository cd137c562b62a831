"""Plotly figures drawn from gated tables only.

A suppressed count is never drawn as zero nor left out silently: on a line
it is a gap with a down-pointing marker at the threshold ("fewer than 10"),
a bar is drawn hatched at the threshold's height, and a country on the map
is drawn in grey. The figures hold no suppressed number, not even in a
tooltip.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.gate import SHOWN, Gated, format_count, share
from dashboard.i18n import alpha3, country_name, t

PALETTE = ["#2563eb", "#16a34a", "#f59e0b", "#db2777", "#7c3aed", "#0891b2", "#dc2626", "#65a30d", "#9ca3af"]
SUPPRESSED_COLOR = "#9ca3af"


def _layout(fig: go.Figure, x_title: str, y_title: str, height: int = 380) -> go.Figure:
    fig.update_layout(
        height=height,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0},
        xaxis_title=x_title,
        yaxis_title=y_title,
        hovermode="closest",
    )
    return fig


def _suppressed_text(status: pd.Series, lang: str) -> list[str]:
    return [t("suppressed_small", lang) for _ in status]


def lines(
    cells: pd.DataFrame,
    x: str,
    series: str,
    lang: str,
    *,
    min_cell: int,
    comparison: pd.DataFrame | None = None,
    x_title: str = "",
) -> go.Figure:
    """One line per value of `series` over `x`; the comparison period dashed alongside."""
    fig = go.Figure()
    for index, (key, group) in enumerate(cells.groupby(series, sort=True)):
        color = PALETTE[index % len(PALETTE)]
        name = t(str(key), lang) if series != "country" else country_name(str(key), lang)
        shown = group["status"] == SHOWN
        fig.add_trace(
            go.Scatter(
                x=group[x],
                y=group["visits"].astype("float").where(shown),
                mode="lines+markers",
                name=name,
                legendgroup=name,
                line={"color": color},
                marker={"size": 4},
                connectgaps=False,
                hovertemplate=f"{name}<br>%{{x}}<br>%{{y:,}}<extra></extra>",
            )
        )
        hidden = group[~shown]
        if len(hidden):
            fig.add_trace(
                go.Scatter(
                    x=hidden[x],
                    y=[min_cell] * len(hidden),
                    mode="markers",
                    name=f"{name} ({t('suppressed', lang)})",
                    legendgroup=name,
                    showlegend=False,
                    marker={"symbol": "triangle-down-open", "size": 9, "color": color},
                    text=_suppressed_text(hidden["status"], lang),
                    hovertemplate=f"{name}<br>%{{x}}<br>%{{text}}<extra></extra>",
                )
            )
        if comparison is not None and len(comparison):
            previous = comparison[comparison[series] == key]
            fig.add_trace(
                go.Scatter(
                    x=previous[x],
                    y=previous["visits"].astype("float").where(previous["status"] == SHOWN),
                    mode="lines",
                    name=f"{name} ({t('comparison_series', lang)})",
                    legendgroup=name,
                    line={"color": color, "dash": "dot", "width": 1.5},
                    opacity=0.6,
                    connectgaps=False,
                    hovertemplate=f"{name} ({t('comparison_series', lang)})<br>%{{y:,}}<extra></extra>",
                )
            )
    return _layout(fig, x_title, t("submissions", lang))


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
    fig = go.Figure()
    groups = cells.groupby(color, sort=False) if color else [(None, cells)]
    for index, (key, group) in enumerate(groups):
        name = (t(str(key), lang) if color != "country" else country_name(str(key), lang)) if color else ""
        shown = group["status"] == SHOWN
        heights = group["visits"].astype("float").where(shown, float(min_cell))
        if signed is not None:
            heights = heights * signed.loc[group.index]
        labels = [format_count(v, s, min_cell) for v, s in zip(group["visits"].fillna(0), group["status"], strict=True)]
        categories = [country_name(v, lang) if x == "country" else t(str(v), lang) for v in group[x]]
        bar = go.Bar(
            x=heights if horizontal else categories,
            y=categories if horizontal else heights,
            orientation="h" if horizontal else "v",
            name=name,
            marker={
                "color": PALETTE[index % len(PALETTE)],
                "pattern": {"shape": ["" if s else "/" for s in shown], "fgcolor": SUPPRESSED_COLOR},
                "opacity": [1.0 if s else 0.45 for s in shown],
            },
            text=labels,
            customdata=labels,
            hovertemplate=f"{name}<br>%{{{'y' if horizontal else 'x'}}}<br>%{{customdata}}<extra></extra>",
            legendgroup=name,
            showlegend=False,
        )
        fig.add_trace(bar)
        if color:
            # the legend takes its swatch from the first bar: a plain entry keeps it solid even when that bar is hatched
            fig.add_trace(
                go.Bar(x=[None], y=[None], name=name, legendgroup=name, marker_color=PALETTE[index % len(PALETTE)])
            )
    fig.update_layout(barmode="relative" if stacked else "group")
    return _layout(fig, x_title, y_title if y_title is not None else t("submissions", lang))


def world_map(cells: pd.DataFrame, lang: str, *, min_cell: int, height: int = 460) -> go.Figure:
    """A choropleth by country; suppressed countries grey with "fewer than 10"."""
    frame = cells[cells["country"] != "unknown"].copy()
    frame["iso3"] = frame["country"].map(alpha3)
    frame = frame.dropna(subset=["iso3"])
    frame["name"] = frame["country"].map(lambda code: country_name(code, lang))
    shown = frame[frame["status"] == SHOWN]
    hidden = frame[frame["status"] != SHOWN]
    fig = go.Figure()
    fig.add_trace(
        go.Choropleth(
            locations=shown["iso3"],
            z=shown["visits"].astype("float"),
            customdata=shown["country"],
            text=shown["name"],
            colorscale="Blues",
            marker_line_color="white",
            colorbar={"title": {"text": t("submissions", lang)}},
            hovertemplate="%{text}<br>%{z:,}<extra></extra>",
        )
    )
    if len(hidden):
        fig.add_trace(
            go.Choropleth(
                locations=hidden["iso3"],
                z=[0] * len(hidden),
                customdata=hidden["country"],
                text=[
                    f"{n}<br>{s}" for n, s in zip(hidden["name"], _suppressed_text(hidden["status"], lang), strict=True)
                ],
                colorscale=[[0, SUPPRESSED_COLOR], [1, SUPPRESSED_COLOR]],
                showscale=False,
                marker_line_color="white",
                hovertemplate="%{text}<extra></extra>",
            )
        )
    fig.update_geos(showframe=False, showcoastlines=False, projection_type="natural earth", resolution=110)
    fig.update_layout(height=height, margin={"l": 0, "r": 0, "t": 0, "b": 0})
    return fig


def share_bars(gated: Gated, x: str, dimension: str, values: list[str], lang: str) -> go.Figure:
    """Each value's share of every `x` (100% stacked bars).

    Small cells are drawn together as one grey share, what the shown shares
    leave of the total. Every share is of published numbers, each with its
    own noise, so a stack can end a little short of 100% or past it.
    """
    cells = gated.cells.copy()
    totals = gated.totals[(x,)].set_index(x)["visits"]
    cells["share"] = share(cells["visits"], cells[x].map(totals))
    if x in ("country", "age_group"):
        # categories read as names; kept in the order given
        cells[x] = cells[x].map(lambda v: country_name(v, lang) if x == "country" else t(v, lang))
    fig = go.Figure()
    for index, value in enumerate(values):
        part = cells[(cells[dimension] == value) & (cells["status"] == SHOWN)]
        name = t(value, lang)
        fig.add_trace(
            go.Bar(
                x=part[x],
                y=part["share"].astype(float),
                name=name,
                marker_color=PALETTE[index % len(PALETTE)],
                hovertemplate=f"{name}<br>%{{x}}<br>%{{y:.1%}}<extra></extra>",
            )
        )
    hidden_periods = cells.loc[cells["status"] != SHOWN, x].drop_duplicates()
    if len(hidden_periods):
        shown_share = cells[cells["status"] == SHOWN].groupby(x)["share"].sum()
        rest = (1 - shown_share.reindex(hidden_periods).fillna(0)).clip(lower=0)
        fig.add_trace(
            go.Bar(
                x=rest.index,
                y=rest.astype(float),
                name=t("suppressed", lang),
                marker={"color": SUPPRESSED_COLOR, "pattern": {"shape": "/"}},
                hovertemplate=f"{t('suppressed_small', lang)}<br>%{{x}}<br>%{{y:.1%}}<extra></extra>",
            )
        )
    fig.update_layout(barmode="stack", yaxis_tickformat=".0%")
    if x in ("country", "age_group"):
        fig.update_xaxes(categoryorder="array", categoryarray=list(dict.fromkeys(cells[x])))
    return _layout(fig, "", t("share", lang), height=340)
