"""``netflix-als``: baselines and ALS on ingested Netflix ratings.

Reads the ``netflix-ingest`` output (``ratings``, ``movies``), then

1. validates the ratings (bad rows -> ``rejects``) and optionally drops sparse movies and
   customers below a count quantile (the Kaggle kernel's 0.7 filter);
2. splits train/test (seeded random, or probe-like: each customer's latest ratings);
3. fits the global mean, regularized movie + customer biases, plain ALS and ALS on the bias
   residuals (optionally after a hyper-parameter grid on a validation split carved from train)
   and scores all four on the same test rows (RMSE, MAE), plus precision/recall/NDCG@k of the best;
4. refits on all ratings (``refit_full``) and writes the model, the top-N of every customer, the
   most similar movies (cosine of ALS factors; Pearson over co-rated pairs), plots and metrics.

``--set customer_id=N`` and ``--set similar_to="Title"`` print that customer's recommendations
and the movies similar to that title.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator, Literal

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkfolio.netflix import datasplit, evaluation, recommend, similar
from sparkfolio.netflix.baselines import clip_rating, fit_biases, global_mean, with_residual
from sparkfolio.runtime.config import config_to_dict
from sparkfolio.runtime.errors import ConfigError, DataQualityError, InputError
from sparkfolio.runtime.inputs import list_input_files, qualify
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput

log = logging.getLogger(__name__)

MODELS = ["global_mean", "bias", "als", "bias_als"]


@dataclass
class AlsParams:
    """Hyper-parameters of one Spark ALS model (explicit ratings)."""

    rank: int = 10
    max_iter: int = 10
    reg_param: float = 0.1


@dataclass
class GridConfig:
    """Values to try for each ALS model on a validation split carved from train (empty: no search)."""

    rank: list[int] = field(default_factory=list)
    reg_param: list[float] = field(default_factory=list)
    max_iter: list[int] = field(default_factory=list)
    validation_fraction: float = 0.1


@dataclass
class AlsConfig:
    """Settings of ``netflix-als`` (mirrored by conf/netflix_als.yaml)."""

    seed: int = 42
    max_reject_fraction: float = 0.01
    check_duplicates: bool = True
    filter_quantile: float = 0.0
    quantile_relative_error: float = 0.001
    split: Literal["random", "probe"] = "random"
    test_fraction: float = 0.1
    holdout_per_customer: int = 2
    min_train_per_customer: int = 5
    bias_lambda_movie: float = 25.0
    bias_lambda_customer: float = 10.0
    bias_iterations: int = 3
    als: AlsParams = field(default_factory=lambda: AlsParams(rank=10, max_iter=10, reg_param=0.1))
    bias_als: AlsParams = field(default_factory=lambda: AlsParams(rank=10, max_iter=10, reg_param=0.1))
    grid: GridConfig = field(default_factory=GridConfig)
    num_blocks: int = 0
    checkpoint_interval: int = 5
    checkpoint_dir: str | None = None
    clip_predictions: bool = True
    refit_full: bool = True
    top_n: int = 10
    ranking_k: int = 10
    relevant_threshold: float = 4.0
    similar_k: int = 10
    pearson_top_movies: int = 500
    min_overlap: int = 50
    query_block_size: int = 4096
    candidate_block_size: int = 20000
    write_predictions: bool = True
    customer_id: int | None = None
    similar_to: str | None = None


def check_config(cfg: AlsConfig) -> None:
    """Reject settings that cannot work before any data is read.

    Raises
    ------
    ConfigError
        Naming the key and the expected range.
    """
    checks = [
        (0.0 <= cfg.max_reject_fraction <= 1.0, "max_reject_fraction", "a number in [0, 1]"),
        (0.0 <= cfg.filter_quantile < 1.0, "filter_quantile", "a number in [0, 1) (0 disables the filter)"),
        (0.0 <= cfg.quantile_relative_error < 1.0, "quantile_relative_error", "a number in [0, 1)"),
        (0.0 < cfg.test_fraction < 1.0, "test_fraction", "a number in (0, 1)"),
        (0.0 < cfg.grid.validation_fraction < 1.0, "grid.validation_fraction", "a number in (0, 1)"),
        (cfg.holdout_per_customer >= 1, "holdout_per_customer", "at least 1"),
        (cfg.min_train_per_customer >= 1, "min_train_per_customer", "at least 1"),
        (cfg.bias_lambda_movie >= 0 and cfg.bias_lambda_customer >= 0, "bias_lambda_movie/customer", ">= 0"),
        (1 <= cfg.bias_iterations <= 50, "bias_iterations", "1 to 50"),
        (cfg.num_blocks >= 0, "num_blocks", ">= 0 (0: the default parallelism)"),
        (cfg.checkpoint_interval >= 1, "checkpoint_interval", "at least 1"),
        (cfg.top_n >= 1, "top_n", "at least 1"),
        (cfg.ranking_k >= 1, "ranking_k", "at least 1"),
        (1.0 <= cfg.relevant_threshold <= 5.0, "relevant_threshold", "a rating in [1, 5]"),
        (cfg.similar_k >= 1, "similar_k", "at least 1"),
        (cfg.pearson_top_movies >= 0, "pearson_top_movies", ">= 0 (0 skips the Pearson table)"),
        (cfg.min_overlap >= 2, "min_overlap", "at least 2"),
        (cfg.query_block_size >= 1 and cfg.candidate_block_size >= 1, "query/candidate_block_size", "at least 1"),
    ]
    for name, p in (("als", cfg.als), ("bias_als", cfg.bias_als)):
        checks += [(p.rank >= 1, f"{name}.rank", "at least 1"), (p.max_iter >= 1, f"{name}.max_iter", "at least 1"),
                   (p.reg_param >= 0, f"{name}.reg_param", ">= 0")]
    checks += [(all(r >= 1 for r in cfg.grid.rank), "grid.rank", "values >= 1"),
               (all(i >= 1 for i in cfg.grid.max_iter), "grid.max_iter", "values >= 1"),
               (all(g >= 0 for g in cfg.grid.reg_param), "grid.reg_param", "values >= 0")]
    for ok, key, expected in checks:
        if not ok:
            raise ConfigError(f"{key}: expected {expected}")


class _Timer:
    """Wall-clock seconds per named stage, for metrics.json."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
            log.info("%s: %.1f s", name, self.seconds[name])


