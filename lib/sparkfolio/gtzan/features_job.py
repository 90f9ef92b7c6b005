"""gtzan-features: segment MFCCs and per-clip summary features of audio clips, on the executors.

Input: a folder of ``<genre>/<genre>.000NN.wav`` (or ``.au``) clips, any depth (GTZAN's
``genres_original``, a flat folder of ``<genre>.000NN.wav`` files, or a gtzan-generate output).
Output tables:

* ``clips``: one row per good clip: path, file_name, genre, source_rate, channels, duration_s,
  length (samples at ``sample_rate``), n_segments and the 57 features of GTZAN's
  features_30_sec.csv under the same column names.
* ``segments``: one row per segment: path, file_name, genre, segment, start_s, n_frames, n_mfcc and
  ``mfcc`` as ``array<array<float>>`` indexed ``[coefficient][frame]`` (13 x 130 for 3 s).
* ``rejects``: path, file_name, genre, size_bytes, reason for every file that could not be used.

Plus ``plots/<clip>_waveform.png`` and ``plots/<clip>_melspec.png`` for a bounded sample of clips
(rendered on the executors), ``genre_features.png`` and ``metrics.json``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Literal

from pyspark import StorageLevel
from pyspark.sql import Window
from pyspark.sql import functions as F

from sparkfolio.gtzan.features import SUMMARY_FEATURES, FeatureParams
from sparkfolio.gtzan.plots import GENRE_PLOT_FEATURES, genre_features_figure
from sparkfolio.gtzan.spark_features import (
    analysis_schema,
    clip_analyser,
    clips_table,
    genre_column,
    rejects_table,
    segments_table,
    with_identity,
)
from sparkfolio.runtime.errors import ConfigError, DataQualityError, InputError
from sparkfolio.runtime.inputs import list_input_files
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput

# Spark charges every file this much on top of its size when packing files into tasks.
_OPEN_COST_KEY = "spark.sql.files.openCostInBytes"
_MAX_PARTITION_KEY = "spark.sql.files.maxPartitionBytes"


@dataclass
class FeaturesConfig:
    """Settings of gtzan-features (defaults mirror conf/gtzan_features.yaml)."""

    sample_rate: int = 22050
    n_fft: int = 2048
    hop_length: int = 512
    segments_per_30s: int = 10
    segment_mfcc: int = 13
    pad_mode: Literal["reflect", "constant"] = "reflect"
    min_duration_s: float = 1.0
    extensions: list[str] = field(default_factory=lambda: ["wav", "au"])
    files_per_task: int = 4
    plots_per_genre: int = 1
    max_plots: int = 20
    max_reject_fraction: float = 0.05


def feature_params(cfg: FeaturesConfig) -> FeatureParams:
    """The plain feature settings the executors get, validated.

    Raises
    ------
    ConfigError
        A setting is out of range.
    """
    checks = [
        (cfg.sample_rate >= 4000, f"sample_rate must be at least 4000 Hz, got {cfg.sample_rate}"),
        (cfg.n_fft >= 64, f"n_fft must be at least 64, got {cfg.n_fft}"),
        (0 < cfg.hop_length <= cfg.n_fft, f"hop_length must be in 1..n_fft, got {cfg.hop_length}"),
        (cfg.segments_per_30s >= 1, f"segments_per_30s must be at least 1, got {cfg.segments_per_30s}"),
        (cfg.segment_mfcc >= 1, f"segment_mfcc must be at least 1, got {cfg.segment_mfcc}"),
        (cfg.min_duration_s >= 0, f"min_duration_s must not be negative, got {cfg.min_duration_s}"),
        (cfg.files_per_task >= 1, f"files_per_task must be at least 1, got {cfg.files_per_task}"),
        (cfg.plots_per_genre >= 0 and cfg.max_plots >= 0, "plots_per_genre and max_plots must not be negative"),
        (0 <= cfg.max_reject_fraction <= 1, f"max_reject_fraction must be in [0, 1], got {cfg.max_reject_fraction}"),
        (bool(cfg.extensions), "extensions must name at least one file extension"),
    ]
    for ok, message in checks:
        if not ok:
            raise ConfigError(message)
    params = FeatureParams(sample_rate=cfg.sample_rate, n_fft=cfg.n_fft, hop_length=cfg.hop_length,
                           segments_per_30s=cfg.segments_per_30s, segment_mfcc=cfg.segment_mfcc,
                           pad_mode=cfg.pad_mode, min_duration_s=cfg.min_duration_s)
    if params.segment_samples < cfg.n_fft:
        raise ConfigError(f"segments_per_30s={cfg.segments_per_30s} makes segments shorter than n_fft={cfg.n_fft}")
    return params


def extension_glob(extensions: list[str]) -> str:
    """A Hadoop glob matching file names with any of ``extensions``, in lower or upper case."""
    names = sorted({e.lstrip(".").lower() for e in extensions} | {e.lstrip(".").upper() for e in extensions})
    return "*." + (names[0] if len(names) == 1 else "{" + ",".join(names) + "}")


def _partition_bytes(sizes: list[int], files_per_task: int, open_cost: int) -> int:
    """maxPartitionBytes that packs about ``files_per_task`` average files into one task.

    Spark packs files while the running total (size + open cost per file) stays under the limit;
    several files per task amortise the worker set-up, few keep the tasks balanced.
    """
    avg = sum(sizes) / len(sizes)
    return max(1, int(files_per_task * (avg + open_cost) - open_cost))


def run(ctx: JobContext) -> None:
    """Analyse every clip under ``--input`` on the executors and publish the tables and plots."""
    cfg: FeaturesConfig = ctx.config
    params = feature_params(cfg)
    spark = ctx.spark
    started = time.perf_counter()

    listed = list_input_files(spark, ctx.input)
    wanted = {e.lstrip(".").lower() for e in cfg.extensions}
    audio = [f for f in listed if "." in f.name and f.name.rsplit(".", 1)[1].lower() in wanted]
    ignored = len(listed) - len(audio)
    if not audio:
        raise InputError(f"no .{'/.'.join(sorted(wanted))} files under {ctx.input} ({len(listed)} other files)")
    ctx.log.info("%d audio files under %s (%d other files ignored)", len(audio), ctx.input, ignored)

    open_cost = int(spark.conf.get(_OPEN_COST_KEY, str(4 * 1024 * 1024)))
    previous = spark.conf.get(_MAX_PARTITION_KEY, None)
    spark.conf.set(_MAX_PARTITION_KEY, str(_partition_bytes([f.size for f in audio], cfg.files_per_task, open_cost)))
    analysed = None
    try:
        files = (
            spark.read.format("binaryFile")
            .option("recursiveFileLookup", "true")
            .option("pathGlobFilter", extension_glob(cfg.extensions))
            .load(ctx.input)
        )
        plot_paths = _plot_sample(files, cfg.plots_per_genre, cfg.max_plots)
        udf_out = (files.where(F.col("length") > 0).select("path", "content")
                   .mapInArrow(clip_analyser(params, plot_paths), analysis_schema()))
        # Spark's file scan skips zero-byte files; the driver's listing knows them, so they are
        # rejected explicitly rather than lost.
        empty = [f.path for f in audio if f.size == 0]
        if empty:
            udf_out = udf_out.unionByName(_empty_rejects(spark, empty))
        analysed = with_identity(udf_out).persist(StorageLevel.MEMORY_AND_DISK)

        with JobOutput(spark, ctx.output) as out:
            out.write_table("rejects", rejects_table(analysed).orderBy("path"))
            summary = _summary(analysed)
            n_files = summary["files"]
            rejected = summary["rejected"]
            fraction = rejected / n_files if n_files else 0.0
            metrics = {
                "input": ctx.input,
                "files_listed": len(listed),
                "audio_files": n_files,
                "ignored_files": ignored,
                "clips": summary["ok"],
                "rejected": rejected,
                "reject_fraction": fraction,
                "reject_reasons": _reject_reasons(analysed),
                "config": {**vars(cfg), "segment_samples": params.segment_samples},
            }
            if fraction > cfg.max_reject_fraction:
                metrics["elapsed_s"] = time.perf_counter() - started
                out.write_json("metrics.json", metrics)
                out.keep_only(["rejects", "metrics.json"])
                raise DataQualityError(
                    f"{rejected} of {n_files} files under {ctx.input} could not be used "
                    f"({fraction:.1%} > max_reject_fraction {cfg.max_reject_fraction:.1%}); see the rejects table")

            out.write_table("clips", clips_table(analysed).orderBy("path"))
            out.write_table("segments", segments_table(analysed, cfg.segment_mfcc).orderBy("path", "segment"))
            n_plots = _write_clip_plots(out, analysed)
            genre_stats = _genre_stats(analysed)
            if genre_stats:
                import pandas as pd

                out.write_figure("genre_features.png", genre_features_figure(pd.DataFrame(genre_stats)))
            elapsed = time.perf_counter() - started
            metrics.update(
                segments=summary["segments"],
                audio_seconds=summary["audio_s"],
                work_seconds=summary["work_s"],
                work_seconds_per_clip=summary["work_s"] / n_files if n_files else None,
                elapsed_s=elapsed,
                clips_per_second=n_files / elapsed if elapsed > 0 else None,
                plots=n_plots,
                genres=genre_stats,
            )
            out.write_json("metrics.json", metrics)
    finally:
        if analysed is not None:
            analysed.unpersist()
        if previous is None:
            spark.conf.unset(_MAX_PARTITION_KEY)
        else:
            spark.conf.set(_MAX_PARTITION_KEY, previous)

    ctx.report(f"gtzan-features: {summary['ok']} clips, {summary['segments']} segments, {rejected} rejected "
               f"({ignored} non-audio files ignored) in {elapsed:.1f} s -> {out.uri}")
    for reason, count in sorted(metrics["reject_reasons"].items()):
        ctx.report(f"  rejected {count}: {reason}")


def _plot_sample(files, per_genre: int, max_plots: int) -> list[str]:
    """The first ``per_genre`` paths of each genre (by path), at most ``max_plots`` in all.

    Only the path column is read (binaryFile skips the bytes), and only the sample reaches the driver.
    """
    if per_genre == 0 or max_plots == 0:
        return []
    rank = F.row_number().over(Window.partitionBy("genre").orderBy("path"))
    sample = (files.select("path", genre_column(F.col("path")).alias("genre"))
              .withColumn("rank", rank).where(F.col("rank") <= per_genre)
              .orderBy("rank", "genre", "path").limit(max_plots))
    return [r.path for r in sample.collect()]


def _empty_rejects(spark, paths: list[str]):
    """Error records (the UDF's schema) for zero-byte files."""
    from sparkfolio.gtzan.analysis import ERROR, empty_record

    rows = []
    for path in paths:
        rec = empty_record(path, 0)
        rec.update(status=ERROR, error="empty file (0 bytes)")
        rows.append(rec)
    return spark.createDataFrame(rows, analysis_schema())


def _summary(analysed) -> dict:
    row = analysed.agg(
        F.count(F.lit(1)).alias("files"),
        F.sum(F.when(F.col("status") == "ok", 1).otherwise(0)).alias("ok"),
        F.sum(F.when(F.col("status") != "ok", 1).otherwise(0)).alias("rejected"),
        F.coalesce(F.sum("n_segments"), F.lit(0)).alias("segments"),
        F.coalesce(F.sum("duration_s"), F.lit(0.0)).alias("audio_s"),
        F.coalesce(F.sum("work_s"), F.lit(0.0)).alias("work_s"),
    ).first()
    return row.asDict()


def _reject_reasons(analysed) -> dict[str, int]:
    rows = analysed.where(F.col("status") != "ok").groupBy("error").count().collect()
    return {r["error"]: int(r["count"]) for r in rows}


def _genre_stats(analysed) -> list[dict]:
    """Per genre: clip and segment counts and the mean of a few features (a few rows)."""
    ok = analysed.where(F.col("status") == "ok")
    rows = (ok.groupBy("genre")
            .agg(F.count(F.lit(1)).alias("clips"), F.sum("n_segments").alias("segments"),
                 *[F.avg(c).alias(c) for c in GENRE_PLOT_FEATURES])
            .orderBy("genre").collect())
    return [r.asDict() for r in rows]


def _write_clip_plots(out: JobOutput, analysed) -> int:
    """Copy the PNGs rendered on the executors (a bounded sample) into ``plots/``."""
    rows = (analysed.where(F.col("waveform_png").isNotNull())
            .select("file_name", "waveform_png", "melspec_png").orderBy("file_name").collect())
    for r in rows:
        stem = r.file_name.rsplit(".", 1)[0]
        out.write_bytes(f"plots/{stem}_waveform.png", bytes(r.waveform_png))
        out.write_bytes(f"plots/{stem}_melspec.png", bytes(r.melspec_png))
    return 2 * len(rows)


__all__ = ["FeaturesConfig", "SUMMARY_FEATURES", "run", "feature_params", "extension_glob"]
