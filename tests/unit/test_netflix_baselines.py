"""Netflix ALS job, data side: validation, sparsity filter, splits and the bias baselines."""

from __future__ import annotations

import datetime as dt
from fractions import Fraction

import pytest
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from sparkfolio.netflix import datasplit
from sparkfolio.netflix.baselines import fit_biases, global_mean, with_baseline, with_residual
from sparkfolio.runtime.errors import ConfigError

SCHEMA = "movie_id int, customer_id int, rating double, date date"
D = dt.date

# Five ratings, small enough to do the bias formulas by hand (see test_bias_one_pass).
TINY = [(1, 10, 5.0, D(2005, 1, 1)), (1, 20, 3.0, D(2005, 1, 2)), (2, 10, 4.0, D(2005, 1, 3)),
        (2, 20, 2.0, D(2005, 1, 4)), (3, 10, 3.0, D(2005, 1, 5))]


@pytest.fixture
def tiny(spark):
    return spark.createDataFrame(TINY, SCHEMA)


def _f(x: Fraction) -> float:
    return float(x)


def test_global_mean(tiny):
    assert global_mean(tiny) == pytest.approx(17 / 5, abs=1e-12)


def test_bias_one_pass(spark, tiny):
    # mu = 17/5. With lambda = 1 for both:
    #   b_m1 = ((5 - 3.4) + (3 - 3.4)) / (1 + 2) = 2/5
    #   b_m2 = ((4 - 3.4) + (2 - 3.4)) / 3 = -4/15
    #   b_m3 = (3 - 3.4) / 2 = -1/5
    #   b_c10 = ((5-3.4-2/5) + (4-3.4+4/15) + (3-3.4+1/5)) / (1 + 3) = 7/15
    #   b_c20 = ((3-3.4-2/5) + (2-3.4+4/15)) / (1 + 2) = -29/45
    model = fit_biases(tiny, None, lambda_movie=1.0, lambda_customer=1.0, iterations=1)
    assert model.mu == pytest.approx(3.4, abs=1e-12)
    assertDataFrameEqual(model.movie_bias, spark.createDataFrame(
        [(1, 2 / 5, 2), (2, -4 / 15, 2), (3, -1 / 5, 1)], "movie_id int, b_movie double, n_movie long"), atol=1e-12)
    assertDataFrameEqual(model.customer_bias, spark.createDataFrame(
        [(10, 7 / 15, 3), (20, -29 / 45, 2)], "customer_id int, b_customer double, n_customer long"), atol=1e-12)


def test_bias_alternating_passes(spark, tiny):
    # Second pass: b_i refit against the first pass's b_u, then b_u against the new b_i
    # (worked out with exact fractions).
    model = fit_biases(tiny, None, lambda_movie=1.0, lambda_customer=1.0, iterations=2)
    expected_movies = {1: Fraction(62, 135), 2: Fraction(-28, 135), 3: Fraction(-13, 30)}
    expected_customers = {10: Fraction(107, 216), 20: Fraction(-277, 405)}
    assertDataFrameEqual(model.movie_bias.select("movie_id", "b_movie"), spark.createDataFrame(
        [(k, _f(v)) for k, v in expected_movies.items()], "movie_id int, b_movie double"), atol=1e-12)
    assertDataFrameEqual(model.customer_bias.select("customer_id", "b_customer"), spark.createDataFrame(
        [(k, _f(v)) for k, v in expected_customers.items()], "customer_id int, b_customer double"), atol=1e-12)