def _read_inputs(ctx: JobContext) -> tuple[DataFrame, DataFrame | None, str, str]:
    """The ``ratings`` and (optional) ``movies`` tables of the ingest output at ``ctx.input``."""
    base = ctx.input.rstrip("/")
    ratings_path, movies_path = f"{base}/ratings", f"{base}/movies"
    try:
        list_input_files(ctx.spark, ratings_path)
    except InputError:
        raise InputError(f"{ratings_path}: no ratings table (expected the output folder of netflix-ingest)") from None
    ratings = ctx.spark.read.parquet(qualify(ratings_path))
    datasplit.check_columns(ratings, datasplit.RATING_COLUMNS, ratings_path)
    movies = None
    try:
        list_input_files(ctx.spark, movies_path)
        movies = ctx.spark.read.parquet(qualify(movies_path))
        datasplit.check_columns(movies, ("movie_id", "year", "title"), movies_path)
        movies = movies.select(F.col("movie_id").cast("int"), F.col("year").cast("int"), F.col("title").cast("string"))
    except InputError as exc:
        if "missing column" in str(exc):
            raise
        log.warning("%s not found: recommendations will have no titles", movies_path)
    return ratings, movies, ratings_path, movies_path


def run(ctx: JobContext) -> None:
    """Run the whole job (see the module docstring); outputs are published atomically."""
    cfg: AlsConfig = ctx.config
    check_config(cfg)
    timer = _Timer()
    with timer.stage("read_validate"):
        raw, movies, ratings_path, movies_path = _read_inputs(ctx)
        # One pass over the input fills the cache and counts valid rows and rejects by reason.
        flagged = datasplit.flag_invalid(raw).cache()
    cached = [flagged]
    try:
        _validated_run(ctx, cfg, timer, flagged, movies, ratings_path, movies_path, cached)
    finally:
        for df in cached:
            df.unpersist()


