"""End-to-end runs of ``netflix-als`` on data from ``netflix-generate`` + ``netflix-ingest``."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

pytestmark = pytest.mark.e2e

RATINGS = 60_000


@pytest.fixture(scope="module")
def ingest(tmp_path_factory, spark) -> Path:
    """Generated ratings in the Kaggle layout, ingested once for the module."""
    from sparkfolio.cli import run_job

    base = tmp_path_factory.mktemp("netflix_als")
    raw, out = base / "raw", base / "ingest"
    assert run_job("netflix-generate", ["--output", str(raw), "--set", f"ratings={RATINGS}"]) == 0
    assert run_job("netflix-ingest", ["--input", str(raw), "--output", str(out)]) == 0
    return out


def _read(spark, folder: Path, table: str):
    return spark.read.parquet(str(folder / table))


@pytest.fixture(scope="module")
def default_run(tmp_path_factory, spark, ingest):
    """One run with the default settings, asking for a customer's top 10 and a title's neighbours."""
    import contextlib
    import io

    from sparkfolio.cli import run_job

    ratings = _read(spark, ingest, "ratings")
    customer = ratings.groupBy("customer_id").count().orderBy(F.desc("count"), "customer_id").first()["customer_id"]
    top_movie = ratings.groupBy("movie_id").count().orderBy(F.desc("count"), "movie_id").first()["movie_id"]
    title = _read(spark, ingest, "movies").where(F.col("movie_id") == top_movie).first()["title"]
    out = tmp_path_factory.mktemp("als_default") / "als"
    stdout = io.StringIO()
    with contextlib.redirect_stdout(stdout):
        code = run_job("netflix-als", ["--input", str(ingest), "--output", str(out), "--set", f"customer_id={customer}",
                                       "--set", f"similar_to={title}", "--set", "min_overlap=10"])
    assert code == 0
    return {"out": out, "customer": customer, "movie": top_movie, "title": title, "stdout": stdout.getvalue(),
            "metrics": json.loads((out / "metrics.json").read_text())}


def test_bias_als_beats_als_beats_biases_beats_mean(default_run):
    e = default_run["metrics"]["errors"]
    rmse = [e[m]["rmse"] for m in ("bias_als", "als", "bias", "global_mean")]
    assert rmse == sorted(rmse), rmse
    assert e["bias_als"]["mae"] < e["bias"]["mae"] < e["global_mean"]["mae"]
    assert default_run["metrics"]["best_model"] == "bias_als"
    # The biases alone must clearly help on data generated with customer and movie biases.
    assert e["bias"]["rmse"] < e["global_mean"]["rmse"] - 0.05


def test_metrics_cover_counts_split_ranking_and_timings(spark, ingest, default_run):
    m = default_run["metrics"]
    n = _read(spark, ingest, "ratings").count()
    assert m["input"] == {"ratings": n, "valid": n, "rejects": 0, "rejects_by_reason": {}}
    assert m["split"]["train"] + m["split"]["test"] == n
    assert 0.08 < m["split"]["test"] / n < 0.12
    assert m["errors"]["rows"] == m["split"]["test"]
    r = m["ranking"]
    assert r["model"] == "bias_als" and r["k"] == 10
    assert 0 < r["precision_at_10"] <= 1 and 0 < r["recall_at_10"] <= 1 and 0 < r["ndcg_at_10"] <= 1
    test_pred = _read(spark, default_run["out"], "test_predictions")
    relevant = test_pred.where("rating >= 4")
    assert r["customers"] == relevant.select("customer_id").distinct().count()
    assert r["relevant_items"] == relevant.count()
    for stage in ("fit_baselines", "fit_als", "fit_bias_als", "ranking", "recommend", "similar_cosine"):
        assert m["timings_seconds"][stage] > 0
    assert m["data"]["ratings"] == n and sum(m["data"]["rating_distribution"].values()) == n
    assert m["params"]["als"] == {"rank": 10, "max_iter": 10, "reg_param": 0.1}


def test_test_predictions_have_no_nan_and_match_the_reported_errors(spark, default_run):
    preds = _read(spark, default_run["out"], "test_predictions")
    cols = ["pred_global_mean", "pred_bias", "pred_als", "pred_bias_als"]
    bad = preds.where(" or ".join(f"isnan({c}) or {c} is null or {c} < 1 or {c} > 5" for c in cols))
    assert bad.isEmpty()
    row = preds.agg(F.sqrt(F.avg((F.col("pred_bias_als") - F.col("rating")) ** 2)).alias("rmse")).first()
    assert row["rmse"] == pytest.approx(default_run["metrics"]["errors"]["bias_als"]["rmse"], abs=1e-9)


def test_recommendations_top_n_never_rated_with_titles(spark, ingest, default_run):
    recs = _read(spark, default_run["out"], "recommendations")
    ratings = _read(spark, ingest, "ratings")
    assert recs.join(ratings, ["customer_id", "movie_id"]).isEmpty()           # never a movie they rated
    # Every customer of the input gets exactly 10, ranked 1..10 by predicted rating.
    per = recs.groupBy("customer_id").agg(F.count("*").alias("n"), F.collect_set("rank").alias("ranks"))
    assertDataFrameEqual(per.select("customer_id", "n"),
                         ratings.select("customer_id").distinct().withColumn("n", F.lit(10).cast("long")))
    assert per.where(F.size("ranks") != 10).isEmpty()
    assert recs.where("title is null or predicted_rating < 1 or predicted_rating > 5").isEmpty()
    # The report printed the same top 10 as the table holds.
    mine = recs.where(F.col("customer_id") == default_run["customer"]).orderBy("rank").collect()
    report = default_run["stdout"]
    assert f"top 10 for customer {default_run['customer']}" in report
    lines = report.split(f"top 10 for customer {default_run['customer']}")[1].splitlines()[1:11]
    assert [ln.split(".", 1)[1].strip().startswith(r["title"]) for ln, r in zip(lines, mine)] == [True] * 10


def test_similar_movies_tables_and_report(spark, default_run):
    out, movie = default_run["out"], default_run["movie"]
    cos = _read(spark, out, "similar_movies")
    assert cos.where("movie_id = similar_movie_id or cosine > 1.000001 or cosine < -1.000001").isEmpty()
    assert cos.groupBy("movie_id").count().where("count != 10").isEmpty()
    pear = _read(spark, out, "similar_pearson")
    assert pear.where("overlap < 10 or movie_id = similar_movie_id").isEmpty()
    assert not pear.where(F.col("movie_id") == movie).isEmpty()
    top = cos.where(F.col("movie_id") == movie).orderBy("rank").collect()
    report = default_run["stdout"]
    assert f"movies similar to {default_run['title']}" in report
    assert f"1. {top[0]['similar_title']}  cosine {top[0]['cosine']:.3f}" in report


def test_model_plots_and_rejects_are_written(spark, default_run):
    from pyspark.ml.recommendation import ALSModel

    out = default_run["out"]
    model = ALSModel.load(str(out / "model" / "als"))
    info = json.loads((out / "model" / "model.json").read_text())
    assert info["served_model"] == "bias_als" and model.rank == info["params"]["rank"] == 10
    mu = info["mu"]
    assert math.isclose(mu, default_run["metrics"]["served_model"]["mu"])
    movie_bias = _read(spark, out, "model/movie_bias")
    assert set(movie_bias.columns) == {"movie_id", "b_movie", "n_movie"}
    assert model.itemFactors.count() == movie_bias.count()
    for png in ("rating_distribution.png", "rmse_by_model.png", "long_tail.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert _read(spark, out, "rejects").isEmpty()
    assert not any(p.name.startswith(("_checkpoints", ".")) for p in out.iterdir())


def test_probe_split_filter_and_grid(spark, tmp_path, ingest, run_job):
    out = tmp_path / "als"
    # Few ALS iterations: this run checks the wiring of split, filter and grid, not model quality.
    code = run_job("netflix-als", "--input", str(ingest), "--output", str(out), "--set", "split=probe",
                   "--set", "filter_quantile=0.3", "--set", "grid.reg_param=[0.05, 0.2]",
                   "--set", "grid.max_iter=[2]", "--set", "refit_full=false", "--set", "pearson_top_movies=0",
                   "--set", "bias_iterations=1")
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    ratings = _read(spark, ingest, "ratings")
    # The filter's thresholds are the 0.3 quantiles of the count tables; check what it kept.
    f = m["filter"]
    movie_n = ratings.groupBy("movie_id").count()
    customer_n = ratings.groupBy("customer_id").count()
    kept = (ratings.join(movie_n.where(F.col("count") >= f["movie_threshold"]), "movie_id", "left_semi")
            .join(customer_n.where(F.col("count") >= f["customer_threshold"]), "customer_id", "left_semi"))
    assert f["ratings_dropped"] > 0 and f["ratings_before"] - f["ratings_dropped"] == kept.count()
    assert f["movies_dropped"] == movie_n.where(F.col("count") < f["movie_threshold"]).count()
    # Probe split: each tested customer's 2 latest ratings (ties: higher movie id) are the test.
    test = _read(spark, out, "test_predictions").select("customer_id", "movie_id")
    from pyspark.sql import Window

    w = Window.partitionBy("customer_id").orderBy(F.desc("date"), F.desc("movie_id"))
    expected = (kept.withColumn("pos", F.row_number().over(w))
                .withColumn("n", F.count("*").over(Window.partitionBy("customer_id")))
                .where("n >= 7 and pos <= 2").select("customer_id", "movie_id"))
    assertDataFrameEqual(test, expected)
    # Grid: two reg_param values for each ALS model; the best ones were used.
    g = m["grid"]
    assert sorted((r["model"], r["reg_param"]) for r in g["results"]) == [
        ("als", 0.05), ("als", 0.2), ("bias_als", 0.05), ("bias_als", 0.2)]
    for model in ("als", "bias_als"):
        best = min((r for r in g["results"] if r["model"] == model), key=lambda r: r["rmse"])
        assert m["best_params"][model] == {"rank": 10, "max_iter": 2, "reg_param": best["reg_param"]}
    assert not (out / "similar_pearson").exists()


def test_unknown_title_or_customer_fails_before_training(tmp_path, ingest, run_job, capsys):
    out = tmp_path / "als"
    assert run_job("netflix-als", "--input", str(ingest), "--output", str(out),
                   "--set", "similar_to=Zzyzx Qwerty Nonesuch") == 2
    err = capsys.readouterr().err
    assert "similar_to='Zzyzx Qwerty Nonesuch': no movie with that title" in err and "closest:" in err
    assert run_job("netflix-als", "--input", str(ingest), "--output", str(out), "--set", "customer_id=-5") == 2
    assert "customer_id=-5: no such customer" in capsys.readouterr().err
    assert not out.exists()


def test_bad_inputs_are_one_line_errors(spark, tmp_path, run_job, capsys):
    assert run_job("netflix-als", "--input", str(tmp_path / "nothing"), "--output", str(tmp_path / "o")) == 2
    assert "no ratings table" in capsys.readouterr().err
    # Too many bad rows: only rejects and metrics.json are published, with exit code 4.
    bad = tmp_path / "bad"
    rows = [(1, c, 4 if c % 3 else 9, None) for c in range(30)]
    spark.createDataFrame(rows, "movie_id int, customer_id int, rating byte, date date").write.parquet(
        str(bad / "ratings"))
    out = tmp_path / "out"
    assert run_job("netflix-als", "--input", str(bad), "--output", str(out)) == 4
    assert "10 of 30 ratings rejected" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "rejects"]
    rejects = _read(spark, out, "rejects")
    assert sorted(r.customer_id for r in rejects.collect()) == list(range(0, 30, 3))
    assert {r.reason for r in rejects.collect()} == {"rating outside 1-5"}
    # A missing column names the table and the column.
    spark.createDataFrame([(1, 2)], "movie_id int, customer_id int").write.parquet(str(tmp_path / "nocol" / "ratings"))
    assert run_job("netflix-als", "--input", str(tmp_path / "nocol"), "--output", str(out)) == 2
    assert "missing column 'rating'" in capsys.readouterr().err
