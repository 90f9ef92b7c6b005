"""Content-based similarity of clips in Spark: standardise features, cosine, top-k per clip.

All built-in functions, no Python UDF: the feature statistics are one aggregate, the unit vectors
are array expressions, the all-pairs cosine is a broadcast nested-loop join (each task takes a
block of query clips against all candidates) and the top-k is a ``row_number`` window, which
Spark limits per partition before any sort (``WindowGroupLimit``).
"""

from __future__ import annotations

import math
from typing import Sequence

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F


def feature_stats(df: DataFrame, features: Sequence[str]) -> dict[str, tuple[float, float]]:
    """Mean and population standard deviation of each feature, in one aggregate.

    Returns
    -------
    dict
        ``{feature: (mean, std)}``; ``std`` is 0.0 for a constant feature.
    """
    aggs = []
    for i, name in enumerate(features):
        aggs += [F.avg(name).alias(f"m{i}"), F.stddev_pop(name).alias(f"s{i}")]
    row = df.agg(*aggs).first()
    return {name: (float(row[f"m{i}"]), float(row[f"s{i}"] or 0.0)) for i, name in enumerate(features)}


def _dot(a: Column, b: Column) -> Column:
    return F.aggregate(F.zip_with(a, b, lambda x, y: x * y), F.lit(0.0), lambda acc, v: acc + v)


def unit_vectors(df: DataFrame, features: Sequence[str], stats: dict[str, tuple[float, float]],
                 key: str = "path") -> DataFrame:
    """``key`` and ``u``: each row's z-scores scaled to length 1 (``u`` is null for a zero vector).

    Constant features (std 0) contribute 0, so they neither help nor break the cosine.
    """
    z = F.array(*[
        ((F.col(name) - F.lit(mean)) / F.lit(std)) if std > 0 else F.lit(0.0)
        for name, (mean, std) in ((n, stats[n]) for n in features)
    ])
    norm = F.sqrt(_dot(F.col("z"), F.col("z")))
    return (
        df.select(key, z.alias("z"))
        .withColumn("norm", norm)
        .select(key, F.when(F.col("norm") > 0, F.transform("z", lambda v: v / F.col("norm"))).alias("u"))
    )


def top_k(units: DataFrame, k: int, partitions: int, key: str = "path") -> DataFrame:
    """The ``k`` most cosine-similar other rows of every row.

    Parameters
    ----------
    units:
        ``key`` and ``u`` (unit vectors, no nulls), e.g. from :func:`unit_vectors`.
    k:
        Neighbours per row.
    partitions:
        Blocks of query rows; each task compares its block with every (broadcast) candidate.

    Returns
    -------
    DataFrame
        ``key``, ``rank`` (1 = most similar), ``neighbour_<key>``, ``cosine``; ties broken by the
        neighbour's key so re-runs give the same table.
    """
    other = f"neighbour_{key}"
    queries = units.select(key, F.col("u").alias("qu")).repartition(partitions, key)
    candidates = F.broadcast(units.select(F.col(key).alias(other), F.col("u").alias("cu")))
    pairs = (queries.crossJoin(candidates)
             .where(F.col(key) != F.col(other))
             .select(key, other, _dot(F.col("qu"), F.col("cu")).alias("cosine")))
    rank = F.row_number().over(Window.partitionBy(key).orderBy(F.desc("cosine"), F.asc(other)))
    return pairs.withColumn("rank", rank).where(F.col("rank") <= k).select(key, "rank", other, "cosine")


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Plain-Python cosine of two vectors (for checks and small examples)."""
    dot = sum(x * y for x, y in zip(a, b))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb) if na and nb else float("nan")