def _validated_run(ctx: JobContext, cfg: AlsConfig, timer: _Timer, flagged: DataFrame, movies: DataFrame | None,
                   ratings_path: str, movies_path: str, cached: list[DataFrame]) -> None:
    spark = ctx.spark
    metrics: dict[str, Any] = {"params": config_to_dict(cfg)}
    with timer.stage("read_validate"):
        reasons = {r["reason"]: int(r["count"]) for r in flagged.groupBy("reason").count().collect()}
        n_clean = reasons.pop(None, 0)
        clean = flagged.where(F.col("reason").isNull()).drop("reason")
        rejects = flagged.where(F.col("reason").isNotNull())
        if cfg.check_duplicates:
            deduplicated, dups = datasplit.drop_duplicate_pairs(clean)
            if deduplicated is not clean:  # some pairs were rated twice
                clean = deduplicated.cache()
                cached.append(clean)
                n_dups = n_clean - clean.count()
                n_clean -= n_dups
                reasons[datasplit.REASON_DUPLICATE] = n_dups
                rejects = rejects.unionByName(dups)
        n_rejects = sum(reasons.values())
    total = n_clean + n_rejects
    if total == 0:
        raise InputError(f"{ratings_path}: the ratings table is empty")
    metrics["input"] = {"ratings": total, "valid": n_clean, "rejects": n_rejects, "rejects_by_reason": reasons}
    if movies is None:
        if cfg.similar_to:
            raise ConfigError(f"similar_to needs movie titles, but {movies_path} does not exist")
        movies = spark.createDataFrame([], "movie_id int, year int, title string")

    with JobOutput(spark, ctx.output) as out:
        if n_rejects / total > cfg.max_reject_fraction:
            out.write_table("rejects", rejects)
            out.write_json("metrics.json", metrics)
            out.keep_only(["rejects", "metrics.json"])
            raise DataQualityError(
                f"{ratings_path}: {n_rejects:,} of {total:,} ratings rejected ({n_rejects / total:.2%}), more than "
                f"max_reject_fraction={cfg.max_reject_fraction}; see {out.final_path('rejects')}")
        if n_clean == 0:
            raise InputError(f"{ratings_path}: no valid ratings")
        # Fail fast on a customer or title that does not exist, before hours of training.
        if cfg.customer_id is not None and clean.where(F.col("customer_id") == cfg.customer_id).isEmpty():
            raise ConfigError(f"customer_id={cfg.customer_id}: no such customer in {ratings_path}")
        similar_targets = _resolve_title(movies, cfg.similar_to, movies_path) if cfg.similar_to else []

        checkpoint = _set_checkpoint_dir(spark, cfg, out)
        try:
            _pipeline(ctx, cfg, out, clean, rejects, movies, metrics, timer, similar_targets, cached)
        finally:
            _delete(spark, checkpoint)


