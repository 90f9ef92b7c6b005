"""Spark aggregations of clean plates into the small tables the statistics need.

Each function is one distributed aggregation whose result has a row per category level, bin or
column -- never per plate -- so only that small table is collected to the driver.
"""

from __future__ import annotations

import math

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkfolio.scale import schema


def level_expr(column: str, dtype: str) -> Column:
    """A category level as text; whole numbers of numeric columns print without ``.0``."""
    c = F.col(column)
    if dtype in ("double", "float"):
        return F.when(c == F.floor(c), c.cast("long").cast("string")).otherwise(c.cast("string"))
    return c.cast("string")


def category_counts(df: DataFrame, columns: list[str], label: str = schema.LABEL) -> pd.DataFrame:
    """Plates and defects per level of every column in ``columns`` (one pass, one shuffle)."""
    if not columns:
        return pd.DataFrame(columns=["column", "level", "n", "defects"])
    types = dict(df.dtypes)
    pairs = F.array(*[F.struct(F.lit(c).alias("column"), level_expr(c, types[c]).alias("level")) for c in columns])
    out = (df.select(F.col(label).alias("y"), F.explode(pairs).alias("x"))
           .groupBy(F.col("x.column").alias("column"), F.col("x.level").alias("level"))
           .agg(F.count(F.lit(1)).alias("n"), F.sum("y").alias("defects"))
           .toPandas())
    return out.sort_values(["column", "level"]).reset_index(drop=True)


def moments_by_status(df: DataFrame, columns: list[str], label: str = schema.LABEL) -> pd.DataFrame:
    """Count, mean, sample variance, min and max of each numeric column per defect status."""
    aggs = []
    for i, c in enumerate(columns):
        aggs += [F.count(c).alias(f"n{i}"), F.mean(c).alias(f"m{i}"), F.var_samp(c).alias(f"v{i}"),
                 F.min(c).alias(f"lo{i}"), F.max(c).alias(f"hi{i}")]
    rows = df.groupBy(label).agg(*aggs).collect()
    out = []
    for r in rows:
        for i, c in enumerate(columns):
            out.append({"column": c, "status": int(r[label]), "n": int(r[f"n{i}"]), "mean": r[f"m{i}"],
                        "var": r[f"v{i}"] if r[f"v{i}"] is not None else math.nan,
                        "min": r[f"lo{i}"], "max": r[f"hi{i}"]})
    return pd.DataFrame(out, columns=["column", "status", "n", "mean", "var", "min", "max"]) \
        .sort_values(["column", "status"]).reset_index(drop=True)


def nice_width(lo: float, hi: float, target_bins: int) -> float:
    """A round bin width (1, 2, 2.5 or 5 times a power of ten) giving about ``target_bins`` bins."""
    span = float(hi) - float(lo)
    if not math.isfinite(span) or span <= 0:
        return 1.0
    raw = span / max(target_bins, 1)
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return float(m * power)
    return float(10 * power)


def bin_widths(columns: list[str], configured: dict[str, float], moments: pd.DataFrame, target_bins: int) -> dict[str, float]:
    """The configured width of each numeric column, or a round width from its observed range."""
    out: dict[str, float] = {}
    for c in columns:
        if c in configured:
            out[c] = float(configured[c])
            continue
        m = moments[moments["column"] == c]
        out[c] = nice_width(m["min"].min(), m["max"].max(), target_bins) if len(m) else 1.0
    return out


def bin_counts(df: DataFrame, widths: dict[str, float], label: str = schema.LABEL) -> pd.DataFrame:
    """Plates and defects per fixed-width bin ``[k*w, (k+1)*w)`` of each numeric column.

    Fixed edges (multiples of the width) need no quantile pass, read as round numbers in findings
    ("at or above 1175 °C") and give exactly the same bins in the pandas reference.
    """
    if not widths:
        return pd.DataFrame(columns=["column", "bin_low", "width", "n", "defects"])
    pairs = F.array(*[
        F.struct(F.lit(c).alias("column"), (F.floor(F.col(c) / F.lit(w)) * F.lit(w)).cast("double").alias("bin_low"),
                 F.lit(float(w)).alias("width"))
        for c, w in widths.items()
    ])
    out = (df.select(F.col(label).alias("y"), F.explode(pairs).alias("x"))
           .where(F.col("x.bin_low").isNotNull())
           .groupBy(F.col("x.column").alias("column"), F.col("x.bin_low").alias("bin_low"), F.col("x.width").alias("width"))
           .agg(F.count(F.lit(1)).alias("n"), F.sum("y").alias("defects"))
           .toPandas())
    return out.sort_values(["column", "bin_low"]).reset_index(drop=True)


def correlations(df: DataFrame, columns: list[str]) -> pd.DataFrame:
    """Pearson correlation matrix of ``columns`` (one distributed pass, a k x k result).

    ``pyspark.ml.stat.Correlation`` aggregates the covariance of an assembled vector in a single
    tree-aggregate, which stays cheap for many columns where one SQL ``corr`` per pair would not.
    A constant column has no correlation (NaN), as with pandas.
    """
    from pyspark.ml.feature import VectorAssembler
    from pyspark.ml.stat import Correlation

    if len(columns) < 2:
        return pd.DataFrame(1.0, index=columns, columns=columns)
    vec = VectorAssembler(inputCols=columns, outputCol="_v", handleInvalid="skip").transform(
        df.select(*[F.col(c).cast("double") for c in columns]))
    matrix = Correlation.corr(vec, "_v", "pearson").first()[0].toArray()
    return pd.DataFrame(matrix, index=columns, columns=columns)


def duplicate_columns(corr: pd.DataFrame, threshold: float = 0.9999) -> dict[str, str]:
    """``column -> earlier column`` for columns that are (almost) exact linear copies of another.

    The furnace exit temperature equals the soaking temperature in the real data: keeping both
    would make the Logit singular and double every finding.
    """
    out: dict[str, str] = {}
    cols = list(corr.columns)
    for i, b in enumerate(cols):
        for a in cols[:i]:
            if a in out:
                continue
            v = corr.loc[a, b]
            if v is not None and not math.isnan(v) and abs(v) >= threshold:
                out[b] = a
                break
    return out
