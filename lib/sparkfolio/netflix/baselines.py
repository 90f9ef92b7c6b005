"""Baseline predictors: the global mean and regularized movie + customer biases.

The bias model is the classic Netflix Prize baseline (Koren, "Factor in the Neighbors", 2008,
section 2.1)::

    r_hat(u, i) = mu + b_u + b_i
    b_i = sum_{u in R(i)} (r_ui - mu - b_u) / (lambda_i + |R(i)|)
    b_u = sum_{i in R(u)} (r_ui - mu - b_i) / (lambda_u + |R(u)|)

starting from b_u = 0 and alternating a few times (each pass is a coordinate-descent step of the
regularized least-squares problem). Every step is a Spark aggregation; only ``mu`` reaches the
driver. A customer or movie never seen in training has bias 0, so the prediction never is NaN.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkfolio.runtime.errors import ConfigError, InputError

log = logging.getLogger(__name__)


@dataclass
class BiasModel:
    """A fitted bias baseline.

    ``movie_bias`` has ``movie_id int, b_movie double, n_movie long``; ``customer_bias`` has
    ``customer_id int, b_customer double, n_customer long``.
    """

    mu: float
    movie_bias: DataFrame
    customer_bias: DataFrame
    lambda_movie: float
    lambda_customer: float
    iterations: int

    def unpersist(self) -> None:
        """Release the cached bias tables."""
        self.movie_bias.unpersist()
        self.customer_bias.unpersist()


def global_mean(train: DataFrame, rating_col: str = "rating") -> float:
    """The mean rating of ``train`` (the global-mean baseline's only parameter).

    Raises
    ------
    InputError
        ``train`` has no ratings.
    """
    mu = train.agg(F.avg(rating_col)).first()[0]
    if mu is None:
        raise InputError("no ratings left to train on (check the input and filter_quantile)")
    return float(mu)


def fit_biases(train: DataFrame, mu: float | None = None, lambda_movie: float = 25.0,
               lambda_customer: float = 10.0, iterations: int = 1) -> BiasModel:
    """Fit regularized movie and customer biases by ``iterations`` alternating passes.

    Parameters
    ----------
    train:
        ``movie_id, customer_id, rating`` rows.
    mu:
        The global mean (computed from ``train`` when ``None``).
    lambda_movie, lambda_customer:
        Shrinkage: a movie with few ratings keeps a bias near 0 (25 and 10 are Koren's values
        for the Netflix data).
    iterations:
        1 is the textbook two-step estimate (b_i from mu, then b_u from mu + b_i); more passes
        refit b_i against the current b_u and vice versa.

    Raises
    ------
    ConfigError
        Negative shrinkage or fewer than one iteration.
    """
    if lambda_movie < 0 or lambda_customer < 0:
        raise ConfigError("bias lambdas must be >= 0")
    if iterations < 1:
        raise ConfigError(f"bias_iterations={iterations}: expected at least 1")
    if mu is None:
        mu = global_mean(train)
    ratings = train.select("movie_id", "customer_id", F.col("rating").cast("double").alias("rating"))
    customer_bias: DataFrame | None = None
    movie_bias: DataFrame | None = None
    passes: list[DataFrame] = []
    for _ in range(iterations):
        if customer_bias is None:
            resid_movie = F.col("rating") - F.lit(mu)
            source = ratings
        else:
            resid_movie = F.col("rating") - F.lit(mu) - F.col("b_customer")
            source = ratings.join(customer_bias.select("customer_id", "b_customer"), "customer_id")
        movie_bias = (source.groupBy("movie_id")
                      .agg(F.sum(resid_movie).alias("_s"), F.count(F.lit(1)).alias("n_movie"))
                      .select("movie_id", (F.col("_s") / (F.lit(lambda_movie) + F.col("n_movie"))).alias("b_movie"),
                              "n_movie")
                      .cache())
        # The movie table is small (17,770 rows for the whole Netflix catalogue): broadcast it.
        customer_bias = (ratings.join(F.broadcast(movie_bias.select("movie_id", "b_movie")), "movie_id")
                         .groupBy("customer_id")
                         .agg(F.sum(F.col("rating") - F.lit(mu) - F.col("b_movie")).alias("_s"),
                              F.count(F.lit(1)).alias("n_customer"))
                         .select("customer_id",
                                 (F.col("_s") / (F.lit(lambda_customer) + F.col("n_customer"))).alias("b_customer"),
                                 "n_customer")
                         .cache())
        passes += [movie_bias, customer_bias]
    assert movie_bias is not None and customer_bias is not None
    # Every pass is cached, so one action computes the whole chain once (one Spark job rather
    # than one per pass; the last movie table is filled on the way, by its broadcast). The
    # earlier passes are dropped once the last ones are in memory.
    customer_bias.count()
    for df in passes[:-2]:
        df.unpersist()
    return BiasModel(mu, movie_bias, customer_bias, lambda_movie, lambda_customer, iterations)


def with_baseline(pairs: DataFrame, model: BiasModel, out_col: str = "baseline") -> DataFrame:
    """Add ``b_movie``, ``b_customer`` (0 when unseen in training) and ``out_col = mu + b_u + b_i``.

    ``pairs`` needs ``movie_id`` and ``customer_id``; all its rows are kept.
    """
    joined = (pairs
              .join(F.broadcast(model.movie_bias.select("movie_id", "b_movie")), "movie_id", "left")
              .join(model.customer_bias.select("customer_id", "b_customer"), "customer_id", "left")
              .withColumn("b_movie", F.coalesce(F.col("b_movie"), F.lit(0.0)))
              .withColumn("b_customer", F.coalesce(F.col("b_customer"), F.lit(0.0))))
    return joined.withColumn(out_col, F.lit(model.mu) + F.col("b_customer") + F.col("b_movie"))


def with_residual(train: DataFrame, model: BiasModel, out_col: str = "residual") -> DataFrame:
    """Add ``out_col = rating - (mu + b_u + b_i)``: the target of ALS on residuals."""
    return with_baseline(train, model, "_base").withColumn(out_col, F.col("rating") - F.col("_base")).drop("_base")


def clip_rating(col: Column, low: float = 1.0, high: float = 5.0) -> Column:
    """Clamp a predicted rating to the rating scale (a prediction of 5.7 is never better than 5)."""
    return F.least(F.greatest(col, F.lit(low)), F.lit(high))