def _pipeline(ctx: JobContext, cfg: AlsConfig, out: JobOutput, clean: DataFrame, rejects: DataFrame,
              movies: DataFrame, metrics: dict[str, Any], timer: _Timer, similar_targets: list[Any],
              cached: list[DataFrame]) -> None:
    """Everything after validation; every cached frame goes on ``cached`` (released by the caller)."""
    spark = ctx.spark
    # -- filter and split ------------------------------------------------------------------
    with timer.stage("filter"):
        # Per-movie and per-customer counts serve the filter, the long-tail plot and the metrics.
        movie_counts = datasplit.rating_counts(clean, "movie_id").cache()
        customer_counts = datasplit.rating_counts(clean, "customer_id").cache()
        filtered, fsum = datasplit.filter_sparse(clean, cfg.filter_quantile, cfg.quantile_relative_error,
                                                 movie_counts=movie_counts, customer_counts=customer_counts)
        filtered = filtered.cache() if cfg.filter_quantile > 0 else filtered
        cached += [movie_counts, customer_counts, filtered]
    metrics["filter"] = fsum.as_dict()
    if cfg.filter_quantile > 0:
        ctx.report(f"sparsity filter (quantile {cfg.filter_quantile}): dropped {fsum.movies_dropped:,} of "
                   f"{fsum.movies_before:,} movies (< {fsum.movie_threshold:.0f} ratings) and "
                   f"{fsum.customers_dropped:,} of {fsum.customers_before:,} customers "
                   f"(< {fsum.customer_threshold:.0f} ratings): {fsum.ratings_dropped:,} ratings")
    with timer.stage("split"):
        marked = datasplit.mark_split(
            filtered, cfg.split, test_fraction=cfg.test_fraction, seed=cfg.seed,
            holdout_per_customer=cfg.holdout_per_customer, min_train_per_customer=cfg.min_train_per_customer).cache()
        cached.append(marked)
        sizes = {r["is_test"]: int(r["count"]) for r in marked.groupBy("is_test").count().collect()}
        n_train, n_test = sizes.get(False, 0), sizes.get(True, 0)
        train, test = datasplit.train_test(marked)
    if n_train == 0 or n_test == 0:
        raise InputError(f"the {cfg.split} split left {n_train:,} training and {n_test:,} test ratings; "
                         "the input is too small for this split (see test_fraction / holdout_per_customer)")
    metrics["split"] = {"method": cfg.split, "train": n_train, "test": n_test}

    # -- hyper-parameters ------------------------------------------------------------------
    params = {"als": cfg.als, "bias_als": cfg.bias_als}
    if cfg.grid.rank or cfg.grid.reg_param or cfg.grid.max_iter:
        with timer.stage("grid_search"):
            metrics["grid"] = grid_search(train, cfg)
        params = {m: AlsParams(**metrics["grid"]["best"][m]) for m in params}
        ctx.report("grid search on a validation split: best " + "; ".join(
            f"{evaluation.MODEL_LABELS[m]} rank={p.rank} reg_param={p.reg_param} max_iter={p.max_iter}"
            for m, p in params.items()))
    metrics["best_params"] = {m: p.__dict__ for m, p in params.items()}

    # -- fit on train, score on test --------------------------------------------------------
    with timer.stage("fit_baselines"):
        mu = global_mean(train)
        bias = fit_biases(train, mu, cfg.bias_lambda_movie, cfg.bias_lambda_customer, cfg.bias_iterations)
        cached += [bias.movie_bias, bias.customer_bias]
    with timer.stage("fit_als"):
        als_model = _fit(train, "rating", params["als"], cfg)
        cached += [als_model.userFactors, als_model.itemFactors]
    # Includes ALS's fixed costs; scripts/bench_netflix.py measures the marginal cost per iteration.
    metrics["als_fit_seconds_per_iteration"] = timer.seconds["fit_als"] / params["als"].max_iter
    with timer.stage("fit_bias_als"):
        residuals = with_residual(train, bias).cache()
        res_model = _fit(residuals, "residual", params["bias_als"], cfg)
        cached += [res_model.userFactors, res_model.itemFactors]
        residuals.unpersist()
    with timer.stage("evaluate"):
        preds = evaluation.predict_all(test, bias, als_model, res_model, cfg.clip_predictions).cache()
        cached.append(preds)
        cold_aggs = {"unseen_customer_rows": F.sum((~F.col("customer_seen")).cast("int")),
                     "unseen_movie_rows": F.sum((~F.col("movie_seen")).cast("int"))}
        for m in MODELS:
            c = F.col(evaluation.pred_col(m))
            cold_aggs[f"nan_{m}"] = F.sum((F.isnan(c) | c.isNull()).cast("int"))
        errors = evaluation.regression_metrics(preds, MODELS, extra=cold_aggs)
        cold = errors.pop("extra")
    nan_rows = {m: cold.pop(f"nan_{m}") for m in MODELS}
    if any(nan_rows.values()):  # a bug, not a user error: every model must predict every row
        raise RuntimeError(f"NaN predictions on the test split: {nan_rows}")
    best = min(MODELS, key=lambda m: errors[m]["rmse"])
    best_als = min(("als", "bias_als"), key=lambda m: errors[m]["rmse"])
    metrics["errors"] = errors
    metrics["test_cold_start"] = {k: int(v or 0) for k, v in cold.items()}
    metrics["best_model"] = best
    ctx.report(_errors_table(errors, best))

    with timer.stage("ranking"):
        relevant = evaluation.relevant_items(test, cfg.relevant_threshold).cache()
        cached.append(relevant)
        eval_model = recommend.factor_model(best, relevant, filtered, bias,
                                            {"als": als_model, "bias_als": res_model}.get(best))
        top = recommend.recommend_all(eval_model, train, cfg.ranking_k, customers=relevant,
                                      query_block_size=cfg.query_block_size,
                                      candidate_block_size=cfg.candidate_block_size)
        ranking = evaluation.ranking_metrics(top, relevant, cfg.ranking_k)
        relevant.unpersist()
    metrics["ranking"] = {"model": best, "relevant_threshold": cfg.relevant_threshold, **ranking}
    k = cfg.ranking_k
    ctx.report(f"ranking of {evaluation.MODEL_LABELS[best]} over held-out ratings >= {cfg.relevant_threshold:g} "
               f"({ranking['customers']:,} customers): precision@{k} {ranking[f'precision_at_{k}']:.4f}, "
               f"recall@{k} {ranking[f'recall_at_{k}']:.4f}, NDCG@{k} {ranking[f'ndcg_at_{k}']:.4f}")
    if cfg.write_predictions:
        with timer.stage("write_predictions"):
            out.write_table("test_predictions", preds.select(
                "customer_id", "movie_id", "rating", "date", "customer_seen", "movie_seen",
                *[evaluation.pred_col(m) for m in MODELS]))
    preds.unpersist()

    # -- the served model: refit on every rating --------------------------------------------
    with timer.stage("refit"):
        if cfg.refit_full:
            final_bias = fit_biases(filtered, global_mean(filtered), cfg.bias_lambda_movie,
                                    cfg.bias_lambda_customer, cfg.bias_iterations)
            cached += [final_bias.movie_bias, final_bias.customer_bias]
            if best_als == "als":
                final_als = _fit(filtered, "rating", params["als"], cfg)
            else:
                final_res = with_residual(filtered, final_bias).cache()
                final_als = _fit(final_res, "residual", params["bias_als"], cfg)
                final_res.unpersist()
            cached += [final_als.userFactors, final_als.itemFactors]
        else:
            final_bias, final_als = bias, {"als": als_model, "bias_als": res_model}[best_als]
    metrics["served_model"] = {"model": best, "als_variant": best_als, "refit_full": cfg.refit_full,
                               "mu": final_bias.mu}
    titles = movies.select("movie_id", "title", "year")

    with timer.stage("write_model"):
        final_als.write().overwrite().save(out.path("model/als"))
        out.write_table("model/movie_bias", final_bias.movie_bias)
        out.write_table("model/customer_bias", final_bias.customer_bias)
        out.write_json("model/model.json", {
            "served_model": best, "als_variant": best_als, "mu": final_bias.mu,
            "als_target": "rating" if best_als == "als" else "residual = rating - (mu + b_customer + b_movie)",
            "params": params[best_als].__dict__, "bias_lambda_movie": cfg.bias_lambda_movie,
            "bias_lambda_customer": cfg.bias_lambda_customer, "bias_iterations": cfg.bias_iterations,
            "predict": {"global_mean": "mu", "bias": "mu + b_customer + b_movie", "als": "ALS(customer, movie)",
                        "bias_als": "mu + b_customer + b_movie + ALS(customer, movie)"}[best],
            "clip": [1, 5] if cfg.clip_predictions else None})

    with timer.stage("recommend"):
        served = recommend.factor_model(best, clean, clean, final_bias,
                                        final_als if best in ("als", "bias_als") else None)
        recs = recommend.recommend_all(served, clean, cfg.top_n, query_block_size=cfg.query_block_size,
                                       candidate_block_size=cfg.candidate_block_size)
        predicted = clip_rating(F.col("score")) if cfg.clip_predictions else F.col("score")
        recs = (recs.join(F.broadcast(titles), "movie_id", "left")
                .select("customer_id", "rank", "movie_id", "title", "year", predicted.alias("predicted_rating")))
        out.write_table("recommendations", recs)
    with timer.stage("similar_cosine"):
        factors = final_als.itemFactors.select(F.col("id").alias("movie_id"), F.col("features").alias("vec"))
        cos = similar.cosine_similar(factors, cfg.similar_k, block_size=cfg.candidate_block_size)
        out.write_table("similar_movies", _with_titles(cos, titles))
    if cfg.pearson_top_movies > 0:
        with timer.stage("similar_pearson"):
            pear = similar.pearson_similar(filtered, top_movies=cfg.pearson_top_movies,
                                           min_overlap=cfg.min_overlap, k=cfg.similar_k)
            out.write_table("similar_pearson", _with_titles(pear, titles))
    with timer.stage("write_rejects"):
        out.write_table("rejects", rejects)

    with timer.stage("plots"):
        dist = evaluation.rating_distribution(clean)
        movie_profile = evaluation.count_profile(movie_counts)
        customer_profile = evaluation.count_profile(customer_counts)
        n_movies, n_customers = int(movie_profile["n_keys"].sum()), int(customer_profile["n_keys"].sum())
        out.write_figure("rating_distribution.png", evaluation.plot_rating_distribution(dist, n_movies, n_customers))
        out.write_figure("rmse_by_model.png", evaluation.plot_model_errors(errors, MODELS))
        out.write_figure("long_tail.png", evaluation.plot_long_tail(movie_profile, customer_profile))
    metrics["data"] = {
        "movies": n_movies, "customers": n_customers, "ratings": int(dist["count"].sum()),
        "rating_distribution": {int(r): int(c) for r, c in zip(dist["rating"], dist["count"])},
        "mean_rating": float((dist["rating"] * dist["count"]).sum() / max(1, dist["count"].sum())),
        "top20pct_movies_share_of_ratings": evaluation.share_of_ratings_in_top(movie_profile, 0.2),
        "top20pct_customers_share_of_ratings": evaluation.share_of_ratings_in_top(customer_profile, 0.2),
        "max_ratings_per_movie": int(movie_profile["n_ratings"].max()),
        "max_ratings_per_customer": int(customer_profile["n_ratings"].max()),
    }

    # -- what the person asked to see -------------------------------------------------------
    if cfg.customer_id is not None:
        ctx.report(_customer_report(spark, out, clean, cfg.customer_id, best))
    for target in similar_targets:
        ctx.report(_similar_report(spark, out, target, cfg))

    metrics["timings_seconds"] = dict(timer.seconds)
    out.write_json("metrics.json", metrics)
    ctx.report(f"outputs: {out.uri}")


