"""Netflix ALS job, model side: predictions, error and ranking metrics, top-k scoring, similar movies."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pyspark.sql import functions as F
from pyspark.testing import assertDataFrameEqual

from sparkfolio.netflix import evaluation, recommend, similar
from sparkfolio.netflix.baselines import fit_biases, with_residual
from sparkfolio.netflix.datasplit import rating_counts


# -- error metrics and cold starts -------------------------------------------------------------
def test_regression_metrics_exact(spark):
    df = spark.createDataFrame([(4.0, 3.0, 4.0), (2.0, 4.0, 2.5), (5.0, 5.0, 4.0), (1.0, 2.0, 1.0)],
                               "rating double, pred_a double, pred_b double")
    got = evaluation.regression_metrics(df, ["a", "b"], extra={"above_3": F.sum((F.col("rating") > 3).cast("int"))})
    # a: errors -1, 2, 0, 1 -> RMSE sqrt(6/4), MAE 1. b: 0, 0.5, -1, 0 -> RMSE sqrt(1.25/4), MAE 0.375
    assert got["rows"] == 4 and got["extra"] == {"above_3": 2}
    assert got["a"] == pytest.approx({"rmse": math.sqrt(1.5), "mae": 1.0}, abs=1e-12)
    assert got["b"] == pytest.approx({"rmse": math.sqrt(1.25 / 4), "mae": 0.375}, abs=1e-12)


def _ratings(spark, seed=3, users=30, movies=12, dim=2):
    """A small dense-ish latent-factor rating table (every customer rates most movies)."""
    rng = np.random.default_rng(seed)
    P, Q = rng.normal(0, 0.8, (users, dim)), rng.normal(0, 0.8, (movies, dim))
    rows = []
    for u in range(users):
        for m in range(movies):
            if rng.random() < 0.8:
                r = float(np.clip(np.rint(3.5 + P[u] @ Q[m] + rng.normal(0, 0.3)), 1, 5))
                rows.append((m + 1, u + 100, r))
    return spark.createDataFrame(rows, "movie_id int, customer_id int, rating double")


@pytest.fixture(scope="module")
def fitted(spark):
    """Biases, plain ALS and ALS on residuals fitted once on a small rating table."""
    train = _ratings(spark).cache()
    bias = fit_biases(train, None, 5.0, 5.0, 2)
    als = recommend.fit_als(train, "rating", rank=2, max_iter=3, reg_param=0.1, seed=1, num_blocks=2)
    res = recommend.fit_als(with_residual(train, bias), "residual", rank=2, max_iter=3, reg_param=0.1, seed=1,
                            num_blocks=2)
    return train, bias, als, res


def test_cold_start_rows_get_the_baseline_never_nan(spark, fitted):
    train, bias, als, res = fitted
    # customer 9999 and movie 999 never appear in train.
    pairs = spark.createDataFrame([(1, 100, 4.0), (999, 100, 3.0), (1, 9999, 5.0), (999, 9999, 2.0)],
                                  "movie_id int, customer_id int, rating double")
    got = {(r.movie_id, r.customer_id): r for r in evaluation.predict_all(pairs, bias, als, res).collect()}
    mu = bias.mu
    b_m1 = bias.movie_bias.where("movie_id = 1").first()["b_movie"]
    b_c100 = bias.customer_bias.where("customer_id = 100").first()["b_customer"]
    for key, base in {(999, 100): mu + b_c100, (1, 9999): mu + b_m1, (999, 9999): mu}.items():
        row = got[key]
        assert (row.customer_seen, row.movie_seen) == (key[1] == 100, key[0] == 1)
        for col in ("pred_bias", "pred_als", "pred_bias_als"):
            assert row[col] == pytest.approx(min(5.0, max(1.0, base)), abs=1e-9), (key, col)
        assert row.pred_global_mean == pytest.approx(mu, abs=1e-12)
    known = got[(1, 100)]
    assert (known.customer_seen, known.movie_seen) == (True, True)
    assert not any(math.isnan(v) for v in (known.pred_als, known.pred_bias_als))
    assert known.pred_als != pytest.approx(known.pred_bias, abs=1e-6)  # ALS did contribute


@pytest.mark.parametrize("kind", ["bias_als", "als"])
def test_recommend_all_scores_like_predict_and_skips_rated(spark, fitted, kind):
    train, bias, als, res = fitted
    model = recommend.factor_model(kind, train, train, bias, {"als": als, "bias_als": res}.get(kind))
    recs = recommend.recommend_all(model, train, 3).cache()
    assert recs.join(train, ["customer_id", "movie_id"]).isEmpty()            # never a rated movie
    # Every customer gets min(3, unrated movies) recommendations, ranked 1..n.
    unrated = (train.select("customer_id").distinct().crossJoin(train.select("movie_id").distinct())
               .join(train, ["customer_id", "movie_id"], "left_anti"))
    expected_n = unrated.groupBy("customer_id").agg(F.least(F.count("*"), F.lit(3)).cast("long").alias("n"))
    assertDataFrameEqual(recs.groupBy("customer_id").agg(F.count("*").alias("n")), expected_n)
    # The score is the model's own (unclipped) prediction, and no unrated movie scores higher
    # than a customer's last recommendation.
    preds = evaluation.predict_all(unrated, bias, als, res, clip=False).select(
        "customer_id", "movie_id", F.col(evaluation.pred_col(kind)).alias("pred")).cache()
    joined = recs.join(preds, ["customer_id", "movie_id"])
    assert joined.count() == recs.count()
    assert joined.where(F.abs(F.col("score") - F.col("pred")) > 1e-4).isEmpty()
    floor = recs.groupBy("customer_id").agg(F.min("score").alias("floor"))
    better = preds.join(recs, ["customer_id", "movie_id"], "left_anti").join(floor, "customer_id")
    assert better.where(F.col("pred") > F.col("floor") + 1e-4).isEmpty()


# -- ranking metrics ---------------------------------------------------------------------------
def test_ranking_metrics_exact_and_as_spark_defines_them(spark):
    k = 3
    top = spark.createDataFrame([
        (1, 1, 10), (1, 2, 11), (1, 3, 12),      # hits at ranks 1 and 3
        (2, 1, 20), (2, 2, 21), (2, 3, 22),      # no hit
        (3, 1, 30),                              # one recommendation only, a hit
    ], "customer_id int, rank int, movie_id int")
    relevant = spark.createDataFrame([(1, 10), (1, 12), (1, 13), (1, 14), (2, 29), (3, 30), (4, 40)],
                                     "customer_id int, movie_id int")
    got = evaluation.ranking_metrics(top, relevant, k)
    lg = math.log2
    ndcg1 = (1 + 1 / lg(4)) / (1 + 1 / lg(3) + 1 / lg(4))   # 4 relevant, ideal DCG over 3 ranks
    expected = {"precision_at_3": (2 / 3 + 0 + 1 / 3 + 0) / 4, "recall_at_3": (2 / 4 + 0 + 1 + 0) / 4,
                "ndcg_at_3": (ndcg1 + 0 + 1 + 0) / 4}
    assert {key: got[key] for key in expected} == pytest.approx(expected, abs=1e-12)
    assert (got["customers"], got["relevant_items"]) == (4, 7)

    # Spark's RankingMetrics (RDD API) gives the same precision, recall and NDCG.
    from pyspark.mllib.evaluation import RankingMetrics

    preds = {1: [10, 11, 12], 2: [20, 21, 22], 3: [30], 4: []}
    labels = {1: [10, 12, 13, 14], 2: [29], 3: [30], 4: [40]}
    rm = RankingMetrics(spark.sparkContext.parallelize([(preds[c], labels[c]) for c in preds], 1))
    assert got["precision_at_3"] == pytest.approx(rm.precisionAt(3), abs=1e-12)
    assert got["recall_at_3"] == pytest.approx(rm.recallAt(3), abs=1e-12)
    assert got["ndcg_at_3"] == pytest.approx(rm.ndcgAt(3), abs=1e-12)


# -- top-k scoring -----------------------------------------------------------------------------
def _brute_top_k(q_ids, Q, c_ids, C, k, offsets=None, exclude=None, exclude_self=False):
    out = []
    for i, q in enumerate(q_ids):
        scores = (C.astype(np.float32) @ Q[i].astype(np.float32)).astype(np.float64)
        cands = [(-s, c) for c, s in zip(c_ids, scores)
                 if not (exclude_self and c == q) and c not in (exclude or {}).get(q, ())]
        for rank, (neg, c) in enumerate(sorted(cands)[:k], start=1):
            out.append((int(q), int(c), float(-neg + (0.0 if offsets is None else offsets[i])), rank))
    return sorted(out)


def test_top_k_dense_exclusions_ties_and_offsets():
    q_ids = np.array([5, 2, 9], np.int32)
    Q = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]], np.float32)
    c_ids = np.array([30, 10, 20, 40, 50], np.int32)
    # Candidates 10 and 30 score the same for every query (a tie broken by the smaller id).
    C = np.array([[0.5, 0.5], [0.5, 0.5], [0.75, 0.25], [0.25, 0.75], [0.0, 0.0]], np.float32)
    exclude = {5: [20], 2: [], 9: [40, 77]}         # 77 is not a candidate: ignored
    lengths = np.array([len(exclude[q]) for q in q_ids])
    values = np.array([v for q in q_ids for v in exclude[q]], np.int32)
    offsets = np.array([1.0, 2.0, 3.0])
    got = recommend.top_k_dense(q_ids, Q, c_ids, C, 2, offsets=offsets, exclude_lengths=lengths,
                                exclude_values=values)
    rows = sorted(zip(*(a.tolist() for a in got)))
    # The scores are sums of exactly representable float32 products: exact comparison is safe.
    assert rows == sorted([
        (2, 40, 2.75, 1), (2, 10, 2.5, 2),          # query 2 likes the second coordinate
        (5, 10, 1.5, 1), (5, 30, 1.5, 2),          # 20 excluded; 10 and 30 tie -> 10 first
        (9, 10, 4.0, 1), (9, 20, 4.0, 2),          # 40 excluded; 10, 20, 30 tie at 1.0 -> 10, 20
    ])
    # Chunking the queries (one row at a time) changes nothing.
    again = recommend.top_k_dense(q_ids, Q, c_ids, C, 2, offsets=offsets, exclude_lengths=lengths,
                                  exclude_values=values, chunk_cells=1)
    assert sorted(zip(*(a.tolist() for a in again))) == rows
    # Everything excluded -> no rows; k larger than the candidates -> all allowed ones.
    none = recommend.top_k_dense(q_ids[:1], Q[:1], c_ids[:1], C[:1], 3, exclude_lengths=np.array([1]),
                                 exclude_values=np.array([30], np.int32))
    assert len(none[0]) == 0
    allc = recommend.top_k_dense(q_ids[:1], Q[:1], c_ids, C, 10)
    assert allc[1].tolist() == [20, 10, 30, 40, 50] and allc[3].tolist() == [1, 2, 3, 4, 5]


def test_blocked_top_k_matches_brute_force_with_many_blocks(spark):
    rng = np.random.default_rng(0)
    q_ids, c_ids = np.arange(1, 41, dtype=np.int32), np.arange(100, 137, dtype=np.int32)
    Q, C = rng.normal(size=(40, 3)).astype(np.float32), rng.normal(size=(37, 3)).astype(np.float32)
    exclude = {int(q): [int(c) for c in rng.choice(c_ids, 5, replace=False)] for q in q_ids}
    offsets = rng.normal(size=40)
    queries = spark.createDataFrame(
        [(int(q), Q[i].tolist(), exclude[int(q)], float(offsets[i])) for i, q in enumerate(q_ids)],
        "id int, vec array<float>, ex array<int>, off double")
    cands = spark.createDataFrame([(int(c), C[i].tolist()) for i, c in enumerate(c_ids)], "id int, vec array<float>")
    expected = spark.createDataFrame(_brute_top_k(q_ids, Q, c_ids, C, 4, offsets, exclude), recommend.TOP_K_SCHEMA)
    for qb, cb in ((7, 10), (1000, 1000)):          # 6 x 4 blocks (merged by a window) and 1 x 1
        got = recommend.blocked_top_k(queries, cands, 4, exclude_col="ex", offset_col="off",
                                      query_block_size=qb, candidate_block_size=cb)
        assertDataFrameEqual(got, expected, atol=1e-5)


# -- similar movies ----------------------------------------------------------------------------
def test_cosine_similar_matches_numpy(spark):
    rng = np.random.default_rng(1)
    V = rng.normal(size=(25, 4)).astype(np.float32)
    V[3] = 0.0  # no direction: left out
    ids = np.arange(1, 26, dtype=np.int32)
    df = spark.createDataFrame([(int(i), V[j].tolist()) for j, i in enumerate(ids)], "movie_id int, vec array<float>")
    got = similar.cosine_similar(df, 3, block_size=8)
    keep = np.linalg.norm(V, axis=1) > 0
    U = (V[keep] / np.linalg.norm(V[keep], axis=1, keepdims=True)).astype(np.float32)
    brute = _brute_top_k(ids[keep], U, ids[keep], U, 3, exclude_self=True)
    expected = spark.createDataFrame([(q, r, c, s) for q, c, s, r in brute],
                                     "movie_id int, rank int, similar_movie_id int, cosine double")
    assertDataFrameEqual(got, expected, atol=1e-5)


def test_pearson_matches_pandas_on_co_rated_customers(spark):
    rng = np.random.default_rng(2)
    rows = [(m, c, float(rng.integers(1, 6))) for m in range(1, 6) for c in range(1, 40) if rng.random() < 0.7]
    rows += [(6, c, 3.0) for c in range(1, 30)]             # constant ratings: correlation undefined
    df = spark.createDataFrame(rows, "movie_id int, customer_id int, rating double")
    pivot = pd.DataFrame(rows, columns=["m", "c", "r"]).pivot(index="c", columns="m", values="r")
    expected = []
    for a in range(1, 7):
        for b in range(a + 1, 7):
            both = pivot[[a, b]].dropna()
            r = both[a].corr(both[b])                         # what the kernel's corrwith computes
            if len(both) >= 15 and not np.isnan(r):
                expected.append((a, b, float(r), len(both)))
    assert len(expected) == 10                                # movie 6 never correlates
    want = spark.createDataFrame(expected, "movie_a int, movie_b int, pearson double, overlap long")
    assertDataFrameEqual(similar.pearson_pairs(df, min_overlap=15), want, atol=1e-9)
    # Tiny buffers and customer blocks: a customer's ratings split across batches and flushes.
    assertDataFrameEqual(similar.pearson_pairs(df, min_overlap=15, flush_rows=7, block_customers=3), want, atol=1e-9)
    top = similar.pearson_similar(df, top_movies=6, min_overlap=15, k=2).where("movie_id = 1")
    best = sorted([(b if a == 1 else a, r, n) for a, b, r, n in expected if 1 in (a, b)], key=lambda t: -t[1])[:2]
    assertDataFrameEqual(top, spark.createDataFrame([(1, i + 1, m, r, n) for i, (m, r, n) in enumerate(best)],
                                                    "movie_id int, rank int, similar_movie_id int, pearson double, "
                                                    "overlap long"), atol=1e-9)


def test_find_movies_and_closest_titles(spark):
    movies = spark.createDataFrame([(1, 2003, "Dinosaur Planet"), (2, 1999, "The Matrix"), (3, 2003, "The Matrix"),
                                    (4, 2003, "The Matrix Reloaded"), (5, None, "Lord of the Rings")],
                                   "movie_id int, year int, title string")
    assert [r.movie_id for r in similar.find_movies(movies, "the  matrix")] == [2, 3]
    assert [r.movie_id for r in similar.find_movies(movies, "The Matrix (1999)")] == [2]
    assert similar.find_movies(movies, "Matrix") == []
    assert [r.movie_id for r in similar.closest_titles(movies, "Matrix", 3)] == [2, 3, 4]
    assert similar.closest_titles(movies, "Dinosaur Plant", 1)[0].movie_id == 1
    assert similar.describe(movies.where("movie_id = 5").first()) == "Lord of the Rings"


# -- figures' summaries ------------------------------------------------------------------------
def test_long_tail_and_shares(spark):
    # Movie 1: 5 ratings, movies 2-3: 2 each, movie 4: 1 -> 10 ratings over 4 movies.
    rows = [(1, c) for c in range(5)] + [(2, 0), (2, 1), (3, 0), (3, 1), (4, 0)]
    df = spark.createDataFrame(rows, "movie_id int, customer_id int").withColumn("rating", F.lit(4.0))
    profile = evaluation.count_profile(rating_counts(df, "movie_id"))
    assert profile.to_dict("list") == {"n_ratings": [5, 2, 1], "n_keys": [1, 2, 1]}
    tail = evaluation.long_tail(profile)
    assert tail[["first_rank", "last_rank", "n_ratings"]].values.tolist() == [[1, 1, 5], [2, 3, 2], [4, 4, 1]]
    assert tail["cum_share_ratings"].tolist() == pytest.approx([0.5, 0.9, 1.0])
    assert evaluation.share_of_ratings_in_top(profile, 0.25) == pytest.approx(0.5)   # the top movie
    assert evaluation.share_of_ratings_in_top(profile, 0.5) == pytest.approx(0.7)    # top 2 movies
    dist = evaluation.rating_distribution(df)
    assert dist.to_dict("list") == {"rating": [4], "count": [10], "share": [1.0]}
