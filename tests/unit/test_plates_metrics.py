"""plates-ocr's metrics: one grouping-sets aggregation of the written table, exact counts and bins."""

from __future__ import annotations

import math

import numpy as np

from sparkfolio.plates.ocr_job import BINS_PER_DECADE, _metrics, _timing_figure

ROWS = [
    # path, text, valid, format, engine, seconds, error, label, label_source, flagged, exact, char_accuracy
    ("a.jpg", "12가3456", True, "2-digit", "templates", 0.10, None, "12가3456", "labels csv", False, True, 1.0),
    ("b.jpg", "12가3457", True, "2-digit", "templates", 0.12, None, "12가3456", "labels csv", True, False, 6 / 7),
    ("c.jpg", "123가4567", True, "3-digit", "both", 0.95, None, None, None, False, None, None),
    ("d.jpg", None, False, None, None, 0.021, None, "19오7777", "file name", False, False, 0.0),
    ("e.jpg", None, False, None, None, None, "cannot decode image", None, None, False, None, None),
]
SCHEMA = ("path string, text string, valid boolean, format string, engine string, seconds double, error string, "
          "label string, label_source string, flagged boolean, exact boolean, char_accuracy double")


def test_metrics_count_exactly_and_bin_times_on_the_log_scale(spark):
    metrics, histogram = _metrics(spark.createDataFrame(ROWS, SCHEMA), n=6, tasks=2, cores=2)
    assert metrics["images"] == {"total": 5, "errors": 1, "read": 3, "valid": 3, "listed": 6}
    assert metrics["by_format"] == {"2-digit": 2, "3-digit": 1, "none": 2}
    assert metrics["by_engine"] == {"both": 1, "none": 2, "templates": 2}
    acc = metrics["accuracy"]
    assert acc["all"] == {"labelled": 3, "correct": 1, "exact_accuracy": round(1 / 3, 4),
                          "char_accuracy": round((1 + 6 / 7 + 0) / 3, 4)}
    assert acc["excluding_flagged"] == {"labelled": 2, "correct": 1, "exact_accuracy": 0.5, "char_accuracy": 0.5}
    assert acc["by_label_source"]["file name"]["labelled"] == 1
    times = [r[5] for r in ROWS if r[5] is not None]
    t = metrics["timing"]
    assert (t["tasks"], t["cores"], t["work_s"], t["max_s"]) == (2, 2, round(sum(times), 3), 0.95)
    assert t["mean_s"] == round(sum(times) / 5, 4)
    # percentile_approx is exact on a few rows: the smallest value with at least that share below.
    assert (t["median_s"], t["p95_s"]) == (0.10, 0.95)
    expected = {}
    for s in times:
        b = math.floor(math.log10(s) * BINS_PER_DECADE)
        expected[b] = expected.get(b, 0) + 1
    assert histogram == dict(sorted(expected.items()))
    assert sum(histogram.values()) == 4  # the unreadable image has no time
    assert list(histogram) == sorted(histogram)


def test_timing_figure_draws_the_bins_between_their_edges():
    fig = _timing_figure({-20: 3, -18: 1})
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    (patch,) = ax.patches
    xs = patch.get_path().vertices[:, 0]
    assert np.isclose(xs.min(), 10 ** (-20 / BINS_PER_DECADE)) and np.isclose(xs.max(), 10 ** (-17 / BINS_PER_DECADE))
    assert len(_timing_figure({}).axes[0].patches) == 0
