"""From aggregated counts and moments to rate tables, tests, ranked findings and recommendations.

Input tables (small, produced by Spark or by the pandas reference alike):

* ``cat_counts``: ``column, level, n, defects`` -- plates and defects per category level;
* ``moments``: ``column, status, n, mean, var`` -- per numeric column and defect status (0/1);
* ``bin_counts``: ``column, bin_low, width, n, defects`` -- plates and defects per numeric bin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sparkfolio.scale import schema
from sparkfolio.scale import stats as S


@dataclass
class Summary:
    """Everything the statistics step produced: tables for Parquet/plots and plain-words findings."""

    category_rates: pd.DataFrame
    numeric_by_status: pd.DataFrame
    binned_rates: pd.DataFrame
    chi_square: pd.DataFrame
    findings: pd.DataFrame
    recommendations: list[str]


def category_rates(cat_counts: pd.DataFrame) -> pd.DataFrame:
    """Defect rate and 95% Wilson interval of every level of every categorical column."""
    df = cat_counts.copy()
    df["n"] = df["n"].astype("int64")
    df["defects"] = df["defects"].astype("int64")
    df["rate"] = df["defects"] / df["n"]
    ci = [S.wilson(k, n) for k, n in zip(df["defects"], df["n"])]
    df["ci_low"] = [c[0] for c in ci]
    df["ci_high"] = [c[1] for c in ci]
    df["label"] = [schema.level_label(c, str(v)) for c, v in zip(df["column"], df["level"])]
    return df.sort_values(["column", "level"], key=_natural_key).reset_index(drop=True)[
        ["column", "level", "label", "n", "defects", "rate", "ci_low", "ci_high"]]


def numeric_by_status(moments: pd.DataFrame) -> pd.DataFrame:
    """Means and standard deviations of each numeric column for good (0) and defective (1) plates,
    with Welch's t-test of the difference and Cohen's d."""
    rows = []
    for column, g in moments.groupby("column", sort=True):
        by = {int(s): r for s, r in zip(g["status"], g.itertuples())}
        if 0 not in by or 1 not in by:
            continue
        good, bad = by[0], by[1]
        w = S.welch(bad.n, bad.mean, bad.var, good.n, good.mean, good.var)
        rows.append({
            "column": column, "n_good": int(good.n), "mean_good": float(good.mean),
            "std_good": math.sqrt(max(float(good.var), 0.0)), "n_defect": int(bad.n),
            "mean_defect": float(bad.mean), "std_defect": math.sqrt(max(float(bad.var), 0.0)),
            "mean_diff": float(bad.mean - good.mean), "welch_t": w.t, "welch_df": w.df,
            "p_value": w.p, "cohen_d": w.cohen_d,
        })
    return pd.DataFrame(rows, columns=["column", "n_good", "mean_good", "std_good", "n_defect", "mean_defect",
                                       "std_defect", "mean_diff", "welch_t", "welch_df", "p_value", "cohen_d"])


def binned_rates(bin_counts: pd.DataFrame) -> pd.DataFrame:
    """Defect rate and Wilson interval per fixed-width bin ``[bin_low, bin_low + width)``."""
    df = bin_counts.copy()
    df["n"] = df["n"].astype("int64")
    df["defects"] = df["defects"].astype("int64")
    df["bin_high"] = df["bin_low"] + df["width"]
    df["rate"] = df["defects"] / df["n"]
    ci = [S.wilson(k, n) for k, n in zip(df["defects"], df["n"])]
    df["ci_low"] = [c[0] for c in ci]
    df["ci_high"] = [c[1] for c in ci]
    return df.sort_values(["column", "bin_low"]).reset_index(drop=True)[
        ["column", "bin_low", "bin_high", "n", "defects", "rate", "ci_low", "ci_high"]]


def chi_square_tests(cats: pd.DataFrame, bins: pd.DataFrame) -> pd.DataFrame:
    """Chi-square test of each categorical column (over its levels) and numeric column (over its
    bins) against defect status, with Holm-adjusted p-values and bias-corrected Cramér's V."""
    rows = []
    for source, table, key in (("levels", cats, "level"), ("bins", bins, "bin_low")):
        for column, g in table.groupby("column", sort=True):
            counts = np.column_stack([g["n"] - g["defects"], g["defects"]])
            c = S.chi_square(counts)
            rows.append({"column": column, "over": source, "groups": int(len(g)), "chi2": c.chi2, "dof": c.dof,
                         "p_value": c.p, "cramers_v": c.cramers_v, "sparse_fraction": c.sparse_fraction})
    df = pd.DataFrame(rows, columns=["column", "over", "groups", "chi2", "dof", "p_value", "cramers_v",
                                     "sparse_fraction"])
    df["p_adjusted"] = S.holm(df["p_value"].tolist()) if len(df) else []
    return df


