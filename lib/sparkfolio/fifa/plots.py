"""Static seaborn/matplotlib figures of the report, drawn from the small aggregated tables.

No function here sees player rows: box plots come from per-nation Overall histograms (exact
quartiles and whiskers), the histogram from rating counts, the age curve from per-age means.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, TypeVar

import matplotlib

matplotlib.use("Agg")  # headless: jobs run on servers without a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import seaborn as sns  # noqa: E402

from sparkfolio.fifa.stats import box_stats  # noqa: E402


F = TypeVar("F", bound=Callable[..., Any])


def _themed(draw: F) -> F:
    """Draw with the report's seaborn theme (whitegrid, notebook, deep palette) for this figure only.

    ``sns.set_theme`` would change matplotlib's global settings for the rest of the process (a
    notebook, the test run), so other workloads' figures would come out differently depending on
    what was drawn before them; the same settings go through ``rc_context`` instead.
    """
    @functools.wraps(draw)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from cycler import cycler

        rc = {**sns.axes_style("whitegrid"), **sns.plotting_context("notebook"),
              "axes.prop_cycle": cycler(color=sns.color_palette("deep"))}
        with matplotlib.rc_context(rc):
            return draw(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@_themed
def nation_boxplot(hist: pd.DataFrame, nations: list[str], highlight: str | None = None) -> Any:
    """Box plots of Overall for ``nations`` (in that order) from their (overall, count) histograms."""
    stats = []
    for n in nations:
        g = hist[hist["nationality"] == n]
        if len(g):
            stats.append(box_stats(g["overall"].to_numpy(), g["count"].to_numpy(), n))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(stats) + 2), 5))
    palette = sns.color_palette("deep", 2)
    boxes = ax.bxp(stats, showmeans=True, patch_artist=True, widths=0.6,
                   flierprops={"markersize": 3, "alpha": 0.5},
                   meanprops={"marker": "D", "markerfacecolor": "white", "markeredgecolor": "black", "markersize": 4})
    for patch, s in zip(boxes["boxes"], stats):
        patch.set_facecolor(palette[1] if s["label"] == highlight else palette[0])
        patch.set_alpha(0.75)
    ax.set_ylabel("Overall")
    ax.set_title("Overall by nation (most players first; diamond = mean)")
    ax.tick_params(axis="x", rotation=45)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    fig.tight_layout()
    return fig


@_themed
def overall_histogram(hist: pd.DataFrame) -> Any:
    """Players per Overall rating (``overall``, ``count``)."""
    fig, ax = plt.subplots(figsize=(8, 4.5))
    sns.histplot(x=hist["overall"], weights=hist["count"], discrete=True, ax=ax, color=sns.color_palette("deep")[0])
    total = int(hist["count"].sum())
    mean = float((hist["overall"] * hist["count"]).sum() / total) if total else float("nan")
    ax.axvline(mean, color="black", linestyle="--", linewidth=1, label=f"mean {mean:.1f}")
    ax.set_xlabel("Overall")
    ax.set_ylabel("players")
    ax.set_title(f"Overall rating of {total:,} players")
    ax.legend()
    fig.tight_layout()
    return fig


@_themed
def age_curve(by_age: pd.DataFrame, min_players: int = 1) -> Any:
    """Mean Overall and Potential by age, with the number of players per age underneath."""
    data = by_age[by_age["players"] >= min_players]
    fig, (ax, ax_n) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    long = data.melt(id_vars="age", value_vars=["mean_overall", "mean_potential"], var_name="rating", value_name="mean")
    long["rating"] = long["rating"].map({"mean_overall": "Overall", "mean_potential": "Potential"})
    sns.lineplot(data=long, x="age", y="mean", hue="rating", marker="o", ax=ax)
    ax.set_ylabel("mean rating")
    ax.set_title("Overall and Potential by age")
    ax_n.bar(data["age"], data["players"], color=sns.color_palette("deep")[7])
    ax_n.set_ylabel("players")
    ax_n.set_xlabel("age")
    fig.tight_layout()
    return fig


@_themed
def correlation_heatmap(cols: list[str], matrix: list[list[float]]) -> Any:
    """Heat map of the skill-attribute correlation matrix."""
    frame = pd.DataFrame(np.asarray(matrix), index=cols, columns=cols)
    fig, ax = plt.subplots(figsize=(13, 11))
    sns.heatmap(frame, cmap="vlag", vmin=-1, vmax=1, center=0, square=True, ax=ax,
                cbar_kws={"shrink": 0.7, "label": "Pearson r"}, xticklabels=True, yticklabels=True)
    ax.set_title("Correlation of the skill attributes")
    ax.tick_params(labelsize=8)
    fig.tight_layout()
    return fig
