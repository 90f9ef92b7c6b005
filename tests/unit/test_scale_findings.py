"""Rate tables, tests, ranked findings and recommendations from aggregated counts."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from sparkfolio.scale import findings as FN
from sparkfolio.scale import stats as S


def _cats() -> pd.DataFrame:
    return pd.DataFrame([
        ("hsb", "0", 47, 47), ("hsb", "1", 947, 263),
        ("work_group", "1", 250, 80), ("work_group", "2", 250, 75), ("work_group", "3", 247, 78),
        ("work_group", "4", 247, 77),
        ("descaling_count", "10", 400, 80), ("descaling_count", "9", 30, 30), ("descaling_count", "8", 564, 200),
    ], columns=["column", "level", "n", "defects"])


def _moments() -> pd.DataFrame:
    return pd.DataFrame([
        ("rolling_temp", 0, 684, 918.3, 50.0 ** 2, 700, 1000), ("rolling_temp", 1, 310, 988.8, 45.0 ** 2, 800, 1100),
    ], columns=["column", "status", "n", "mean", "var", "min", "max"])


def _bins() -> pd.DataFrame:
    rows = []
    for lo, n, k in ((900, 300, 30), (925, 250, 30), (950, 251, 55), (975, 100, 22), (1000, 80, 80), (1025, 13, 13)):
        rows.append(("rolling_temp", float(lo), 25.0, n, k))
    rows.append(("descaling_count", 8.0, 1.0, 564, 200))
    return pd.DataFrame(rows, columns=["column", "bin_low", "width", "n", "defects"])


def test_category_rates_add_wilson_intervals_and_labels_in_natural_order():
    got = FN.category_rates(_cats())
    hsb = got[got["column"] == "hsb"]
    assert hsb["label"].tolist() == ["not applied", "applied"]
    assert hsb["rate"].tolist() == pytest.approx([1.0, 263 / 947])
    lo, hi = S.wilson(263, 947)
    assert (hsb["ci_low"].iloc[1], hsb["ci_high"].iloc[1]) == (pytest.approx(lo), pytest.approx(hi))
    assert got[got["column"] == "descaling_count"]["level"].tolist() == ["8", "9", "10"]
    assert got[got["column"] == "work_group"]["label"].tolist() == ["crew 1", "crew 2", "crew 3", "crew 4"]


def test_numeric_by_status_runs_welch_from_moments():
    got = FN.numeric_by_status(_moments())
    w = S.welch(310, 988.8, 45.0 ** 2, 684, 918.3, 50.0 ** 2)
    expected = pd.DataFrame([{
        "column": "rolling_temp", "n_good": 684, "mean_good": 918.3, "std_good": 50.0, "n_defect": 310,
        "mean_defect": 988.8, "std_defect": 45.0, "mean_diff": 988.8 - 918.3, "welch_t": w.t, "welch_df": w.df,
        "p_value": w.p, "cohen_d": w.cohen_d}])
    assert_frame_equal(got, expected, check_exact=False, rtol=1e-12)


def test_summary_ranks_findings_in_plain_words_and_derives_recommendations():
    s = FN.summarise(_cats(), _moments(), _bins(), alpha=0.05, min_group_size=20, min_effect=0.1,
                     max_recommendations=5)
    f = s.findings
    # descaling_count is analysed by its levels only (it is also in the numeric bins).
    assert sorted(f["column"]) == ["descaling_count", "hsb", "rolling_temp", "work_group"]
    assert f["rank"].tolist() == [1, 2, 3, 4]
    assert f["significant"].tolist()[:3] == [True, True, True]
    wg = f[f["column"] == "work_group"].iloc[0]
    assert not wg["significant"] and "not significant" in wg["text"]
    hsb = f[f["column"] == "hsb"].iloc[0]
    assert hsb["text"].startswith("defect rate with hot scale breaker (HSB) 'not applied' is 100.0% against 27.8% "
                                  "for 'applied' (47 vs 947 plates; risk ratio 3.6, p<0.001)")
    roll = f[f["column"] == "rolling_temp"].iloc[0]
    assert roll["edge"] == 1000.0 and roll["direction"] == "above"
    assert roll["text"].startswith("defect rate with rolling temperature (T5) at or above 1000 °C is 100.0% against "
                                   "15.2% below (93 vs 901 plates; risk ratio 6.6, p<0.001)")
    assert "defective plates average 988.8 °C against 918.3 °C" in roll["text"]
    # Ranked by bias-corrected Cramér's V among the significant findings.
    sig = f[f["significant"]]
    assert sig["cramers_v"].is_monotonic_decreasing
    recs = s.recommendations
    assert any(r.startswith("Keep the rolling temperature (T5) below 1000 °C: at or above 1000 °C, 100.0% of 93 "
                            "plates had scale defects against 15.2% of 901") for r in recs)
    assert any(r.startswith("For the hot scale breaker (HSB), make 'applied' the standard and avoid 'not applied'")
               for r in recs)
    assert not any("work crew" in r for r in recs)


def test_chi_square_table_has_holm_adjusted_p_values():
    s = FN.summarise(_cats(), _moments(), _bins())
    t = s.chi_square
    assert set(zip(t["column"], t["over"])) == {("hsb", "levels"), ("work_group", "levels"),
                                                ("descaling_count", "levels"), ("rolling_temp", "bins"),
                                                ("descaling_count", "bins")}
    assert t["p_adjusted"].tolist() == pytest.approx(S.holm(t["p_value"].tolist()), nan_ok=True)
    # descaling_count has a single bin: no test, so no p-value.


def test_duplicates_are_ranked_but_recommended_once():
    moments = pd.concat([_moments(), _moments().assign(column="fur_ex_temp")])
    bins = pd.concat([_bins(), _bins()[_bins()["column"] == "rolling_temp"].assign(column="fur_ex_temp")])
    s = FN.summarise(_cats(), moments, bins, duplicates={"fur_ex_temp": "rolling_temp"})
    assert s.findings[s.findings["column"] == "fur_ex_temp"]["duplicate_of"].iloc[0] == "rolling_temp"
    assert sum("furnace exit temperature" in r for r in s.recommendations) == 0
    assert sum("rolling temperature" in r for r in s.recommendations) == 1


def test_recommendations_for_product_and_below_thresholds():
    findings = [
        {"rank": 1, "column": "steel_kind", "kind": "categorical", "significant": True, "cramers_v": 0.3,
         "group": "C", "n_group": 753, "rate_group": 0.385, "n_rest": 241, "rate_rest": 0.083, "best_level": "T"},
        {"rank": 2, "column": "fur_soak_time", "kind": "numeric", "significant": True, "cramers_v": 0.2,
         "group": "< 60", "n_group": 300, "rate_group": 0.4, "n_rest": 694, "rate_rest": 0.27, "direction": "below",
         "edge": 60.0},
        {"rank": 3, "column": "hsb", "kind": "categorical", "significant": True, "cramers_v": 0.05,
         "group": "not applied", "n_group": 47, "rate_group": 1.0, "n_rest": 947, "rate_rest": 0.28,
         "best_level": "applied"},
    ]
    recs = FN.recommendations(findings, min_effect=0.1, limit=5)
    # Settings the mill controls come first, even when a product attribute ranks higher.
    assert recs[0].startswith("Keep the furnace soaking-zone time at or above 60 min: below 60 min, 40.0% of 300")
    assert recs[1].startswith("Watch steel kind 'C' closely: 38.5% of 753 plates had scale defects against 8.3% of "
                              "241 (finding #1). It is fixed by the order")
    assert len(recs) == 2  # hsb's effect is below min_effect


def test_empty_categories_give_no_finding():
    s = FN.summarise(pd.DataFrame([("hsb", "1", 10, 3)], columns=["column", "level", "n", "defects"]),
                     _moments().iloc[:0], _bins().iloc[:0])
    assert s.findings.empty and s.recommendations == []
    assert math.isnan(s.chi_square["p_value"].iloc[0])
