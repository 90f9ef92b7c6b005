"""The synthetic Netflix model and the format writers, without Spark or files."""

from __future__ import annotations

import numpy as np
import pytest

from sparkfolio.netflix import formats, synth
from sparkfolio.netflix.synth_titles import movie_titles, movie_years


def _params(ratings: int = 20_000, **kw) -> synth.SynthParams:
    movies, customers = synth.default_shape(ratings)
    return synth.SynthParams(ratings=ratings, movies=movies, customers=customers, **kw)


# --- format writers -----------------------------------------------------------------------------

def test_rating_blocks_are_the_netflix_text_format():
    data = formats.format_movie_blocks(
        np.array([1, 17770]), np.array([2, 1]), np.array([1488844, 6, 2649429]),
        np.array([3, 5, 1]), np.array([13061, 10906, 13148]))  # 2005-10-05, 1999-11-11, 2005-12-31
    assert data == (b"1:\n1488844,3,2005-10-05\n6,5,1999-11-11\n"
                    b"17770:\n2649429,1,2005-12-31\n")


def test_probe_and_qualifying_blocks_and_crlf():
    probe = formats.format_movie_blocks(np.array([7, 8]), np.array([0, 2]), np.array([10, 0]))
    assert probe == b"7:\n8:\n10\n0\n"  # a movie without rows keeps its header line
    qual = formats.format_movie_blocks(np.array([3]), np.array([1]), np.array([1046323]),
                                       days=np.array([12843]), newline=b"\r\n")
    assert qual == b"3:\r\n1046323,2005-03-01\r\n"


def test_count_digits_and_mismatched_counts():
    assert formats.count_digits(np.array([0, 9, 10, 99, 100, 2_649_429, 2_147_483_647])).tolist() == [1, 1, 2, 2, 3, 7, 10]
    with pytest.raises(ValueError, match="counts sum to 2 rows"):
        formats.format_movie_blocks(np.array([1]), np.array([2]), np.array([5]))


def test_titles_lines_are_latin1_with_null_years_and_commas():
    data = formats.format_titles(np.array([1, 394]), np.array([-1, 1916]), ["Amélie", "20,000 Leagues Under the Sea"])
    assert data == "1,NULL,Amélie\n394,1916,20,000 Leagues Under the Sea\n".encode("latin-1")


# --- shape and allocation -----------------------------------------------------------------------

def test_default_shape_is_the_real_one_at_full_scale_and_scales_down():
    assert synth.default_shape(synth.FULL_RATINGS) == (17_770, 480_189)
    assert synth.default_shape(20_000) == (251, 805)
    assert synth.default_shape(24_000_000) == (8685, 164_062)
    assert synth.default_shape(10) == (6, 10)
    tiny = synth.build_model(_params(10))  # the smallest sets still fit: every customer rates once
    assert int(tiny.movie_counts.sum()) == 10 and len(tiny.guaranteed_idx) == 10


def test_allocate_is_exact_bounded_and_proportional():
    w = np.array([1.0, 2.0, 3.0, 100.0])
    x = synth.allocate(60, w, lower=np.array([1, 1, 1, 1]), upper=np.array([100, 100, 100, 30]))
    assert x.tolist() == [5, 10, 15, 30]  # the capped one spills over the others, 1:2:3
    assert synth.allocate(7, np.ones(3), np.zeros(3), np.full(3, 5)).tolist() == [3, 2, 2]  # ties: lower index
    with pytest.raises(ValueError, match="cannot allocate"):
        synth.allocate(100, w, np.zeros(4), np.full(4, 10))


def test_file_and_chunk_ranges_cover_all_movies_in_order():
    counts = np.array([50, 1, 1, 1, 30, 30, 30, 1, 1, 55])
    files = synth.file_ranges(counts, 4)
    assert files[0][0] == 1 and files[-1][1] == 11
    assert all(a < b for a, b in files) and all(files[i][1] == files[i + 1][0] for i in range(3))
    assert synth.chunk_ranges(counts, 1, 11, 60) == [(1, 5), (5, 7), (7, 10), (10, 11)]
    assert synth.file_ranges(np.array([5, 5]), 4) == [(1, 2), (2, 3)]  # never more files than movies


def test_validate_rejects_impossible_shapes():
    with pytest.raises(ValueError, match="do not fit"):
        synth.validate(synth.SynthParams(ratings=1000, movies=10, customers=10))
    with pytest.raises(ValueError, match="at least 1"):
        synth.validate(synth.SynthParams(ratings=0, movies=10, customers=10))


# --- the model ----------------------------------------------------------------------------------

