"""gtzan-generate: synthetic genre-like clips in GTZAN's layout, synthesised in Spark tasks.

Writes ``<output>/<genre>/<genre>.000NN.wav`` (22,050 Hz, 16-bit mono PCM by default), a
``_manifest`` table (one row per clip: relative path, genre, index, duration, samples, bytes,
SHA-256; hidden from the file listing of gtzan-features like Spark's own ``_SUCCESS``) and
``metrics.json``. Clip ``i`` of genre ``g`` depends only on (seed, g, i), so re-runs and any task
split give byte-identical files.

Executors write the WAV files straight into the output's staging folder (local or shared file
system, or any URI pyarrow's file systems reach: HDFS, S3, GCS); only the small manifest returns to
the driver, and the whole folder is published atomically with the rest of the output.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, IntegerType, LongType, StringType, StructField, StructType

from sparkfolio.gtzan.synth import GENRES
from sparkfolio.runtime.errors import ConfigError
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput


@dataclass
class GenerateConfig:
    """Settings of gtzan-generate (defaults mirror conf/gtzan_generate.yaml)."""

    genres: list[str] = field(default_factory=lambda: list(GENRES), metadata={"help": "genres to synthesise"})
    clips_per_genre: int = field(default=10, metadata={"help": "clips of each genre"})
    min_duration_s: float = field(default=30.0, metadata={"help": "shortest clip (s); durations are drawn per clip"})
    max_duration_s: float = field(default=30.0, metadata={"help": "longest clip (s)"})
    sample_rate: int = field(default=22050, metadata={"help": "Hz of the 16-bit PCM WAV files"})
    seed: int = field(default=42, metadata={"help": "same seed, same bytes"})
    tasks: int = field(default=0, metadata={"help": "Spark tasks (0: default parallelism)"})


MANIFEST_SCHEMA = StructType([
    StructField("path", StringType(), False),
    StructField("genre", StringType(), False),
    StructField("clip", IntegerType(), False),
    StructField("duration_s", DoubleType(), False),
    StructField("samples", LongType(), False),
    StructField("bytes", LongType(), False),
    StructField("sha256", StringType(), False),
])


def validate(cfg: GenerateConfig) -> None:
    """Raise ConfigError for settings that cannot make a data set."""
    unknown = sorted(set(cfg.genres) - set(GENRES))
    if unknown:
        raise ConfigError(f"genres: no recipe for {', '.join(map(repr, unknown))} (known: {', '.join(GENRES)})")
    if not cfg.genres or len(set(cfg.genres)) != len(cfg.genres):
        raise ConfigError("genres must list at least one genre, each once")
    if not 1 <= cfg.clips_per_genre <= 99999:
        raise ConfigError(f"clips_per_genre must be in 1..99999 (GTZAN's 5-digit numbering), got {cfg.clips_per_genre}")
    if not 0 < cfg.min_duration_s <= cfg.max_duration_s:
        raise ConfigError(f"need 0 < min_duration_s <= max_duration_s, got {cfg.min_duration_s} and {cfg.max_duration_s}")
    if cfg.sample_rate < 4000:
        raise ConfigError(f"sample_rate must be at least 4000 Hz, got {cfg.sample_rate}")
    if cfg.tasks < 0:
        raise ConfigError(f"tasks must be 0 (Spark's default parallelism) or more, got {cfg.tasks}")


def clip_writer(root: str, min_s: float, max_s: float, sample_rate: int, seed: int) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The ``mapInPandas`` function: (genre, clip) rows in, WAV files written, manifest rows out.

    ``root`` is the output's staging folder URI; the closure holds plain values only.
    """

    def write(batches: Iterator[Any]) -> Iterator[Any]:
        import hashlib

        import numpy as np
        import pandas as pd

        from sparkfolio.gtzan.synth import clip_name, clip_seed, synth_clip, wav_bytes

        sink = _Sink(root)
        for pdf in batches:
            rows = []
            for genre, clip in zip(pdf["genre"], pdf["clip"]):
                # The duration has its own stream so it never shifts the clip's own randomness.
                u = np.random.default_rng(clip_seed(seed + 1, genre, int(clip))).random()
                duration = round(min_s + (max_s - min_s) * u, 3)
                samples = synth_clip(genre, int(clip), seed, duration, sample_rate)
                data = wav_bytes(samples, sample_rate)
                rel = f"{genre}/{clip_name(genre, int(clip))}"
                sink.write(rel, data)
                rows.append((rel, genre, int(clip), len(samples) / sample_rate, len(samples), len(data),
                             hashlib.sha256(data).hexdigest()))
            yield pd.DataFrame(rows, columns=[f.name for f in MANIFEST_SCHEMA.fields])

    return write


