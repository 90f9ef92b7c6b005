"""Similar movies: cosine of ALS item factors, and the Kaggle kernel's Pearson correlation.

* Cosine: item factors are normalised in Spark and the top-k neighbours of every movie come from
  :func:`sparkfolio.netflix.recommend.blocked_top_k` (a blocked cross join scored with numpy on
  the executors), so all 17,770 x 17,770 pairs are scored without reaching the driver.
* Pearson: the kernel correlates a movie's ratings column with every other column of a
  customer x movie pivot (pairwise-complete, i.e. over customers who rated both). Here the same
  statistic is computed from sums over co-rated pairs, which the executors accumulate as matrix
  products over blocks of customers (see :func:`pearson_pairs`). The sums are movies x movies
  matrices, so only the ``top_movies`` most-rated movies take part (the kernel also restricts its
  pivot), and a pair needs ``min_overlap`` common customers to count.
"""

from __future__ import annotations

import logging
import re

from pyspark.sql import Column, DataFrame, Row, Window
from pyspark.sql import functions as F

from sparkfolio.netflix.recommend import blocked_top_k
from sparkfolio.runtime.errors import ConfigError

log = logging.getLogger(__name__)


def normalise(vectors: DataFrame) -> DataFrame:
    """``id, vec`` rows scaled to unit length (vectors of length 0 are dropped: no direction)."""
    norm = F.sqrt(F.aggregate("vec", F.lit(0.0).cast("double"), lambda acc, x: acc + x.cast("double") * x))
    return (vectors.withColumn("_norm", norm).where(F.col("_norm") > 0)
            .select("id", F.transform("vec", lambda x: (x / F.col("_norm")).cast("float")).alias("vec")))


