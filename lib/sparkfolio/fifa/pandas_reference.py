"""The fifa-report aggregations in one pandas process: the baseline of ``scripts/bench_tabular.py``.

Same cleaning rules (the regular expressions of :mod:`sparkfolio.fifa.schema`) and the same
aggregations and nation comparison as the Spark job, written the way a careful pandas user would:
only the needed columns are read, low-cardinality text is read as ``category`` and parsed once
per distinct value. It writes nothing; it returns the results so they can be checked against
the Spark job's tables.
"""

from __future__ import annotations

import glob
import os
from typing import Any

import numpy as np
import pandas as pd

from sparkfolio.fifa import schema
from sparkfolio.fifa.compare import compare_nations
from sparkfolio.fifa.report_job import ReportConfig

_CATEGORY = ["Nationality", "Club", "Value", "Wage", "Release Clause", "Preferred Foot", "Position", "Height", "Weight"]
_NUMERIC = ["ID", "Age", "Overall", "Potential", *schema.SKILL_COLUMNS]


def input_files(input_path: str) -> list[str]:
    """The CSV files at a path: a file, a folder (its visible files, recursively) or a glob."""
    if os.path.isdir(input_path):
        found = [os.path.join(d, f) for d, _, fs in os.walk(input_path) for f in fs
                 if not f.startswith((".", "_")) and not os.path.basename(d).startswith((".", "_"))]
    else:
        found = glob.glob(input_path)
    files = sorted(f for f in found if os.path.isfile(f) and os.path.getsize(f) > 0)
    if not files:
        raise FileNotFoundError(f"no non-empty input files at {input_path}")
    return files


def _read(files: list[str]) -> pd.DataFrame:
    usecols = ["Name", *_CATEGORY, *_NUMERIC]
    frames = []
    for f in files:
        kwargs: dict[str, Any] = dict(encoding="utf-8-sig", usecols=usecols, keep_default_na=False, na_values=[""])
        try:
            frames.append(pd.read_csv(f, dtype={**{c: "category" for c in _CATEGORY}, **{c: "float64" for c in _NUMERIC},
                                                "Name": object}, **kwargs))
        except ValueError:
            # A non-numeric value in a numeric column: read as text and let the parser null it.
            frame = pd.read_csv(f, dtype={**{c: "category" for c in _CATEGORY}, **{c: object for c in _NUMERIC},
                                          "Name": object}, **kwargs)
            for c in _NUMERIC:
                frame[c] = pd.to_numeric(frame[c], errors="coerce")
            frames.append(frame)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _per_category(series: pd.Series, parse: Any) -> pd.Series:
    """Apply ``parse`` (text Series -> value Series) once per distinct value of a categorical column."""
    cats = series.astype("category")
    values = parse(pd.Series(cats.cat.categories.astype(str)).str.strip()).to_numpy(dtype=float)
    codes = cats.cat.codes.to_numpy()
    out = np.where(codes >= 0, values[np.clip(codes, 0, None)] if len(values) else np.nan, np.nan)
    return pd.Series(out, index=series.index)


def _money(text: pd.Series) -> pd.Series:
    parts = text.str.extract(schema.MONEY_RE)
    mult = parts[1].str.upper().map(schema.MONEY_UNITS).fillna(1.0)
    return np.round(parts[0].astype(float) * mult)


def _height(text: pd.Series) -> pd.Series:
    parts = text.str.extract(schema.HEIGHT_RE).astype(float)
    cm = ((parts[0] * 12 + parts[1]) * schema.INCH_CM).round(1)
    return cm.where(cm.between(*schema.HEIGHT_CM_RANGE))


def _weight(text: pd.Series) -> pd.Series:
    kg = (text.str.extract(schema.WEIGHT_RE)[0].astype(float) * schema.POUND_KG).round(1)
    return kg.where(kg.between(*schema.WEIGHT_KG_RANGE))


def _in_range(s: pd.Series, lo: float, hi: float) -> pd.Series:
    whole = s.where(np.isclose(s, np.round(s)))
    return whole.where(whole.between(lo, hi))


def clean(raw: pd.DataFrame) -> pd.DataFrame:
    """The cleaned columns the aggregations use; rows with a bad or missing key value are dropped."""
    df = pd.DataFrame(index=raw.index)
    df["player_id"] = raw["ID"].where(raw["ID"] >= 0)
    df["name"] = raw["Name"].str.strip()
    df["age"] = _in_range(raw["Age"], *schema.AGE_RANGE)
    df["overall"] = _in_range(raw["Overall"], *schema.RATING_RANGE)
    df["potential"] = _in_range(raw["Potential"], *schema.RATING_RANGE)
    df["nationality"] = raw["Nationality"].astype(object).str.strip()
    df["club"] = raw["Club"].astype(object).str.strip()
    df["value_eur"] = _per_category(raw["Value"], _money)
    df["wage_eur"] = _per_category(raw["Wage"], _money)
    df["preferred_foot"] = raw["Preferred Foot"].astype(object).str.strip().str.capitalize()
    df.loc[~df["preferred_foot"].isin(["Left", "Right"]), "preferred_foot"] = None
    position = raw["Position"].astype(object).str.strip().str.upper()
    df["position_group"] = position.map(schema.POSITION_GROUPS)
    df["height_cm"] = _per_category(raw["Height"], _height)
    df["weight_kg"] = _per_category(raw["Weight"], _weight)
    for header, target in schema.SKILL_COLUMNS.items():
        df[target] = _in_range(raw[header], *schema.RATING_RANGE)
    keys = ["player_id", "name", "age", "overall", "potential", "nationality"]
    ok = df[keys].notna().all(axis=1) & (df["name"] != "") & (df["nationality"] != "")
    return df[ok].reset_index(drop=True)


