"""Small-table statistics: Wilson intervals, Welch tests from moments, chi-square with effect sizes.

Everything here works on counts and moments that Spark (or pandas) has already aggregated, so it
costs the same for a thousand plates as for a billion.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as st

Z95 = float(st.norm.ppf(0.975))


def wilson(k: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion ``k / n`` (95% by default).

    Better than the normal approximation near 0% and 100%, which defect rates of small groups
    often are. ``n == 0`` gives ``(nan, nan)``.
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Clamp so rounding never puts the estimate itself outside its interval (p = 1.0 exactly).
    return (max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


@dataclass(frozen=True)
class Welch:
    """Welch's unequal-variance t-test of two group means, with Cohen's d."""

    t: float
    df: float
    p: float
    cohen_d: float


def welch(n1: float, mean1: float, var1: float, n0: float, mean0: float, var0: float) -> Welch:
    """Welch's t-test of group 1 against group 0 from their sizes, means and sample variances.

    n, mean and variance per group are all the test needs, so Spark computes them in one
    aggregation and no rows reach the driver. Cohen's d uses the pooled standard deviation.
    """
    if n1 < 2 or n0 < 2:
        return Welch(math.nan, math.nan, math.nan, math.nan)
    se2 = var1 / n1 + var0 / n0
    pooled = ((n1 - 1) * var1 + (n0 - 1) * var0) / (n1 + n0 - 2)
    d = (mean1 - mean0) / math.sqrt(pooled) if pooled > 0 else math.nan
    if se2 <= 0:
        # Both groups constant: equal means mean no evidence, different means are certain.
        return Welch(math.nan, math.nan, 1.0 if mean1 == mean0 else 0.0, d)
    t = (mean1 - mean0) / math.sqrt(se2)
    df = se2 ** 2 / ((var1 / n1) ** 2 / (n1 - 1) + (var0 / n0) ** 2 / (n0 - 1)) if (var1 > 0 or var0 > 0) else math.inf
    p = float(2 * st.t.sf(abs(t), df))
    return Welch(float(t), float(df), p, float(d))


@dataclass(frozen=True)
class ChiSquare:
    """Pearson's chi-square test of independence with its effect size."""

    chi2: float
    dof: int
    p: float
    cramers_v: float
    sparse_fraction: float


def chi_square(table: np.ndarray) -> ChiSquare:
    """Chi-square test of independence of a contingency table (rows: levels, columns: good/defect).

    Rows or columns that are all zero are dropped first. The effect size is the bias-corrected
    Cramér's V (Bergsma 2013), which does not reward many sparse levels the way the plain V does;
    ``sparse_fraction`` is the share of cells with an expected count below 5 (the test is then
    approximate).
    """
    t = np.asarray(table, dtype=float)
    t = t[t.sum(axis=1) > 0][:, t.sum(axis=0) > 0] if t.size else t
    if t.ndim != 2 or t.shape[0] < 2 or t.shape[1] < 2:
        return ChiSquare(math.nan, 0, math.nan, math.nan, math.nan)
    chi2, p, dof, expected = st.chi2_contingency(t, correction=False)
    n = t.sum()
    r, k = t.shape
    phi2 = chi2 / n
    if n > 1:
        phi2c = max(0.0, phi2 - (k - 1) * (r - 1) / (n - 1))
        rc = r - (r - 1) ** 2 / (n - 1)
        kc = k - (k - 1) ** 2 / (n - 1)
        denom = min(kc - 1, rc - 1)
        v = math.sqrt(phi2c / denom) if denom > 0 else math.nan
    else:
        v = math.nan
    sparse = float((expected < 5).mean())
    return ChiSquare(float(chi2), int(dof), float(p), float(v), sparse)


def two_by_two(k1: float, n1: float, k0: float, n0: float) -> tuple[float, float]:
    """Risk ratio of group 1 against group 0 and the p-value of their difference.

    Fisher's exact test when an expected count is below 5, otherwise the chi-square test.
    The risk ratio is ``inf`` when group 0 has no defects and ``nan`` when neither has.
    """
    r1 = k1 / n1 if n1 else math.nan
    r0 = k0 / n0 if n0 else math.nan
    rr = r1 / r0 if r0 > 0 else (math.inf if r1 > 0 else math.nan)
    table = np.array([[k1, n1 - k1], [k0, n0 - k0]], dtype=float)
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        return rr, 1.0
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
    if (expected < 5).any():
        p = float(st.fisher_exact(table.astype(np.int64))[1])
    else:
        p = float(st.chi2_contingency(table, correction=False)[1])
    return rr, p


def holm(pvalues: list[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (nan stays nan), in the input order.

    Many columns are tested at once; adjusting keeps the chance of any false finding at alpha.
    """
    idx = [i for i, p in enumerate(pvalues) if p is not None and not math.isnan(p)]
    order = sorted(idx, key=lambda i: pvalues[i])
    m = len(order)
    out = [math.nan] * len(pvalues)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        out[i] = running
    return out


def format_p(p: float) -> str:
    """``p<0.001`` or ``p=0.023`` for plain-words findings."""
    if p is None or math.isnan(p):
        return "p n/a"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


@dataclass(frozen=True)
class Threshold:
    """The bin edge that best splits a numeric column into a high- and a low-risk side."""

    edge: float
    n_above: int
    k_above: int
    n_below: int
    k_below: int
    risk_ratio: float
    p: float

    @property
    def rate_above(self) -> float:
        """Defect rate at or above the edge."""
        return self.k_above / self.n_above if self.n_above else math.nan

    @property
    def rate_below(self) -> float:
        """Defect rate below the edge."""
        return self.k_below / self.n_below if self.n_below else math.nan


def best_threshold(edges: np.ndarray, n: np.ndarray, k: np.ndarray, min_group: int) -> Threshold | None:
    """The edge between consecutive bins that maximises the 2x2 chi-square of above vs below.

    ``edges[i]`` is the lower edge of bin ``i`` (sorted), ``n``/``k`` its plates and defects.
    Both sides must hold at least ``min_group`` plates; ``None`` when no edge qualifies.
    """
    order = np.argsort(edges)
    e, n, k = np.asarray(edges, float)[order], np.asarray(n, float)[order], np.asarray(k, float)[order]
    total_n, total_k = n.sum(), k.sum()
    best: tuple[float, int] | None = None
    cn, ck = np.cumsum(n), np.cumsum(k)
    for i in range(1, len(e)):
        nb, kb = cn[i - 1], ck[i - 1]
        na, ka = total_n - nb, total_k - kb
        if nb < min_group or na < min_group:
            continue
        table = np.array([[ka, na - ka], [kb, nb - kb]])
        if (table.sum(axis=0) == 0).any():
            continue
        expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / table.sum()
        chi2 = float(((table - expected) ** 2 / expected).sum())
        if best is None or chi2 > best[0]:
            best = (chi2, i)
    if best is None:
        return None
    i = best[1]
    nb, kb = int(cn[i - 1]), int(ck[i - 1])
    na, ka = int(total_n - nb), int(total_k - kb)
    rr, p = two_by_two(ka, na, kb, nb)
    return Threshold(float(e[i]), na, ka, nb, kb, rr, p)
