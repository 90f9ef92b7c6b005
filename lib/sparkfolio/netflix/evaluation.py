"""Evaluating the recommenders on a held-out split, and the figures of the Netflix report.

Every model predicts every test rating: a customer or movie unseen in training gets the bias
baseline (``mu + b_u + b_i`` with the unknown bias at 0), so all models are scored on exactly the
same rows and no prediction is NaN. Error and ranking metrics are Spark aggregations; the plot
helpers take small pandas summaries (a handful of rows per rating value or per count value).
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkfolio.netflix.baselines import BiasModel, clip_rating, with_baseline
from sparkfolio.netflix.recommend import als_predictions

log = logging.getLogger(__name__)

MODEL_LABELS = {"global_mean": "global mean", "bias": "biases", "als": "ALS", "bias_als": "biases + ALS"}


def pred_col(model: str) -> str:
    """Column holding ``model``'s prediction in :func:`predict_all`'s output."""
    return f"pred_{model}"


def predict_all(pairs: DataFrame, bias: BiasModel, als: Any = None, residual_als: Any = None,
                clip: bool = True) -> DataFrame:
    """Predictions of every model for ``pairs`` (``movie_id, customer_id`` and any other columns).

    Adds ``customer_seen`` / ``movie_seen`` (known to the bias model, i.e. present in training),
    ``pred_global_mean``, ``pred_bias`` and, when the models are given, ``pred_als`` (ALS on
    ratings; cold starts fall back to the bias baseline) and ``pred_bias_als`` (baseline + ALS on
    residuals; cold starts add 0). With ``clip`` predictions are clamped to 1-5.
    """
    seen = (pairs
            .join(F.broadcast(bias.movie_bias.select("movie_id", F.lit(True).alias("movie_seen"))), "movie_id", "left")
            .join(bias.customer_bias.select("customer_id", F.lit(True).alias("customer_seen")), "customer_id", "left")
            .withColumn("movie_seen", F.coalesce("movie_seen", F.lit(False)))
            .withColumn("customer_seen", F.coalesce("customer_seen", F.lit(False))))
    df = with_baseline(seen, bias, "_baseline")
    out = {
        "global_mean": F.lit(float(bias.mu)),
        "bias": F.col("_baseline"),
    }
    if als is not None:
        df = als_predictions(als, df, "_als")
        # ALS gives NaN (or nothing) for a customer or movie it never saw: use the baseline.
        out["als"] = F.coalesce(F.nanvl(F.col("_als"), F.col("_baseline")), F.col("_baseline"))
    if residual_als is not None:
        df = als_predictions(residual_als, df, "_res")
        out["bias_als"] = F.col("_baseline") + F.coalesce(F.nanvl(F.col("_res"), F.lit(0.0)), F.lit(0.0))
    for name, col in out.items():
        df = df.withColumn(pred_col(name), clip_rating(col) if clip else col)
    return df.drop("_baseline", "_als", "_res", "b_movie", "b_customer")


def regression_metrics(predictions: DataFrame, models: list[str], label: str = "rating",
                       extra: dict[str, Column] | None = None) -> dict[str, Any]:
    """RMSE and MAE of each model's ``pred_<model>`` column against ``label``, in one Spark pass.

    ``extra`` aggregate columns (e.g. counts of cold-start rows) ride along in the same pass.

    Returns
    -------
    dict
        ``{model: {"rmse": .., "mae": ..}, ..., "rows": n}`` plus ``"extra": {name: value}``
        when ``extra`` is given.
    """
    aggs = [F.count(F.lit(1)).alias("rows")]
    for m in models:
        err = F.col(pred_col(m)) - F.col(label)
        aggs += [F.sqrt(F.avg(err * err)).alias(f"{m}__rmse"), F.avg(F.abs(err)).alias(f"{m}__mae")]
    aggs += [col.alias(f"extra__{name}") for name, col in (extra or {}).items()]
    row = predictions.agg(*aggs).first().asDict()
    result: dict[str, Any] = {"rows": int(row["rows"])}
    for m in models:
        result[m] = {"rmse": row[f"{m}__rmse"], "mae": row[f"{m}__mae"]}
    if extra:
        result["extra"] = {name: row[f"extra__{name}"] for name in extra}
    return result


def relevant_items(test: DataFrame, threshold: float = 4.0) -> DataFrame:
    """``customer_id, movie_id`` of held-out ratings >= ``threshold`` (what a good top-N should hit)."""
    return test.where(F.col("rating") >= threshold).select("customer_id", "movie_id").distinct()


def ranking_metrics(top: DataFrame, relevant: DataFrame, k: int = 10) -> dict[str, Any]:
    """Mean precision@k, recall@k and NDCG@k over customers with at least one relevant item.

    ``top`` has ``customer_id, rank, movie_id`` (rank 1 = best); ``relevant`` has
    ``customer_id, movie_id``. With binary relevance, DCG@k sums ``1 / log2(rank + 1)`` over
    the hits and the ideal DCG sums the same over ranks 1..min(|relevant|, k) (the definitions of
    Spark's ``RankingMetrics``). A customer with relevant items but no recommendation scores 0.
    All of it is Spark aggregation; one row of averages reaches the driver.
    """
    if k < 1:
        raise ValueError("k must be >= 1")
    hits = (top.where(F.col("rank") <= k).join(relevant, ["customer_id", "movie_id"])
            .groupBy("customer_id")
            .agg(F.count(F.lit(1)).alias("hits"), F.sum(1.0 / F.log2(F.col("rank") + 1.0)).alias("dcg")))
    per_user = (relevant.groupBy("customer_id").agg(F.count(F.lit(1)).alias("n_relevant"))
                .join(hits, "customer_id", "left")
                .fillna({"hits": 0, "dcg": 0.0}))
    ideal = F.aggregate(F.sequence(F.lit(1), F.least(F.col("n_relevant"), F.lit(k)).cast("int")),
                        F.lit(0.0), lambda acc, r: acc + 1.0 / F.log2(r + 1.0))
    row = per_user.agg(
        F.count(F.lit(1)).alias("customers"),
        F.avg(F.col("hits") / F.lit(float(k))).alias("precision"),
        F.avg(F.col("hits") / F.col("n_relevant")).alias("recall"),
        F.avg(F.col("dcg") / ideal).alias("ndcg"),
        F.sum("n_relevant").alias("relevant_items"),
    ).first()
    return {f"precision_at_{k}": row["precision"], f"recall_at_{k}": row["recall"],
            f"ndcg_at_{k}": row["ndcg"], "customers": int(row["customers"]),
            "relevant_items": int(row["relevant_items"] or 0), "k": k}


# -- summaries for the figures (small results) ------------------------------------------------
def rating_distribution(ratings: DataFrame) -> pd.DataFrame:
    """Ratings per star value: ``rating, count, share`` (5 rows)."""
    pdf = (ratings.groupBy(F.col("rating").cast("int").alias("rating")).agg(F.count(F.lit(1)).alias("count"))
           .orderBy("rating").toPandas())
    total = pdf["count"].sum()
    pdf["share"] = pdf["count"] / total if total else 0.0
    return pdf


def count_profile(counts: DataFrame) -> pd.DataFrame:
    """How many keys (movies, customers) have each number of ratings: ``n_ratings, n_keys``.

    ``counts`` is a per-key table with ``n_ratings`` (:func:`sparkfolio.netflix.datasplit.rating_counts`).
    Only distinct counts reach the driver (a few thousand rows even for 480,189 customers), and
    the long-tail curve is rebuilt from them exactly by :func:`long_tail`.
    """
    return (counts.groupBy("n_ratings").agg(F.count(F.lit(1)).alias("n_keys"))
            .orderBy(F.col("n_ratings").desc()).toPandas())


def long_tail(profile: pd.DataFrame) -> pd.DataFrame:
    """Rank-ordered counts from :func:`count_profile`: ``first_rank, last_rank, n_ratings``, plus shares.

    ``cum_share_keys`` / ``cum_share_ratings``: fraction of keys and of ratings up to that rank.
    """
    p = profile.sort_values("n_ratings", ascending=False).reset_index(drop=True)
    last = p["n_keys"].cumsum()
    out = pd.DataFrame({"first_rank": last - p["n_keys"] + 1, "last_rank": last, "n_ratings": p["n_ratings"]})
    total_keys, total_ratings = float(last.iloc[-1]) if len(p) else 0.0, float((p["n_ratings"] * p["n_keys"]).sum())
    out["cum_share_keys"] = last / total_keys if total_keys else 0.0
    out["cum_share_ratings"] = (p["n_ratings"] * p["n_keys"]).cumsum() / total_ratings if total_ratings else 0.0
    return out


def share_of_ratings_in_top(profile: pd.DataFrame, top_fraction: float = 0.2) -> float:
    """Fraction of all ratings that go to the top ``top_fraction`` of keys (e.g. movies)."""
    tail = long_tail(profile)
    if tail.empty:
        return float("nan")
    total_keys = float(tail["last_rank"].iloc[-1])
    cutoff = top_fraction * total_keys
    ratings = 0.0
    for row in tail.itertuples():
        take = max(0.0, min(row.last_rank, cutoff) - row.first_rank + 1)
        ratings += take * row.n_ratings
        if row.last_rank >= cutoff:
            break
    total = float((tail["n_ratings"] * (tail["last_rank"] - tail["first_rank"] + 1)).sum())
    return ratings / total if total else float("nan")


# -- figures ----------------------------------------------------------------------------------
def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_rating_distribution(dist: pd.DataFrame, n_movies: int, n_customers: int) -> Any:
    """The Kaggle kernel's chart: one horizontal bar per star value, labelled with its share."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(10, 5.5))
    total = int(dist["count"].sum())
    ax.barh(dist["rating"].astype(str), dist["count"], color="#3b6ea5")
    widest = float(dist["count"].max()) if len(dist) else 0.0
    for _, row in dist.iterrows():
        label = f"Rating {int(row['rating'])}: {row['share'] * 100:.0f}%"
        # Inside the bar as in the kernel, or just after it when the bar is too short to hold it.
        inside = row["count"] >= 0.3 * widest
        ax.text(row["count"] / 4 if inside else row["count"] + 0.01 * widest, str(int(row["rating"])), label,
                color="white" if inside else "#222222", weight="bold", va="center")
    ax.set_title(f"Total pool: {n_movies:,} movies, {n_customers:,} customers, {total:,} ratings given")
    ax.set_xlabel("ratings")
    ax.set_ylabel("stars")
    return fig


def plot_long_tail(movie_profile: pd.DataFrame, customer_profile: pd.DataFrame) -> Any:
    """Ratings per movie and per customer against their rank, log-log: the long tails."""
    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    for ax, profile, what in ((axes[0], movie_profile, "movie"), (axes[1], customer_profile, "customer")):
        tail = long_tail(profile)
        if tail.empty:
            ax.set_title(f"ratings per {what}: no data")
            continue
        x = tail[["first_rank", "last_rank"]].to_numpy().ravel()
        y = tail["n_ratings"].repeat(2).to_numpy()
        ax.plot(x, y, color="#a53b3b")
        ax.fill_between(x, y, alpha=0.25, color="#a53b3b")
        ax.set_xscale("log")
        ax.set_yscale("log")
        top20 = share_of_ratings_in_top(profile, 0.2)
        ax.set_title(f"ratings per {what} (top 20% of {what}s: {top20 * 100:.0f}% of ratings)")
        ax.set_xlabel(f"{what} rank")
        ax.set_ylabel("ratings")
    fig.tight_layout()
    return fig


def plot_model_errors(errors: dict[str, Any], models: list[str]) -> Any:
    """RMSE and MAE of each model on the test split, as grouped bars with their values."""
    plt = _pyplot()
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 4.5))
    x = np.arange(len(models))
    rmse = [errors[m]["rmse"] for m in models]
    mae = [errors[m]["mae"] for m in models]
    bars1 = ax.bar(x - 0.2, rmse, 0.4, label="RMSE", color="#3b6ea5")
    bars2 = ax.bar(x + 0.2, mae, 0.4, label="MAE", color="#9bb7d4")
    for bars in (bars1, bars2):
        for b in bars:
            ax.text(b.get_x() + b.get_width() / 2, b.get_height(), f"{b.get_height():.4f}",
                    ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [MODEL_LABELS.get(m, m) for m in models])
    low = min(mae + rmse)
    ax.set_ylim(max(0.0, low - 0.15), max(rmse) + 0.05)
    ax.set_ylabel("error (stars)")
    ax.set_title(f"Test error by model ({errors.get('rows', 0):,} held-out ratings)")
    ax.legend()
    return fig