def run_pandas(input_path: str, cfg: ReportConfig | None = None) -> dict[str, Any]:
    """Read, clean and aggregate the FIFA CSV(s) at ``input_path`` with pandas in this process.

    Returns
    -------
    dict
        ``rows_read``, ``players`` and the aggregates as DataFrames (``by_nation``, ``by_club``,
        ``by_position_group``, ``by_age``, ``potential_gaps``, ``value_by_overall``,
        ``preferred_foot``, ``overall_hist``, ``nation_overall_hist``), ``skill_correlation``
        (DataFrame), the players it leaves out (``skill_correlation_excluded``), the players valued
        €0 or without a value, and ``comparison`` (dict, as in metrics.json).
    """
    cfg = cfg or ReportConfig()
    raw = _read(input_files(input_path))
    df = clean(raw)
    high = cfg.high_rating
    by_nation = (df.groupby("nationality")["overall"]
                 .agg(players="size", mean_overall="mean", median_overall="median",
                      p90_overall=lambda s: s.quantile(0.9), max_overall="max",
                      share_high=lambda s: (s >= high).mean())
                 .reset_index())
    by_nation = (by_nation[by_nation["players"] >= cfg.min_nation_players]
                 .sort_values(["mean_overall", "nationality"], ascending=[False, True]).reset_index(drop=True))
    by_club = (df.dropna(subset=["club"]).groupby("club")
               .agg(players=("overall", "size"), mean_overall=("overall", "mean"),
                    squad_value_eur=("value_eur", "sum"), wage_bill_eur=("wage_eur", "sum"), mean_age=("age", "mean"))
               .reset_index().sort_values(["squad_value_eur", "club"], ascending=[False, True]).reset_index(drop=True))
    by_group = (df.dropna(subset=["position_group"]).groupby("position_group")
                .agg(players=("overall", "size"), mean_overall=("overall", "mean"), median_overall=("overall", "median"),
                     mean_value_eur=("value_eur", "mean"), mean_wage_eur=("wage_eur", "mean"),
                     mean_height_cm=("height_cm", "mean"), mean_weight_kg=("weight_kg", "mean"))
                .reindex(schema.POSITION_GROUP_ORDER).dropna(subset=["players"]).reset_index())
    by_age = (df.groupby("age")
              .agg(players=("overall", "size"), mean_overall=("overall", "mean"), median_overall=("overall", "median"),
                   mean_potential=("potential", "mean"))
              .reset_index())
    by_age["mean_gap"] = (df["potential"] - df["overall"]).groupby(df["age"]).mean().to_numpy()
    young = df[df["age"] <= cfg.young_max_age].assign(gap=lambda d: d["potential"] - d["overall"])
    gaps = (young.sort_values(["gap", "potential", "player_id"], ascending=[False, False, True])
            .head(cfg.top_gaps)[["player_id", "name", "age", "nationality", "club", "overall", "potential", "gap"]]
            .reset_index(drop=True))
    valued = df.dropna(subset=["value_eur"])
    value_by_overall = (valued.groupby("overall")
                        .agg(players=("value_eur", "size"), mean_value_eur=("value_eur", "mean"),
                             median_value_eur=("value_eur", "median"), max_value_eur=("value_eur", "max"),
                             mean_wage_eur=("wage_eur", "mean"))
                        .reset_index())
    feet = df.dropna(subset=["preferred_foot"])
    foot = pd.concat([
        feet.groupby(["position_group", "preferred_foot"]).size().rename("players").reset_index(),
        feet.groupby("preferred_foot").size().rename("players").reset_index().assign(position_group="ALL"),
    ], ignore_index=True)
    foot["share"] = foot["players"] / foot.groupby("position_group")["players"].transform("sum")
    foot = foot.sort_values(["position_group", "preferred_foot"]).reset_index(drop=True)
    overall_hist = df.groupby("overall").size().rename("count").reset_index()
    nation_hist = df.groupby(["nationality", "overall"]).size().rename("count").reset_index()
    complete = df[schema.SKILL_TARGETS].dropna()
    skill_corr = complete.corr(method="pearson")
    return {
        "rows_read": int(len(raw)),
        "players": int(len(df)),
        "by_nation": by_nation,
        "by_club": by_club,
        "by_position_group": by_group,
        "by_age": by_age,
        "potential_gaps": gaps,
        "value_by_overall": value_by_overall,
        "value_vs_overall_pearson": float(valued["overall"].corr(valued["value_eur"])),
        "preferred_foot": foot,
        "overall_hist": overall_hist,
        "nation_overall_hist": nation_hist,
        "skill_correlation": skill_corr,
        "skill_correlation_players": int(len(complete)),
        "skill_correlation_excluded": int(len(df) - len(complete)),
        "value_zero_players": int((df["value_eur"] == 0).sum()),
        "value_missing_players": int(df["value_eur"].isna().sum()),
        "comparison": compare_nations(nation_hist, cfg.reference_nation, cfg.compare_nations, high),
    }
