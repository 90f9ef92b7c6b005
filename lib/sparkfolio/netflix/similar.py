"""Similar movies: cosine of ALS item factors, and the Kaggle kernel's Pearson correlation.

* Cosine: item factors are normalised in Spark and the top-k neighbours of every movie come from
  :func:`sparkfolio.netflix.recommend.blocked_top_k` (a blocked cross join scored with numpy on
  the executors), so all 17,770 x 17,770 pairs are scored without reaching the driver.
* Pearson: the kernel correlates a movie's ratings column with every other column of a
  customer x movie pivot (pairwise-complete, i.e. over customers who rated both). Here the same
  statistic is computed from sums over co-rated pairs, produced by a self-join of the ratings on
  ``customer_id``. Pairs grow with the square of each customer's ratings, so only the
  ``top_movies`` most-rated movies take part (the kernel also restricts its pivot), and a pair
  needs ``min_overlap`` common customers to count.
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


def pearson_pairs(ratings: DataFrame, min_overlap: int) -> DataFrame:
    """Pearson correlation of every movie pair over the customers who rated both.

    ``r = (n Sxy - Sx Sy) / sqrt((n Sxx - Sx^2) (n Syy - Sy^2))`` from sums over co-rated
    pairs; with integer ratings every sum is exact in double precision. Pairs with fewer than
    ``min_overlap`` common customers, or where either side is constant (r undefined, as pandas
    gives NaN), are left out.

    Returns
    -------
    DataFrame
        ``movie_a < movie_b, pearson double, overlap long``.
    """
    a = ratings.select("customer_id", F.col("movie_id").alias("movie_a"), F.col("rating").cast("double").alias("x"))
    b = ratings.select("customer_id", F.col("movie_id").alias("movie_b"), F.col("rating").cast("double").alias("y"))
    co = a.join(b, "customer_id").where(F.col("movie_a") < F.col("movie_b"))
    sums = co.groupBy("movie_a", "movie_b").agg(
        F.count(F.lit(1)).alias("overlap"), F.sum("x").alias("sx"), F.sum("y").alias("sy"),
        F.sum(F.col("x") * F.col("x")).alias("sxx"), F.sum(F.col("y") * F.col("y")).alias("syy"),
        F.sum(F.col("x") * F.col("y")).alias("sxy"))
    n = F.col("overlap").cast("double")
    var_x = n * F.col("sxx") - F.col("sx") * F.col("sx")
    var_y = n * F.col("syy") - F.col("sy") * F.col("sy")
    r = (n * F.col("sxy") - F.col("sx") * F.col("sy")) / F.sqrt(var_x * var_y)
    return (sums.where((F.col("overlap") >= min_overlap) & (var_x > 0) & (var_y > 0))
            .select("movie_a", "movie_b", F.least(F.greatest(r, F.lit(-1.0)), F.lit(1.0)).alias("pearson"),
                    "overlap"))


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
