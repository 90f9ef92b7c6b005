"""The report's aggregations over the cleaned ``players`` table, all as Spark aggregations.

Each function takes the players DataFrame and returns a small DataFrame (one row per nation, club,
age...), so the work grows with the data on the executors and only these summaries are collected.
Medians and percentiles use Spark's exact ``percentile``: its buffer is a value -> count map, so
for integer ratings it stays at most 101 entries per group however many players there are.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkfolio.fifa import schema


def overall_summary(df: DataFrame, group_col: str, high_rating: int) -> DataFrame:
    """Count, mean, median, p90, max of Overall and the share rated ``high_rating``+ per ``group_col``."""
    return (
        df.filter(F.col(group_col).isNotNull())
        .groupBy(group_col)
        .agg(
            F.count(F.lit(1)).alias("players"),
            F.avg("overall").alias("mean_overall"),
            F.median("overall").alias("median_overall"),
            F.percentile("overall", 0.9).alias("p90_overall"),
            F.max("overall").alias("max_overall"),
            F.avg((F.col("overall") >= high_rating).cast("double")).alias("share_high"),
        )
    )


def by_nation(df: DataFrame, min_players: int, high_rating: int) -> DataFrame:
    """Overall per nationality for nations with at least ``min_players`` players, best mean first."""
    return (overall_summary(df, "nationality", high_rating)
            .filter(F.col("players") >= min_players)
            .orderBy(F.desc("mean_overall"), "nationality"))


def nation_overall_histogram(df: DataFrame) -> DataFrame:
    """Players per (nationality, Overall): at most ~101 rows per nation, the input of the rank tests and box plots."""
    return (df.filter(F.col("nationality").isNotNull() & F.col("overall").isNotNull())
            .groupBy("nationality", "overall").count()
            .orderBy("nationality", "overall"))


def by_nation_from_histogram(hist: DataFrame, min_players: int, high_rating: int) -> DataFrame:
    """:func:`by_nation` computed from the (nationality, overall, count) histogram instead of the players.

    The histogram has at most ~101 rows per nation, so this costs no pass over the players. The
    figures are the same: the mean is the count-weighted sum over the count, and Spark's exact
    ``percentile`` takes the counts as frequencies. Equal to :func:`by_nation` when Overall is never
    null, which holds for the cleaned players (Overall is a key column).
    """
    n = F.sum("count")
    return (
        hist.filter(F.col("nationality").isNotNull())
        .groupBy("nationality")
        .agg(
            n.alias("players"),
            (F.sum(F.col("overall").cast("long") * F.col("count")).cast("double") / n).alias("mean_overall"),
            F.percentile("overall", 0.5, F.col("count")).alias("median_overall"),
            F.percentile("overall", 0.9, F.col("count")).alias("p90_overall"),
            F.max("overall").alias("max_overall"),
            (F.sum(F.when(F.col("overall") >= high_rating, F.col("count")).otherwise(0)).cast("double") / n)
            .alias("share_high"),
        )
        .filter(F.col("players") >= min_players)
        .orderBy(F.desc("mean_overall"), "nationality")
    )


def nation_map_from_histogram(hist: DataFrame) -> DataFrame:
    """:func:`nation_map_stats` from the (nationality, overall, count) histogram (no pass over the players)."""
    n = F.sum("count")
    total = F.sum(F.col("overall").cast("long") * F.col("count"))
    return (hist.filter(F.col("nationality").isNotNull())
            .groupBy("nationality")
            .agg(n.alias("players"), (total.cast("double") / n).alias("mean_overall"), total.alias("sum_overall"))
            .orderBy("nationality"))


def overall_histogram_from_nations(hist: DataFrame) -> DataFrame:
    """:func:`overall_histogram` from the per-nation histogram (every cleaned player has a nationality)."""
    return (hist.filter(F.col("overall").isNotNull()).groupBy("overall")
            .agg(F.sum("count").alias("count")).orderBy("overall"))


def nation_map_stats(df: DataFrame) -> DataFrame:
    """Players, mean and sum of Overall per nationality (every nation, for the world map)."""
    return (df.filter(F.col("nationality").isNotNull())
            .groupBy("nationality")
            .agg(F.count(F.lit(1)).alias("players"), F.avg("overall").alias("mean_overall"),
                 F.sum("overall").alias("sum_overall"))
            .orderBy("nationality"))


def by_club(df: DataFrame) -> DataFrame:
    """Per club: squad size, mean Overall, squad value and wage bill (euros), mean age; richest first."""
    return (
        df.filter(F.col("club").isNotNull())
        .groupBy("club")
        .agg(
            F.count(F.lit(1)).alias("players"),
            F.avg("overall").alias("mean_overall"),
            F.sum("value_eur").alias("squad_value_eur"),
            F.sum("wage_eur").alias("wage_bill_eur"),
            F.avg("age").alias("mean_age"),
        )
        .orderBy(F.desc("squad_value_eur"), "club")
    )


def by_position_group(df: DataFrame) -> DataFrame:
    """Per position group (GK, DEF, MID, FWD): players, mean Overall, value, wage, height, weight."""
    order = F.array_position(F.array(*[F.lit(g) for g in schema.POSITION_GROUP_ORDER]), F.col("position_group"))
    return (
        df.filter(F.col("position_group").isNotNull())
        .groupBy("position_group")
        .agg(
            F.count(F.lit(1)).alias("players"),
            F.avg("overall").alias("mean_overall"),
            F.median("overall").alias("median_overall"),
            F.avg("value_eur").alias("mean_value_eur"),
            F.avg("wage_eur").alias("mean_wage_eur"),
            F.avg("height_cm").alias("mean_height_cm"),
            F.avg("weight_kg").alias("mean_weight_kg"),
        )
        .orderBy(order)
    )


def by_age(df: DataFrame) -> DataFrame:
    """Overall and Potential by age: players, means and the mean growth still expected (Potential - Overall)."""
    return (
        df.filter(F.col("age").isNotNull())
        .groupBy("age")
        .agg(
            F.count(F.lit(1)).alias("players"),
            F.avg("overall").alias("mean_overall"),
            F.median("overall").alias("median_overall"),
            F.avg("potential").alias("mean_potential"),
            F.avg(F.col("potential") - F.col("overall")).alias("mean_gap"),
        )
        .orderBy("age")
    )


def potential_gaps(df: DataFrame, max_age: int, top: int) -> DataFrame:
    """The ``top`` players aged ``max_age`` or younger with the biggest Potential - Overall gap.

    Ties are broken by Potential, then player id, so the list is the same on every run.
    """
    return (
        df.filter(F.col("age") <= max_age)
        .withColumn("gap", F.col("potential") - F.col("overall"))
        .orderBy(F.desc("gap"), F.desc("potential"), F.asc("player_id"))
        .limit(top)
        .select("player_id", "name", "age", "nationality", "club", "position", "overall", "potential", "gap", "value_eur")
    )


def value_by_overall(df: DataFrame) -> DataFrame:
    """Market value and wage against Overall: players, mean and median value, mean wage per rating."""
    return (
        df.filter(F.col("overall").isNotNull() & F.col("value_eur").isNotNull())
        .groupBy("overall")
        .agg(
            F.count(F.lit(1)).alias("players"),
            F.avg("value_eur").alias("mean_value_eur"),
            F.median("value_eur").alias("median_value_eur"),
            F.max("value_eur").alias("max_value_eur"),
            F.avg("wage_eur").alias("mean_wage_eur"),
        )
        .orderBy("overall")
    )


def value_overall_correlation(df: DataFrame) -> dict[str, float | None]:
    """Pearson correlation of Overall with value and with log10(1 + value), over all valued players."""
    row = df.agg(
        F.corr("overall", "value_eur").alias("pearson_value"),
        F.corr("overall", F.log10(F.col("value_eur") + 1)).alias("pearson_log10_value"),
    ).first()
    return {k: (None if row[k] is None else float(row[k])) for k in ("pearson_value", "pearson_log10_value")}


def preferred_foot(df: DataFrame) -> DataFrame:
    """Players and share by preferred foot, overall and within each position group (``ALL`` = everyone)."""
    # One grouped count (players without a position group included) is the only scan: the
    # per-group rows and the ALL rows are both taken from it, so Spark reuses its shuffle.
    cells = df.filter(F.col("preferred_foot").isNotNull()).groupBy("position_group", "preferred_foot").count()
    per_group = cells.filter(F.col("position_group").isNotNull())
    overall = cells.groupBy(F.lit("ALL").alias("position_group"), "preferred_foot").agg(F.sum("count").alias("count"))
    counts = per_group.unionByName(overall)
    totals = counts.groupBy("position_group").agg(F.sum("count").alias("total"))
    return (counts.join(totals, "position_group")
            .withColumn("share", F.col("count") / F.col("total"))
            .select("position_group", "preferred_foot", F.col("count").alias("players"), "share")
            .orderBy("position_group", "preferred_foot"))


def overall_histogram(df: DataFrame) -> DataFrame:
    """Players per Overall rating (all players)."""
    return df.filter(F.col("overall").isNotNull()).groupBy("overall").count().orderBy("overall")


Moments = tuple[int, np.ndarray, np.ndarray]


def moments(x: np.ndarray) -> Moments:
    """``(rows, column means, centred cross-product matrix)`` of the rows of ``x`` (float64)."""
    n = int(x.shape[0])
    if n == 0:
        k = x.shape[1]
        return 0, np.zeros(k), np.zeros((k, k))
    mean = x.mean(axis=0)
    centred = x - mean
    return n, mean, centred.T @ centred


def combine_moments(a: Moments, b: Moments) -> Moments:
    """The moments of two sets of rows together (Chan, Golub and LeVeque's pairwise update).

    Centred sums combine without the cancellation of raw sums of squares, so the order in
    which partitions arrive does not change the result beyond rounding.
    """
    na, mean_a, m2_a = a
    nb, mean_b, m2_b = b
    if na == 0:
        return b
    if nb == 0:
        return a
    n = na + nb
    delta = mean_b - mean_a
    return n, mean_a + delta * (nb / n), m2_a + m2_b + np.outer(delta, delta) * (na * nb / n)


def correlation_from_moments(m: Moments) -> np.ndarray:
    """Pearson correlation matrix from combined moments (NaN where a column does not vary)."""
    _, _, m2 = m
    scale = np.sqrt(np.diag(m2))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = m2 / np.outer(scale, scale)
    np.fill_diagonal(corr, np.where(scale > 0, 1.0, np.nan))
    return corr


def _partition_moments(batches: Any, k: int) -> Any:
    """mapInArrow body: one row of moments for all the (complete) rows of a partition."""
    import pyarrow as pa

    total: Moments = (0, np.zeros(k), np.zeros((k, k)))
    for batch in batches:
        if batch.num_rows:
            x = np.column_stack([batch.column(i).to_numpy(zero_copy_only=False).astype(np.float64)
                                 for i in range(k)])
            total = combine_moments(total, moments(x))
    n, mean, m2 = total
    yield pa.RecordBatch.from_pydict({"n": [n], "mean": [mean.tolist()], "m2": [m2.ravel().tolist()]})


def skill_correlations(df: DataFrame, columns: list[str] | None = None) -> tuple[list[str], list[list[float]]]:
    """Pearson correlation matrix of the skill attributes, from per-partition moments.

    Players with any skill missing are left out (the attributes are missing together in the
    data). Each partition reduces its rows to a count, a mean vector and a centred
    cross-product matrix in numpy (``mapInArrow``); the driver combines one small row per
    partition. ``pyspark.ml.stat.Correlation`` needs a vector column first, and building it
    with ``VectorAssembler`` cost 69 s of a 10M-row report on 2 cores, most of the analysis.
    Returns the column names and the matrix as nested lists.
    """
    cols = list(columns or schema.SKILL_TARGETS)
    k = len(cols)
    complete = df.select(*cols).dropna()
    rows = complete.mapInArrow(functools.partial(_partition_moments, k=k),
                               "n long, mean array<double>, m2 array<double>").collect()
    total: Moments = (0, np.zeros(k), np.zeros((k, k)))
    for r in rows:
        total = combine_moments(total, (int(r["n"]), np.array(r["mean"]), np.array(r["m2"]).reshape(k, k)))
    matrix = correlation_from_moments(total)
    return cols, [[float(v) for v in row] for row in matrix]


def player_totals(df: DataFrame, skill_columns: list[str] | None = None) -> dict[str, Any]:
    """The report's global figures over the players: skill correlations, value correlations and what they leave out.

    The counts and value correlations are one aggregation (a single scan, whole-stage code
    generated); the skill matrix is :func:`skill_correlations` (per-partition moments in numpy).
    Both run over the cleaned Parquet, reading only their columns.

    Returns
    -------
    dict
        ``skill_columns``, ``skill_matrix`` (nested lists), ``skill_players`` (players with every
        skill present), ``skill_excluded`` (players left out of the matrix because a skill is
        missing), ``value_vs_overall`` (Pearson r with value and log10(1 + value)),
        ``value_missing`` (players without a value) and ``value_zero`` (players valued €0, which
        the log-scale scatter cannot draw).
    """
    cols = list(skill_columns or schema.SKILL_TARGETS)
    complete = F.lit(True)
    for c in cols:
        complete = complete & F.col(c).isNotNull()
    row = df.agg(
        F.count(F.lit(1)).alias("players"),
        F.count_if(complete).alias("skill_players"),
        F.corr("overall", "value_eur").alias("pearson_value"),
        F.corr("overall", F.log10(F.col("value_eur") + 1)).alias("pearson_log10_value"),
        F.count_if(F.col("value_eur").isNull()).alias("value_missing"),
        F.count_if(F.col("value_eur") == 0).alias("value_zero"),
    ).first()
    n = int(row["skill_players"] or 0)
    # With no complete row there is nothing to correlate: the matrix is all NaN.
    matrix = skill_correlations(df, cols)[1] if n else [[math.nan] * len(cols) for _ in cols]
    return {
        "skill_columns": cols,
        "skill_matrix": matrix,
        "skill_players": n,
        "skill_excluded": int(row["players"]) - n,
        "value_vs_overall": {k: (None if row[k] is None else float(row[k]))
                             for k in ("pearson_value", "pearson_log10_value")},
        "value_missing": int(row["value_missing"]),
        "value_zero": int(row["value_zero"]),
    }


def correlation_long(cols: list[str], matrix: list[list[float]]) -> list[tuple[str, str, float]]:
    """The upper triangle of a correlation matrix as (a, b, r) rows, strongest |r| first."""
    rows = [(cols[i], cols[j], matrix[i][j]) for i in range(len(cols)) for j in range(i + 1, len(cols))]
    return sorted(rows, key=lambda r: (-abs(r[2]), r[0], r[1]))


def scatter_sample(df: DataFrame, size: int, seed: int) -> DataFrame:
    """A bounded, seeded sample of players for the value-vs-Overall scatter.

    The rows with the smallest hash of (player_id, seed) are taken: a top-k that Spark computes
    per partition and merges, so it is the same on every run and never collects more than ``size``.
    """
    return (
        df.filter(F.col("value_eur").isNotNull() & F.col("overall").isNotNull())
        .withColumn("_h", F.xxhash64("player_id", "row_index", F.lit(seed)))
        .orderBy("_h")
        .limit(size)
        .select("player_id", "name", "age", "nationality", "club", "position_group", "overall", "potential",
                "value_eur", "wage_eur")
    )
