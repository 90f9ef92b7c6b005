"""Logit fitting and scoring, the seeded split, evaluation counts and the tree export."""

from __future__ import annotations

import math
import shutil

import numpy as np
import pandas as pd
import pytest
from pyspark.testing import assertDataFrameEqual

from sparkfolio.scale import models as M
from sparkfolio.scale import tree_export as TE


def _synthetic(n: int = 4000, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    temp = rng.normal(1150, 15, n)
    crew = rng.choice([1, 2, 3], size=n, p=[0.5, 0.25, 0.25])  # crew 1 is the reference level
    hsb = (rng.random(n) > 0.05).astype(int)
    eta = -1.0 + 0.08 * (temp - 1150) + 0.7 * (crew == 3)
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
    y[hsb == 0] = 1  # no HSB: always defective (perfect separation)
    return pd.DataFrame({"plate_no": [f"P{i}" for i in range(n)], "scale": y, "fur_soak_temp": temp,
                         "work_group": crew, "hsb": hsb})


def test_logit_recovers_coefficients_and_sets_separated_levels_aside():
    fit = M.fit_logit(_synthetic(), ["fur_soak_temp"], ["work_group", "hsb"], max_levels=10, min_level_rows=20)
    assert fit.status == "fitted" and fit.stats["converged"]
    coef = fit.coefficients.set_index("term")
    assert coef.loc["fur_soak_temp", "coef"] == pytest.approx(0.08, abs=0.015)
    assert coef.loc["work_group[crew 3]", "coef"] == pytest.approx(0.7, abs=0.2)
    assert coef.loc["fur_soak_temp", "odds_ratio"] == pytest.approx(math.exp(coef.loc["fur_soak_temp", "coef"]))
    assert fit.forced == {("hsb", "0"): 1.0}
    assert any("hsb='not applied'" in n and "perfect separation" in n for n in fit.notes)
    assert fit.stats["n"] == int((_synthetic()["hsb"] == 1).sum())
    assert 0 < fit.stats["pseudo_r2_mcfadden"] < 1


def test_logit_matches_statsmodels_in_raw_units():
    import statsmodels.api as sm

    d = _synthetic(seed=5)
    d = d[d["hsb"] == 1]
    fit = M.fit_logit(d, ["fur_soak_temp"], [], max_levels=10, min_level_rows=20)
    ref = sm.Logit(d["scale"].astype(float), sm.add_constant(d[["fur_soak_temp"]])).fit(disp=0)
    got = fit.coefficients.set_index("term")
    assert got.loc["const", "coef"] == pytest.approx(ref.params["const"], rel=1e-6)
    assert got.loc["fur_soak_temp", "std_err"] == pytest.approx(ref.bse["fur_soak_temp"], rel=1e-6)
    assert got.loc["fur_soak_temp", "p_value"] == pytest.approx(ref.pvalues["fur_soak_temp"], rel=1e-6)


def test_logit_drops_copies_and_wide_categoricals():
    d = _synthetic()
    d["fur_ex_temp"] = d["fur_soak_temp"]
    d["spec_long"] = [f"S{i % 40}" for i in range(len(d))]
    fit = M.fit_logit(d, ["fur_soak_temp", "fur_ex_temp"], ["spec_long"], max_levels=10, min_level_rows=20)
    assert "fur_ex_temp" not in set(fit.coefficients["term"])
    assert any(n.startswith("fur_ex_temp: a linear combination") for n in fit.notes)
    assert any(n.startswith("spec_long: 40 levels") for n in fit.notes)


def test_logit_score_in_spark_equals_the_fit(spark):
    d = _synthetic(600, seed=9)
    fit = M.fit_logit(d, ["fur_soak_temp"], ["work_group", "hsb"], max_levels=10, min_level_rows=20)
    sdf = spark.createDataFrame(d)
    got = sdf.select("plate_no", M.logit_score(fit, dict(sdf.dtypes)).alias("p")).toPandas().set_index("plate_no")
    # The same probabilities computed by hand from the reported coefficients (crew 1 is the reference).
    coef = fit.coefficients.set_index("term")["coef"]
    kept = d[d["hsb"] == 1]
    eta = coef["const"] + coef["fur_soak_temp"] * kept["fur_soak_temp"]
    for crew in (2, 3):
        eta = eta + coef[f"work_group[crew {crew}]"] * (kept["work_group"] == crew)
    expected = 1 / (1 + np.exp(-eta.to_numpy()))
    assert got.loc[kept["plate_no"], "p"].to_numpy() == pytest.approx(expected, rel=1e-9)
    # Plates without HSB were set aside as perfectly separated: predicted at their rate, 100%.
    assert (got.loc[d.loc[d["hsb"] == 0, "plate_no"], "p"] == 1.0).all()


def test_split_is_stratified_and_independent_of_partitioning(spark):
    d = _synthetic(2000, seed=3)[["plate_no", "scale"]]
    one = M.add_split(spark.createDataFrame(d).coalesce(1), 42, {0: 0.3, 1: 0.3}, 3)
    many = M.add_split(spark.createDataFrame(d).repartition(7), 42, {0: 0.3, 1: 0.3}, 3)
    assertDataFrameEqual(one, many)
    counts = one.groupBy("scale", "is_test").count().toPandas().set_index(["scale", "is_test"])["count"]
    for cls in (0, 1):
        assert counts[(cls, True)] / (counts[(cls, True)] + counts[(cls, False)]) == pytest.approx(0.3, abs=0.05)
    assert sorted(r["fold"] for r in one.select("fold").distinct().collect()) == [0, 1, 2]
    other_seed = M.add_split(spark.createDataFrame(d), 43, {0: 0.3, 1: 0.3}, 3)
    assert other_seed.where("is_test").select("plate_no").collect() != one.where("is_test").select("plate_no").collect()


def test_stratified_sample_is_bounded_and_proportional(spark):
    d = _synthetic(1000, seed=4)
    counts = d["scale"].value_counts().to_dict()
    sample = M.stratified_sample(spark.createDataFrame(d), counts, 200, seed=1)
    assert len(sample) <= 201
    assert sample["scale"].mean() == pytest.approx(d["scale"].mean(), abs=0.01)
    again = M.stratified_sample(spark.createDataFrame(d).repartition(3), counts, 200, seed=1)
    assert sorted(sample["plate_no"]) == sorted(again["plate_no"])


def test_evaluate_counts_the_confusion_matrix_and_roc(spark):
    rows = [(1, 0.9), (1, 0.8), (1, 0.4), (0, 0.7), (0, 0.2), (0, 0.1), (0, 0.05), (1, 0.6)]
    df = spark.createDataFrame(rows, "scale int, p double")
    ev = M.evaluate(df, "p", roc_buckets=10)
    assert ev["confusion"] == {"true_negative": 3, "false_positive": 1, "false_negative": 1, "true_positive": 3}
    assert ev["accuracy"] == 0.75 and ev["precision"] == 0.75 and ev["recall"] == 0.75 and ev["f1"] == 0.75
    # AUC: (positive, negative) pairs ranked correctly: 14 of 16 (0.6 and 0.4 are below 0.7).
    assert ev["auc"] == pytest.approx(14 / 16)
    assert ev["roc"]["fpr"][0] == 0.0 and ev["roc"]["tpr"][-1] == 1.0 and ev["roc"]["fpr"][-1] == 1.0


def test_tree_export_from_a_fitted_spark_tree(spark, tmp_path, monkeypatch):
    from pyspark.ml.classification import DecisionTreeClassifier

    d = _synthetic(400, seed=2)
    d["hsb_s"] = d["hsb"].astype(str)
    sdf = spark.createDataFrame(d[["plate_no", "scale", "fur_soak_temp", "work_group", "hsb_s"]])
    feat = M.fit_featurizer(sdf, ["fur_soak_temp"], ["hsb_s"])
    train = feat.model.transform(M.with_string_levels(sdf, ["hsb_s"]))
    model = DecisionTreeClassifier(labelCol="scale", maxDepth=2, seed=1).fit(train)
    tree = TE.tree_to_dict(model)
    assert sum(tree["counts"]) == 400 and sum(tree["counts"][1:]) == d["scale"].sum()
    dot = TE.tree_to_dot(tree, feat.feature_names, feat.labels)
    assert dot.startswith("digraph tree {") and dot.count(" -> ") == model.numNodes - 1
    assert "plates = 400" in dot
    if shutil.which("dot"):
        png = tmp_path / "t.png"
        TE.render_png(dot, str(png))
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # Without Graphviz: the DOT is still written and the PNG skipped with a flag -- or, when
    # required, a DependencyError with the install hint.
    from sparkfolio.runtime.errors import DependencyError
    from sparkfolio.runtime.output import JobOutput
    from sparkfolio.scale.defects_job import DefectsConfig, _export_tree

    monkeypatch.setattr(TE, "dot_binary", lambda: None)
    with JobOutput(spark, str(tmp_path / "out")) as out:
        info = _export_tree(DefectsConfig(), model, feat, out)
    assert info == {"dot_written": True, "png_rendered": False, "depth": model.depth, "num_nodes": model.numNodes,
                    "png_skipped_reason": "dot not installed"}
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["decision_tree.dot"]
    with pytest.raises(DependencyError, match="apt-get install graphviz"):
        with JobOutput(spark, str(tmp_path / "strict")) as out:
            _export_tree(DefectsConfig(require_graphviz=True), model, feat, out)
    assert not (tmp_path / "strict").exists()


def test_tree_to_dot_labels_tests_and_leaves():
    tree = {"counts": [60.0, 40.0], "prediction": 0.0, "impurity": 0.48, "feature": 1, "categories": [0],
            "left": {"counts": [0.0, 10.0], "prediction": 1.0, "impurity": 0.0},
            "right": {"counts": [60.0, 30.0], "prediction": 0.0, "impurity": 0.44, "feature": 0, "threshold": 999.5,
                      "left": {"counts": [58.0, 2.0], "prediction": 0.0, "impurity": 0.06},
                      "right": {"counts": [2.0, 28.0], "prediction": 1.0, "impurity": 0.12}}}
    dot = TE.tree_to_dot(tree, ["rolling_temp", "hsb"], {"hsb": ["not applied", "applied"]}, font="X")
    assert 'n0 [label="hsb in {not applied}\\nplates = 100\\ndefect rate = 40.0%"' in dot
    assert 'n2 [label="rolling_temp <= 999.5\\nplates = 90\\ndefect rate = 33.3%"' in dot
    assert 'n1 [label="plates = 10\\ndefect rate = 100.0%\\nclass = defect", fillcolor="#ff5050"]' in dot
    assert "n0 -> n1 [label=\"yes\"];" in dot and "n0 -> n2 [label=\"no\"];" in dot
    assert 'fontname="X"' in dot