def summarise(
    cat_counts: pd.DataFrame,
    moments: pd.DataFrame,
    bin_counts: pd.DataFrame,
    alpha: float = 0.05,
    min_group_size: int = 20,
    min_effect: float = 0.1,
    max_recommendations: int = 6,
    duplicates: dict[str, str] | None = None,
) -> Summary:
    """All statistics of the causes analysis from the aggregated tables.

    Parameters
    ----------
    alpha:
        Significance level applied to Holm-adjusted p-values.
    min_group_size:
        Smallest level (or side of a threshold) a finding may single out; smaller ones are noise.
    min_effect:
        Smallest Cramér's V for a significant finding to become a recommendation.
    duplicates:
        ``column -> column it duplicates`` (e.g. furnace exit = soaking temperature): ranked, but
        never recommended twice.
    """
    duplicates = duplicates or {}
    cats = category_rates(cat_counts)
    nums = numeric_by_status(moments)
    bins = binned_rates(bin_counts)
    tests = chi_square_tests(cats, bins)
    cat_columns = set(cats["column"])
    findings: list[dict[str, Any]] = []
    for t in tests.itertuples():
        if t.over == "levels":
            f = _category_finding(t.column, cats[cats["column"] == t.column], min_group_size)
        elif t.column in cat_columns:
            continue  # a discrete count analysed by its levels already (descaling_count)
        else:
            f = _numeric_finding(t.column, bins[bins["column"] == t.column], nums, min_group_size)
        if f is None:
            continue
        significant = bool(not math.isnan(t.p_adjusted) and t.p_adjusted < alpha)
        f.update({"column": t.column, "over": t.over, "cramers_v": t.cramers_v, "p_value": t.p_value,
                  "p_adjusted": t.p_adjusted, "significant": significant,
                  "duplicate_of": duplicates.get(t.column)})
        if not significant:
            f["text"] += f" - not significant after adjusting for {len(tests)} tests ({S.format_p(t.p_adjusted)})"
        findings.append(f)
    findings.sort(key=lambda f: (not f["significant"], -(0.0 if math.isnan(f["cramers_v"]) else f["cramers_v"]),
                                 f["duplicate_of"] is not None, f["column"]))
    for i, f in enumerate(findings, start=1):
        f["rank"] = i
    cols = ["rank", "column", "kind", "over", "significant", "cramers_v", "p_value", "p_adjusted", "group", "n_group",
            "rate_group", "rest", "n_rest", "rate_rest", "risk_ratio", "p_contrast", "direction", "edge",
            "duplicate_of", "text"]
    fdf = pd.DataFrame(findings, columns=cols)
    recs = recommendations(findings, min_effect, max_recommendations)
    return Summary(cats, nums, bins, tests, fdf, recs)


def _category_finding(column: str, levels: pd.DataFrame, min_group: int) -> dict[str, Any] | None:
    """The level with the highest defect rate (among levels of at least ``min_group`` plates) vs the rest."""
    big = levels[levels["n"] >= min_group]
    if len(levels) < 2 or big.empty:
        return None
    worst = big.sort_values(["rate", "n"], ascending=[False, False]).iloc[0]
    rest = levels[levels["level"] != worst["level"]]
    n_rest, k_rest = int(rest["n"].sum()), int(rest["defects"].sum())
    if n_rest == 0:
        return None
    rr, p = S.two_by_two(int(worst["defects"]), int(worst["n"]), k_rest, n_rest)
    rest_name = f"'{rest.iloc[0]['label']}'" if len(rest) == 1 else "all other plates"
    best = big[big["level"] != worst["level"]].sort_values(["rate", "n"], ascending=[True, False])
    desc = schema.describe(column)
    text = (f"defect rate with {desc} '{worst['label']}' is {worst['rate']:.1%} against {k_rest / n_rest:.1%} "
            f"for {rest_name} ({int(worst['n'])} vs {n_rest} plates; {_rr_text(rr)}, {S.format_p(p)})")
    return {"kind": "categorical", "group": str(worst["label"]), "n_group": int(worst["n"]),
            "rate_group": float(worst["rate"]), "rest": rest_name.strip("'"), "n_rest": n_rest,
            "rate_rest": k_rest / n_rest, "risk_ratio": rr, "p_contrast": p, "direction": "level",
            "edge": math.nan, "best_level": str(best.iloc[0]["label"]) if len(best) else None, "text": text}