def _fit(ratings: DataFrame, target: str, p: AlsParams, cfg: AlsConfig) -> Any:
    # ALS blocks default to the cores: Spark's fixed 10 means idle tasks on a laptop and too few
    # on a cluster. Fixed per session, so a re-run on the same cluster gives the same factors.
    blocks = cfg.num_blocks or max(1, ratings.sparkSession.sparkContext.defaultParallelism)
    return recommend.fit_als(ratings, target, rank=p.rank, max_iter=p.max_iter, reg_param=p.reg_param,
                             seed=cfg.seed, num_blocks=blocks, checkpoint_interval=cfg.checkpoint_interval)


def grid_search(train: DataFrame, cfg: AlsConfig) -> dict[str, Any]:
    """Try every combination of the grid for plain ALS and ALS on residuals on a validation split.

    The validation split is carved from ``train`` with the job's split method (random with seed
    + 1, or each customer's latest training ratings), so the test split is never looked at.
    Lists left empty use the model's configured value.

    Returns
    -------
    dict
        ``results`` (one row per model and combination with validation RMSE/MAE), ``best``
        (per model: rank, max_iter, reg_param) and the split sizes.
    """
    marked = datasplit.mark_split(
        train, cfg.split, test_fraction=cfg.grid.validation_fraction, seed=cfg.seed + 1,
        holdout_per_customer=cfg.holdout_per_customer, min_train_per_customer=cfg.min_train_per_customer).cache()
    sizes = {r["is_test"]: int(r["count"]) for r in marked.groupBy("is_test").count().collect()}
    n_sub, n_valid = sizes.get(False, 0), sizes.get(True, 0)
    sub_train, valid = datasplit.train_test(marked)
    if n_sub == 0 or n_valid == 0:
        raise InputError("the validation split for the grid search is empty; lower the grid or add data")
    bias = fit_biases(sub_train, None, cfg.bias_lambda_movie, cfg.bias_lambda_customer, cfg.bias_iterations)
    residuals = with_residual(sub_train, bias).cache()
    results: list[dict[str, Any]] = []
    best: dict[str, tuple[float, dict[str, Any]]] = {}
    for model, base in (("als", cfg.als), ("bias_als", cfg.bias_als)):
        grid = itertools.product(cfg.grid.rank or [base.rank], cfg.grid.reg_param or [base.reg_param],
                                 cfg.grid.max_iter or [base.max_iter])
        for rank, reg, iters in grid:
            p = AlsParams(rank=rank, max_iter=iters, reg_param=reg)
            t0 = time.perf_counter()
            fitted = _fit(sub_train if model == "als" else residuals, "rating" if model == "als" else "residual",
                          p, cfg)
            preds = evaluation.predict_all(valid, bias, fitted if model == "als" else None,
                                           fitted if model == "bias_als" else None, cfg.clip_predictions)
            err = evaluation.regression_metrics(preds, [model])[model]
            row = {"model": model, **p.__dict__, "rmse": err["rmse"], "mae": err["mae"],
                   "seconds": time.perf_counter() - t0}
            results.append(row)
            log.info("grid %s", row)
            fitted.userFactors.unpersist()
            fitted.itemFactors.unpersist()
            if model not in best or err["rmse"] < best[model][0]:
                best[model] = (err["rmse"], p.__dict__)
    residuals.unpersist()
    bias.unpersist()
    marked.unpersist()
    return {"results": results, "best": {m: v[1] for m, v in best.items()},
            "best_validation_rmse": {m: v[0] for m, v in best.items()},
            "train": n_sub, "validation": n_valid}


