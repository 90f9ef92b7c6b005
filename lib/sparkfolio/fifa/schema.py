"""The Kaggle FIFA 19 ``data.csv`` layout and the cleaned ``players`` table built from it.

One place for the 89 header names, which of them the report needs, the value formats
(``€110.5M``, ``5'7``, ``159lbs``, ``88+2``...) as regular expressions shared by the Spark
cleaning, the pandas reference and the generator, and the position groups.
"""

from __future__ import annotations

import re

#: The header of the Kaggle file, in order. The first column is pandas' unnamed index: its header
#: cell is empty (after the UTF-8 BOM), so Spark calls it ``_c0``.
INDEX_COLUMN = ""
IDENTITY_COLUMNS = [
    "ID", "Name", "Age", "Photo", "Nationality", "Flag", "Overall", "Potential", "Club", "Club Logo",
    "Value", "Wage", "Special", "Preferred Foot", "International Reputation", "Weak Foot", "Skill Moves",
    "Work Rate", "Body Type", "Real Face", "Position", "Jersey Number", "Joined", "Loaned From",
    "Contract Valid Until", "Height", "Weight",
]
#: Ratings a player would have at each pitch position, written ``base+bonus`` (``88+2``).
POSITION_RATING_COLUMNS = [
    "LS", "ST", "RS", "LW", "LF", "CF", "RF", "RW", "LAM", "CAM", "RAM", "LM", "LCM", "CM", "RCM", "RM",
    "LWB", "LDM", "CDM", "RDM", "RWB", "LB", "LCB", "CB", "RCB", "RB",
]
#: The 34 skill attributes (0-100), header name -> cleaned column name.
SKILL_COLUMNS = {
    "Crossing": "crossing", "Finishing": "finishing", "HeadingAccuracy": "heading_accuracy",
    "ShortPassing": "short_passing", "Volleys": "volleys", "Dribbling": "dribbling", "Curve": "curve",
    "FKAccuracy": "fk_accuracy", "LongPassing": "long_passing", "BallControl": "ball_control",
    "Acceleration": "acceleration", "SprintSpeed": "sprint_speed", "Agility": "agility",
    "Reactions": "reactions", "Balance": "balance", "ShotPower": "shot_power", "Jumping": "jumping",
    "Stamina": "stamina", "Strength": "strength", "LongShots": "long_shots", "Aggression": "aggression",
    "Interceptions": "interceptions", "Positioning": "positioning", "Vision": "vision",
    "Penalties": "penalties", "Composure": "composure", "Marking": "marking",
    "StandingTackle": "standing_tackle", "SlidingTackle": "sliding_tackle", "GKDiving": "gk_diving",
    "GKHandling": "gk_handling", "GKKicking": "gk_kicking", "GKPositioning": "gk_positioning",
    "GKReflexes": "gk_reflexes",
}
TRAILING_COLUMNS = ["Release Clause"]

KAGGLE_COLUMNS: list[str] = (
    [INDEX_COLUMN] + IDENTITY_COLUMNS + POSITION_RATING_COLUMNS + list(SKILL_COLUMNS) + TRAILING_COLUMNS
)
assert len(KAGGLE_COLUMNS) == 89

#: Columns the report cannot do without. The index, URLs, jersey numbers, body type and the
#: positional ratings are optional: a file without them is still analysed (they come out null).
REQUIRED_COLUMNS: list[str] = [
    "ID", "Name", "Age", "Nationality", "Overall", "Potential", "Club", "Value", "Wage",
    "Preferred Foot", "Work Rate", "Position", "Joined", "Contract Valid Until", "Height", "Weight",
    "Release Clause", *SKILL_COLUMNS,
]

#: How the expected layout is named in error messages.
LAYOUT_NAME = "the Kaggle FIFA 19 data.csv layout (89 columns: unnamed index, ID, Name, Age, ..., Release Clause)"

#: Headers of other well-known FIFA player files, to say which variant a wrong file is.
OTHER_LAYOUTS = {
    "sofifa_id": "the FIFA 20-22 players_XX.csv layout (sofifa_id, short_name, overall, value_eur...)",
    "player_id": "the FIFA 23 male_players.csv layout (player_id, short_name, overall, value_eur...)",
    "short_name": "a FIFA 20+ players file (short_name, long_name, overall, value_eur...)",
}

# --- value formats, as Java- and Python-compatible regular expressions ----------------------
#: ``€110.5M``, ``€565K``, ``€0``: group 1 the number, group 2 the unit (empty, K or M).
MONEY_RE = r"^€\s*([0-9]+(?:\.[0-9]+)?)\s*([KkMm]?)$"
#: ``5'7`` (feet and inches; a trailing ``"`` is tolerated).
HEIGHT_RE = r"^([4-7])'\s*([0-9]|1[01])\"?$"
#: ``159lbs``.
WEIGHT_RE = r"^([0-9]{2,3}(?:\.[0-9]+)?)\s*lbs$"
#: ``Jul 1, 2004``.
DATE_RE = r"^(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) ([0-9]{1,2}), ([0-9]{4})$"
DATE_FORMAT = "MMM d, yyyy"
#: Contract Valid Until: a year (``2021``) or, for loans, the loan's end date (``Jun 30, 2019``).
CONTRACT_RE = r"^(?:(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [0-9]{1,2}, )?([0-9]{4})$"
#: ``High/ Medium``: attacking then defensive work rate.
WORK_RATE_RE = r"^(Low|Medium|High)\s*/\s*(Low|Medium|High)$"
#: ``88+2``: the rating at that position, plus the in-form bonus the game adds.
POSITION_RATING_RE = r"^([0-9]{1,3})\+([0-9])$"
#: Whole numbers; ``5.0`` is accepted because pandas writes integer columns with gaps that way.
INTEGER_RE = r"^-?[0-9]+(?:\.0+)?$"

MONEY_UNITS = {"": 1.0, "K": 1e3, "M": 1e6}
INCH_CM = 2.54
POUND_KG = 0.45359237

# --- ranges a valid value must fall in (outside: rejected with the reason) -------------------
RATING_RANGE = (0, 100)
AGE_RANGE = (12, 60)
HEIGHT_CM_RANGE = (140.0, 220.0)
WEIGHT_KG_RANGE = (40.0, 130.0)
YEAR_RANGE = (1950, 2100)

POSITION_GROUPS: dict[str, str] = {
    "GK": "GK",
    **{p: "DEF" for p in ("CB", "LCB", "RCB", "LB", "RB", "LWB", "RWB")},
    **{p: "MID" for p in ("CDM", "LDM", "RDM", "CM", "LCM", "RCM", "CAM", "LAM", "RAM", "LM", "RM")},
    **{p: "FWD" for p in ("ST", "LS", "RS", "CF", "LF", "RF", "LW", "RW")},
}
POSITION_GROUP_ORDER = ["GK", "DEF", "MID", "FWD"]


def snake(name: str) -> str:
    """The cleaned-table name of a CSV header (``Preferred Foot`` -> ``preferred_foot``)."""
    if name in SKILL_COLUMNS:
        return SKILL_COLUMNS[name]
    return re.sub(r"[^0-9a-z]+", "_", name.lower()).strip("_")


def position_rating_column(name: str) -> str:
    """The cleaned column of a positional rating (``LS`` -> ``rating_ls``)."""
    return f"rating_{name.lower()}"


SKILL_TARGETS: list[str] = list(SKILL_COLUMNS.values())
