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

import math
import time
from dataclasses import dataclass, field
from typing import Literal

from pyspark import StorageLevel
from pyspark.sql import functions as F

from sparkfolio.gtzan.audio import genre_from_path
from sparkfolio.gtzan.features import SUMMARY_FEATURES, FeatureParams
from sparkfolio.gtzan.plots import GENRE_PLOT_FEATURES, genre_features_figure
from sparkfolio.gtzan.spark_features import (
    analysis_schema,
    clip_analyser,
    clips_table,
    rejects_table,
    segments_table,
    with_identity,
)
from sparkfolio.runtime.binaryfiles import binary_files, has_extension, open_cost, plan_packing
from sparkfolio.runtime.errors import ConfigError, DataQualityError, InputError
from sparkfolio.runtime.inputs import list_input_files
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput
from sparkfolio.runtime.session import executor_cores


@dataclass
class FeaturesConfig:
    """Settings of gtzan-features (defaults mirror conf/gtzan_features.yaml)."""

    sample_rate: int = field(default=22050, metadata={"help": "Hz; clips are mixed to mono and resampled to it"})
    n_fft: int = field(default=2048, metadata={"help": "STFT frame (samples)"})
    hop_length: int = field(default=512, metadata={"help": "STFT hop (samples)"})
    segments_per_30s: int = field(default=10, metadata={"help": "segments of a 30 s clip (10 -> 3 s each)"})
    segment_mfcc: int = field(default=13, metadata={"help": "MFCC coefficients per segment frame"})
    pad_mode: Literal["reflect", "constant"] = field(
        default="reflect", metadata={"help": "STFT centre padding; reflect matches features_30_sec.csv"})
    min_duration_s: float = field(default=1.0, metadata={"help": "shorter clips are rejected"})
    extensions: list[str] = field(default_factory=lambda: ["wav", "au"],
                                  metadata={"help": "audio file extensions read (any case)"})
    files_per_task: int = field(default=16, metadata={"help": "at most about this many files per Spark task"})
    plots_per_genre: int = field(default=1, metadata={"help": "waveform + mel PNGs for the first clips of each genre"})
    max_plots: int = field(default=20, metadata={"help": "at most this many clips plotted"})
    max_reject_fraction: float = field(default=0.05, metadata={"help": "fail (exit 4) above this share of bad files"})


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


def plot_sample(paths: list[str], per_genre: int, max_plots: int) -> list[str]:
    """The first ``per_genre`` paths of each genre (by path), then by genre, ``max_plots`` at most.

    Decided on the driver from the file listing (names only), so no Spark job is spent on it.
    """
    if per_genre <= 0 or max_plots <= 0:
        return []
    by_genre: dict[str, list[str]] = {}
    for path in sorted(paths):
        by_genre.setdefault(genre_from_path(path), []).append(path)
    ranked = sorted((rank, genre, path) for genre, items in by_genre.items()
                    for rank, path in enumerate(items[:per_genre]))
    return [path for _, _, path in ranked[:max_plots]]


def summarise(groups: list[dict]) -> dict:
    """Job figures from the per (genre, status, error) aggregate rows (see ``_groups``).

    Returns
    -------
    dict
        files, ok, rejected, segments, audio_s, work_s, reject_reasons {reason: count} and genres
        (per genre: clips, segments and the clip-weighted mean of the plotted features).
    """
    out = {"files": 0, "ok": 0, "rejected": 0, "segments": 0, "audio_s": 0.0, "work_s": 0.0}
    reasons: dict[str, int] = {}
    genres: dict[str, dict] = {}
    for g in groups:
        n = int(g["n"])
        out["files"] += n
        out["work_s"] += float(g["work_s"] or 0.0)
        if g["status"] != "ok":
            out["rejected"] += n
            reasons[g["error"]] = reasons.get(g["error"], 0) + n
            continue
        out["ok"] += n
        out["segments"] += int(g["segments"] or 0)
        out["audio_s"] += float(g["audio_s"] or 0.0)
        genres[g["genre"]] = {"genre": g["genre"], "clips": n, "segments": int(g["segments"] or 0),
                              **{c: g[c] for c in GENRE_PLOT_FEATURES}}
    out["reject_reasons"] = dict(sorted(reasons.items()))
    out["genres"] = [genres[k] for k in sorted(genres)]
    return out