def _errors_table(errors: dict[str, Any], best: str) -> str:
    lines = [f"test split ({errors['rows']:,} ratings)      RMSE     MAE"]
    for m in MODELS:
        mark = "  <- best" if m == best else ""
        lines.append(f"  {evaluation.MODEL_LABELS[m]:<22} {errors[m]['rmse']:.4f}  {errors[m]['mae']:.4f}{mark}")
    return "\n".join(lines)


def _with_titles(pairs: DataFrame, titles: DataFrame) -> DataFrame:
    """Add ``title`` and ``similar_title`` to a similar-movies table."""
    t = F.broadcast(titles.select("movie_id", "title"))
    s = F.broadcast(titles.select(F.col("movie_id").alias("similar_movie_id"), F.col("title").alias("similar_title")))
    return pairs.join(t, "movie_id", "left").join(s, "similar_movie_id", "left").select(
        "movie_id", "title", "rank", "similar_movie_id", "similar_title",
        *[c for c in pairs.columns if c not in ("movie_id", "rank", "similar_movie_id")])


def _resolve_title(movies: DataFrame, query: str, movies_path: str) -> list[Any]:
    found = similar.find_movies(movies, query)
    if not found:
        near = similar.closest_titles(movies, query, 5)
        hint = "; closest: " + ", ".join(similar.describe(r) for r in near) if near else ""
        raise ConfigError(f"similar_to={query!r}: no movie with that title in {movies_path}{hint}")
    return found