def test_baseline_for_unseen_customer_and_movie_is_never_null(spark, tiny):
    model = fit_biases(tiny, None, lambda_movie=1.0, lambda_customer=1.0, iterations=1)
    pairs = spark.createDataFrame([(1, 10), (1, 99), (7, 20), (7, 99)], "movie_id int, customer_id int")
    got = with_baseline(pairs, model).select("movie_id", "customer_id", "baseline")
    assertDataFrameEqual(got, spark.createDataFrame([
        (1, 10, 3.4 + 2 / 5 + 7 / 15),   # both known
        (1, 99, 3.4 + 2 / 5),            # customer unseen: b_u = 0
        (7, 20, 3.4 - 29 / 45),          # movie unseen: b_i = 0
        (7, 99, 3.4),                    # both unseen: the global mean
    ], "movie_id int, customer_id int, baseline double"), atol=1e-12)


def test_residuals(spark, tiny):
    model = fit_biases(tiny, None, lambda_movie=1.0, lambda_customer=1.0, iterations=1)
    got = with_residual(tiny, model).select("movie_id", "customer_id", "residual")
    expected = [(1, 10, 5 - (3.4 + 2 / 5 + 7 / 15)), (1, 20, 3 - (3.4 + 2 / 5 - 29 / 45)),
                (2, 10, 4 - (3.4 - 4 / 15 + 7 / 15)), (2, 20, 2 - (3.4 - 4 / 15 - 29 / 45)),
                (3, 10, 3 - (3.4 - 1 / 5 + 7 / 15))]
    assertDataFrameEqual(got, spark.createDataFrame(expected, "movie_id int, customer_id int, residual double"),
                         atol=1e-12)


def test_bias_rejects_bad_settings(tiny):
    with pytest.raises(ConfigError, match="bias_iterations"):
        fit_biases(tiny, None, 1.0, 1.0, iterations=0)
    with pytest.raises(ConfigError, match="lambdas"):
        fit_biases(tiny, None, -1.0, 1.0)


def test_validate_ratings_rejects_with_reasons(spark):
    raw = spark.createDataFrame([
        (1, 10, 4, D(2005, 1, 1)),
        (1, 11, 0, D(2005, 1, 1)),       # rating outside 1-5
        (1, 12, 6, D(2005, 1, 1)),       # rating outside 1-5
        (2, None, 3, D(2005, 1, 1)),     # no customer
        (3, 10, 3, D(2005, 1, 1)),       # duplicated pair: the older one is rejected
        (3, 10, 5, D(2005, 2, 1)),
        (4, 10, 2, None),                # no date is fine
    ], "movie_id int, customer_id int, rating byte, date date")
    clean, rejects = datasplit.validate_ratings(raw)
    assertDataFrameEqual(clean, spark.createDataFrame([
        (1, 10, 4.0, D(2005, 1, 1)), (3, 10, 5.0, D(2005, 2, 1)), (4, 10, 2.0, None)], SCHEMA))
    assertDataFrameEqual(rejects, spark.createDataFrame([
        (1, 11, 0.0, D(2005, 1, 1), datasplit.REASON_RANGE),
        (1, 12, 6.0, D(2005, 1, 1), datasplit.REASON_RANGE),
        (2, None, 3.0, D(2005, 1, 1), datasplit.REASON_MISSING),
        (3, 10, 3.0, D(2005, 1, 1), datasplit.REASON_DUPLICATE),
    ], SCHEMA + ", reason string"))


def test_filter_sparse_drops_below_count_quantiles(spark):
    # Movie counts: m1 4, m2 3, m3 1 -> median 3. Customer counts: c1 3, c2 2, c3 2, c4 1 -> median 2.
    rows = [(1, c, 4.0, D(2005, 1, 1)) for c in (1, 2, 3, 4)] + [(2, c, 3.0, D(2005, 1, 1)) for c in (1, 2, 3)]
    rows.append((3, 1, 5.0, D(2005, 1, 1)))
    df = spark.createDataFrame(rows, SCHEMA)
    kept, summary = datasplit.filter_sparse(df, 0.5, relative_error=0.0)
    assert (summary.movie_threshold, summary.customer_threshold) == (3.0, 2.0)
    assert (summary.movies_dropped, summary.customers_dropped, summary.ratings_dropped) == (1, 1, 2)
    assert (summary.movies_before, summary.customers_before, summary.ratings_before) == (3, 4, 8)
    assertDataFrameEqual(kept, spark.createDataFrame(
        [(m, c, r, d) for m, c, r, d in rows if m in (1, 2) and c in (1, 2, 3)], SCHEMA))
    same, off = datasplit.filter_sparse(df, 0.0)
    assert off.ratings_dropped == 0 and same is df
    with pytest.raises(ConfigError, match="filter_quantile"):
        datasplit.filter_sparse(df, 1.0)