def run(ctx: JobContext) -> None:
    """Analyse every clip under ``--input`` on the executors and publish the tables and plots."""
    cfg: FeaturesConfig = ctx.config
    params = feature_params(cfg)
    spark = ctx.spark
    started = time.perf_counter()

    listed = list_input_files(spark, ctx.input)
    audio = [f for f in listed if has_extension(f.name, cfg.extensions)]
    ignored = len(listed) - len(audio)
    if not audio:
        wanted = sorted({e.lstrip(".").lower() for e in cfg.extensions})
        raise InputError(f"no .{'/.'.join(wanted)} files under {ctx.input} ({len(listed)} other files)")
    ctx.log.info("%d audio files under %s (%d other files ignored)", len(audio), ctx.input, ignored)

    analysed = None
    packing = plan_packing([f.size for f in audio], cfg.files_per_task, open_cost(spark), executor_cores(spark))
    with binary_files(spark, ctx.input, cfg.extensions, packing) as files:
        try:
            plot_paths = plot_sample([f.path for f in audio if f.size > 0], cfg.plots_per_genre, cfg.max_plots)
            udf_out = (files.select("path", "content")
                       .mapInArrow(clip_analyser(params, plot_paths), analysis_schema()))
            # Spark's file scan skips zero-byte files; the driver's listing knows them, so they are
            # rejected explicitly rather than lost.
            empty = [f.path for f in audio if f.size == 0]
            if empty:
                udf_out = udf_out.unionByName(_empty_rejects(spark, empty))
            analysed = with_identity(udf_out).persist(StorageLevel.MEMORY_AND_DISK)

            # The first action runs the UDF over every file and fills the cache; all later ones read it.
            summary = summarise(_groups(analysed))
            n_files, rejected = summary["files"], summary["rejected"]
            if n_files != len(audio):
                ctx.log.warning("listed %d audio files under %s but Spark read %d", len(audio), ctx.input, n_files)
            fraction = rejected / n_files if n_files else 0.0
            metrics = {
                "input": ctx.input,
                "files_listed": len(listed),
                "audio_files": len(audio),
                "files_read": n_files,
                "ignored_files": ignored,
                "clips": summary["ok"],
                "rejected": rejected,
                "reject_fraction": fraction,
                "reject_reasons": summary["reject_reasons"],
                "config": {**vars(cfg), "segment_samples": params.segment_samples},
            }
            with JobOutput(spark, ctx.output) as out:
                out.write_table("rejects", rejects_table(analysed).coalesce(1).sortWithinPartitions("path"))
                if fraction > cfg.max_reject_fraction:
                    metrics["elapsed_s"] = time.perf_counter() - started
                    out.write_json("metrics.json", metrics)
                    out.keep_only(["rejects", "metrics.json"])
                    raise DataQualityError(
                        f"{rejected} of {n_files} files under {ctx.input} could not be used "
                        f"({fraction:.1%} > max_reject_fraction {cfg.max_reject_fraction:.1%}); see the rejects table")
                # Few, well-filled Parquet files whatever the number of tasks (a clip row is ~1 KB,
                # a segment row ~7 KB); rows sorted by path inside each file.
                out.write_table("clips", clips_table(analysed).coalesce(max(1, math.ceil(summary["ok"] / 100_000)))
                                .sortWithinPartitions("path"))
                out.write_table("segments", segments_table(analysed, cfg.segment_mfcc)
                                .coalesce(max(1, math.ceil(summary["segments"] / 20_000)))
                                .sortWithinPartitions("path", "segment"))
                n_plots = _write_clip_plots(out, analysed) if plot_paths else 0
                if summary["genres"]:
                    import pandas as pd

                    out.write_figure("genre_features.png", genre_features_figure(pd.DataFrame(summary["genres"])))
                elapsed = time.perf_counter() - started
                metrics.update(
                    segments=summary["segments"],
                    audio_seconds=summary["audio_s"],
                    work_seconds=summary["work_s"],
                    work_seconds_per_clip=summary["work_s"] / n_files if n_files else None,
                    elapsed_s=elapsed,
                    clips_per_second=n_files / elapsed if elapsed > 0 else None,
                    plots=n_plots,
                    genres=summary["genres"],
                )
                out.write_json("metrics.json", metrics)
        finally:
            if analysed is not None:
                analysed.unpersist()

    ctx.report(f"gtzan-features: {summary['ok']} clips, {summary['segments']} segments, {rejected} rejected "
               f"({ignored} non-audio files ignored) in {elapsed:.1f} s -> {out.uri}")
    for reason, count in summary["reject_reasons"].items():
        ctx.report(f"  rejected {count}: {reason}")


def _groups(analysed) -> list[dict]:
    """One small aggregate row per (genre, status, error): counts, sums and feature means."""
    rows = (analysed.groupBy("genre", "status", "error")
            .agg(F.count(F.lit(1)).alias("n"), F.sum("n_segments").alias("segments"),
                 F.sum("duration_s").alias("audio_s"), F.sum("work_s").alias("work_s"),
                 *[F.avg(c).alias(c) for c in GENRE_PLOT_FEATURES])
            .collect())
    return [r.asDict() for r in rows]


def _empty_rejects(spark, paths: list[str]):
    """Error records (the UDF's schema) for zero-byte files."""
    from sparkfolio.gtzan.analysis import ERROR, empty_record

    rows = []
    for path in paths:
        rec = empty_record(path, 0)
        rec.update(status=ERROR, error="empty file (0 bytes)")
        rows.append(rec)
    return spark.createDataFrame(rows, analysis_schema())


def _write_clip_plots(out: JobOutput, analysed) -> int:
    """Copy the PNGs rendered on the executors (a bounded sample) into ``plots/``."""
    rows = (analysed.where(F.col("waveform_png").isNotNull())
            .select("file_name", "waveform_png", "melspec_png").collect())
    for r in sorted(rows, key=lambda r: r.file_name):
        stem = r.file_name.rsplit(".", 1)[0]
        out.write_bytes(f"plots/{stem}_waveform.png", bytes(r.waveform_png))
        out.write_bytes(f"plots/{stem}_melspec.png", bytes(r.melspec_png))
    return 2 * len(rows)


__all__ = ["FeaturesConfig", "SUMMARY_FEATURES", "run", "feature_params", "plot_sample", "summarise"]