def _customer_report(spark: Any, out: JobOutput, clean: DataFrame, customer_id: int, best: str) -> str:
    recs = (spark.read.parquet(out.path("recommendations")).where(F.col("customer_id") == customer_id)
            .orderBy("rank").collect())
    n_rated = clean.where(F.col("customer_id") == customer_id).count()
    lines = [f"top {len(recs)} for customer {customer_id} ({n_rated} movies rated; model "
             f"{evaluation.MODEL_LABELS[best]}):"]
    for r in recs:
        title = f"{r['title']} ({r['year']})" if r["title"] is not None else f"movie {r['movie_id']}"
        lines.append(f"  {r['rank']:>2}. {title:<60} predicted {r['predicted_rating']:.2f}")
    return "\n".join(lines)


def _similar_report(spark: Any, out: JobOutput, target: Any, cfg: AlsConfig) -> str:
    mid = int(target["movie_id"])
    name = similar.describe(target)
    lines = [f"movies similar to {name} [movie {mid}]", "  cosine of ALS movie factors:"]
    cos = spark.read.parquet(out.path("similar_movies")).where(F.col("movie_id") == mid).orderBy("rank").collect()
    if not cos:
        lines.append("    (no factors: the movie has no ratings left after the filter)")
    for r in cos:
        lines.append(f"    {r['rank']:>2}. {r['similar_title'] or r['similar_movie_id']}  cosine {r['cosine']:.3f}")
    lines.append(f"  Pearson correlation of ratings (>= {cfg.min_overlap} common customers, "
                 f"among the {cfg.pearson_top_movies} most-rated movies):")
    pear = []
    if cfg.pearson_top_movies > 0:
        pear = (spark.read.parquet(out.path("similar_pearson")).where(F.col("movie_id") == mid)
                .orderBy("rank").collect())
    if not pear:
        lines.append("    (none: the movie is not among the most-rated movies, or no pair reaches min_overlap)")
    for r in pear:
        lines.append(f"    {r['rank']:>2}. {r['similar_title'] or r['similar_movie_id']}  r {r['pearson']:.3f} "
                     f"({r['overlap']} customers)")
    return "\n".join(lines)


def _set_checkpoint_dir(spark: Any, cfg: AlsConfig, out: JobOutput) -> str:
    """Point the SparkContext at a fresh checkpoint folder; returns it (deleted after the run).

    The default lives in the output's staging folder, so it is on the same (shared) file system
    as the output, which cluster executors can all reach.
    """
    if cfg.checkpoint_dir:
        path = f"{qualify(cfg.checkpoint_dir).rstrip('/')}/netflix-als-{uuid.uuid4().hex[:12]}"
    else:
        path = out.path("_checkpoints")
    spark.sparkContext.setCheckpointDir(path)
    log.info("checkpoint dir %s", path)
    return path


def _delete(spark: Any, path: str) -> None:
    jvm = spark._jvm
    p = jvm.org.apache.hadoop.fs.Path(path)
    fs = p.getFileSystem(spark._jsc.hadoopConfiguration())
    if fs.exists(p):
        fs.delete(p, True)
