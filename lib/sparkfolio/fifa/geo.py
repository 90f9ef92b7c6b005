"""FIFA nation names -> ISO 3166-1 alpha-3 codes for the world map, and the offline world geometry.

FIFA writes some nations its own way (``Korea Republic``, ``China PR``, ``Ivory Coast``) and fields
four teams for the United Kingdom, which the map draws as one country: England, Scotland, Wales
and Northern Ireland are merged into ``GBR`` with a player-weighted mean, and the hover text names
each. Names not found here are listed in metrics.json (``map_unmapped_nations``), never dropped
silently.
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from typing import Any

import pandas as pd

UK_HOME_NATIONS = ("England", "Scotland", "Wales", "Northern Ireland")

NATION_ISO3: dict[str, str] = {
    "Afghanistan": "AFG", "Albania": "ALB", "Algeria": "DZA", "Andorra": "AND", "Angola": "AGO",
    "Antigua & Barbuda": "ATG", "Argentina": "ARG", "Armenia": "ARM", "Australia": "AUS", "Austria": "AUT",
    "Azerbaijan": "AZE", "Barbados": "BRB", "Belarus": "BLR", "Belgium": "BEL", "Belize": "BLZ",
    "Benin": "BEN", "Bermuda": "BMU", "Bolivia": "BOL", "Bosnia Herzegovina": "BIH", "Botswana": "BWA",
    "Brazil": "BRA", "Bulgaria": "BGR", "Burkina Faso": "BFA", "Burundi": "BDI", "Cameroon": "CMR",
    "Canada": "CAN", "Cape Verde": "CPV", "Central African Rep.": "CAF", "Chad": "TCD", "Chile": "CHL",
    "China PR": "CHN", "Colombia": "COL", "Comoros": "COM", "Congo": "COG", "Costa Rica": "CRI",
    "Croatia": "HRV", "Cuba": "CUB", "Curacao": "CUW", "Cyprus": "CYP", "Czech Republic": "CZE",
    "DR Congo": "COD", "Denmark": "DNK", "Dominican Republic": "DOM", "Ecuador": "ECU", "Egypt": "EGY",
    "El Salvador": "SLV", "England": "GBR", "Equatorial Guinea": "GNQ", "Eritrea": "ERI", "Estonia": "EST",
    "Ethiopia": "ETH", "FYR Macedonia": "MKD", "Faroe Islands": "FRO", "Fiji": "FJI", "Finland": "FIN",
    "France": "FRA", "Gabon": "GAB", "Gambia": "GMB", "Georgia": "GEO", "Germany": "DEU", "Ghana": "GHA",
    "Greece": "GRC", "Grenada": "GRD", "Guam": "GUM", "Guatemala": "GTM", "Guinea": "GIN",
    "Guinea Bissau": "GNB", "Guyana": "GUY", "Haiti": "HTI", "Honduras": "HND", "Hong Kong": "HKG",
    "Hungary": "HUN", "Iceland": "ISL", "India": "IND", "Indonesia": "IDN", "Iran": "IRN", "Iraq": "IRQ",
    "Israel": "ISR", "Italy": "ITA", "Ivory Coast": "CIV", "Jamaica": "JAM", "Japan": "JPN", "Jordan": "JOR",
    "Kazakhstan": "KAZ", "Kenya": "KEN", "Korea DPR": "PRK", "Korea Republic": "KOR", "Kosovo": "XKX",
    "Kuwait": "KWT", "Latvia": "LVA", "Lebanon": "LBN", "Liberia": "LBR", "Libya": "LBY",
    "Liechtenstein": "LIE", "Lithuania": "LTU", "Luxembourg": "LUX", "Madagascar": "MDG", "Mali": "MLI",
    "Malta": "MLT", "Mauritania": "MRT", "Mauritius": "MUS", "Mexico": "MEX", "Moldova": "MDA",
    "Montenegro": "MNE", "Montserrat": "MSR", "Morocco": "MAR", "Mozambique": "MOZ", "Namibia": "NAM",
    "Netherlands": "NLD", "New Caledonia": "NCL", "New Zealand": "NZL", "Nicaragua": "NIC", "Niger": "NER",
    "Nigeria": "NGA", "Northern Ireland": "GBR", "Norway": "NOR", "Oman": "OMN", "Palestine": "PSE",
    "Panama": "PAN", "Paraguay": "PRY", "Peru": "PER", "Philippines": "PHL", "Poland": "POL",
    "Portugal": "PRT", "Puerto Rico": "PRI", "Qatar": "QAT", "Republic of Ireland": "IRL", "Romania": "ROU",
    "Russia": "RUS", "Rwanda": "RWA", "Saudi Arabia": "SAU", "Scotland": "GBR", "Senegal": "SEN",
    "Serbia": "SRB", "Sierra Leone": "SLE", "Slovakia": "SVK", "Slovenia": "SVN", "South Africa": "ZAF",
    "South Sudan": "SSD", "Spain": "ESP", "St Kitts Nevis": "KNA", "St Lucia": "LCA", "Sudan": "SDN",
    "Suriname": "SUR", "Sweden": "SWE", "Switzerland": "CHE", "Syria": "SYR", "São Tomé & Príncipe": "STP",
    "Tanzania": "TZA", "Thailand": "THA", "Togo": "TGO", "Trinidad & Tobago": "TTO", "Tunisia": "TUN",
    "Turkey": "TUR", "Uganda": "UGA", "Ukraine": "UKR", "United Arab Emirates": "ARE",
    "United States": "USA", "Uruguay": "URY", "Uzbekistan": "UZB", "Venezuela": "VEN", "Wales": "GBR",
    "Zambia": "ZMB", "Zimbabwe": "ZWE",
    # Spellings of other sources and later FIFA editions.
    "Côte d'Ivoire": "CIV", "Cote d'Ivoire": "CIV", "China": "CHN", "South Korea": "KOR",
    "North Korea": "PRK", "USA": "USA", "Ireland": "IRL", "Czechia": "CZE", "North Macedonia": "MKD",
    "Bosnia and Herzegovina": "BIH", "Türkiye": "TUR", "Cabo Verde": "CPV", "Congo DR": "COD",
    "Central African Republic": "CAF", "Guinea-Bissau": "GNB", "Curaçao": "CUW",
}


def map_frame(nations: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Per-country rows for the choropleth from per-nation ``players`` and ``sum_overall``.

    Nations sharing a code (the UK's four) are merged with a player-weighted mean Overall.

    Returns
    -------
    (DataFrame, list)
        Columns ``iso3``, ``players``, ``mean_overall``, ``nations`` (the FIFA names merged, for
        the hover text), sorted by code; and the names that have no code.
    """
    frame = nations.copy()
    frame["iso3"] = frame["nationality"].map(NATION_ISO3)
    unmapped = sorted(frame.loc[frame["iso3"].isna(), "nationality"].tolist())
    frame = frame.dropna(subset=["iso3"])
    rows = []
    for iso3, g in frame.groupby("iso3", sort=True):
        players = int(g["players"].sum())
        parts = g.sort_values("players", ascending=False)
        label = ", ".join(f"{n} {int(p):,}" for n, p in zip(parts["nationality"], parts["players"]))
        rows.append({"iso3": iso3, "players": players, "mean_overall": float(g["sum_overall"].sum()) / players,
                     "nations": label})
    return pd.DataFrame(rows, columns=["iso3", "players", "mean_overall", "nations"]), unmapped


@lru_cache(maxsize=1)
def world_topojson() -> dict[str, Any] | None:
    """plotly.js's 1:110m world map shipped with the library (see ``data/NOTICE.md``), or None if absent."""
    try:
        text = resources.files("sparkfolio.fifa").joinpath("data/world_110m.json").read_text(encoding="utf-8")
    except (FileNotFoundError, OSError):
        return None
    return json.loads(text)