def test_model_counts_ids_and_guarantees():
    p = _params()
    m = synth.build_model(p)
    assert int(m.movie_counts.sum()) == p.ratings
    assert m.movie_counts.min() >= p.min_movie_ratings
    assert m.movie_counts.max() <= int(p.max_movie_density * p.customers)
    ids = m.customer_ids
    assert len(np.unique(ids)) == p.customers and np.all(np.diff(ids) > 0)
    assert ids.min() >= 1 and ids.max() == synth.MAX_CUSTOMER_ID
    # Every customer is guaranteed min_customer_ratings distinct movies.
    g = np.bincount(m.guaranteed_idx, minlength=p.customers)
    assert g.min() == g.max() == p.min_customer_ratings
    assert np.all(np.diff(m.guaranteed_ptr) <= m.movie_counts)


def _all_rows(model: synth.Model) -> list[synth.MovieRows]:
    return [synth.movie_rows(model, j) for j in range(1, model.n_movies + 1)]


def test_rows_are_consistent_and_independent_of_generation_order():
    model = synth.build_model(_params(seed=7))
    rows = _all_rows(model)
    for r in rows:
        assert len(r.customers) == model.movie_counts[r.movie_id - 1]
        assert len(np.unique(r.customers)) == len(r.customers)            # no pair twice
        assert not np.isin(r.qualifying, r.customers).any()               # qualifying pairs are unrated
        assert len(np.unique(r.qualifying)) == len(r.qualifying)
        assert r.ratings.min() >= 1 and r.ratings.max() <= 5
        assert r.days.min() >= formats.FIRST_DAY and r.days.max() <= formats.LAST_DAY
    # Every customer id appears, so the distinct count is the model's.
    assert len(np.unique(np.concatenate([r.customers for r in rows]))) == model.n_customers
    # Any task can make any movie: the rows do not depend on what was generated before.
    again = synth.movie_rows(model, 5)
    other_order = [synth.movie_rows(model, j) for j in (9, 3, 5)][2]
    for a, b in ((rows[4], again), (rows[4], other_order)):
        np.testing.assert_array_equal(a.customers, b.customers)
        np.testing.assert_array_equal(a.ratings, b.ratings)
        np.testing.assert_array_equal(a.days, b.days)
        np.testing.assert_array_equal(a.probe, b.probe)
        np.testing.assert_array_equal(a.qualifying, b.qualifying)
    # A different seed gives different data.
    other = synth.movie_rows(synth.build_model(_params(seed=8)), 5)
    assert not np.array_equal(other.customers[:20], rows[4].customers[:20])


def test_rating_distribution_and_biases_are_realistic():
    model = synth.build_model(_params(200_000))
    rows = _all_rows(model)
    r = np.concatenate([x.ratings for x in rows]).astype(np.float64)
    movie = np.concatenate([np.full(len(x.ratings), x.movie_id - 1) for x in rows])
    cust = np.searchsorted(model.customer_ids, np.concatenate([x.customers for x in rows]))
    shares = np.bincount(r.astype(int), minlength=6)[1:] / len(r)
    np.testing.assert_allclose(shares, synth.RATING_SHARES, atol=0.02)
    assert 3.5 < r.mean() < 3.7
    # A movie + customer bias baseline (a few rounds of alternating damped means) beats the mean.
    mu = r.mean()
    bu = np.zeros(model.n_customers)
    bi = np.zeros(model.n_movies)
    for _ in range(3):
        bi = np.bincount(movie, r - mu - bu[cust], model.n_movies) / (np.bincount(movie, minlength=model.n_movies) + 25)
        bu = np.bincount(cust, r - mu - bi[movie], model.n_customers) / (np.bincount(cust, minlength=model.n_customers) + 10)
    rmse_mean = np.sqrt(np.mean((r - mu) ** 2))
    rmse_bias = np.sqrt(np.mean((r - mu - bi[movie] - bu[cust]) ** 2))
    assert rmse_bias < 0.93 * rmse_mean
    # Popularity and activity are long-tailed: the busiest movie has far more than the median.
    assert model.movie_counts.max() > 10 * np.median(model.movie_counts)
    per_customer = np.bincount(cust, minlength=model.n_customers)
    assert per_customer.min() >= 3 and per_customer.max() > 5 * np.median(per_customer)
    # Probe pairs are about probe_fraction of the ratings and come from training.
    n_probe = sum(int(x.probe.sum()) for x in rows)
    assert 0.5 * 0.014 * len(r) < n_probe < 1.5 * 0.014 * len(r)


def test_synthetic_titles_have_the_hard_cases():
    rng = np.random.default_rng(1)
    titles = movie_titles(rng, 300)
    assert len(set(titles)) == 300
    assert any("," in t for t in titles)
    assert any(any(ord(c) > 127 for c in t) for t in titles)
    for t in titles:
        t.encode("latin-1")
        assert "\n" not in t and "\r" not in t
    years = movie_years(np.random.default_rng(2), 300)
    assert (years == -1).sum() >= 1
    valid = years[years >= 0]
    assert valid.min() >= 1896 and valid.max() <= 2005
