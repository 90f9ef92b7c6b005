"""Statistics computed exactly from small value histograms (numpy only, no Spark).

Overall is an integer 0-100, so a nation's ratings are fully described by at most 101 counts,
however many players it has. Spark counts players per (nation, rating); everything here works on
those counts: the same answer as on the raw values, at a cost independent of the data size.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def histogram_summary(values: np.ndarray, counts: np.ndarray, high: int) -> dict[str, float | int]:
    """Players, mean, median, quartiles, min/max and share >= ``high`` of a value histogram.

    Quantiles use linear interpolation between order statistics (numpy's and pandas' default).
    """
    values, counts = _sorted(values, counts)
    n = int(counts.sum())
    if n == 0:
        return {"players": 0}
    return {
        "players": n,
        "mean": float((values * counts).sum() / n),
        "median": histogram_quantile(values, counts, 0.5),
        "q1": histogram_quantile(values, counts, 0.25),
        "q3": histogram_quantile(values, counts, 0.75),
        "min": float(values[counts > 0].min()),
        "max": float(values[counts > 0].max()),
        "share_high": float(counts[values >= high].sum() / n),
    }


def histogram_quantile(values: np.ndarray, counts: np.ndarray, q: float) -> float:
    """The ``q`` quantile of the data a histogram describes (linear interpolation, as numpy)."""
    values, counts = _sorted(values, counts)
    n = int(counts.sum())
    if n == 0:
        raise ValueError("empty histogram")
    h = (n - 1) * q
    lo = math.floor(h)
    cum = np.cumsum(counts)
    # The k-th smallest value (0-based k) is the first value whose cumulative count exceeds k.
    x_lo = values[np.searchsorted(cum, lo, side="right")]
    x_hi = values[np.searchsorted(cum, min(lo + 1, n - 1), side="right")]
    return float(x_lo + (h - lo) * (x_hi - x_lo))


def mann_whitney_from_histograms(values_a: np.ndarray, counts_a: np.ndarray,
                                 values_b: np.ndarray, counts_b: np.ndarray) -> dict[str, float | int]:
    """Two-sided Mann-Whitney U (rank-sum) test of sample A against B, from their value histograms.

    Ties get mid-ranks; the p-value is the normal approximation with tie correction and continuity
    correction, as ``scipy.stats.mannwhitneyu(a, b, method="asymptotic")`` computes it.

    Returns
    -------
    dict
        ``u`` (U of A), ``n_a``, ``n_b``, ``z``, ``p_value`` and ``prob_a_greater``: the chance a
        random A value beats a random B value, ties counting half (U / (n_a n_b)).
    """
    grid = np.union1d(np.asarray(values_a), np.asarray(values_b))
    a = _on_grid(grid, values_a, counts_a)
    b = _on_grid(grid, values_b, counts_b)
    n_a, n_b = float(a.sum()), float(b.sum())
    if n_a == 0 or n_b == 0:
        raise ValueError("both samples need at least one value")
    t = a + b
    n = n_a + n_b
    below = np.cumsum(t) - t
    midrank = below + (t + 1) / 2.0
    r_a = float((a * midrank).sum())
    u = r_a - n_a * (n_a + 1) / 2.0
    mu = n_a * n_b / 2.0
    tie_term = float((t ** 3 - t).sum())
    var = n_a * n_b / 12.0 * ((n + 1) - tie_term / (n * (n - 1))) if n > 1 else 0.0
    if var <= 0:
        z, p = 0.0, 1.0
    else:
        # Continuity correction of 0.5 towards the mean, as scipy does.
        z = (u - mu - 0.5 * np.sign(u - mu)) / math.sqrt(var)
        p = min(1.0, math.erfc(abs(z) / math.sqrt(2.0)))
    return {"u": u, "n_a": int(n_a), "n_b": int(n_b), "z": float(z), "p_value": float(p),
            "prob_a_greater": u / (n_a * n_b)}


def box_stats(values: np.ndarray, counts: np.ndarray, label: str, whisker: float = 1.5) -> dict[str, Any]:
    """matplotlib ``bxp`` statistics (quartiles, Tukey whiskers, outlier values) from a histogram.

    Outliers are the distinct values beyond the whiskers (at most 101 of them), not every player.
    """
    values, counts = _sorted(values, counts)
    q1 = histogram_quantile(values, counts, 0.25)
    q3 = histogram_quantile(values, counts, 0.75)
    iqr = q3 - q1
    present = values[counts > 0]
    inside = present[(present >= q1 - whisker * iqr) & (present <= q3 + whisker * iqr)]
    return {
        "label": label,
        "med": histogram_quantile(values, counts, 0.5),
        "q1": q1,
        "q3": q3,
        "whislo": float(inside.min()),
        "whishi": float(inside.max()),
        "fliers": [float(v) for v in present if v < inside.min() or v > inside.max()],
        "mean": float((values * counts).sum() / counts.sum()),
    }


def _sorted(values: Any, counts: Any) -> tuple[np.ndarray, np.ndarray]:
    v = np.asarray(values, dtype=float)
    c = np.asarray(counts, dtype=float)
    order = np.argsort(v, kind="stable")
    return v[order], c[order]


def _on_grid(grid: np.ndarray, values: Any, counts: Any) -> np.ndarray:
    out = np.zeros(len(grid), dtype=float)
    np.add.at(out, np.searchsorted(grid, np.asarray(values)), np.asarray(counts, dtype=float))
    return out
