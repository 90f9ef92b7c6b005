"""Synthetic FIFA 19 players in the Kaggle 89-column text format, one deterministic chunk at a time.

A chunk is a block of consecutive rows generated from ``numpy.random.default_rng([seed, chunk])``,
so any chunk can be made on any executor, in any order, and the data depend only on the seed, the
row count and the chunk size. The distributions follow the real file's (nation sizes and mean
ratings, position mix, age curve, value against Overall, missing fields), so the report's
findings - England's players rated below Spain's, for one - hold on generated data too.

Formats are the real ones: ``€110.5M``, ``€565K``, ``€0``; ``5'7``; ``159lbs``; ``High/ Medium``;
``88+2`` positional ratings (blank for goalkeepers); ``Jul 1, 2004``; ``Loaned From`` mostly blank.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sparkfolio.fifa import schema

#: (nation, share weight = players in the real file, mean Overall in the real file)
NATIONS: list[tuple[str, int, float]] = [
    ("England", 1662, 63.4), ("Germany", 1198, 66.1), ("Spain", 1072, 69.7), ("Argentina", 937, 68.6),
    ("France", 914, 67.8), ("Brazil", 827, 71.3), ("Italy", 702, 68.2), ("Colombia", 618, 65.6),
    ("Japan", 478, 62.6), ("Netherlands", 453, 67.7), ("Sweden", 397, 63.6), ("China PR", 392, 59.9),
    ("Chile", 391, 65.0), ("Republic of Ireland", 368, 60.9), ("Mexico", 366, 65.4), ("United States", 353, 65.2),
    ("Poland", 350, 63.2), ("Norway", 341, 63.2), ("Saudi Arabia", 340, 60.8), ("Denmark", 336, 63.7),
    ("Korea Republic", 335, 64.2), ("Portugal", 322, 71.3), ("Turkey", 303, 66.1), ("Austria", 298, 64.9),
    ("Scotland", 286, 64.0), ("Belgium", 260, 68.8), ("Australia", 236, 62.7), ("Switzerland", 220, 65.5),
    ("Uruguay", 149, 70.4), ("Senegal", 130, 68.6), ("Wales", 129, 64.1), ("Serbia", 126, 69.9),
    ("Croatia", 126, 69.6), ("Nigeria", 121, 67.1), ("Ghana", 114, 67.0), ("Greece", 102, 69.1),
    ("Czech Republic", 100, 69.5), ("Ivory Coast", 100, 69.4), ("Cameroon", 90, 68.0), ("Paraguay", 85, 69.6),
    ("Morocco", 85, 69.9), ("Northern Ireland", 80, 63.5), ("Russia", 79, 70.1), ("Ukraine", 73, 70.4),
    ("South Africa", 71, 67.5), ("Finland", 67, 64.0), ("Venezuela", 67, 67.3), ("Canada", 64, 62.9),
    ("Bosnia Herzegovina", 61, 68.6), ("Algeria", 60, 70.6), ("Slovenia", 55, 69.5), ("Romania", 54, 69.2),
    ("Slovakia", 54, 68.4), ("DR Congo", 52, 69.2), ("Iceland", 47, 66.9), ("New Zealand", 44, 62.6),
    ("Ecuador", 43, 68.8), ("Mali", 43, 69.0), ("Albania", 40, 65.9), ("Hungary", 38, 69.2),
    # The long tail, 903 players in the real file at a mean of 66.9.
    ("Egypt", 31, 67.0), ("Peru", 30, 67.0), ("Tunisia", 29, 67.0), ("Iran", 28, 67.0), ("Israel", 27, 67.0),
    ("Bulgaria", 27, 67.0), ("Montenegro", 26, 67.0), ("Guinea", 26, 67.0), ("Jamaica", 25, 67.0),
    ("Costa Rica", 25, 67.0), ("Gabon", 24, 67.0), ("Cape Verde", 24, 67.0), ("Georgia", 24, 67.0),
    ("Angola", 23, 67.0), ("Kosovo", 23, 67.0), ("Honduras", 22, 67.0), ("Togo", 22, 67.0),
    ("Burkina Faso", 22, 67.0), ("Curacao", 21, 67.0), ("Lithuania", 21, 67.0), ("Benin", 21, 67.0),
    ("Zambia", 20, 67.0), ("Panama", 20, 67.0), ("Bolivia", 20, 67.0), ("Congo", 20, 67.0),
    ("Cyprus", 19, 67.0), ("Estonia", 19, 67.0), ("Latvia", 19, 67.0), ("Zimbabwe", 19, 67.0),
    ("Gambia", 19, 67.0), ("Kenya", 18, 67.0), ("Armenia", 18, 67.0), ("Equatorial Guinea", 18, 67.0),
    ("FYR Macedonia", 18, 67.0), ("Luxembourg", 17, 67.0), ("Syria", 17, 67.0), ("Haiti", 17, 67.0),
    ("Uzbekistan", 17, 67.0), ("Côte d'Ivoire", 5, 67.0), ("São Tomé & Príncipe", 5, 67.0),
]

POSITIONS = {
    "ST": 0.1186, "GK": 0.1116, "CB": 0.098, "CM": 0.0768, "LB": 0.0728, "RB": 0.0711, "RM": 0.0619, "LM": 0.0603,
    "CAM": 0.0528, "CDM": 0.0522, "RCB": 0.0365, "LCB": 0.0357, "LCM": 0.0218, "RCM": 0.0215, "LW": 0.021,
    "RW": 0.0204, "RDM": 0.0137, "LDM": 0.0134, "LS": 0.0114, "RS": 0.0112, "RWB": 0.0048, "LWB": 0.0043,
    "CF": 0.0041, "LAM": 0.0012, "RAM": 0.0012, "RF": 0.0009, "LF": 0.0008,
}
WORK_RATES = {
    "Medium/ Medium": 9810, "High/ Medium": 3173, "Medium/ High": 1690, "High/ High": 1015, "Medium/ Low": 850,
    "High/ Low": 699, "Low/ Medium": 449, "Low/ High": 439, "Low/ Low": 34,
}
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
JOIN_MONTH_WEIGHTS = [3524, 690, 262, 173, 249, 911, 7596, 2112, 435, 204, 154, 344]
_SYLLABLES = ["ka", "ro", "mi", "len", "do", "sa", "ber", "ti", "van", "el", "mor", "ri", "gu", "nes", "ta", "lo",
              "ve", "dar", "sen", "ho", "ba", "ki", "fer", "nan"]
_ACCENTED = ["é", "ã", "ø", "ü", "ñ", "ç"]
_CLUB_PREFIX = ["FC ", "", "Real ", "Sporting ", "", "AC ", "Dynamo ", "", "Athletic ", ""]
_CLUB_SUFFIX = [" United", " City", "", " Rovers", " FC", "", " Town", " Wanderers"]

# Skill profile per position group: rating offsets from Overall (outfield players' keeper skills are low).
_ATTACK = {"finishing", "volleys", "long_shots", "positioning", "shot_power", "penalties", "curve", "fk_accuracy"}
_DEFEND = {"marking", "standing_tackle", "sliding_tackle", "interceptions", "heading_accuracy", "aggression", "strength"}
_PASS = {"short_passing", "long_passing", "vision", "ball_control", "dribbling", "crossing"}
_GK = {"gk_diving", "gk_handling", "gk_kicking", "gk_positioning", "gk_reflexes"}


def _profile(group: str) -> np.ndarray:
    out = []
    for s in schema.SKILL_TARGETS:
        if group == "GK":
            out.append(2.0 if s in _GK else -42.0)
        elif s in _GK:
            out.append(-55.0)
        elif group == "DEF":
            out.append(3.0 if s in _DEFEND else (-18.0 if s in _ATTACK else -5.0))
        elif group == "MID":
            out.append(3.0 if s in _PASS else (-10.0 if s in _ATTACK | _DEFEND else -2.0))
        else:
            out.append(4.0 if s in _ATTACK else (-32.0 if s in _DEFEND else 0.0))
    return np.array(out)


_GROUPS = schema.POSITION_GROUP_ORDER
_PROFILES = np.stack([_profile(g) for g in _GROUPS])  # (4, 34)
_POS_GROUP_INDEX = {p: _GROUPS.index(g) for p, g in schema.POSITION_GROUPS.items()}
# Positional rating offset by (player's group, position's group): own area 0, next to it -6, far -20.
_AREA_OFFSET = np.array([[0, 0, 0, 0], [0, 0, -6, -20], [0, -6, 0, -6], [0, -20, -6, 0]], dtype=float)


def club_name(club_id: np.ndarray) -> np.ndarray:
    """A unique, pronounceable club name per id (four base-24 syllables, a prefix and a suffix)."""
    ids = np.asarray(club_id, dtype=np.int64)
    s = len(_SYLLABLES)
    syl = np.array(_SYLLABLES)
    city = np.char.add(np.char.add(syl[ids % s], syl[(ids // s) % s]), syl[(ids // s**2) % s])
    fourth = (ids // s**3) % (s + 1)
    city = np.where(fourth == 0, city, np.char.add(city, np.array([""] + _SYLLABLES)[fourth]))
    city = np.char.capitalize(city)
    prefix = np.array(_CLUB_PREFIX)[(ids * 7) % len(_CLUB_PREFIX)]
    suffix = np.array(_CLUB_SUFFIX)[(ids * 11) % len(_CLUB_SUFFIX)]
    return np.char.add(np.char.add(prefix, city), suffix)


def format_money(euros: np.ndarray) -> np.ndarray:
    """Euro amounts in the Kaggle style: ``€110.5M`` (tenths of millions), ``€565K``, ``€0``."""
    e = np.asarray(euros, dtype=np.int64)
    tenths_m = np.rint(e / 1e5).astype(np.int64)
    whole, frac = tenths_m // 10, tenths_m % 10
    millions = np.char.add(np.char.add("€", whole.astype(str)),
                           np.where(frac > 0, np.char.add(".", frac.astype(str)), ""))
    millions = np.char.add(millions, "M")
    thousands = np.char.add(np.char.add("€", np.rint(e / 1e3).astype(np.int64).astype(str)), "K")
    return np.where(e >= 1_000_000, millions, np.where(e >= 1000, thousands, np.char.add("€", e.astype(str))))


def _money_round(euros: np.ndarray) -> np.ndarray:
    """Round like the real data: 100K steps above a million, 5K steps above 100K, 1K below."""
    e = np.asarray(euros, dtype=float)
    return np.where(e >= 1e6, np.rint(e / 1e5) * 1e5,
                    np.where(e >= 1e5, np.rint(e / 5e3) * 5e3, np.rint(e / 1e3) * 1e3)).astype(np.int64)


def generate_chunk(chunk: int, start: int, rows: int, seed: int, n_clubs: int,
                   bad_value_fraction: float = 0.0, incomplete_fraction: float = 0.0026) -> pd.DataFrame:
    """Rows ``start .. start + rows - 1`` of the synthetic file as 89 text columns (None = empty field).

    Parameters
    ----------
    chunk:
        The chunk number, the second half of the random seed.
    start, rows:
        Global index of the first row (the unnamed index column) and the number of rows.
    seed:
        The data set's seed.
    n_clubs:
        How many clubs the whole data set has (about one per 28 players, as in the real file).
    bad_value_fraction:
        Share of rows given one unparseable value (for testing rejects); 0 for clean data.
    incomplete_fraction:
        Share of rows with only the identity fields filled, like the 48 such players in the real file.
    """
    rng = np.random.default_rng([seed, chunk])
    n = rows
    idx = np.arange(start, start + n, dtype=np.int64)
    player_id = 20001 + idx

    names_, weights, means = zip(*NATIONS)
    w = np.array(weights, dtype=float)
    nation_i = rng.choice(len(NATIONS), size=n, p=w / w.sum())
    nation = np.array(names_)[nation_i]
    pos_names = list(POSITIONS)
    pw = np.array(list(POSITIONS.values()))
    position = np.array(pos_names)[rng.choice(len(pos_names), size=n, p=pw / pw.sum())]
    group_i = np.vectorize(_POS_GROUP_INDEX.__getitem__, otypes=[np.int64])(position)

    age = np.clip(np.rint(rng.normal(25.1, 4.6, n)), 16, 45).astype(np.int64)
    club_id = rng.integers(0, n_clubs, n)
    club_effect = ((club_id * 2654435761) % 1000) / 1000.0 * 8.0 - 4.0
    base = 69.0 - 0.075 * np.maximum(0, 30 - age) ** 2 - 0.1 * np.maximum(0, age - 33) ** 2
    overall = np.clip(np.rint(rng.normal(base + (np.array(means)[nation_i] - 66.2) + 0.6 * club_effect, 5.2)), 46, 94)
    overall = overall.astype(np.int64)
    growth = 18.7 * (np.maximum(0, 29 - age) / 13.0) ** 1.4 * rng.uniform(0.6, 1.4, n)
    potential = np.minimum(95, overall + np.rint(growth)).astype(np.int64)
    potential = np.maximum(potential, overall)

    skills = np.clip(np.rint(overall[:, None] + _PROFILES[group_i] + rng.normal(0, 7, (n, len(schema.SKILL_TARGETS)))), 5, 97)
    skills = skills.astype(np.int64)
    special = skills[:, :29].sum(axis=1) + rng.integers(-40, 40, n)

    no_club = rng.random(n) < 0.013
    loaned = ~no_club & (rng.random(n) < 0.07)
    value = np.exp(13.8 + 0.19 * (overall - 66) + 0.04 * (potential - overall) + rng.normal(0, 0.25, n))
    value = np.where(no_club, 0, _money_round(value))
    wage = np.where(no_club, 0, np.maximum(1, np.rint(value / 1000 / 250 * rng.lognormal(0, 0.4, n))) * 1000).astype(np.int64)
    release = _money_round(value * rng.uniform(1.5, 2.1, n))
    rep = 1 + (overall >= 76).astype(int) + (overall >= 81) + (overall >= 86) + (overall >= 90)
    rep = np.clip(rep - (rng.random(n) < 0.3), 1, 5)

    height_in = np.rint((rng.normal(181.3, 6.5, n) + 6.0 * (group_i == 0)) / 2.54).astype(np.int64)
    height_in = np.clip(height_in, 61, 81)
    weight_kg = 0.85 * (height_in * 2.54 - 100) + 5 + rng.normal(0, 5, n)
    weight_lbs = np.rint(weight_kg / schema.POUND_KG).astype(np.int64)

    join_year = 2018 - np.minimum(rng.geometric(0.45, n) - 1, 20)
    join_month = rng.choice(12, size=n, p=np.array(JOIN_MONTH_WEIGHTS) / sum(JOIN_MONTH_WEIGHTS))
    join_day = np.where(rng.random(n) < 0.7, 1, rng.integers(1, 29, n))
    joined = np.char.add(np.char.add(np.char.add(np.array(MONTHS)[join_month], " "), join_day.astype(str)),
                         np.char.add(", ", join_year.astype(str)))
    contract = rng.choice(np.arange(2018, 2027), size=n, p=_norm([886, 4819, 4027, 4360, 1477, 1053, 23, 5, 2]))

    cols: dict[str, np.ndarray] = {}
    cols["ID"] = player_id.astype(str)
    cols["Name"] = _names(rng, n)
    cols["Age"] = age.astype(str)
    cols["Photo"] = np.char.add(np.char.add("https://cdn.sofifa.org/players/4/19/", cols["ID"]), ".png")
    cols["Nationality"] = nation
    cols["Flag"] = np.char.add(np.char.add("https://cdn.sofifa.org/flags/", (nation_i + 1).astype(str)), ".png")
    cols["Overall"] = overall.astype(str)
    cols["Potential"] = potential.astype(str)
    clubs = club_name(club_id)
    cols["Club"] = clubs
    cols["Club Logo"] = np.char.add(np.char.add("https://cdn.sofifa.org/teams/2/light/", (club_id + 1).astype(str)), ".png")
    cols["Value"] = format_money(value)
    cols["Wage"] = format_money(wage)
    cols["Special"] = special.astype(str)
    cols["Preferred Foot"] = np.where(rng.random(n) < 0.232, "Left", "Right")
    cols["International Reputation"] = rep.astype(str)
    cols["Weak Foot"] = (1 + rng.choice(5, size=n, p=_norm([158, 3761, 11349, 2662, 229]))).astype(str)
    moves = np.where(group_i == 0, 1, 2 + rng.choice(4, size=n, p=_norm([8565, 6600, 917, 51])))
    cols["Skill Moves"] = moves.astype(str)
    cols["Work Rate"] = np.array(list(WORK_RATES))[rng.choice(len(WORK_RATES), size=n, p=_norm(list(WORK_RATES.values())))]
    cols["Body Type"] = np.array(["Normal", "Lean", "Stocky"])[rng.choice(3, size=n, p=_norm([10595, 6417, 1140]))]
    cols["Real Face"] = np.where(rng.random(n) < 0.02 + 0.5 * (overall >= 80), "Yes", "No")
    cols["Position"] = position
    cols["Jersey Number"] = np.where(group_i == 0, rng.choice([1, 1, 12, 13, 25, 30], n), rng.integers(2, 100, n)).astype(str)
    cols["Joined"] = joined
    lender = club_name((club_id + 1 + rng.integers(0, n_clubs - 1 if n_clubs > 1 else 1, n)) % max(n_clubs, 1))
    cols["Loaned From"] = lender
    cols["Contract Valid Until"] = np.where(loaned, np.where(rng.random(n) < 0.9, "Jun 30, 2019", "Dec 31, 2018"),
                                            contract.astype(str))
    cols["Height"] = np.char.add(np.char.add((height_in // 12).astype(str), "'"), (height_in % 12).astype(str))
    cols["Weight"] = np.char.add(weight_lbs.astype(str), "lbs")
    bonus = rng.choice([0, 1, 2, 3], size=n, p=[0.05, 0.15, 0.6, 0.2])
    bonus_s = np.char.add("+", bonus.astype(str))
    for p in schema.POSITION_RATING_COLUMNS:
        offset = _AREA_OFFSET[group_i, _POS_GROUP_INDEX[p]]
        rating = np.clip(np.rint(overall + offset + rng.normal(0, 2, n)), 20, 95).astype(np.int64)
        cols[p] = np.char.add(rating.astype(str), bonus_s)
    for header, target in schema.SKILL_COLUMNS.items():
        cols[header] = skills[:, schema.SKILL_TARGETS.index(target)].astype(str)
    cols["Release Clause"] = format_money(release)

    frame = pd.DataFrame({c: cols[c].astype(object) for c in schema.KAGGLE_COLUMNS[1:]})
    frame.insert(0, schema.INDEX_COLUMN, idx.astype(str).astype(object))

    # Empty fields where the real file has them.
    _blank(frame, no_club, ["Club"])
    _blank(frame, no_club | loaned, ["Release Clause"])
    _blank(frame, loaned, ["Joined"])
    _blank(frame, ~loaned, ["Loaned From"])
    _blank(frame, rng.random(n) < 0.016, ["Contract Valid Until"])
    _blank(frame, group_i == 0, schema.POSITION_RATING_COLUMNS)
    incomplete = rng.random(n) < incomplete_fraction
    _blank(frame, incomplete, [c for c in schema.KAGGLE_COLUMNS if c not in _IDENTITY_KEPT])
    if bad_value_fraction > 0:
        _corrupt(frame, rng, bad_value_fraction)
    return frame


_IDENTITY_KEPT = {"", "ID", "Name", "Age", "Photo", "Nationality", "Flag", "Overall", "Potential", "Club", "Club Logo",
                  "Value", "Wage", "Special"}

#: (column, unparseable text) used by ``bad_value_fraction``; Overall is a key column, so that row is dropped.
CORRUPTIONS: list[tuple[str, str]] = [
    ("Value", "€1.2B"), ("Wage", "565 euro"), ("Height", "tall"), ("Weight", "75kg?"), ("Joined", "Feb 30, 2019"),
    ("Work Rate", "Medium/ Fast"), ("Position", "XX"), ("Crossing", "101"), ("Release Clause", "€-5M"),
    ("Overall", "N/A"),
]


def _corrupt(frame: pd.DataFrame, rng: np.random.Generator, fraction: float) -> None:
    rows = np.flatnonzero(rng.random(len(frame)) < fraction)
    which = rng.integers(0, len(CORRUPTIONS), len(rows))
    for r, k in zip(rows, which):
        col, text = CORRUPTIONS[k]
        frame.iat[r, frame.columns.get_loc(col)] = text


def _blank(frame: pd.DataFrame, mask: np.ndarray, columns: list[str]) -> None:
    if mask.any():
        frame.loc[mask, columns] = None


def _norm(weights: list[float]) -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    return w / w.sum()


def _names(rng: np.random.Generator, n: int) -> np.ndarray:
    """``A. Surname`` names; a few with an apostrophe or accented letters, as in the real file."""
    syl = np.array(_SYLLABLES)
    k = rng.integers(0, len(syl), (n, 3))
    surname = np.char.add(np.char.add(syl[k[:, 0]], syl[k[:, 1]]), np.where(rng.random(n) < 0.5, syl[k[:, 2]], ""))
    surname = np.char.capitalize(surname)
    accent = rng.random(n) < 0.05
    surname = np.where(accent, np.char.add(surname, np.array(_ACCENTED)[rng.integers(0, len(_ACCENTED), n)]), surname)
    apostrophe = rng.random(n) < 0.005
    surname = np.where(apostrophe, np.char.add("N'", surname), surname)
    initials = np.array(list("ABCDEFGHIJKLMNOPRSTVWY"))[rng.integers(0, 22, n)]
    return np.where(rng.random(n) < 0.1, surname, np.char.add(np.char.add(initials, ". "), surname))
