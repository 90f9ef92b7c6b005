"""gtzan-similar: content-based music recommendation, the nearest clips by summary features.

``--input`` is a gtzan-features output (its ``clips`` table, or that table's folder). Every clip's
summary features are standardised with Spark aggregates (z-scores), and each clip's ``k`` nearest
other clips by cosine similarity are found on the executors (see ``similarity``). Outputs:

* ``neighbours``: path, file_name, genre, rank, neighbour_path, neighbour_file_name,
  neighbour_genre, cosine; ``k`` rows per clip.
* ``rejects``: clips with a missing or non-finite feature (they cannot be placed), with the reason.
* ``genre_neighbours.png``: where each genre's neighbours come from; ``metrics.json``: counts, the
  standardisation (mean and std per feature), and genre agreement of the neighbours (the share of a
  clip's top-k with its own genre, overall and per genre).

``--set clip=PATH`` (a path, a path suffix such as ``blues/blues.00000.wav``, a file name or a file
name without extension) prints that clip's top ``k``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from sparkfolio.gtzan.features import SUMMARY_FEATURES
from sparkfolio.gtzan.plots import neighbour_genre_figure
from sparkfolio.gtzan.similarity import feature_stats, top_k, unit_vectors
from sparkfolio.runtime.errors import ConfigError, DataQualityError, InputError
from sparkfolio.runtime.inputs import qualify
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class SimilarConfig:
    """Settings of gtzan-similar (defaults mirror conf/gtzan_similar.yaml)."""

    k: int = field(default=10, metadata={"help": "neighbours kept per clip"})
    clip: str | None = field(default=None, metadata={"help": "print this clip's top k (path, path suffix, file name or stem)"})
    features: list[str] = field(default_factory=list, metadata={"help": "csv feature names compared; empty: all 57"})
    partitions: int = field(default=0, metadata={"help": "blocks of query clips (0: spark.sql.shuffle.partitions)"})
    max_reject_fraction: float = field(default=0.05, metadata={"help": "fail (exit 4) above this share of unusable clips"})


def read_clips(spark, path: str) -> DataFrame:
    """The ``clips`` table of a gtzan-features output (``path/clips``, or ``path`` itself).

    Raises
    ------
    InputError
        Nothing readable there, or the table lacks path, file_name or genre.
    """
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(qualify(path))
    fs = hpath.getFileSystem(spark._jsc.hadoopConfiguration())
    if not fs.exists(hpath):
        raise InputError(f"input not found: {path}")
    table = jvm.org.apache.hadoop.fs.Path(hpath, "clips")
    target = table.toString() if fs.exists(table) else hpath.toString()
    try:
        df = spark.read.parquet(target)
    except Exception as exc:  # noqa: BLE001 - Spark's AnalysisException for a folder without Parquet
        raise InputError(f"{path}: not a gtzan-features output (no readable clips table): "
                         f"{' '.join(str(exc).split())[:200]}") from None
    missing = [c for c in ("path", "file_name", "genre") if c not in df.columns]
    if missing:
        raise InputError(f"{target}: not a gtzan-features clips table (missing column {', '.join(missing)})")
    return df


def choose_features(cfg: SimilarConfig, columns: list[str]) -> list[str]:
    """The feature columns to compare: ``cfg.features`` or every csv feature in the table.

    Raises
    ------
    ConfigError
        A requested feature is not a summary feature.
    InputError
        The table lacks a feature column.
    """
    wanted = list(cfg.features) or list(SUMMARY_FEATURES)
    unknown = [f for f in wanted if f not in SUMMARY_FEATURES]
    if unknown:
        raise ConfigError(f"features: unknown {', '.join(map(repr, unknown))} (use the names of features_30_sec.csv)")
    missing = [f for f in wanted if f not in columns]
    if missing:
        raise InputError(f"clips table lacks feature column(s) {', '.join(missing[:5])}")
    return wanted


def clip_matches(clips: DataFrame, clip: str) -> DataFrame:
    """Clips whose path, path suffix, file name or file stem is ``clip``."""
    name = F.col("file_name")
    stem = F.regexp_extract(name, r"^(.*)\.[^.]+$", 1)
    wanted = clip.strip()
    return clips.where(
        (F.col("path") == wanted) | (F.col("path") == qualify(wanted)) | F.col("path").endswith("/" + wanted.lstrip("/"))
        | (name == wanted) | (stem == wanted)
    )


def run(ctx: JobContext) -> None:
    """Standardise the clips' features, find every clip's k nearest and publish the table."""
    cfg: SimilarConfig = ctx.config
    if cfg.k < 1:
        raise ConfigError(f"k must be at least 1, got {cfg.k}")
    if cfg.partitions < 0:
        raise ConfigError(f"partitions must be 0 (spark.sql.shuffle.partitions) or more, got {cfg.partitions}")
    spark = ctx.spark
    started = time.perf_counter()
    clips = read_clips(spark, ctx.input)
    features = choose_features(cfg, clips.columns)

    bad = F.array_compact(F.array(*[
        F.when(F.col(f).isNull() | F.isnan(F.col(f)) | (F.abs(F.col(f)) == float("inf")), F.lit(f)) for f in features
    ]))
    checked = clips.withColumn("_bad", bad).cache()
    units = None
    try:
        rejects = checked.where(F.size("_bad") > 0).select(
            "path", "file_name", "genre",
            F.concat(F.lit("missing or non-finite feature(s): "), F.array_join("_bad", ", ")).alias("reason"))
        good = checked.where(F.size("_bad") == 0).drop("_bad")
        counts = checked.agg(F.count(F.lit(1)).alias("n"), F.sum(F.when(F.size("_bad") > 0, 1).otherwise(0)).alias("bad")).first()
        n_all, n_bad = int(counts["n"]), int(counts["bad"] or 0)
        if n_all == 0:
            raise InputError(f"{ctx.input}: the clips table is empty")
        n_good = n_all - n_bad
        if n_good < 2:
            raise InputError(f"{ctx.input}: need at least 2 usable clips to compare, found {n_good}")

        query = None
        if cfg.clip:
            found = clip_matches(good, cfg.clip).select("path").orderBy("path").limit(6).collect()
            if not found:
                raise ConfigError(f"clip {cfg.clip!r} not found among the {n_good} usable clips of {ctx.input}")
            if len(found) > 1:
                listed = ", ".join(r.path for r in found[:5])
                raise ConfigError(f"clip {cfg.clip!r} matches several clips ({listed}); give more of its path")
            query = found[0].path

        stats = feature_stats(good, features)
        units = unit_vectors(good, features, stats).cache()
        zero = units.where(F.col("u").isNull()).select("path")
        rejects = rejects.unionByName(
            good.join(zero, "path").select("path", "file_name", "genre",
                                          F.lit("all features equal the mean: no direction to compare").alias("reason")))
        partitions = cfg.partitions or int(spark.conf.get("spark.sql.shuffle.partitions"))
        k = min(cfg.k, n_good - 1)
        ident = good.select("path", "file_name", "genre")
        other = ident.select(F.col("path").alias("neighbour_path"), F.col("file_name").alias("neighbour_file_name"),
                             F.col("genre").alias("neighbour_genre"))
        neighbours = (top_k(units.where(F.col("u").isNotNull()), k, partitions)
                      .join(ident, "path").join(other, "neighbour_path")
                      .select("path", "file_name", "genre", "rank", "neighbour_path", "neighbour_file_name",
                              "neighbour_genre", "cosine"))

        with JobOutput(spark, ctx.output) as out:
            out.write_table("rejects", rejects.coalesce(1).sortWithinPartitions("path"))
            n_rejected = spark.read.parquet(out.path("rejects")).count()
            fraction = n_rejected / n_all
            metrics: dict = {
                "input": ctx.input, "clips": n_all, "rejected": n_rejected, "reject_fraction": fraction,
                "k": k, "features": features,
                "standardisation": {f: {"mean": m, "std": s} for f, (m, s) in stats.items()},
                "constant_features": [f for f, (_, s) in stats.items() if s == 0],
                "config": vars(cfg),
            }
            if fraction > cfg.max_reject_fraction:
                out.write_json("metrics.json", metrics)
                out.keep_only(["rejects", "metrics.json"])
                raise DataQualityError(f"{n_rejected} of {n_all} clips in {ctx.input} have unusable features "
                                       f"({fraction:.1%} > max_reject_fraction {cfg.max_reject_fraction:.1%}); see rejects")
            # A neighbour row is ~200 bytes: one Parquet file per ~500k rows, sorted inside.
            n_files = max(1, math.ceil((n_all - n_rejected) * k / 500_000))
            out.write_table("neighbours", neighbours.coalesce(n_files).sortWithinPartitions("path", "rank"))
            table = spark.read.parquet(out.path("neighbours"))
            pairs = [(r["genre"], r["neighbour_genre"], int(r["count"]))
                     for r in table.groupBy("genre", "neighbour_genre").count().collect()]
            agreement, matrix = genre_pair_summary(pairs)
            if len(matrix):
                out.write_figure("genre_neighbours.png", neighbour_genre_figure(matrix))
            top = None
            if query is not None:
                top = [r.asDict() for r in table.where(F.col("path") == query).orderBy("rank").collect()]
                metrics["clip"] = {"path": query, "neighbours": top}
            metrics.update(neighbours=sum(c for _, _, c in pairs), genre_agreement=agreement,
                           elapsed_s=time.perf_counter() - started)
            out.write_json("metrics.json", metrics)
    finally:
        checked.unpersist()
        if units is not None:
            units.unpersist()

    ctx.report(f"gtzan-similar: top {k} of {n_all - n_rejected} clips by cosine of {len(features)} "
               f"standardised features; {n_rejected} rejected; same-genre share of neighbours "
               f"{_fmt(agreement['overall'])} -> {out.uri}")
    if top is not None:
        ctx.report(f"top {len(top)} for {query}:" if top else f"no neighbours for {query}: it is in the rejects table")
        for r in top:
            ctx.report(f"  {r['rank']:>2}. {r['neighbour_file_name']:<28} {r['neighbour_genre']:<12} cosine {r['cosine']:.3f}")


def _fmt(x: float | None) -> str:
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}"


def genre_pair_summary(pairs: list[tuple[str, str, int]]) -> tuple[dict, "pd.DataFrame"]:
    """Genre agreement and the genre-to-genre matrix from (genre, neighbour_genre, count) rows.

    Returns
    -------
    (agreement, matrix)
        ``agreement``: the share of neighbours with the query's genre, ``overall`` and
        ``per_genre`` (a precision@k by genre); ``matrix``: rows = query genre, columns =
        neighbour genre, cells = share of that row's neighbours (rows sum to 1).
    """
    import pandas as pd

    if not pairs:
        return {"overall": None, "per_genre": {}}, pd.DataFrame()
    counts = pd.DataFrame(pairs, columns=["genre", "neighbour_genre", "count"])
    genres = sorted(set(counts.genre) | set(counts.neighbour_genre))
    m = (counts.pivot_table(index="genre", columns="neighbour_genre", values="count", aggfunc="sum")
         .reindex(index=genres, columns=genres).fillna(0.0))
    totals = m.sum(axis=1)
    same = pd.Series({g: m.loc[g, g] for g in genres})
    per = {g: float(same[g] / totals[g]) for g in genres if totals[g] > 0}
    agreement = {"overall": float(same.sum() / totals.sum()), "per_genre": per}
    return agreement, m.div(totals.where(totals > 0, 1.0), axis=0)
