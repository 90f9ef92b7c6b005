"""Figures of the scale-defect analysis, drawn from the small aggregated tables (seaborn, Agg)."""

from __future__ import annotations

import logging
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from sparkfolio.scale import schema  # noqa: E402

log = logging.getLogger(__name__)

KOREAN_FONTS = ("NanumGothic", "NanumBarunGothic", "Noto Sans CJK KR", "Malgun Gothic", "AppleGothic")


def korean_font_rc() -> dict[str, Any]:
    """matplotlib settings that draw Korean labels (양품, 미국...) with an installed Korean font.

    Returned for ``matplotlib.rc_context`` rather than set globally, so a notebook or test
    process that draws other figures afterwards keeps matplotlib's own defaults. Empty (with a
    warning) when no Korean font is installed.
    """
    from matplotlib import font_manager

    installed = {f.name for f in font_manager.fontManager.ttflist}
    for name in KOREAN_FONTS:
        if name in installed:
            return {"font.family": [name, "DejaVu Sans"], "axes.unicode_minus": False}
    log.warning("no Korean font found (install fonts-nanum); Korean labels will show as boxes")
    return {}


def _grid(n: int, ncols: int = 3, size: tuple[float, float] = (5.0, 3.4)) -> tuple[Any, list[Any]]:
    rows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(rows, ncols, figsize=(size[0] * ncols, size[1] * rows), squeeze=False)
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def rate_by_category(cats: pd.DataFrame, overall: float, max_levels: int = 15) -> Any:
    """Defect rate per level with 95% Wilson intervals, one panel per categorical column.

    Columns with many levels (specifications) show their ``max_levels`` most frequent levels.
    """
    columns = list(dict.fromkeys(cats["column"]))
    fig, axes = _grid(len(columns))
    for ax, c in zip(axes, columns):
        d = cats[cats["column"] == c]
        if len(d) > max_levels:
            d = d.nlargest(max_levels, "n")
        d = d.sort_values("rate")
        err = np.clip(np.vstack([d["rate"] - d["ci_low"], d["ci_high"] - d["rate"]]).astype(float), 0, None)
        ax.barh(d["label"].astype(str), d["rate"], xerr=err, color=sns.color_palette("rocket_r", 3)[1],
                ecolor="0.3", capsize=2)
        ax.axvline(overall, color="0.4", ls="--", lw=1)
        ax.set_xlim(0, 1)
        ax.set_title(f"{schema.describe(c)}" + (f" (top {max_levels})" if (cats["column"] == c).sum() > max_levels else ""),
                     fontsize=10)
        ax.set_xlabel("defect rate (95% Wilson CI)")
        ax.tick_params(axis="y", labelsize=8)
    fig.suptitle(f"Scale-defect rate by category (dashed: overall {overall:.1%})")
    fig.tight_layout()
    return fig


def distributions_by_status(bins: pd.DataFrame, columns: list[str]) -> Any:
    """Histograms of each numeric column for good and defective plates (densities, from bin counts)."""
    fig, axes = _grid(len(columns), ncols=4, size=(4.2, 3.0))
    palette = {"good": "#4c72b0", "defect": "#dd5555"}
    for ax, c in zip(axes, columns):
        d = bins[bins["column"] == c]
        if d.empty:
            continue
        edges = np.append(d["bin_low"].to_numpy(), d["bin_high"].to_numpy()[-1])
        long = pd.concat([
            pd.DataFrame({"x": d["bin_low"] + (d["bin_high"] - d["bin_low"]) / 2, "w": d["n"] - d["defects"], "status": "good"}),
            pd.DataFrame({"x": d["bin_low"] + (d["bin_high"] - d["bin_low"]) / 2, "w": d["defects"], "status": "defect"}),
        ], ignore_index=True)
        width = float(d["bin_high"].iloc[0] - d["bin_low"].iloc[0])
        sns.histplot(data=long, x="x", weights="w", hue="status", binwidth=width, binrange=(edges[0], edges[-1]),
                     stat="density", common_norm=False, element="step", palette=palette, ax=ax,
                     legend=(c == columns[0]))
        u = schema.unit(c)
        ax.set_xlabel(f"{c}" + (f" ({u})" if u else ""))
        ax.set_ylabel("")
    fig.suptitle("Distributions of good and defective plates")
    fig.tight_layout()
    return fig


def binned_rates(bins: pd.DataFrame, columns: list[str]) -> Any:
    """Defect rate (with Wilson intervals) across the bins of each temperature and time column."""
    fig, axes = _grid(len(columns), ncols=3, size=(5.0, 3.2))
    for ax, c in zip(axes, columns):
        d = bins[bins["column"] == c]
        mid = d["bin_low"] + (d["bin_high"] - d["bin_low"]) / 2
        ax.fill_between(mid, d["ci_low"], d["ci_high"], color="#dd5555", alpha=0.2, step="mid")
        ax.plot(mid, d["rate"], marker="o", ms=3, color="#aa2222", drawstyle="steps-mid")
        ax.set_ylim(0, 1)
        u = schema.unit(c)
        ax.set_xlabel(f"{c}" + (f" ({u})" if u else ""))
        ax.set_ylabel("defect rate")
        ax2 = ax.twinx()
        ax2.bar(mid, d["n"], width=(d["bin_high"] - d["bin_low"]) * 0.9, color="0.6", alpha=0.25)
        ax2.set_yticks([])
    fig.suptitle("Defect rate over bins (shaded: 95% Wilson CI; grey bars: plates per bin)")
    fig.tight_layout()
    return fig


def correlation_heatmap(corr: pd.DataFrame) -> Any:
    """Pearson correlations of the numeric columns and the defect flag."""
    n = len(corr)
    fig, ax = plt.subplots(figsize=(1.0 + 0.6 * n, 0.8 + 0.5 * n))
    mask = np.triu(np.ones_like(corr, dtype=bool), k=1)
    sns.heatmap(corr, mask=mask, annot=True, fmt=".2f", cmap="RdBu_r", vmin=-1, vmax=1, square=True,
                annot_kws={"size": 7}, cbar_kws={"shrink": 0.6}, ax=ax)
    ax.set_title("Correlation of numeric columns and the defect flag (scale)")
    fig.tight_layout()
    return fig


def feature_importances(imps: dict[str, dict[str, float]], top: int = 15) -> Any:
    """Feature importances of the tree models side by side (top features by their mean)."""
    df = pd.DataFrame(imps).fillna(0.0)
    df = df.loc[df.mean(axis=1).sort_values(ascending=False).index[:top]]
    long = df.reset_index(names="feature").melt(id_vars="feature", var_name="model", value_name="importance")
    fig, ax = plt.subplots(figsize=(8, 0.35 * len(df) + 1.5))
    sns.barplot(data=long, y="feature", x="importance", hue="model", ax=ax)
    ax.set_title("Feature importance")
    fig.tight_layout()
    return fig


def roc_curves(curves: dict[str, dict[str, Any]]) -> Any:
    """ROC curves of the models on the test plates, with their AUC."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, m in curves.items():
        ax.plot(m["roc"]["fpr"], m["roc"]["tpr"], label=f"{name} (AUC {m['auc']:.3f})")
    ax.plot([0, 1], [0, 1], color="0.6", ls=":")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title("ROC on the test plates")
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig
