"""A latent-factor model of Netflix Prize ratings, recomputable by any task from ``(seed, id)``.

Shape of the real data the model follows: 17,770 movies, 480,189 customers with sparse ids up to
2,649,429, 100,480,507 ratings from 1999-11-11 to 2005-12-31, long-tailed movie popularity
(median movie about a tenth of the mean) and customer activity (median about half the mean),
rating shares 1:4.6% 2:10% 3:28.7% 4:33.6% 5:23.1% (mean about 3.6).

A rating is ``1 + number of thresholds below (b_u + b_m + p_u . q_m + noise)``: customer and
movie biases plus a low-rank interaction plus noise, cut at the quantiles of that latent score so
the marginal rating shares match the real ones. So a bias baseline beats the global mean, and a
factor model on bias residuals beats one without biases.

Everything that concerns more than one movie (ids, weights, factors, per-movie counts, which
customers are guaranteed a rating of which movie) is derived from the seed alone in
:func:`build_model`, cached per process; the rows of one movie come from
``default_rng([seed, movie_id])``. So any task can make any movie range, and the output does not
depend on how the work was split.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from sparkfolio.netflix.formats import FIRST_DAY, LAST_DAY
from sparkfolio.netflix.synth_titles import movie_years

FULL_RATINGS = 100_480_507
FULL_MOVIES = 17_770
FULL_CUSTOMERS = 480_189
MAX_CUSTOMER_ID = 2_649_429
#: Shares of ratings 1..5 in the real training set.
RATING_SHARES = (0.046, 0.100, 0.287, 0.336, 0.231)

# Streams of the seed: each kind of random draw has its own, so changing one never shifts another.
_S_MOVIES, _S_CUSTOMERS, _S_IDS, _S_GUARANTEE, _S_THRESH, _S_MOVIE_ROWS = 1, 2, 3, 4, 5, 6


@dataclass(frozen=True)
class SynthParams:
    """Everything the generated data depends on (hashable: the per-process model cache key)."""

    ratings: int
    movies: int
    customers: int
    seed: int = 42
    rank: int = 8
    user_bias_sd: float = 0.45
    movie_bias_sd: float = 0.45
    interaction_sd: float = 0.5
    noise_sd: float = 0.75
    min_customer_ratings: int = 3
    min_movie_ratings: int = 3
    max_movie_density: float = 0.5
    movie_popularity_sd: float = 2.0
    customer_activity_sd: float = 1.25
    probe_fraction: float = 0.014
    qualifying_fraction: float = 0.028
    max_customer_id: int = MAX_CUSTOMER_ID


def default_shape(ratings: int) -> tuple[int, int]:
    """Movies and customers for ``ratings`` ratings: the real 17,770 x 480,189 at full scale.

    Movies scale with the square root of the size and customers with its 3/4 power, so small
    sets keep enough ratings per customer for a per-customer holdout (20,000 ratings -> 251
    movies, 804 customers, about 25 ratings each) and stay sparse (under 15% of pairs rated).
    """
    f = ratings / FULL_RATINGS
    movies = max(5, int(round(FULL_MOVIES * math.sqrt(f))))
    customers = max(10, int(round(FULL_CUSTOMERS * f ** 0.75)))
    return movies, customers


@dataclass
class Model:
    """The per-movie and per-customer quantities of one parameter set (see module docstring)."""

    params: SynthParams
    customer_ids: np.ndarray       # int64, sorted sparse ids, index = customer index
    customer_weight: np.ndarray    # float64 activity weight per customer index
    customer_cum: np.ndarray       # cumulative activity weights (for inverse-CDF draws)
    alias_prob: np.ndarray         # Walker/Vose alias table of the activity weights:
    alias_idx: np.ndarray          #   O(1) weighted draws of customers
    customer_bias: np.ndarray      # float32
    customer_factors: np.ndarray   # float32 (customers, rank)
    movie_bias: np.ndarray         # float32, index = movie_id - 1
    movie_factors: np.ndarray      # float32 (movies, rank)
    movie_years: np.ndarray        # int64, -1 = NULL
    movie_first_day: np.ndarray    # int64, days since epoch of the first possible rating
    movie_counts: np.ndarray       # int64 ratings per movie (sums to params.ratings)
    guaranteed_ptr: np.ndarray     # CSR: customers guaranteed to rate movie j are
    guaranteed_idx: np.ndarray     #   guaranteed_idx[guaranteed_ptr[j]:guaranteed_ptr[j+1]]
    thresholds: np.ndarray         # 4 cut points of the latent score
    mark: np.ndarray               # scratch: per-customer token of the last movie that took it
    slot: np.ndarray               # scratch: first position of a customer in a batch of draws
    token: int = 0

    @property
    def n_movies(self) -> int:
        """Number of movies (ids 1..n_movies)."""
        return len(self.movie_counts)

    @property
    def n_customers(self) -> int:
        """Number of customers."""
        return len(self.customer_ids)


def validate(params: SynthParams) -> None:
    """Raise ``ValueError`` with a readable message when the parameters cannot be generated."""
    if params.ratings < 1:
        raise ValueError(f"ratings must be at least 1, got {params.ratings}")
    if params.movies < 1 or params.customers < 1:
        raise ValueError("movies and customers must be at least 1")
    capacity = int(params.max_movie_density * params.customers) * params.movies
    if params.ratings > capacity:
        raise ValueError(
            f"{params.ratings} ratings do not fit {params.movies} movies x {params.customers} customers "
            f"at most {params.max_movie_density:.0%} dense per movie; use more movies or customers")
    if params.customers > max(params.max_customer_id, 1):
        raise ValueError(f"{params.customers} customers do not fit ids up to {params.max_customer_id}")
    if not 0 <= params.probe_fraction <= 1 or not 0 <= params.qualifying_fraction <= 1:
        raise ValueError("probe_fraction and qualifying_fraction must be between 0 and 1")


def allocate(total: int, weights: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Integers ``lower <= x <= upper`` summing to ``total``, proportional to ``weights`` in between.

    Water-filling with largest remainders: deterministic (ties go to the lower index), exact.
    """
    lower = np.asarray(lower, dtype=np.int64)
    upper = np.maximum(np.asarray(upper, dtype=np.int64), lower)
    x = lower.copy()
    remaining = int(total - x.sum())
    if remaining < 0 or remaining > int((upper - x).sum()):
        raise ValueError(f"cannot allocate {total} between bounds summing to {lower.sum()}..{upper.sum()}")
    w = np.asarray(weights, dtype=np.float64)
    while remaining > 0:
        room = upper - x
        free = room > 0
        wf = np.where(free, w, 0.0)
        if wf.sum() <= 0:
            wf = free.astype(np.float64)
        share = remaining * wf / wf.sum()
        add = np.minimum(np.floor(share).astype(np.int64), room)
        if add.sum() == 0:
            frac = np.where(free, share, -1.0)
            order = np.argsort(-frac, kind="stable")[: min(remaining, int(free.sum()))]
            add = np.zeros_like(x)
            add[order] = 1
        x += add
        remaining -= int(add.sum())
    return x


def alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vose's alias table of ``weights``: draw ``i`` uniformly, keep it with ``prob[i]``, else ``alias[i]``.

    Built once per model (a linear pass); each weighted draw then costs O(1) instead of a binary
    search over the cumulative weights, which dominated generation time.
    """
    n = len(weights)
    scaled = np.asarray(weights, dtype=np.float64) * n / np.sum(weights)
    prob = np.ones(n, dtype=np.float64)
    alias = np.arange(n, dtype=np.int64)
    small = np.flatnonzero(scaled < 1.0).tolist()
    large = np.flatnonzero(scaled >= 1.0).tolist()
    s = scaled.tolist()
    while small and large:
        lo, hi = small.pop(), large.pop()
        prob[lo] = s[lo]
        alias[lo] = hi
        s[hi] = s[hi] + s[lo] - 1.0
        (small if s[hi] < 1.0 else large).append(hi)
    return prob, alias


def _distinct_rows(rng: np.random.Generator, cum: np.ndarray, n_rows: int, k: int) -> np.ndarray:
    """``n_rows`` x ``k`` draws from the distribution ``cum``, distinct within each row."""
    draws = np.searchsorted(cum, rng.random((n_rows, k)) * cum[-1], side="right")
    for _ in range(200):
        s = np.sort(draws, axis=1)
        dup_rows = np.flatnonzero((s[:, 1:] == s[:, :-1]).any(axis=1)) if k > 1 else np.empty(0, np.int64)
        if len(dup_rows) == 0:
            return draws
        # Redraw the later copies of repeated values in those rows only.
        sub = draws[dup_rows]
        for j in range(1, k):
            clash = (sub[:, :j] == sub[:, j:j + 1]).any(axis=1)
            if clash.any():
                sub[clash, j] = np.searchsorted(cum, rng.random(int(clash.sum())) * cum[-1], side="right")
        draws[dup_rows] = sub
    raise RuntimeError("could not draw distinct movies per customer; too few movies for min_customer_ratings")


@functools.lru_cache(maxsize=2)
def build_model(params: SynthParams) -> Model:
    """Derive every cross-movie quantity of ``params`` from its seed (cached per process)."""
    validate(params)
    seed = params.seed
    n_m, n_c = params.movies, params.customers

    rng = np.random.default_rng([seed, _S_MOVIES])
    popularity = np.exp(rng.normal(0.0, params.movie_popularity_sd, n_m))
    z_pop = (np.log(popularity) - np.log(popularity).mean()) / max(np.log(popularity).std(), 1e-9)
    movie_bias = params.movie_bias_sd * (0.4 * z_pop + math.sqrt(1 - 0.16) * rng.normal(size=n_m))
    factor_sd = math.sqrt(params.interaction_sd / math.sqrt(params.rank))
    movie_factors = rng.normal(0.0, factor_sd, (n_m, params.rank)).astype(np.float32)
    years = movie_years(rng, n_m)
    month = rng.integers(1, 13, n_m)
    release = (np.array([f"{max(y, 1970)}-{mo:02d}-01" for y, mo in zip(years.tolist(), month.tolist())],
                        dtype="datetime64[D]").astype(np.int64))
    # Ratings begin with the data set, or when a newer movie came out (at the latest 60 days before the end).
    first_day = np.clip(np.where(years >= 2000, release, FIRST_DAY), FIRST_DAY, LAST_DAY - 60)

    rng = np.random.default_rng([seed, _S_CUSTOMERS])
    activity = np.exp(rng.normal(0.0, params.customer_activity_sd, n_c))
    customer_bias = rng.normal(0.0, params.user_bias_sd, n_c).astype(np.float32)
    customer_factors = rng.normal(0.0, factor_sd, (n_c, params.rank)).astype(np.float32)
    customer_cum = np.cumsum(activity)
    alias = alias_table(activity)

    rng = np.random.default_rng([seed, _S_IDS])
    max_id = max(params.max_customer_id, n_c)
    ids = np.sort(rng.choice(max_id, n_c, replace=False).astype(np.int64) + 1)
    if n_c >= 2:
        ids[-1] = max_id  # the largest id of the real data set is always used

    # Ratings per movie: proportional to popularity, at least min_movie_ratings, at most the density cap.
    cap = max(1, int(params.max_movie_density * n_c))
    lower = np.full(n_m, min(params.min_movie_ratings, cap, params.ratings // n_m), dtype=np.int64)
    target = allocate(params.ratings, popularity, lower, np.full(n_m, cap))

    # Every customer is guaranteed k distinct movies, drawn by the movies' rating counts, so every
    # customer id appears in the data and has enough ratings for a per-customer holdout.
    k = int(min(params.min_customer_ratings, n_m, params.ratings // n_c))
    rng = np.random.default_rng([seed, _S_GUARANTEE])
    if k > 0:
        picks = _distinct_rows(rng, np.cumsum(target.astype(np.float64)), n_c, k)
        movie_of = picks.ravel()
        cust_of = np.repeat(np.arange(n_c, dtype=np.int64), k)
        order = np.argsort(movie_of, kind="stable")
        guaranteed_idx = cust_of[order]
        g = np.bincount(movie_of, minlength=n_m).astype(np.int64)
    else:
        guaranteed_idx = np.empty(0, dtype=np.int64)
        g = np.zeros(n_m, dtype=np.int64)
    guaranteed_ptr = np.concatenate([[0], np.cumsum(g)])
    extra = allocate(params.ratings - int(g.sum()), np.maximum(target - g, 0) + 1e-9,
                     np.maximum(lower - g, 0), np.maximum(cap - g, 0))
    counts = g + extra

    model = Model(
        params=params, customer_ids=ids, customer_weight=activity, customer_cum=customer_cum,
        alias_prob=alias[0], alias_idx=alias[1], slot=np.zeros(n_c, dtype=np.int64),
        customer_bias=customer_bias, customer_factors=customer_factors,
        movie_bias=movie_bias.astype(np.float32), movie_factors=movie_factors, movie_years=years,
        movie_first_day=first_day.astype(np.int64), movie_counts=counts,
        guaranteed_ptr=guaranteed_ptr, guaranteed_idx=guaranteed_idx,
        thresholds=np.zeros(4), mark=np.zeros(n_c, dtype=np.int64),
    )
    model.thresholds = _thresholds(model, np.random.default_rng([seed, _S_THRESH]))
    return model


def _latent(model: Model, movie_index: int | np.ndarray, cust: np.ndarray, noise: np.ndarray) -> np.ndarray:
    """Latent score of (movie, customer) pairs: biases + interaction + noise."""
    p = model.params
    q = model.movie_factors[movie_index]
    if np.ndim(movie_index) == 0:
        inter = model.customer_factors[cust] @ q
    else:
        inter = (model.customer_factors[cust] * q).sum(axis=-1)
    return model.customer_bias[cust] + model.movie_bias[movie_index] + inter + p.noise_sd * noise


def _thresholds(model: Model, rng: np.random.Generator, n: int = 200_000) -> np.ndarray:
    """Cut points of the latent score at the cumulative real rating shares, on rating-weighted pairs."""
    movies = np.searchsorted(np.cumsum(model.movie_counts), rng.random(n) * model.movie_counts.sum(), side="right")
    cust = np.searchsorted(model.customer_cum, rng.random(n) * model.customer_cum[-1], side="right")
    score = _latent(model, movies, cust, rng.normal(size=n))
    return np.quantile(score, np.cumsum(RATING_SHARES)[:-1])


def _sample_customers(model: Model, rng: np.random.Generator, k: int, token: int) -> np.ndarray:
    """``k`` distinct customer indices by activity, none already marked with ``token``; marks them.

    Few draws (``k`` small against the customers) use inverse-CDF draws with rejection; large
    ones use weighted sampling without replacement by exponential keys (Efraimidis-Spirakis).
    """
    if k <= 0:
        return np.empty(0, dtype=np.int64)
    n_c = model.n_customers
    mark = model.mark
    if k * 20 > n_c:
        keys = rng.exponential(size=n_c) / model.customer_weight
        keys[mark == token] = np.inf
        chosen = np.argpartition(keys, k - 1)[:k]
        chosen = chosen[np.argsort(keys[chosen], kind="stable")]
        mark[chosen] = token
        return chosen.astype(np.int64)
    parts: list[np.ndarray] = []
    need = k
    slot = model.slot
    while need > 0:
        size = int(need * 1.25) + 8
        draws = rng.integers(n_c, size=size)
        draws = np.where(rng.random(size) < model.alias_prob[draws], draws, model.alias_idx[draws])
        draws = draws[mark[draws] != token]
        # Keep the first draw of each customer: written in reverse, the first position wins.
        pos = np.arange(len(draws))
        slot[draws[::-1]] = pos[::-1]
        draws = draws[slot[draws] == pos][:need]
        mark[draws] = token
        parts.append(draws)
        need -= len(draws)
    return np.concatenate(parts).astype(np.int64)


@dataclass
class MovieRows:
    """The generated rows of one movie (customer ids, not indices)."""

    movie_id: int
    customers: np.ndarray     # int64 ids of the training ratings
    customer_index: np.ndarray  # their indices in the model (0..customers-1)
    ratings: np.ndarray       # int8 1..5
    days: np.ndarray          # int64 days since epoch
    probe: np.ndarray         # bool mask over the training rows
    qualifying: np.ndarray    # int64 ids of customers who did NOT rate the movie in training
    qualifying_days: np.ndarray


def movie_rows(model: Model, movie_id: int) -> MovieRows:
    """Generate all rows of one movie, deterministically from ``(seed, movie_id)``."""
    p = model.params
    j = movie_id - 1
    rng = np.random.default_rng([p.seed, _S_MOVIE_ROWS, movie_id])
    model.token += 1
    token = model.token
    guaranteed = model.guaranteed_idx[model.guaranteed_ptr[j]:model.guaranteed_ptr[j + 1]]
    model.mark[guaranteed] = token
    extra = _sample_customers(model, rng, int(model.movie_counts[j]) - len(guaranteed), token)
    cust = rng.permutation(np.concatenate([guaranteed, extra]))
    n = len(cust)
    score = _latent(model, j, cust, rng.normal(size=n))
    ratings = (1 + np.searchsorted(model.thresholds, score)).astype(np.int8)
    first = int(model.movie_first_day[j])
    span = LAST_DAY + 1 - first
    # Ratings per day grew with the service: density rising like t^2 over the movie's window.
    days = first + np.minimum((span * rng.random(n) ** (1 / 3)).astype(np.int64), span - 1)
    # The probe set favours each movie's most recent ratings, as the real one does.
    recency = ((days - first + 1) / span) ** 4
    p_probe = np.minimum(1.0, p.probe_fraction * recency / max(recency.mean(), 1e-12)) if n else recency
    probe = rng.random(n) < p_probe
    n_q = min(int(rng.binomial(n, p.qualifying_fraction)) if n else 0, model.n_customers - n)
    q_cust = _sample_customers(model, rng, n_q, token)
    q_days = first + np.minimum((span * rng.random(n_q) ** (1 / 6)).astype(np.int64), span - 1)
    ids = model.customer_ids
    return MovieRows(movie_id, ids[cust], cust, ratings, days, probe, ids[q_cust], q_days)


def file_ranges(counts: np.ndarray, n_files: int) -> list[tuple[int, int]]:
    """Split movie ids 1..len(counts) into ``n_files`` contiguous ranges of about equal ratings.

    Returns ``(first_movie, last_movie_exclusive)`` per file, as the Kaggle files split the
    catalogue (combined_data_1.txt holds movies 1-4499, and so on); no range is empty.
    """
    n_m = len(counts)
    n_files = max(1, min(n_files, n_m))
    cum = np.cumsum(counts)
    cuts = np.searchsorted(cum, cum[-1] * np.arange(1, n_files) / n_files, side="left") + 1
    bounds = [0]
    for c in cuts.tolist():
        bounds.append(min(max(c, bounds[-1] + 1), n_m - (n_files - len(bounds))))
    bounds.append(n_m)
    return [(a + 1, b + 1) for a, b in zip(bounds[:-1], bounds[1:])]


def chunk_ranges(counts: np.ndarray, lo: int, hi: int, chunk_ratings: int) -> list[tuple[int, int]]:
    """Split movies ``[lo, hi)`` into consecutive ranges of at most about ``chunk_ratings`` ratings."""
    out: list[tuple[int, int]] = []
    start, acc = lo, 0
    for m in range(lo, hi):
        c = int(counts[m - 1])
        if acc and acc + c > chunk_ratings:
            out.append((start, m))
            start, acc = m, 0
        acc += c
    out.append((start, hi))
    return out
