"""Matrix-factorisation models and top-N scoring on the executors.

Three pieces:

* :func:`fit_als` wraps ``pyspark.ml.recommendation.ALS`` (explicit ratings, NaN for cold starts
  so the caller decides the fallback).
* :class:`FactorModel` expresses every model of this job (global mean, biases, ALS, biases + ALS
  on residuals) in one form, ``score(u, i) = offset_u + <p_u, q_i>``, by appending constant
  coordinates: biases + ALS is ``p_u = [x_u, 1]``, ``q_i = [y_i, b_i]``, ``offset_u = mu + b_u``.
  One scorer then serves all of them.
* :func:`blocked_top_k` finds the k best candidates of every query by a blocked cross join: the
  rows are hashed into blocks, each (query block, candidate block) pair becomes one task that
  multiplies the two factor matrices with numpy and keeps a partial top-k, and partial lists of
  several candidate blocks are merged by a window. Nothing but block counts reaches the driver,
  and memory per task is bounded by the block sizes, so it scales with the executors::

        candidate blocks  C0        C1
      query blocks  Q0 [top-k(Q0,C0)] [top-k(Q0,C1)]  --> merge per query: best k of 2k
                    Q1 [top-k(Q1,C0)] [top-k(Q1,C1)]

Used by the recommendations, the ranking metrics and the cosine similar-movies table, and by the
benchmark (:func:`als_seconds_per_iteration`, :func:`time_recommend_all`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Iterator

import numpy as np
from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from sparkfolio.netflix.baselines import BiasModel, fit_biases, with_residual
from sparkfolio.runtime.errors import ConfigError

log = logging.getLogger(__name__)

MODEL_KINDS = ("global_mean", "bias", "als", "bias_als")

TOP_K_SCHEMA = "qid int, cid int, score double, rank int"

# Scores of one task are computed in chunks of at most this many cells (float32: 16 MiB).
_CHUNK_CELLS = 1 << 22


# -- ALS --------------------------------------------------------------------------------------
def fit_als(train: DataFrame, rating_col: str = "rating", *, rank: int = 10, max_iter: int = 10,
            reg_param: float = 0.1, seed: int = 42, num_blocks: int = 10,
            checkpoint_interval: int = 10) -> Any:
    """Fit Spark's explicit-feedback ALS on ``customer_id, movie_id, rating_col``.

    ``coldStartStrategy='nan'`` keeps every row in ``transform``; the callers replace NaN with
    the bias baseline so cold customers and movies are predicted, never dropped. Checkpoints
    happen every ``checkpoint_interval`` iterations when the SparkContext has a checkpoint dir,
    which keeps the lineage of long runs short.

    Raises
    ------
    ConfigError
        A non-positive rank, iteration count or block count, or a negative regularisation.
    """
    from pyspark.ml.recommendation import ALS

    if rank < 1 or max_iter < 1 or num_blocks < 1 or checkpoint_interval < 1:
        raise ConfigError("ALS rank, max_iter, num_blocks and checkpoint_interval must be >= 1")
    if reg_param < 0:
        raise ConfigError(f"ALS reg_param={reg_param}: expected >= 0")
    als = ALS(userCol="customer_id", itemCol="movie_id", ratingCol=rating_col, rank=rank, maxIter=max_iter,
              regParam=reg_param, seed=seed, numUserBlocks=num_blocks, numItemBlocks=num_blocks,
              implicitPrefs=False, nonnegative=False, coldStartStrategy="nan",
              checkpointInterval=checkpoint_interval)
    return als.fit(train.select("customer_id", "movie_id", F.col(rating_col).cast("float").alias(rating_col)))


def als_predictions(model: Any, df: DataFrame, out_col: str) -> DataFrame:
    """``df`` plus ``out_col``: the ALS model's prediction as a double, NaN for cold starts."""
    pred = model.transform(df, {model.predictionCol: out_col})
    return pred.withColumn(out_col, F.col(out_col).cast("double"))