class _Sink:
    """Writes files under a folder URI from an executor; each file lands whole or not at all."""

    def __init__(self, root: str) -> None:
        import os

        self.local = None
        if root.startswith("file:"):
            self.local = "/" + root[len("file:"):].lstrip("/")
        elif "://" not in root:
            self.local = os.path.abspath(root)
        if self.local is None:
            from pyarrow import fs

            self.fs, self.base = fs.FileSystem.from_uri(root)
        self.root = root

    def write(self, rel: str, data: bytes) -> None:
        import os
        import uuid

        if self.local is not None:
            target = os.path.join(self.local, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            # A retried or speculative task writes the same bytes; the rename makes it atomic.
            tmp = os.path.join(os.path.dirname(target), f".{os.path.basename(target)}.{uuid.uuid4().hex[:8]}.tmp")
            with open(tmp, "wb") as fh:
                fh.write(data)
            os.replace(tmp, target)
            return
        target = f"{self.base.rstrip('/')}/{rel}"
        self.fs.create_dir(target.rsplit("/", 1)[0], recursive=True)
        with self.fs.open_output_stream(target) as fh:
            fh.write(data)


def run(ctx: JobContext) -> None:
    """Synthesise ``clips_per_genre`` clips of every genre on the executors and publish them."""
    cfg: GenerateConfig = ctx.config
    validate(cfg)
    spark = ctx.spark
    started = time.perf_counter()
    jobs = [(g, i) for g in cfg.genres for i in range(cfg.clips_per_genre)]
    tasks = cfg.tasks or spark.sparkContext.defaultParallelism
    with JobOutput(spark, ctx.output) as out:
        wanted = spark.createDataFrame(jobs, "genre string, clip int").repartition(min(tasks, len(jobs)))
        root = out.path("_manifest").rsplit("/", 1)[0]  # the staging folder itself
        manifest = wanted.mapInPandas(
            clip_writer(root, cfg.min_duration_s, cfg.max_duration_s, cfg.sample_rate, cfg.seed), MANIFEST_SCHEMA)
        # Writing the manifest is the action that runs the synthesis tasks.
        out.write_table("_manifest", manifest.orderBy("path"))
        written = spark.read.parquet(out.path("_manifest"))
        per_genre = {r["genre"]: int(r["count"]) for r in written.groupBy("genre").count().collect()}
        totals = written.agg(F.count(F.lit(1)).alias("clips"), F.sum("bytes").alias("bytes"),
                             F.sum("duration_s").alias("audio_s")).first()
        elapsed = time.perf_counter() - started
        out.write_json("metrics.json", {
            "clips": int(totals["clips"]),
            "bytes": int(totals["bytes"]),
            "audio_seconds": float(totals["audio_s"]),
            "clips_per_genre": per_genre,
            "elapsed_s": elapsed,
            "config": vars(cfg),
        })
    ctx.report(f"gtzan-generate: {totals['clips']} clips ({len(cfg.genres)} genres, {totals['audio_s']:.0f} s of audio, "
               f"{totals['bytes'] / 1e6:.1f} MB) in {elapsed:.1f} s -> {out.uri}")
