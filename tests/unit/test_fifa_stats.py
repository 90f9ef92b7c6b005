"""Histogram statistics of the FIFA report against numpy and scipy on the expanded samples."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from sparkfolio.fifa.compare import compare_nations
from sparkfolio.fifa.stats import box_stats, histogram_quantile, histogram_summary, mann_whitney_from_histograms


def _hist(sample: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    v, c = np.unique(sample, return_counts=True)
    return v, c


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_mann_whitney_matches_scipy_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    a = np.clip(np.rint(rng.normal(63, 7, 400)), 46, 94)
    b = np.clip(np.rint(rng.normal(66 + seed, 6, 250)), 46, 94)
    got = mann_whitney_from_histograms(*_hist(a), *_hist(b))
    want = sps.mannwhitneyu(a, b, alternative="two-sided", method="asymptotic", use_continuity=True)
    assert got["u"] == pytest.approx(want.statistic, abs=1e-9)
    assert got["p_value"] == pytest.approx(want.pvalue, rel=1e-9, abs=1e-300)
    assert (got["n_a"], got["n_b"]) == (400, 250)
    assert got["prob_a_greater"] == pytest.approx(want.statistic / (400 * 250))


def test_mann_whitney_identical_samples_is_not_significant() -> None:
    v, c = np.array([60, 61, 62]), np.array([5, 10, 5])
    got = mann_whitney_from_histograms(v, c, v, c)
    assert got["u"] == 200.0
    assert got["p_value"] == 1.0
    assert got["prob_a_greater"] == 0.5


@pytest.mark.parametrize("q", [0.0, 0.1, 0.25, 0.5, 0.9, 1.0])
def test_histogram_quantile_equals_numpy(q: float) -> None:
    sample = np.array([50, 50, 51, 55, 55, 55, 60, 61, 70, 94])
    assert histogram_quantile(*_hist(sample), q) == pytest.approx(np.quantile(sample, q))


def test_histogram_summary_and_box_stats() -> None:
    sample = np.array([40] + [60] * 10 + [61] * 10 + [62] * 10 + [90])
    summary = histogram_summary(*_hist(sample), high=80)
    assert summary == {"players": 32, "mean": pytest.approx(sample.mean()), "median": 61.0, "q1": 60.0, "q3": 62.0,
                       "min": 40.0, "max": 90.0, "share_high": pytest.approx(1 / 32)}
    box = box_stats(*_hist(sample), label="X")
    assert (box["q1"], box["med"], box["q3"], box["whislo"], box["whishi"]) == (60.0, 61.0, 62.0, 60.0, 62.0)
    assert box["fliers"] == [40.0, 90.0]


def test_compare_nations_sentence_and_missing() -> None:
    rows = [("England", 60, 50), ("England", 70, 10), ("Spain", 70, 40), ("Spain", 80, 20), ("France", 60, 50),
            ("France", 70, 10)]
    hist = pd.DataFrame(rows, columns=["nationality", "overall", "count"])
    out = compare_nations(hist, "England", ["Spain", "France", "Brazil"], high=80)
    assert out["missing_nations"] == ["Brazil"]
    by = {c["nation"]: c for c in out["comparisons"]}
    assert by["Spain"]["significant"] and by["Spain"]["mean_difference"] == pytest.approx(61 + 2 / 3 - (73 + 1 / 3))
    assert by["Spain"]["share_high"] == pytest.approx(1 / 3)
    assert not by["France"]["significant"] and by["France"]["p_value"] == 1.0
    assert out["sentence"].startswith("England's 60 players average 61.7 Overall (median 60, 0.0% rated 80+): "
                                      "significantly below Spain (73.3, 33.3% 80+)")
    assert "not significantly different (p >= 0.05) from France (61.7, p = 1.000)" in out["sentence"]
