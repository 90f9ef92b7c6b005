"""Small-table statistics of the scale-defect analysis against scipy/statsmodels references."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as st
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import proportion_confint

from sparkfolio.scale import stats as S


@pytest.mark.parametrize("k,n", [(0, 10), (3, 10), (10, 10), (310, 994), (1, 1000)])
def test_wilson_matches_statsmodels(k, n):
    lo, hi = S.wilson(k, n)
    ref = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert lo == pytest.approx(ref[0], abs=1e-12)
    assert hi == pytest.approx(ref[1], abs=1e-12)


def test_wilson_of_nothing_is_nan():
    assert all(math.isnan(v) for v in S.wilson(0, 0))


def test_welch_from_moments_equals_scipy_on_the_rows():
    rng = np.random.default_rng(3)
    a = rng.normal(1160, 12, 300)
    b = rng.normal(1147, 18, 700)
    w = S.welch(len(a), a.mean(), a.var(ddof=1), len(b), b.mean(), b.var(ddof=1))
    ref = st.ttest_ind(a, b, equal_var=False)
    assert w.t == pytest.approx(ref.statistic, rel=1e-10)
    assert w.p == pytest.approx(ref.pvalue, rel=1e-8)
    pooled = math.sqrt(((len(a) - 1) * a.var(ddof=1) + (len(b) - 1) * b.var(ddof=1)) / (len(a) + len(b) - 2))
    assert w.cohen_d == pytest.approx((a.mean() - b.mean()) / pooled, rel=1e-12)


def test_welch_with_constant_groups():
    assert S.welch(5, 2.0, 0.0, 5, 2.0, 0.0).p == 1.0
    assert S.welch(5, 3.0, 0.0, 5, 2.0, 0.0).p == 0.0
    assert math.isnan(S.welch(1, 3.0, 0.0, 5, 2.0, 1.0).p)


def test_chi_square_matches_scipy_and_corrects_cramers_v():
    table = np.array([[690 - 643, 47], [643, 304 - 47]])  # made-up 2x2
    c = S.chi_square(table)
    chi2, p, dof, _ = st.chi2_contingency(table, correction=False)
    assert (c.chi2, c.p, c.dof) == (pytest.approx(chi2), pytest.approx(p), dof)
    n = table.sum()
    phi2 = chi2 / n
    # Bergsma's correction for a 2x2 table.
    phi2c = max(0.0, phi2 - 1 / (n - 1))
    kc = 2 - 1 / (n - 1)
    assert c.cramers_v == pytest.approx(math.sqrt(phi2c / (kc - 1)))
    assert c.sparse_fraction == 0.0


def test_chi_square_drops_empty_rows_and_needs_two_by_two():
    assert S.chi_square(np.array([[5, 5], [0, 0], [3, 9]])).dof == 1
    assert math.isnan(S.chi_square(np.array([[5, 5]])).p)


def test_two_by_two_uses_fisher_for_small_counts():
    rr, p = S.two_by_two(6, 6, 300, 988)
    assert rr == pytest.approx(1.0 / (300 / 988))
    assert p == pytest.approx(st.fisher_exact([[6, 0], [300, 688]])[1])
    rr, p = S.two_by_two(47, 47, 0, 100)
    assert math.isinf(rr)


def test_holm_matches_statsmodels_and_keeps_nan():
    p = [0.01, 0.04, 0.03, float("nan"), 0.5]
    got = S.holm(p)
    ref = multipletests([0.01, 0.04, 0.03, 0.5], method="holm")[1]
    assert [got[0], got[1], got[2], got[4]] == pytest.approx(list(ref))
    assert math.isnan(got[3])


def test_best_threshold_finds_the_step():
    edges = np.arange(900, 1100, 25.0)          # 900, 925, ..., 1075
    n = np.full(len(edges), 100)
    k = np.where(edges >= 1000, 100, 10)
    th = S.best_threshold(edges, n, k, min_group=20)
    assert th.edge == 1000.0
    assert (th.n_above, th.k_above, th.n_below, th.k_below) == (400, 400, 400, 40)
    assert th.rate_above == 1.0 and th.rate_below == 0.1
    assert th.risk_ratio == pytest.approx(10.0)


def test_best_threshold_respects_min_group():
    th = S.best_threshold(np.array([0.0, 1.0, 2.0]), np.array([5, 100, 100]), np.array([5, 10, 10]), min_group=50)
    assert th.edge == 2.0 or th.edge == 1.0
    assert min(th.n_above, th.n_below) >= 50
    assert S.best_threshold(np.array([0.0, 1.0]), np.array([5, 5]), np.array([1, 2]), min_group=50) is None


def test_format_p():
    assert S.format_p(0.0001) == "p<0.001"
    assert S.format_p(0.0234) == "p=0.023"
    assert S.format_p(float("nan")) == "p n/a"
