"""Nation-name mapping for the world map and the offline plotly pages."""

from __future__ import annotations

import pandas as pd

from sparkfolio.fifa.generate import NATIONS
from sparkfolio.fifa.geo import NATION_ISO3, map_frame, world_topojson
from sparkfolio.fifa.interactive import nation_map_html, value_scatter_html


def test_uk_home_nations_merge_weighted_and_unknown_names_are_listed() -> None:
    nations = pd.DataFrame({
        "nationality": ["England", "Scotland", "Wales", "Spain", "Korea Republic", "Atlantis"],
        "players": [100, 50, 50, 10, 4, 3],
        "sum_overall": [6000, 3300, 3200, 700, 260, 150],
    })
    countries, unmapped = map_frame(nations)
    assert unmapped == ["Atlantis"]
    assert countries.to_dict(orient="records") == [
        {"iso3": "ESP", "players": 10, "mean_overall": 70.0, "nations": "Spain 10"},
        {"iso3": "GBR", "players": 200, "mean_overall": 62.5, "nations": "England 100, Scotland 50, Wales 50"},
        {"iso3": "KOR", "players": 4, "mean_overall": 65.0, "nations": "Korea Republic 4"},
    ]


def test_every_generated_nation_has_a_code_and_real_fifa_names_are_mapped() -> None:
    assert all(name in NATION_ISO3 for name, _, _ in NATIONS)
    for fifa, iso in [("China PR", "CHN"), ("Côte d'Ivoire", "CIV"), ("Ivory Coast", "CIV"),
                      ("Republic of Ireland", "IRL"), ("Northern Ireland", "GBR"), ("Korea DPR", "PRK")]:
        assert NATION_ISO3[fifa] == iso


def test_world_geometry_ships_with_the_library() -> None:
    topo = world_topojson()
    assert topo is not None
    ids = {g.get("id") for g in topo["objects"]["countries"]["geometries"]}
    assert {"GBR", "ESP", "BRA", "KOR", "CIV"} <= ids


def test_map_page_inlines_plotly_and_the_world_map_before_the_plot() -> None:
    countries = pd.DataFrame({"iso3": ["GBR", "ESP"], "players": [200, 10], "mean_overall": [62.5, 70.0],
                              "nations": ["England 100, Scotland 100", "Spain 10"]})
    page = nation_map_html(countries, "t")
    assets = page.index('window.PlotlyGeoAssets.topojson["world_110m"] = {"type":"Topology"')
    assert assets < page.index("Plotly.newPlot")
    assert "<script src=" not in page  # nothing is loaded from elsewhere
    assert '"locationmode":"ISO-3"' in page and "England 100, Scotland 100" in page


def test_scatter_page_is_self_contained_with_names_on_hover() -> None:
    sample = pd.DataFrame({"player_id": [1, 2], "name": ["L. Messi", "N'Diaye"], "age": [31, 20],
                           "nationality": ["Argentina", "Senegal"], "club": ["FC Barcelona", None],
                           "position_group": ["FWD", "MID"], "overall": [94, 60], "potential": [94, 70],
                           "value_eur": [110_500_000, 0], "wage_eur": [565_000, 0]})
    page = value_scatter_html(sample, "t")
    assert "L. Messi" in page and "N'Diaye" not in page  # a €0 value cannot sit on a log axis
    assert "<script src=" not in page
