"""The seed observation, quantified: one nation's Overall distribution against others.

Works on the (nationality, overall, count) histogram Spark computed: means, medians, the share
rated 80+ and a Mann-Whitney U test per pair, and one sentence in plain words.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from sparkfolio.fifa.stats import histogram_summary, mann_whitney_from_histograms


def compare_nations(hist: pd.DataFrame, reference: str, others: list[str], high: int,
                    alpha: float = 0.05) -> dict[str, Any]:
    """Compare ``reference``'s Overall histogram with each nation in ``others``.

    Parameters
    ----------
    hist:
        Columns ``nationality``, ``overall``, ``count``.
    reference, others:
        Nation names as in the data (``England``, ``Spain``...).
    high:
        The rating counted as top class (80).
    alpha:
        Significance level used for the wording of the sentence.

    Returns
    -------
    dict
        ``reference`` (its summary), ``comparisons`` (one dict per other nation present),
        ``missing`` (nations without players) and ``sentence``.
    """
    groups = {n: g for n, g in hist.groupby("nationality")}
    missing = [n for n in [reference, *others] if n not in groups]
    out: dict[str, Any] = {"reference_nation": reference, "high_rating": high, "missing_nations": missing,
                           "comparisons": []}
    if reference not in groups:
        out["sentence"] = f"{reference} has no players in the data, so it cannot be compared."
        return out
    ref = groups[reference]
    ref_v, ref_c = ref["overall"].to_numpy(), ref["count"].to_numpy()
    out["reference"] = histogram_summary(ref_v, ref_c, high)
    for other in others:
        if other not in groups or other == reference:
            continue
        g = groups[other]
        v, c = g["overall"].to_numpy(), g["count"].to_numpy()
        summary = histogram_summary(v, c, high)
        test = mann_whitney_from_histograms(ref_v, ref_c, v, c)
        out["comparisons"].append({
            "nation": other,
            "players": summary["players"],
            "mean_overall": summary["mean"],
            "median_overall": summary["median"],
            "share_high": summary["share_high"],
            "mean_difference": out["reference"]["mean"] - summary["mean"],
            "mann_whitney_u": test["u"],
            "z": test["z"],
            "p_value": test["p_value"],
            "prob_reference_higher": test["prob_a_greater"],
            "significant": bool(test["p_value"] < alpha),
        })
    out["sentence"] = _sentence(reference, out["reference"], out["comparisons"], high, alpha)
    return out


def _sentence(reference: str, ref: dict[str, Any], comps: list[dict[str, Any]], high: int, alpha: float) -> str:
    if not comps:
        return f"None of the nations to compare with {reference} have players in the data."
    lower = [c for c in comps if c["significant"] and c["mean_difference"] < 0]
    higher = [c for c in comps if c["significant"] and c["mean_difference"] > 0]
    same = [c for c in comps if not c["significant"]]
    head = (f"{reference}'s {ref['players']:,} players average {ref['mean']:.1f} Overall (median {ref['median']:g}, "
            f"{100 * ref['share_high']:.1f}% rated {high}+)")
    parts = []
    if lower:
        names = ", ".join(f"{c['nation']} ({c['mean_overall']:.1f}, {100 * c['share_high']:.1f}% {high}+)" for c in lower)
        worst_p = max(c["p_value"] for c in lower)
        best = min(lower, key=lambda c: c["prob_reference_higher"])
        parts.append(f"significantly below {names} (Mann-Whitney U, every p <= {_fmt_p(worst_p)}; a random "
                     f"{reference} player out-rates a random {best['nation']} player only "
                     f"{100 * best['prob_reference_higher']:.0f}% of the time)")
    if higher:
        parts.append("significantly above " + ", ".join(f"{c['nation']} ({c['mean_overall']:.1f})" for c in higher))
    if same:
        parts.append(f"not significantly different (p >= {alpha:g}) from "
                     + ", ".join(f"{c['nation']} ({c['mean_overall']:.1f}, p = {_fmt_p(c['p_value'])})" for c in same))
    return head + ": " + "; ".join(parts) + "."


def _fmt_p(p: float) -> str:
    if p == 0.0:
        return "1e-300"
    if p < 1e-3:
        return f"{p:.1e}"
    return f"{p:.3f}"