# -- one form for every model -----------------------------------------------------------------
@dataclass
class FactorModel:
    """Any of this job's models as ``score(u, i) = offset_u + <user_vec_u, item_vec_i>``.

    ``users``: ``customer_id int, vec array<float>, offset double``; ``items``: ``movie_id int,
    vec array<float>``; all vectors have length ``dim``. Customers or movies without factors get
    zero factor coordinates, so they are scored by their biases alone (never NaN).
    """

    kind: str
    users: DataFrame
    items: DataFrame
    dim: int


def _zeros(n: int) -> Any:
    return F.array_repeat(F.lit(0.0).cast("float"), n)


def _ones() -> Any:
    return F.array(F.lit(1.0).cast("float"))


def factor_model(kind: str, customers: DataFrame, movies: DataFrame, bias: BiasModel | None = None,
                 als: Any = None) -> FactorModel:
    """Express a fitted model as a :class:`FactorModel` over the given customers and movies.

    Parameters
    ----------
    kind:
        ``global_mean`` / ``bias`` (need ``bias``), ``als`` (ALS on ratings; customers without
        factors fall back to the bias baseline) or ``bias_als`` (ALS fitted on the residuals of
        ``bias``).
    customers, movies:
        DataFrames with a ``customer_id`` / ``movie_id`` column: who is scored, and what.
    """
    if kind not in MODEL_KINDS:
        raise ConfigError(f"unknown model {kind!r} (known: {', '.join(MODEL_KINDS)})")
    if bias is None:
        raise ValueError("every model needs the bias model (fallback for cold starts)")
    if kind in ("als", "bias_als") and als is None:
        raise ValueError(f"model {kind!r} needs an ALS model")
    mu = F.lit(float(bias.mu))
    users = customers.select("customer_id").distinct().join(
        bias.customer_bias.select("customer_id", "b_customer"), "customer_id", "left")
    items = movies.select("movie_id").distinct().join(
        F.broadcast(bias.movie_bias.select("movie_id", "b_movie")), "movie_id", "left")
    b_u = F.coalesce(F.col("b_customer"), F.lit(0.0))
    b_i = F.coalesce(F.col("b_movie"), F.lit(0.0)).cast("float")
    if kind == "global_mean":
        # Every movie scores the same: ties are broken by movie_id downstream.
        return FactorModel(kind, users.select("customer_id", _ones().alias("vec"), mu.alias("offset")),
                           items.select("movie_id", _zeros(1).alias("vec")), 1)
    if kind == "bias":
        return FactorModel(kind, users.select("customer_id", _ones().alias("vec"), (mu + b_u).alias("offset")),
                           items.select("movie_id", F.array(b_i).alias("vec")), 1)
    rank = int(als.rank)
    users = users.join(als.userFactors.select(F.col("id").alias("customer_id"), F.col("features").alias("_x")),
                       "customer_id", "left")
    items = items.join(als.itemFactors.select(F.col("id").alias("movie_id"), F.col("features").alias("_y")),
                       "movie_id", "left")
    x = F.coalesce(F.col("_x"), _zeros(rank))
    y = F.coalesce(F.col("_y"), _zeros(rank))
    item_vecs = items.select("movie_id", F.concat(y, F.array(b_i)).alias("vec"))
    if kind == "bias_als":
        user_vecs = users.select("customer_id", F.concat(x, _ones()).alias("vec"), (mu + b_u).alias("offset"))
    else:
        # Plain ALS: known customers are scored by <x_u, y_i> alone (their bias coordinate is 0);
        # a customer without factors falls back to the bias baseline mu + b_u + b_i.
        known = F.col("_x").isNotNull()
        user_vecs = users.select(
            "customer_id",
            F.when(known, F.concat(x, F.array(F.lit(0.0).cast("float")))).otherwise(F.concat(x, _ones())).alias("vec"),
            F.when(known, F.lit(0.0)).otherwise(mu + b_u).alias("offset"))
    return FactorModel(kind, user_vecs, item_vecs, rank + 1)