def cosine_similar(item_factors: DataFrame, k: int = 10, *, block_size: int = 20000) -> DataFrame:
    """The ``k`` movies with the most similar factor vectors (cosine) for every movie.

    Parameters
    ----------
    item_factors:
        ``movie_id int, vec array<float>`` (e.g. ``ALSModel.itemFactors`` renamed).

    Returns
    -------
    DataFrame
        ``movie_id, rank, similar_movie_id, cosine`` (a movie is never its own neighbour; ties
        are broken by the smaller id).
    """
    unit = normalise(item_factors.select(F.col("movie_id").alias("id"), "vec"))
    # Query blocks a quarter of the candidate blocks: several scoring tasks even for one catalogue.
    top = blocked_top_k(unit, unit, k, exclude_self=True, query_block_size=max(1, block_size // 4),
                        candidate_block_size=block_size)
    return top.select(F.col("qid").alias("movie_id"), "rank", F.col("cid").alias("similar_movie_id"),
                      F.col("score").alias("cosine"))


def most_rated_movies(ratings: DataFrame, n: int) -> DataFrame:
    """``movie_id, n_ratings`` of the ``n`` most-rated movies (ties: smaller id first)."""
    counts = ratings.groupBy("movie_id").agg(F.count(F.lit(1)).alias("n_ratings"))
    return counts.orderBy(F.col("n_ratings").desc(), F.col("movie_id").asc()).limit(n)


# Pearson is computed among at most this many movies: its sums are movies x movies matrices.
MAX_PEARSON_MOVIES = 5000


def pearson_pairs(ratings: DataFrame, min_overlap: int, *, flush_rows: int = 200_000,
                  block_customers: int = 2048) -> DataFrame:
    """Pearson correlation of every movie pair over the customers who rated both.

    ``r = (n Sxy - Sx Sy) / sqrt((n Sxx - Sx^2) (n Syy - Sy^2))`` from sums over co-rated
    pairs; with integer ratings every sum is exact in double precision. Pairs with fewer than
    ``min_overlap`` common customers, or where either side is constant (r undefined, as pandas
    gives NaN), are left out.

    The sums are not produced by a self-join (one row per co-rated pair: ~660 million rows for
    the 500 most-rated of 24 million ratings) but as matrix products on the executors: the
    ratings are hash-partitioned by customer, and each task turns blocks of
    ``block_customers`` customers into a dense customers x movies matrix ``X`` (0 = not rated)
    and its indicator ``B``, and adds ``B'B`` (overlap), ``X'B`` (sums), ``(X*X)'B`` (sums of
    squares) and ``X'X`` (cross products) to its totals. A task then emits one row per movie
    pair with a common customer, and Spark sums them. Memory per task is bounded by
    ``flush_rows`` buffered ratings and four movies x movies matrices.

    Parameters
    ----------
    ratings:
        ``customer_id, movie_id, rating`` with one rating per customer and movie, over at most
        :data:`MAX_PEARSON_MOVIES` distinct movies (their ids reach the driver).

    Returns
    -------
    DataFrame
        ``movie_a < movie_b, pearson double, overlap long``.
    """
    spark = ratings.sparkSession
    movie_ids = sorted(int(r["movie_id"]) for r in
                       ratings.select("movie_id").distinct().limit(MAX_PEARSON_MOVIES + 1).collect())
    if len(movie_ids) > MAX_PEARSON_MOVIES:
        raise ConfigError(f"Pearson over more than {MAX_PEARSON_MOVIES} movies: restrict it with pearson_top_movies")
    schema = ("movie_a int, movie_b int, overlap long, sx double, sy double, sxx double, syy double, "
              "sxy double")
    if len(movie_ids) < 2:
        return spark.createDataFrame([], "movie_a int, movie_b int, pearson double, overlap long")
    partitions = max(2, spark.sparkContext.defaultParallelism)
    by_customer = (ratings.select("customer_id", "movie_id", F.col("rating").cast("double").alias("rating"))
                   .repartition(partitions, "customer_id").sortWithinPartitions("customer_id"))
    partial = by_customer.mapInPandas(_co_rating_sums(movie_ids, flush_rows, block_customers), schema)
    sums = partial.groupBy("movie_a", "movie_b").agg(
        *[F.sum(c).alias(c) for c in ("overlap", "sx", "sy", "sxx", "syy", "sxy")])
    n = F.col("overlap").cast("double")
    var_x = n * F.col("sxx") - F.col("sx") * F.col("sx")
    var_y = n * F.col("syy") - F.col("sy") * F.col("sy")
    r = (n * F.col("sxy") - F.col("sx") * F.col("sy")) / F.sqrt(var_x * var_y)
    return (sums.where((F.col("overlap") >= min_overlap) & (var_x > 0) & (var_y > 0))
            .select("movie_a", "movie_b", F.least(F.greatest(r, F.lit(-1.0)), F.lit(1.0)).alias("pearson"),
                    F.col("overlap").cast("long").alias("overlap")))


def _co_rating_sums(movie_ids: list[int], flush_rows: int, block_customers: int):
    """The ``mapInPandas`` function of :func:`pearson_pairs` (captures plain values only)."""

    def sums(batches):
        import numpy as np
        import pandas as pd

        ids = np.asarray(movie_ids, dtype=np.int64)
        m = len(ids)
        overlap, sx, sxx, sxy = (np.zeros((m, m)) for _ in range(4))

        def add(customers: np.ndarray, movies: np.ndarray, ratings: np.ndarray) -> None:
            codes, _ = pd.factorize(customers, sort=False)  # customers arrive sorted: codes ascend
            cols = np.searchsorted(ids, movies)
            for lo in range(0, int(codes.max()) + 1 if len(codes) else 0, block_customers):
                start, stop = np.searchsorted(codes, [lo, lo + block_customers])
                x = np.zeros((block_customers, m))
                x[codes[start:stop] - lo, cols[start:stop]] = ratings[start:stop]
                b = (x > 0).astype(np.float64)
                overlap[...] += b.T @ b
                sx[...] += x.T @ b
                sxx[...] += (x * x).T @ b
                sxy[...] += x.T @ x

        pending: list[pd.DataFrame] = []
        buffered = 0
        for pdf in batches:
            pending.append(pdf)
            buffered += len(pdf)
            if buffered < flush_rows:
                continue
            frame = pd.concat(pending, ignore_index=True)
            c = frame["customer_id"].to_numpy(np.int64)
            # The last customer may go on in the next batch: keep its rows for later.
            cut = int(np.searchsorted(c, c[-1], side="left"))
            add(c[:cut], frame["movie_id"].to_numpy(np.int64)[:cut], frame["rating"].to_numpy(np.float64)[:cut])
            pending, buffered = [frame.iloc[cut:]], len(frame) - cut
        if buffered:
            frame = pd.concat(pending, ignore_index=True)
            add(frame["customer_id"].to_numpy(np.int64), frame["movie_id"].to_numpy(np.int64),
                frame["rating"].to_numpy(np.float64))
        a, b = np.triu_indices(m, k=1)
        keep = overlap[a, b] > 0
        a, b = a[keep], b[keep]
        yield pd.DataFrame({
            "movie_a": ids[a].astype(np.int32), "movie_b": ids[b].astype(np.int32),
            "overlap": overlap[a, b].astype(np.int64),
            "sx": sx[a, b], "sy": sx[b, a], "sxx": sxx[a, b], "syy": sxx[b, a], "sxy": sxy[a, b],
        })

    return sums


def pearson_similar(ratings: DataFrame, *, top_movies: int = 500, min_overlap: int = 50, k: int = 10
                    ) -> DataFrame:
    """The ``k`` most correlated movies of each of the ``top_movies`` most-rated movies.

    Returns
    -------
    DataFrame
        ``movie_id, rank, similar_movie_id, pearson, overlap`` (ties: more overlap, then smaller id).

    Raises
    ------
    ConfigError
        ``top_movies`` < 2, ``min_overlap`` < 2 (a correlation of one pair is meaningless) or k < 1.
    """
    if top_movies < 2:
        raise ConfigError(f"pearson_top_movies={top_movies}: expected at least 2")
    if min_overlap < 2:
        raise ConfigError(f"min_overlap={min_overlap}: expected at least 2")
    if k < 1:
        raise ConfigError(f"similar_k={k}: expected at least 1")
    chosen = most_rated_movies(ratings, top_movies).select("movie_id")
    subset = ratings.join(F.broadcast(chosen), "movie_id", "left_semi")
    pairs = pearson_pairs(subset, min_overlap)
    both = pairs.select(F.col("movie_a").alias("movie_id"), F.col("movie_b").alias("similar_movie_id"),
                        "pearson", "overlap").unionByName(
        pairs.select(F.col("movie_b").alias("movie_id"), F.col("movie_a").alias("similar_movie_id"),
                     "pearson", "overlap"))
    w = Window.partitionBy("movie_id").orderBy(F.col("pearson").desc(), F.col("overlap").desc(),
                                               F.col("similar_movie_id").asc())
    return (both.withColumn("rank", F.row_number().over(w)).where(F.col("rank") <= k)
            .select("movie_id", F.col("rank").cast("int"), "similar_movie_id", "pearson", "overlap"))


_YEAR_SUFFIX = re.compile(r"^(.*\S)\s*\((\d{4})\)\s*$")


def _norm_title(col: Column) -> Column:
    return F.lower(F.trim(F.regexp_replace(col, r"\s+", " ")))


def find_movies(movies: DataFrame, query: str) -> list[Row]:
    """Movies whose title equals ``query`` (case and spacing ignored), as rows of id, year, title.

    ``"Title (2001)"`` also matches on the year, which tells apart the catalogue's remakes and
    re-releases that share a title. A handful of rows reach the driver.
    """
    text = " ".join(query.split()).lower()
    cond = _norm_title(F.col("title")) == F.lit(text)
    m = _YEAR_SUFFIX.match(text)
    if m:
        cond = cond | ((_norm_title(F.col("title")) == F.lit(m.group(1))) & (F.col("year") == int(m.group(2))))
    return movies.where(cond).select("movie_id", "year", "title").orderBy("movie_id").limit(50).collect()


def closest_titles(movies: DataFrame, query: str, n: int = 5) -> list[Row]:
    """The ``n`` titles nearest to ``query`` (a substring match first, then edit distance)."""
    text = " ".join(query.split()).lower()
    title = _norm_title(F.col("title"))
    dist = F.when(title.contains(text), F.lit(0)).otherwise(F.levenshtein(title, F.lit(text)))
    return (movies.where(F.col("title").isNotNull()).withColumn("_d", dist)
            .orderBy("_d", F.length("title"), "movie_id").select("movie_id", "year", "title").limit(n).collect())


def describe(row: Row) -> str:
    """``Title (year)`` for reports."""
    return f"{row['title']} ({row['year']})" if row["year"] is not None else str(row["title"])
