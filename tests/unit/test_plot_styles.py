"""Workload figures keep their styles to themselves: matplotlib's global settings stay as they were.

A job that set a theme globally (seaborn's set_theme, a Korean font in rcParams) changed every
figure drawn after it in the same process: a notebook, or the test run, where the Netflix plots
then differed byte for byte between an in-process run and a fresh `sparkfolio` process.
"""

from __future__ import annotations

import matplotlib
import pandas as pd

matplotlib.use("Agg")

from matplotlib.colors import to_hex  # noqa: E402

from sparkfolio.fifa import plots as fifa_plots  # noqa: E402
from sparkfolio.scale import plots as scale_plots  # noqa: E402


def _settings() -> dict:
    return {k: repr(v) for k, v in matplotlib.rcParams.items()}


def test_fifa_figures_use_the_theme_without_changing_global_settings():
    before = _settings()
    fig = fifa_plots.overall_histogram(pd.DataFrame({"overall": [60, 61, 62], "count": [3, 5, 2]}))
    ax = fig.axes[0]
    # seaborn's whitegrid theme inside the figure: white axes with a light grey grid on.
    assert to_hex(ax.get_facecolor()) == "#ffffff"
    assert any(line.get_visible() for line in ax.get_ygridlines())
    assert _settings() == before


def test_scale_figures_get_the_korean_font_only_inside_the_context():
    before = _settings()
    rc = scale_plots.korean_font_rc()
    assert rc["font.family"][0] == "NanumGothic"  # fonts-nanum is installed by the project's setup
    with matplotlib.rc_context(rc):
        assert matplotlib.rcParams["font.family"][0] == "NanumGothic"
    assert _settings() == before
