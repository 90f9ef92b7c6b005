"""Labels (CSV by path suffix, else file names) and accuracy, as Spark transformations."""

from __future__ import annotations

import unicodedata

import pandas as pd
import pytest
from pyspark.testing import assertDataFrameEqual

from sparkfolio.plates.accuracy import accuracy_parts, attach_labels, normalize_labels, score, summarise_accuracy


@pytest.fixture
def results(spark):
    rows = [
        ("file:/d/crops/images/10.jpg", "12라1466"),
        ("file:/d/crops/images/63.jpg", "40다3304"),
        ("file:/d/crops/images/91.jpg", "40서3731"),
        ("file:/d/other/images/63.jpg", "11가1111"),  # same base name, other folder: no CSV label
        ("file:/d/cars/19%EC%98%A47777.jpg", None),     # Hadoop URI-escapes 19오7777.jpg; read nothing
        ("file:/d/cars/1.jpg", "19오7777"),               # no label anywhere
    ]
    return spark.createDataFrame(rows, "path string, text string")


@pytest.fixture
def labels(spark):
    raw = spark.createDataFrame([
        ("images/10.jpg", "71라1466", "label likely wrong"),
        ("crops/images/63.jpg", unicodedata.normalize("NFD", "40다3304"), ""),
        ("91.jpg", " 40저3731 ", None),
    ], "path string, text string, note string")
    return normalize_labels(raw, "labels csv")


def test_labels_join_by_path_suffix_then_file_names(spark, results, labels):
    got = score(attach_labels(results, labels)).select(
        "path", "label", "label_source", "flagged", "exact", "char_accuracy")
    expected = spark.createDataFrame([
        ("file:/d/crops/images/10.jpg", "71라1466", "labels csv", True, False, 5 / 7),
        ("file:/d/crops/images/63.jpg", "40다3304", "labels csv", False, True, 1.0),
        ("file:/d/crops/images/91.jpg", "40저3731", "labels csv", False, False, 6 / 7),
        ("file:/d/other/images/63.jpg", None, None, False, None, None),
        ("file:/d/cars/19%EC%98%A47777.jpg", "19오7777", "file name", False, False, 0.0),
        ("file:/d/cars/1.jpg", None, None, False, None, None),
    ], "path string, label string, label_source string, flagged boolean, exact boolean, char_accuracy double")
    assertDataFrameEqual(got, expected, atol=1e-9)


def test_accuracy_summarised_all_and_without_flagged(results, labels):
    summary = summarise_accuracy(accuracy_parts(score(attach_labels(results, labels))).collect())
    assert summary["all"] == {"labelled": 4, "correct": 1, "exact_accuracy": 0.25,
                              "char_accuracy": round((5 / 7 + 1 + 6 / 7 + 0) / 4, 4)}
    assert summary["excluding_flagged"] == {"labelled": 3, "correct": 1, "exact_accuracy": round(1 / 3, 4),
                                            "char_accuracy": round((1 + 6 / 7 + 0) / 3, 4)}
    assert set(summary["by_label_source"]) == {"labels csv", "file name"}
    assert summary["by_label_source"]["file name"]["labelled"] == 1


def test_without_a_labels_file_only_file_names_count(spark, results):
    got = attach_labels(results, None).where("label is not null").select("path", "label").toPandas()
    pd.testing.assert_frame_equal(got, pd.DataFrame({"path": ["file:/d/cars/19%EC%98%A47777.jpg"],
                                                     "label": ["19오7777"]}))


def test_labels_file_needs_path_and_text(spark):
    with pytest.raises(KeyError):
        normalize_labels(spark.createDataFrame([("a", "b")], "file string, text string"), "x")
