"""Preparing ingested ratings for the recommender: validation, sparsity filter, train/test splits.

All functions are DataFrame -> DataFrame transformations (plus tiny aggregates collected for
thresholds), so they run the same on a laptop and on a cluster and are unit-tested on small frames.

Column contract (the ``netflix-ingest`` output): ``movie_id int, customer_id int, rating byte,
date date``. Inside the recommender ``rating`` is a double.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from pyspark.sql import DataFrame, Window
from pyspark.sql import functions as F

from sparkfolio.runtime.errors import ConfigError, InputError

log = logging.getLogger(__name__)

RATING_COLUMNS = ("movie_id", "customer_id", "rating", "date")

REASON_MISSING = "missing movie_id, customer_id or rating"
REASON_RANGE = "rating outside 1-5"
REASON_DUPLICATE = "duplicate rating of the same movie by the same customer (kept the most recent)"

# 2^53: xxhash64 values masked to 53 bits divide into an exactly representable double in [0, 1).
_UNIT = float(1 << 53)


def check_columns(df: DataFrame, required: tuple[str, ...], where: str) -> None:
    """Raise InputError naming ``where`` and the first missing column of ``required``."""
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise InputError(f"{where}: missing column {missing[0]!r} (has: {', '.join(df.columns)})")


def flag_invalid(ratings: DataFrame) -> DataFrame:
    """Typed rating columns plus ``reason``: why the row is unusable, null when it is fine.

    A row needs a movie, a customer and a whole rating in 1-5 (a missing date is allowed: only
    the probe-like split uses dates, and it orders such rows as the oldest).
    """
    typed = ratings.select(
        F.col("movie_id").cast("int").alias("movie_id"),
        F.col("customer_id").cast("int").alias("customer_id"),
        F.col("rating").cast("double").alias("rating"),
        F.col("date").cast("date").alias("date"),
    )
    reason = (
        F.when(F.col("movie_id").isNull() | F.col("customer_id").isNull() | F.col("rating").isNull(),
               F.lit(REASON_MISSING))
        .when((F.col("rating") < 1) | (F.col("rating") > 5) | (F.col("rating") != F.floor("rating")),
              F.lit(REASON_RANGE))
    )
    return typed.withColumn("reason", reason)


def validate_ratings(ratings: DataFrame, check_duplicates: bool = True) -> tuple[DataFrame, DataFrame]:
    """Split ingested ratings into usable rows and rejects with a reason.

    Ingest already validates the text files, but this job may be pointed at any Parquet table,
    and one duplicated (movie, customer) pair would leak between train and test. Rows with a
    null key or rating, ratings outside 1-5 and all but the most recent of duplicated pairs are
    rejected (``rejects`` has the rating columns plus ``reason``).

    Returns
    -------
    (clean, rejects)
        ``clean`` has ``movie_id int, customer_id int, rating double, date date``.
    """
    flagged = flag_invalid(ratings)
    clean = flagged.where(F.col("reason").isNull()).drop("reason")
    rejects = flagged.where(F.col("reason").isNotNull())
    if check_duplicates:
        clean, dups = drop_duplicate_pairs(clean)
        rejects = rejects.unionByName(dups)
    return clean, rejects


def drop_duplicate_pairs(ratings: DataFrame) -> tuple[DataFrame, DataFrame]:
    """Keep the most recent rating of each (movie, customer) pair; the others become rejects.

    One aggregation finds the duplicated keys (normally none, and then ``ratings`` itself is
    returned, unchanged); only rows of those keys go through the window that picks the most
    recent, so the common case costs a single hash aggregate, not a sort of every rating.
    """
    keys = ["movie_id", "customer_id"]
    dup_keys = ratings.groupBy(*keys).count().where(F.col("count") > 1).select(*keys)
    if dup_keys.isEmpty():
        return ratings, ratings.limit(0).withColumn("reason", F.lit(REASON_DUPLICATE))
    single = ratings.join(dup_keys, keys, "left_anti")
    # Most recent first; equal dates fall back to the higher rating so the choice is deterministic.
    w = Window.partitionBy(*keys).orderBy(F.col("date").desc_nulls_last(), F.col("rating").desc())
    ranked = ratings.join(dup_keys, keys, "left_semi").withColumn("_pos", F.row_number().over(w))
    keep = single.unionByName(ranked.where(F.col("_pos") == 1).drop("_pos")).select(*RATING_COLUMNS)
    dropped = (ranked.where(F.col("_pos") > 1).select(*RATING_COLUMNS)
               .withColumn("reason", F.lit(REASON_DUPLICATE)))
    return keep, dropped


@dataclass(frozen=True)
class FilterSummary:
    """What the sparsity filter did: thresholds and how much it removed."""

    quantile: float
    movie_threshold: float
    customer_threshold: float
    movies_before: int
    movies_dropped: int
    customers_before: int
    customers_dropped: int
    ratings_before: int
    ratings_dropped: int

    def as_dict(self) -> dict[str, Any]:
        """Plain values for metrics.json."""
        return dict(self.__dict__)


def rating_counts(ratings: DataFrame, key: str) -> DataFrame:
    """``key, n_ratings``: ratings per movie or per customer (small: one row per key)."""
    return ratings.groupBy(key).agg(F.count(F.lit(1)).alias("n_ratings"))


def filter_sparse(ratings: DataFrame, quantile: float, relative_error: float = 0.001, *,
                  movie_counts: DataFrame | None = None, customer_counts: DataFrame | None = None
                  ) -> tuple[DataFrame, FilterSummary]:
    """Drop ratings of movies and customers whose rating count is below the ``quantile`` of counts.

    This is the well-known Kaggle kernel's step (it uses 0.7): the thresholds are quantiles of
    the per-movie and per-customer count tables, both computed on the unfiltered data and
    rounded like the kernel (``round(quantile, 0)``); a rating is kept when its movie and its
    customer both reach their threshold. Quantiles come from Spark's ``approxQuantile`` on the
    (small) count tables; ``quantile=0`` keeps everything.

    Parameters
    ----------
    movie_counts, customer_counts:
        :func:`rating_counts` of ``ratings`` when the caller already has them (cached).

    Raises
    ------
    ConfigError
        ``quantile`` outside [0, 1).
    """
    if not 0.0 <= quantile < 1.0:
        raise ConfigError(f"filter_quantile={quantile}: expected a number in [0, 1) (0 disables the filter)")
    owned = []
    if movie_counts is None:
        movie_counts = rating_counts(ratings, "movie_id").cache()
        owned.append(movie_counts)
    if customer_counts is None:
        customer_counts = rating_counts(ratings, "customer_id").cache()
        owned.append(customer_counts)
    try:
        m = movie_counts.agg(F.count(F.lit(1)), F.sum("n_ratings")).first()
        movies_before, ratings_before = int(m[0]), int(m[1] or 0)
        customers_before = customer_counts.count()
        if quantile == 0.0 or ratings_before == 0:
            return ratings, FilterSummary(quantile, 0.0, 0.0, movies_before, 0, customers_before, 0,
                                          ratings_before, 0)
        movie_threshold = float(round(movie_counts.approxQuantile("n_ratings", [quantile], relative_error)[0]))
        customer_threshold = float(round(customer_counts.approxQuantile("n_ratings", [quantile], relative_error)[0]))
        keep_movies = movie_counts.where(F.col("n_ratings") >= movie_threshold).select("movie_id")
        keep_customers = customer_counts.where(F.col("n_ratings") >= customer_threshold).select("customer_id")
        kept = (ratings.join(F.broadcast(keep_movies), "movie_id", "left_semi")
                .join(keep_customers, "customer_id", "left_semi").select(*ratings.columns))
        movies_kept = keep_movies.count()
        customers_kept = keep_customers.count()
        ratings_kept = kept.count()
    finally:
        for df in owned:
            df.unpersist()
    summary = FilterSummary(quantile, movie_threshold, customer_threshold, movies_before,
                            movies_before - movies_kept, customers_before, customers_before - customers_kept,
                            ratings_before, ratings_before - ratings_kept)
    log.info("sparsity filter q=%.2f: movie threshold %.0f, customer threshold %.0f, %d ratings dropped",
             quantile, movie_threshold, customer_threshold, summary.ratings_dropped)
    return kept, summary


def uniform_hash(seed: int, *cols: str) -> Any:
    """A Column uniform in [0, 1) that depends only on ``seed`` and the row's key columns.

    Used instead of ``rand(seed)``/``randomSplit``, whose draws depend on how rows happen to be
    partitioned: a re-run on another cluster size, or after an upstream change of partitioning,
    would split differently. A hash of (seed, key) gives every rating the same draw everywhere.
    """
    h = F.xxhash64(F.lit(int(seed)), *[F.col(c) for c in cols])
    return h.bitwiseAND(F.lit((1 << 53) - 1)).cast("double") / F.lit(_UNIT)


def mark_random(ratings: DataFrame, test_fraction: float, seed: int) -> DataFrame:
    """``ratings`` plus ``is_test``: true with probability ``test_fraction``, seeded per rating.

    Deterministic per (seed, movie, customer) whatever the partitioning (see :func:`uniform_hash`).
    """
    if not 0.0 < test_fraction < 1.0:
        raise ConfigError(f"test_fraction={test_fraction}: expected a number in (0, 1)")
    return ratings.withColumn("is_test", uniform_hash(seed, "customer_id", "movie_id") < F.lit(test_fraction))


def mark_probe(ratings: DataFrame, holdout_per_customer: int, min_train_per_customer: int) -> DataFrame:
    """``ratings`` plus ``is_test``: true for each customer's ``holdout_per_customer`` latest ratings.

    Like the Netflix Prize probe set, the test asks to predict what a customer rated last.
    Equal dates are ordered by ``movie_id`` (higher = later) so the split is deterministic; rows
    with no date count as oldest. Customers with fewer than
    ``holdout_per_customer + min_train_per_customer`` ratings keep everything in train, so every
    tested customer is known to the model.
    """
    if holdout_per_customer < 1:
        raise ConfigError(f"holdout_per_customer={holdout_per_customer}: expected at least 1")
    if min_train_per_customer < 1:
        raise ConfigError(f"min_train_per_customer={min_train_per_customer}: expected at least 1")
    by_customer = Window.partitionBy("customer_id")
    recent_first = by_customer.orderBy(F.col("date").desc_nulls_last(), F.col("movie_id").desc())
    # Both windows share the partitioning by customer: one shuffle and one sort.
    marked = (ratings
              .withColumn("_pos", F.row_number().over(recent_first))
              .withColumn("_n", F.count(F.lit(1)).over(by_customer)))
    held = (F.col("_n") >= holdout_per_customer + min_train_per_customer) & (F.col("_pos") <= holdout_per_customer)
    return marked.withColumn("is_test", held).drop("_pos", "_n")


def mark_split(ratings: DataFrame, method: str, *, test_fraction: float, seed: int,
               holdout_per_customer: int, min_train_per_customer: int) -> DataFrame:
    """``ratings`` plus ``is_test`` by :func:`mark_random` (``method='random'``) or :func:`mark_probe`.

    Callers that cache the marked frame compute the split once and take train and test as two
    cheap filters of it (:func:`train_test`).
    """
    if method == "random":
        return mark_random(ratings, test_fraction, seed)
    if method == "probe":
        return mark_probe(ratings, holdout_per_customer, min_train_per_customer)
    raise ConfigError(f"split={method!r}: expected 'random' or 'probe'")


def train_test(marked: DataFrame) -> tuple[DataFrame, DataFrame]:
    """(train, test) rows of a frame marked by :func:`mark_split`, without the marker."""
    return (marked.where(~F.col("is_test")).drop("is_test"), marked.where(F.col("is_test")).drop("is_test"))


def random_split(ratings: DataFrame, test_fraction: float, seed: int) -> tuple[DataFrame, DataFrame]:
    """Seeded random (train, test) split; see :func:`mark_random`."""
    return train_test(mark_random(ratings, test_fraction, seed))


def probe_split(ratings: DataFrame, holdout_per_customer: int, min_train_per_customer: int
                ) -> tuple[DataFrame, DataFrame]:
    """Probe-like (train, test) split; see :func:`mark_probe`."""
    return train_test(mark_probe(ratings, holdout_per_customer, min_train_per_customer))


def split_ratings(ratings: DataFrame, method: str, *, test_fraction: float, seed: int,
                  holdout_per_customer: int, min_train_per_customer: int) -> tuple[DataFrame, DataFrame]:
    """(train, test) by ``method`` (``random`` or ``probe``); see :func:`mark_split`."""
    return train_test(mark_split(ratings, method, test_fraction=test_fraction, seed=seed,
                                 holdout_per_customer=holdout_per_customer,
                                 min_train_per_customer=min_train_per_customer))