# -- blocked top-k ----------------------------------------------------------------------------
def top_k_dense(q_ids: np.ndarray, Q: np.ndarray, c_ids: np.ndarray, C: np.ndarray, k: int, *,
                offsets: np.ndarray | None = None, exclude_lengths: np.ndarray | None = None,
                exclude_values: np.ndarray | None = None, exclude_self: bool = False,
                chunk_cells: int = _CHUNK_CELLS) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The ``k`` highest ``offset_q + Q[q] . C[c]`` candidates of every query, in order.

    A pure numpy kernel (run inside a Spark task on one pair of blocks). Ties are broken by the
    smaller candidate id; excluded candidates (``exclude_values`` grouped per query by
    ``exclude_lengths``, and the query's own id when ``exclude_self``) never appear; a query
    with fewer than ``k`` allowed candidates gets fewer rows. Rows are sorted by id before the
    product so the floating-point result does not depend on the order rows arrived in.

    Returns
    -------
    (qid, cid, score, rank)
        Flat arrays, ``rank`` from 1 per query.
    """
    empty = (np.empty(0, np.int32), np.empty(0, np.int32), np.empty(0, np.float64), np.empty(0, np.int32))
    n, m = len(q_ids), len(c_ids)
    if n == 0 or m == 0 or k < 1:
        return empty
    q_order = np.argsort(q_ids, kind="stable")
    c_order = np.argsort(c_ids, kind="stable")
    q_ids, Q = np.asarray(q_ids)[q_order], np.asarray(Q, dtype=np.float32)[q_order]
    c_ids, C = np.asarray(c_ids)[c_order], np.asarray(C, dtype=np.float32)[c_order]
    off = None if offsets is None else np.asarray(offsets, dtype=np.float64)[q_order]
    # Excluded (query row, candidate column) cells, in the sorted row order.
    ex_rows = ex_cols = np.empty(0, np.int64)
    if exclude_values is not None and exclude_lengths is not None and len(exclude_values):
        inverse = np.empty(n, np.int64)
        inverse[q_order] = np.arange(n)
        rows = inverse[np.repeat(np.arange(n), exclude_lengths)]
        pos = np.searchsorted(c_ids, exclude_values)
        hit = pos < m
        hit[hit] = c_ids[pos[hit]] == np.asarray(exclude_values)[hit]
        ex_rows, ex_cols = rows[hit], pos[hit]
        by_row = np.argsort(ex_rows, kind="stable")
        ex_rows, ex_cols = ex_rows[by_row], ex_cols[by_row]
    kk = min(k, m)
    out_q, out_c, out_s, out_r = [], [], [], []
    step = max(1, chunk_cells // m)
    for a in range(0, n, step):
        b = min(n, a + step)
        S = Q[a:b] @ C.T
        S[np.isnan(S)] = -np.inf
        if exclude_self:
            pos = np.searchsorted(c_ids, q_ids[a:b])
            ok = pos < m
            ok[ok] = c_ids[pos[ok]] == q_ids[a:b][ok]
            S[np.flatnonzero(ok), pos[ok]] = -np.inf
        if len(ex_rows):
            lo, hi = np.searchsorted(ex_rows, [a, b])
            S[ex_rows[lo:hi] - a, ex_cols[lo:hi]] = -np.inf
        idx = np.argpartition(-S, kk - 1, axis=1)[:, :kk] if kk < m else np.tile(np.arange(m), (b - a, 1))
        vals = np.take_along_axis(S, idx, axis=1)
        # Rows where the k-th value is tied with a value left out: redo them exactly, so the
        # smaller candidate id always wins a tie whatever argpartition chose.
        if kk < m:
            kth = vals.min(axis=1)
            tied = np.flatnonzero((S >= kth[:, None]).sum(axis=1) > kk)
            for r in tied:
                idx[r] = np.lexsort((c_ids, -S[r]))[:kk]
            vals = np.take_along_axis(S, idx, axis=1)
        cids = c_ids[idx]
        order = np.lexsort((cids, -vals), axis=-1)
        vals = np.take_along_axis(vals, order, axis=1).astype(np.float64)
        cids = np.take_along_axis(cids, order, axis=1)
        ranks = np.broadcast_to(np.arange(1, kk + 1, dtype=np.int32), vals.shape)
        keep = np.isfinite(vals)
        qrep = np.broadcast_to(q_ids[a:b, None], vals.shape)
        if off is not None:
            vals = vals + off[a:b, None]
        out_q.append(qrep[keep])
        out_c.append(cids[keep])
        out_s.append(vals[keep])
        out_r.append(ranks[keep])
    return (np.concatenate(out_q).astype(np.int32), np.concatenate(out_c).astype(np.int32),
            np.concatenate(out_s), np.concatenate(out_r).astype(np.int32))


def _top_k_batches(k: int, exclude_self: bool, has_exclude: bool, has_offset: bool) -> Any:
    """The mapInArrow function scoring (query block, candidate block) rows; captures plain values."""

    def score(batches: Iterator[Any]) -> Iterator[Any]:
        import numpy as np
        import pyarrow as pa

        for batch in batches:
            cols = {name: batch.column(i) for i, name in enumerate(batch.schema.names)}
            for r in range(batch.num_rows):
                q_ids = cols["q_ids"][r].values.to_numpy(zero_copy_only=False)
                c_ids = cols["c_ids"][r].values.to_numpy(zero_copy_only=False)
                q_flat = cols["q_vecs"][r].values.to_numpy(zero_copy_only=False)
                c_flat = cols["c_vecs"][r].values.to_numpy(zero_copy_only=False)
                dim = len(q_flat) // max(1, len(q_ids))
                if len(q_ids) == 0 or len(c_ids) == 0 or dim == 0:
                    continue
                if dim * len(q_ids) != len(q_flat) or dim * len(c_ids) != len(c_flat):
                    raise ValueError("factor vectors of different lengths in one model")
                lengths = values = offsets = None
                if has_exclude:
                    ex = cols["q_exclude"][r].values
                    lengths = ex.value_lengths().fill_null(0).to_numpy(zero_copy_only=False)
                    values = ex.flatten().to_numpy(zero_copy_only=False)
                if has_offset:
                    offsets = cols["q_offsets"][r].values.to_numpy(zero_copy_only=False)
                qid, cid, s, rank = top_k_dense(
                    q_ids, q_flat.reshape(len(q_ids), dim), c_ids, c_flat.reshape(len(c_ids), dim), k,
                    offsets=offsets, exclude_lengths=lengths, exclude_values=values, exclude_self=exclude_self)
                yield pa.RecordBatch.from_arrays(
                    [pa.array(qid, pa.int32()), pa.array(cid, pa.int32()), pa.array(s, pa.float64()),
                     pa.array(rank, pa.int32())], names=["qid", "cid", "score", "rank"])

    return score


def _blocks(df: DataFrame, prefix: str, width: int, extra: dict[str, str]) -> DataFrame:
    """Group ``id, vec[, extra...]`` rows into blocks of ids ``[b * width, (b + 1) * width)``.

    Blocks by id range need no row count up front, and since ids are unique a block never holds
    more than ``width`` rows, whatever the distribution of the ids: that bounds a task's memory.
    """
    fields = [F.col("id"), F.col("vec")] + [F.col(src) for src in extra.values()]
    grouped = (df.withColumn("_block", F.floor(F.col("id") / F.lit(width)))
               .groupBy("_block").agg(F.collect_list(F.struct(*fields)).alias("_rows")))
    cols = [F.col("_block").alias(f"{prefix}_block"),
            F.col("_rows.id").alias(f"{prefix}_ids"),
            F.flatten(F.col("_rows.vec")).alias(f"{prefix}_vecs")]
    cols += [F.col(f"_rows.{src}").alias(f"{prefix}_{name}") for name, src in extra.items()]
    return grouped.select(*cols)


def blocked_top_k(queries: DataFrame, candidates: DataFrame, k: int, *, exclude_col: str | None = None,
                  offset_col: str | None = None, exclude_self: bool = False,
                  query_block_size: int = 4096, candidate_block_size: int = 20000,
                  num_partitions: int | None = None) -> DataFrame:
    """Top ``k`` candidates per query by ``offset + <query vec, candidate vec>``, on the executors.

    Parameters
    ----------
    queries:
        ``id int, vec array<float>`` plus optionally ``exclude_col`` (array<int> of candidate ids
        never to return for that query) and ``offset_col`` (double added to its scores).
    candidates:
        ``id int, vec array<float>`` (same vector length).
    query_block_size, candidate_block_size:
        Width of the id ranges grouped into one block, so the most rows of a block. A task
        holds one query block, one candidate block and a 16 MiB chunk of scores. When all
        candidate ids fall in one range (the 17,770 Netflix movies with the default 20,000)
        no merge step is needed.
    num_partitions:
        Scoring tasks (default: twice the default parallelism, i.e. the executors' cores).

    Returns
    -------
    DataFrame
        ``qid int, cid int, score double, rank int`` (rank 1 = best; ties by smaller cid).
    """
    if k < 1:
        raise ConfigError(f"top-k needs k >= 1, got {k}")
    if query_block_size < 1 or candidate_block_size < 1:
        raise ConfigError("block sizes must be >= 1")
    spark = queries.sparkSession
    # One small aggregate over the candidates tells whether their ids span several blocks.
    lo, hi = candidates.agg(F.min("id"), F.max("id")).first()
    if lo is None:
        return spark.createDataFrame([], TOP_K_SCHEMA)
    n_cblocks = hi // candidate_block_size - lo // candidate_block_size + 1
    extra: dict[str, str] = {}
    cols = [F.col("id"), F.col("vec")]
    if exclude_col:
        cols.append(F.coalesce(F.col(exclude_col), F.array().cast("array<int>")).alias("_exclude"))
        extra["exclude"] = "_exclude"
    if offset_col:
        cols.append(F.col(offset_col).cast("double").alias("_offset"))
        extra["offsets"] = "_offset"
    q_blocks = _blocks(queries.select(*cols), "q", query_block_size, extra)
    c_blocks = _blocks(candidates.select("id", "vec"), "c", candidate_block_size, {})
    # One row per (query block, candidate block), spread over the cores: scoring is CPU-bound,
    # so the task count follows the cores, not the (small) size of the block rows in bytes.
    parts = num_partitions or max(1, 2 * spark.sparkContext.defaultParallelism)
    pairs = q_blocks.crossJoin(c_blocks).repartition(parts)
    scored = pairs.mapInArrow(_top_k_batches(int(k), bool(exclude_self), bool(exclude_col), bool(offset_col)),
                              TOP_K_SCHEMA)
    if n_cblocks == 1:
        return scored
    w = Window.partitionBy("qid").orderBy(F.col("score").desc(), F.col("cid").asc())
    return (scored.withColumn("rank", F.row_number().over(w)).where(F.col("rank") <= k)
            .select("qid", "cid", "score", F.col("rank").cast("int")))


def rated_lists(ratings: DataFrame) -> DataFrame:
    """``customer_id, rated array<int>``: the movies each customer rated (excluded from top-N)."""
    return ratings.groupBy("customer_id").agg(F.collect_list("movie_id").alias("rated"))


def recommend_all(model: FactorModel, rated: DataFrame, n: int = 10, *, customers: DataFrame | None = None,
                  query_block_size: int = 4096, candidate_block_size: int = 20000) -> DataFrame:
    """Top-``n`` movies for every customer of ``model`` (or of ``customers``), never one they rated.

    Parameters
    ----------
    model:
        From :func:`factor_model`; its ``items`` are the candidate movies.
    rated:
        ``customer_id, movie_id`` rows whose movies are excluded for that customer (all the
        ratings, train and test, for recommendations; only train for the ranking metrics).
    customers:
        Restrict to these ``customer_id`` (default: every customer of the model).

    Returns
    -------
    DataFrame
        ``customer_id int, rank int, movie_id int, score double`` where ``score`` is the
        model's predicted rating (unclipped; rank follows it, ties by smaller movie_id).
    """
    users = model.users
    if customers is not None:
        users = users.join(customers.select("customer_id").distinct(), "customer_id", "left_semi")
    queries = (users.join(rated_lists(rated), "customer_id", "left")
               .select(F.col("customer_id").alias("id"), "vec", "offset", "rated"))
    candidates = model.items.select(F.col("movie_id").alias("id"), "vec")
    top = blocked_top_k(queries, candidates, n, exclude_col="rated", offset_col="offset",
                        query_block_size=query_block_size, candidate_block_size=candidate_block_size)
    return top.select(F.col("qid").alias("customer_id"), "rank", F.col("cid").alias("movie_id"), "score")


# -- for the benchmark ------------------------------------------------------------------------
def fit_factor_model(ratings: DataFrame, kind: str = "bias_als", *, rank: int = 10, max_iter: int = 10,
                     reg_param: float = 0.1, seed: int = 42, num_blocks: int = 10,
                     lambda_movie: float = 25.0, lambda_customer: float = 10.0,
                     bias_iterations: int = 3) -> FactorModel:
    """Fit biases (+ ALS) on all of ``ratings`` and return the model over its customers and movies."""
    ratings = ratings.select("movie_id", "customer_id", F.col("rating").cast("double").alias("rating"))
    bias = fit_biases(ratings, None, lambda_movie, lambda_customer, bias_iterations)
    als = None
    if kind == "als":
        als = fit_als(ratings, "rating", rank=rank, max_iter=max_iter, reg_param=reg_param, seed=seed,
                      num_blocks=num_blocks)
    elif kind == "bias_als":
        als = fit_als(with_residual(ratings, bias), "residual", rank=rank, max_iter=max_iter,
                      reg_param=reg_param, seed=seed, num_blocks=num_blocks)
    return factor_model(kind, ratings, ratings, bias, als)


def als_seconds_per_iteration(ratings: DataFrame, *, rank: int = 10, reg_param: float = 0.1,
                              iterations: tuple[int, int] = (2, 10), seed: int = 42, num_blocks: int = 10,
                              repeats: int = 1, warmup: bool = True) -> dict[str, float]:
    """Seconds per ALS iteration on ``ratings``, measured as a difference of two fits.

    ``ALS.fit`` materialises its factors, so timing fits of ``iterations[0]`` and
    ``iterations[1]`` iterations and dividing the difference by the iteration difference cancels
    the fixed cost (partitioning the ratings into blocks, the final factor tables). A first
    untimed fit warms the JVM up; with ``repeats`` > 1 each fit keeps its fastest time.
    ``ratings`` should be cached by the caller so the read is not part of either fit.

    Returns
    -------
    dict
        ``seconds_per_iteration``, ``fit_seconds_<n>`` for both fits, ``ratings``.
    """
    lo, hi = iterations
    if not 1 <= lo < hi:
        raise ConfigError(f"iterations={iterations}: expected two counts 1 <= a < b")
    if repeats < 1:
        raise ConfigError(f"repeats={repeats}: expected at least 1")
    n = ratings.count()

    def timed_fit(iters: int) -> float:
        t0 = time.perf_counter()
        model = fit_als(ratings, "rating", rank=rank, max_iter=iters, reg_param=reg_param, seed=seed,
                        num_blocks=num_blocks)
        seconds = time.perf_counter() - t0
        model.userFactors.unpersist()
        model.itemFactors.unpersist()
        return seconds

    if warmup:
        timed_fit(lo)
    times = {iters: min(timed_fit(iters) for _ in range(repeats)) for iters in (lo, hi)}
    return {"seconds_per_iteration": (times[hi] - times[lo]) / (hi - lo),
            f"fit_seconds_{lo}": times[lo], f"fit_seconds_{hi}": times[hi], "ratings": float(n)}


def time_recommend_all(model: FactorModel, rated: DataFrame, n: int = 10, **blocks: int) -> dict[str, float]:
    """Seconds to compute the top-``n`` of every customer of ``model`` (results discarded).

    The recommendations run in full on the executors and go to Spark's ``noop`` sink, so the
    time is the scoring, not a write. ``blocks`` are passed to :func:`recommend_all`.
    """
    t0 = time.perf_counter()
    recommend_all(model, rated, n, **blocks).write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - t0
    customers = model.users.count()
    return {"seconds": seconds, "customers": float(customers),
            "customers_per_second": customers / seconds if seconds > 0 else float("nan")}