def _numeric_finding(column: str, bins: pd.DataFrame, nums: pd.DataFrame, min_group: int) -> dict[str, Any] | None:
    """The bin edge that best separates high and low defect rates, with the Welch comparison of means."""
    th = S.best_threshold(bins["bin_low"].to_numpy(), bins["n"].to_numpy(), bins["defects"].to_numpy(), min_group)
    if th is None:
        return None
    u = schema.unit(column)
    us = f" {u}" if u else ""
    desc = schema.describe(column)
    above_worse = th.rate_above >= th.rate_below
    if above_worse:
        text = (f"defect rate with {desc} at or above {th.edge:g}{us} is {th.rate_above:.1%} against "
                f"{th.rate_below:.1%} below ({th.n_above} vs {th.n_below} plates; {_rr_text(th.risk_ratio)}, "
                f"{S.format_p(th.p)})")
        group, n_g, r_g, n_r, r_r = f">= {th.edge:g}", th.n_above, th.rate_above, th.n_below, th.rate_below
        rr, rest = th.risk_ratio, f"< {th.edge:g}"
    else:
        rr, _ = S.two_by_two(th.k_below, th.n_below, th.k_above, th.n_above)
        text = (f"defect rate with {desc} below {th.edge:g}{us} is {th.rate_below:.1%} against "
                f"{th.rate_above:.1%} at or above ({th.n_below} vs {th.n_above} plates; {_rr_text(rr)}, "
                f"{S.format_p(th.p)})")
        group, n_g, r_g, n_r, r_r = f"< {th.edge:g}", th.n_below, th.rate_below, th.n_above, th.rate_above
        rest = f">= {th.edge:g}"
    m = nums[nums["column"] == column]
    if len(m):
        r = m.iloc[0]
        text += (f"; defective plates average {r['mean_defect']:.1f}{us} against {r['mean_good']:.1f}{us} "
                 f"(Welch t={r['welch_t']:.1f}, {S.format_p(r['p_value'])}, d={r['cohen_d']:.2f})")
    return {"kind": "numeric", "group": group, "n_group": int(n_g), "rate_group": float(r_g), "rest": rest,
            "n_rest": int(n_r), "rate_rest": float(r_r), "risk_ratio": rr, "p_contrast": th.p,
            "direction": "above" if above_worse else "below", "edge": th.edge, "best_level": None, "text": text}


def _rr_text(rr: float) -> str:
    if rr is None or (isinstance(rr, float) and math.isnan(rr)):
        return "risk ratio n/a"
    if math.isinf(rr):
        return "no defects in the comparison group"
    return f"risk ratio {rr:.1f}"


def recommendations(findings: list[dict[str, Any]], min_effect: float, limit: int) -> list[str]:
    """Process changes derived from the significant findings, strongest first.

    Process settings become a target (a level to standardise on, a limit to keep below or above)
    and come first; product attributes become plates to watch; work crews become a practice review.
    """
    out: list[str] = []
    seen: set[str] = set()
    # Settings the mill controls come first; products to watch and crews fill the remaining places.
    ordered = sorted(findings, key=lambda f: (schema.column_kind(f["column"]) != "process", f["rank"]))
    for f in ordered:
        if len(out) >= limit:
            break
        v = f["cramers_v"]
        if not f["significant"] or math.isnan(v) or v < min_effect:
            continue
        column = f["column"]
        if f.get("duplicate_of") or column in seen:
            continue  # a copy of another column: its original carries the recommendation
        seen.add(column)
        desc = schema.describe(column)
        u = schema.unit(column)
        us = f" {u}" if u else ""
        kind = schema.column_kind(column)
        evidence = (f"{f['rate_group']:.1%} of {f['n_group']} plates had scale defects against "
                    f"{f['rate_rest']:.1%} of {f['n_rest']} (finding #{f['rank']})")
        if f["kind"] == "numeric":
            edge = f"{f['edge']:g}{us}"
            where = f"at or above {edge}" if f["direction"] == "above" else f"below {edge}"
            if kind == "process":
                target = f"below {edge}" if f["direction"] == "above" else f"at or above {edge}"
                out.append(f"Keep the {desc} {target}: {where}, {evidence}.")
            else:
                out.append(f"Watch plates with {desc} {where} closely: {evidence}. It is fixed by the order, "
                           f"so hold the process settings above tightly for these plates.")
        else:
            level = f["group"]
            if kind == "process":
                best = f.get("best_level")
                target = f"make '{best}' the standard and avoid '{level}'" if best else f"avoid '{level}'"
                out.append(f"For the {desc}, {target}: with '{level}', {evidence}.")
            elif kind == "organisation":
                out.append(f"Review the working practice of {desc} '{level}' against the others: {evidence}.")
            else:
                out.append(f"Watch {desc} '{level}' closely: {evidence}. It is fixed by the order, so hold the "
                           f"process settings above tightly for these plates.")
    return out


def _natural_key(s: pd.Series) -> pd.Series:
    """Sort numbers as numbers (``2`` before ``10``) and text as text."""
    if s.name == "level":
        return s.map(lambda v: (0, float(v), "") if _is_number(v) else (1, 0.0, str(v)))
    return s


def _is_number(v: Any) -> bool:
    try:
        float(v)
        return True
    except (TypeError, ValueError):
        return False