def test_random_split_is_seeded_and_independent_of_partitioning(spark):
    df = spark.createDataFrame([(m, c, 3.0, D(2005, 1, 1)) for m in range(40) for c in range(50)], SCHEMA)
    train1, test1 = datasplit.random_split(df.repartition(1), 0.2, seed=7)
    train2, test2 = datasplit.random_split(df.repartition(5, "customer_id"), 0.2, seed=7)
    assertDataFrameEqual(test1, test2)
    assertDataFrameEqual(train1, train2)
    assertDataFrameEqual(train1.unionByName(test1), df)           # a partition of the ratings
    assert train1.join(test1, ["movie_id", "customer_id"]).isEmpty()
    assert 0.17 < test1.count() / 2000 < 0.23
    _, other = datasplit.random_split(df, 0.2, seed=8)
    assert sorted(other.collect()) != sorted(test1.collect())


def test_probe_split_holds_out_latest_ratings(spark):
    rows = [
        # customer 1: three ratings share the latest date; the higher movie ids count as later.
        (1, 1, 4.0, D(2005, 1, 1)), (2, 1, 3.0, D(2005, 1, 3)), (3, 1, 5.0, D(2005, 1, 3)),
        (7, 1, 2.0, D(2005, 1, 3)), (4, 1, 4.0, D(2004, 12, 1)), (5, 1, 1.0, None),
        # customer 2: 3 ratings < holdout 2 + min train 2 -> all stay in train.
        (1, 2, 4.0, D(2005, 5, 1)), (2, 2, 4.0, D(2005, 6, 1)), (3, 2, 4.0, D(2005, 7, 1)),
        # customer 3: exactly 4 -> two held out.
        (1, 3, 1.0, D(2001, 1, 1)), (2, 3, 2.0, D(2002, 1, 1)), (3, 3, 3.0, D(2003, 1, 1)), (4, 3, 4.0, D(2004, 1, 1)),
    ]
    df = spark.createDataFrame(rows, SCHEMA)
    train, test = datasplit.probe_split(df, holdout_per_customer=2, min_train_per_customer=2)
    expected_test = [(7, 1, 2.0, D(2005, 1, 3)), (3, 1, 5.0, D(2005, 1, 3)),
                     (4, 3, 4.0, D(2004, 1, 1)), (3, 3, 3.0, D(2003, 1, 1))]
    assertDataFrameEqual(test, spark.createDataFrame(expected_test, SCHEMA))
    assertDataFrameEqual(train, spark.createDataFrame([r for r in rows if r not in expected_test], SCHEMA))
    with pytest.raises(ConfigError, match="holdout_per_customer"):
        datasplit.probe_split(df, 0, 2)


def test_split_dispatch_rejects_unknown_method(tiny):
    with pytest.raises(ConfigError, match="split='time'"):
        datasplit.split_ratings(tiny, "time", test_fraction=0.1, seed=1, holdout_per_customer=1,
                                min_train_per_customer=1)


def test_check_columns_names_the_missing_one(spark):
    from sparkfolio.runtime.errors import InputError

    df = spark.createDataFrame([Row(movie_id=1, rating=3)])
    with pytest.raises(InputError, match="'customer_id'"):
        datasplit.check_columns(df, datasplit.RATING_COLUMNS, "/in/ratings")
