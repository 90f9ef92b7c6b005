"""Interactive plotly pages that open offline: plotly.js and the world map are inlined in the HTML.

``include_plotlyjs=True`` puts plotly.js in the page, but a choropleth still fetches its world map
from plotly's CDN when it opens; we inline that too, as ``window.PlotlyGeoAssets.topojson``, the
cache plotly.js reads before fetching.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import pandas as pd

from sparkfolio.fifa.geo import world_topojson

log = logging.getLogger(__name__)

_HEAD = "<head>"


def value_scatter_html(sample: pd.DataFrame, title: str) -> str:
    """Market value against Overall for a bounded sample of players, names on hover (log value axis)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    valued = sample[sample["value_eur"] > 0]
    for group, g in valued.groupby("position_group", dropna=False, sort=True):
        fig.add_trace(go.Scatter(
            x=g["overall"], y=g["value_eur"], mode="markers", name=str(group),
            marker={"size": 5, "opacity": 0.6},
            text=g["name"],
            customdata=g[["club", "nationality", "age", "potential"]].astype(str).to_numpy(),
            hovertemplate=("<b>%{text}</b><br>%{customdata[0]} (%{customdata[1]})<br>age %{customdata[2]}, "
                           "Overall %{x}, Potential %{customdata[3]}<br>value €%{y:,.0f}<extra></extra>"),
        ))
    fig.update_layout(title=title, xaxis_title="Overall", yaxis_title="market value (€, log scale)",
                      yaxis_type="log", template="plotly_white", legend_title="position")
    return offline_html(fig)


def nation_map_html(countries: pd.DataFrame, title: str) -> str:
    """World choropleth of mean Overall per country (``iso3``, ``mean_overall``, ``players``, ``nations``)."""
    import plotly.graph_objects as go

    fig = go.Figure(go.Choropleth(
        locations=countries["iso3"], locationmode="ISO-3", z=countries["mean_overall"].round(2),
        text=countries["nations"], customdata=countries["players"],
        colorscale="Viridis", colorbar_title="mean<br>Overall",
        hovertemplate="<b>%{location}</b>: mean Overall %{z:.1f}<br>%{customdata:,} players: %{text}<extra></extra>",
    ))
    fig.update_geos(showcountries=True, showcoastlines=True, projection_type="natural earth")
    fig.update_layout(title=title, margin={"l": 0, "r": 0, "t": 50, "b": 0})
    return offline_html(fig, topojson=world_topojson())


def offline_html(fig: Any, topojson: dict[str, Any] | None = None) -> str:
    """A full HTML page with plotly.js inlined and, for maps, the world geometry inlined too."""
    html = fig.to_html(include_plotlyjs=True, full_html=True, config={"displaylogo": False})
    if topojson is None:
        if any(getattr(t, "type", "") in ("choropleth", "scattergeo") for t in fig.data):
            log.warning("world map geometry not found in the package: the map page will fetch it from the plotly CDN")
        return html
    if _HEAD not in html:
        raise RuntimeError("plotly's HTML has no <head>; cannot inline the world map")
    # </ inside JSON strings would end the script element early; JSON allows the escaped form.
    payload = json.dumps(topojson, separators=(",", ":")).replace("</", "<\\/")
    script = ("<script type=\"text/javascript\">window.PlotlyGeoAssets = window.PlotlyGeoAssets || {topojson: {}};"
              f"window.PlotlyGeoAssets.topojson[\"world_110m\"] = {payload};</script>")
    return html.replace(_HEAD, _HEAD + script, 1)
