"""`plates-ocr`: find and read Korean licence plates in many images, in parallel.

Images are read with Spark's ``binaryFile`` source and spread over tasks of a few files each;
each task reads its images with OpenCV and Tesseract in a ``mapInPandas`` function (set-up once
per partition). Outputs: the ``plates`` table (one row per image), ``rejects`` (images that could
not be read, with the reason), ``metrics.json`` (counts, accuracy where labels are known,
timings), a timing histogram and annotated copies of a sample of images.
"""

from __future__ import annotations

import logging
import math
import re
from dataclasses import dataclass, field
from typing import Any

from sparkfolio.runtime.errors import ConfigError, DataQualityError, InputError
from sparkfolio.runtime.inputs import list_input_files
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput
from sparkfolio.runtime.session import executor_cores

log = logging.getLogger(__name__)


@dataclass
class OcrConfig:
    """Settings of `plates-ocr` (defaults mirror conf/plates_ocr.yaml)."""

    labels: str = field(default="", metadata={"help": "CSV path,text[,note] of known plates (else from file names)"})
    extensions: list[str] = field(default_factory=lambda: ["jpg", "jpeg", "png"],
                                  metadata={"help": "image file extensions read (case-insensitive)"})
    files_per_task: int = field(default=8, metadata={"help": "images per Spark task"})
    use_tesseract: bool = field(default=True, metadata={"help": "also read the plate glyphs with Tesseract"})
    tesseract_cmd: str = "tesseract"
    tesseract_lang: str = "kor"
    tesseract_timeout_s: float = 30.0
    max_candidates: int = field(default=3, metadata={"help": "plate regions read per photo, besides the whole image"})
    annotate: int = field(default=12, metadata={"help": "annotated PNGs written for a sample of this many images"})
    seed: int = field(default=42, metadata={"help": "picks the annotated sample"})
    max_error_fraction: float = field(default=0.5, metadata={"help": "fail when more images than this are unreadable"})
    font_dir: str = "/usr/share/fonts/truetype/nanum"


def _check(cfg: OcrConfig) -> None:
    if cfg.files_per_task < 1:
        raise ConfigError(f"files_per_task must be at least 1, got {cfg.files_per_task}")
    if not cfg.extensions:
        raise ConfigError("extensions must name at least one file extension")
    if not 0 <= cfg.max_error_fraction <= 1:
        raise ConfigError(f"max_error_fraction must be within 0..1, got {cfg.max_error_fraction}")
    if cfg.annotate < 0 or cfg.max_candidates < 0:
        raise ConfigError("annotate and max_candidates must be >= 0")


def _settings(cfg: OcrConfig) -> Any:
    from sparkfolio.plates.pipeline import OcrSettings

    return OcrSettings(tesseract_cmd=cfg.tesseract_cmd, tesseract_lang=cfg.tesseract_lang,
                       use_tesseract=cfg.use_tesseract, tesseract_timeout_s=cfg.tesseract_timeout_s,
                       max_candidates=cfg.max_candidates, font_dir=cfg.font_dir)


def _read_labels(spark: Any, path: str) -> Any:
    """The labels CSV as a DataFrame (InputError naming the file when unusable)."""
    from sparkfolio.plates.accuracy import normalize_labels

    list_input_files(spark, path)  # InputError when missing
    raw = spark.read.option("header", True).option("encoding", "UTF-8").csv(path)
    try:
        return normalize_labels(raw, "labels csv")
    except KeyError as exc:
        raise InputError(f"labels file {path}: missing column {exc.args[0]!r} (need path,text[,note])") from None


def run(ctx: JobContext) -> None:
    """Read every image under ``--input``; write plates, rejects, metrics and annotated samples."""
    import time

    from pyspark import StorageLevel
    from pyspark.sql import functions as F

    from sparkfolio.plates.accuracy import accuracy_summary, attach_labels, score
    from sparkfolio.plates.pipeline import prepare
    from sparkfolio.plates.udf import RESULT_SCHEMA, ocr_batches

    cfg: OcrConfig = ctx.config
    _check(cfg)
    spark = ctx.spark
    settings = _settings(cfg)
    # Fail fast on the driver with the install hint, before any task starts.
    prepare(settings)
    exts = tuple("." + e.lower().lstrip(".") for e in cfg.extensions)
    files = [f for f in list_input_files(spark, ctx.input) if f.path.lower().endswith(exts)]
    if not files:
        raise InputError(f"no images ({', '.join(cfg.extensions)}) under {ctx.input}")
    n = len(files)
    # Spark's file scan skips zero-byte files: they get their error rows here instead of
    # vanishing from the output (the listing knows them).
    empty = [f.path for f in files if f.size == 0]
    nonempty = [f.path for f in files if f.size > 0]
    cores = executor_cores(spark)
    tasks = task_count(len(nonempty), cores, cfg.files_per_task)
    labels = _read_labels(spark, cfg.labels) if cfg.labels else None
    started = time.perf_counter()
    with JobOutput(spark, ctx.output) as out:
        # The listed paths are literal names: escaped, so a file called a[1].jpg is not re-globbed.
        images = (spark.read.format("binaryFile").load([glob_escape(p) for p in nonempty]) if nonempty
                  else spark.createDataFrame([], "path string, modificationTime timestamp, length long, content binary"))
        # binaryFile packs many small files into one split; spread them over tasks of a few
        # files each so every core gets work.
        results = images.select("path", "content").repartition(tasks).mapInPandas(ocr_batches(settings), RESULT_SCHEMA)
        if empty:
            results = results.unionByName(_empty_rows(spark, empty))
        # The OCR must run once per image, and a plan that reads its output twice runs it twice
        # (measured: a self-join in attach_labels did, every image was read twice). So it is cached
        # and materialised first, whatever the plan below does; later jobs read the written table.
        results = results.persist(StorageLevel.MEMORY_AND_DISK)
        try:
            results.count()
            scored = score(attach_labels(results, labels))
            # Sorted inside few files rather than with orderBy, whose range partitioning costs a
            # sampling job and a shuffle; one file holds up to 100k rows (~20 MB), so small
            # inputs come out as one file sorted by path.
            out.write_table("plates", scored.coalesce(max(1, math.ceil(n / 100_000))).sortWithinPartitions("path"))
        finally:
            results.unpersist()
        plates = spark.read.parquet(out.path("plates"))
        wall = time.perf_counter() - started
        rejects = plates.where(F.col("error").isNotNull()).select("path", F.col("error").alias("reason"))
        out.write_table("rejects", rejects)
        metrics = _metrics(plates, n, tasks, wall, cores)
        metrics["accuracy"] = accuracy_summary(plates)
        metrics["config"] = {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}
        if cfg.annotate > 0:
            metrics["annotated"] = _annotate(spark, out, images, plates, cfg)
        out.write_figure("seconds_per_image.png", _timing_figure(plates))
        out.write_json("metrics.json", metrics)
        bad = metrics["images"]["errors"] / n
        if bad > cfg.max_error_fraction:
            out.keep_only(["rejects", "metrics.json"])
            raise DataQualityError(f"{metrics['images']['errors']} of {n} images under {ctx.input} could not be read "
                                   f"({bad:.0%} > max_error_fraction {cfg.max_error_fraction:.0%}); see rejects")
    acc = metrics["accuracy"]["all"]
    line = (f"plates-ocr: {n} images in {tasks} tasks, {metrics['images']['valid']} valid plates, "
            f"{metrics['images']['errors']} unreadable, {metrics['timing']['images_per_second']:.2f} images/s")
    if acc["labelled"]:
        ex = metrics["accuracy"]["excluding_flagged"]
        line += (f"; exact {acc['exact_accuracy']:.1%} / char {acc['char_accuracy']:.1%} on {acc['labelled']} labelled"
                 + (f" ({ex['exact_accuracy']:.1%} without {acc['labelled'] - ex['labelled']} flagged labels)"
                    if ex["labelled"] != acc["labelled"] and ex["labelled"] else ""))
    ctx.report(line)
    ctx.report(f"output: {out.uri}")


#: Characters Hadoop's glob syntax gives a meaning (the backslash escapes them).
_GLOB_CHARS = re.compile(r"([\\\[\]{}*?])")


def glob_escape(path: str) -> str:
    """``path`` with Hadoop glob characters (``[ ] { } * ? \\``) backslash-escaped.

    ``DataFrameReader.load`` expands globs in the paths it is given; a listed file name such as
    ``a[1].jpg`` must match itself only (unescaped it would match ``a1.jpg`` and not itself).
    """
    return _GLOB_CHARS.sub(r"\\\1", path)


def _empty_rows(spark: Any, paths: list[str]) -> Any:
    """Result rows (the UDF's schema) with an error for zero-byte files, which Spark never reads."""
    from sparkfolio.plates.pipeline import EMPTY_FILE, PlateResult
    from sparkfolio.plates.udf import RESULT_SCHEMA

    return spark.createDataFrame([PlateResult(path=p, error=EMPTY_FILE).as_dict() for p in paths], RESULT_SCHEMA)


def task_count(files: int, cores: int, files_per_task: int) -> int:
    """Tasks for ``files`` images: about ``files_per_task`` each, in whole waves of ``cores`` tasks.

    A number of tasks that is not a multiple of the cores leaves cores idle while the last wave
    runs (3 tasks on 2 cores: the third runs alone, the job takes 2 tasks' time for 1.5 tasks'
    work), so it is rounded up to whole waves; never more tasks than files.
    """
    if files <= 0:
        return 1
    cores = max(1, cores)
    waves = math.ceil(math.ceil(files / max(1, files_per_task)) / cores)
    return max(1, min(files, waves * cores))


def _metrics(plates: Any, n: int, tasks: int, wall: float, cores: int) -> dict[str, Any]:
    """Counts, format and engine shares, and timing figures (one aggregation pass)."""
    from pyspark.sql import functions as F

    row = plates.agg(
        F.count(F.lit(1)).alias("images"),
        F.sum(F.col("error").isNotNull().cast("int")).alias("errors"),
        F.sum(F.col("text").isNotNull().cast("int")).alias("read"),
        F.sum(F.col("valid").cast("int")).alias("valid"),
        F.sum("seconds").alias("work_s"),
        F.avg("seconds").alias("mean_s"),
        F.percentile_approx("seconds", 0.5).alias("median_s"),
        F.percentile_approx("seconds", 0.95).alias("p95_s"),
        F.max("seconds").alias("max_s"),
    ).first()
    by_format = {r["format"] or "none": r["n"] for r in
                 plates.groupBy("format").agg(F.count(F.lit(1)).alias("n")).collect()}
    by_engine = {r["engine"] or "none": r["n"] for r in
                 plates.groupBy("engine").agg(F.count(F.lit(1)).alias("n")).collect()}
    work = float(row["work_s"] or 0.0)
    return {
        "images": {"total": int(row["images"]), "errors": int(row["errors"] or 0), "read": int(row["read"] or 0),
                   "valid": int(row["valid"] or 0), "listed": n},
        "by_format": dict(sorted(by_format.items())),
        "by_engine": dict(sorted(by_engine.items())),
        "timing": {
            "wall_s": round(wall, 3),
            "tasks": tasks,
            "cores": cores,
            "work_s": round(work, 3),
            "mean_s": round(float(row["mean_s"] or 0.0), 4),
            "median_s": round(float(row["median_s"] or 0.0), 4),
            "p95_s": round(float(row["p95_s"] or 0.0), 4),
            "max_s": round(float(row["max_s"] or 0.0), 4),
            "images_per_second": round(n / wall, 3) if wall > 0 else None,
            # Share of the cores' wall time not spent reading images: Spark, Arrow, set-up.
            "overhead_fraction": round(1.0 - work / (wall * min(cores, tasks)), 4) if wall > 0 else None,
        },
    }


def _annotate(spark: Any, out: Any, images: Any, plates: Any, cfg: OcrConfig) -> list[str]:
    """Draw box and text on a seeded sample of the readable images (on the executors).

    Returns the file names written under ``annotated/``.
    """
    from pyspark.sql import functions as F

    from sparkfolio.plates.udf import ANNOTATED_SCHEMA, annotate_batches

    sample = (plates.where(F.col("error").isNull())
              .select("path", "text", "valid", "box_x", "box_y", "box_w", "box_h", "error")
              .orderBy(F.xxhash64(F.col("path"), F.lit(cfg.seed)), "path").limit(cfg.annotate))
    drawn = (images.select("path", "content").join(F.broadcast(sample), on="path")
             .mapInPandas(annotate_batches(cfg.font_dir), ANNOTATED_SCHEMA))
    names: list[str] = []
    for row in drawn.toLocalIterator():
        if row["png"] is None:
            continue
        stem = re.sub(r"[^\w.-]+", "_", row["path"].rstrip("/").rsplit("/", 1)[-1].rsplit(".", 1)[0])
        name = f"annotated/{stem}.png"
        if name in names:
            name = f"annotated/{stem}_{len(names)}.png"
        out.write_bytes(name, bytes(row["png"]))
        names.append(name)
    return sorted(names)


def _timing_figure(plates: Any) -> Any:
    """Histogram of seconds per image (computed on the executors, 30 bins)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from pyspark.sql import functions as F

    stats = plates.agg(F.min("seconds").alias("lo"), F.max("seconds").alias("hi")).first()
    lo, hi = float(stats["lo"] or 0.0), float(stats["hi"] or 0.0)
    bins = 30
    width = (hi - lo) / bins if hi > lo else 1.0
    counts = {r["b"]: r["n"] for r in plates.select(
        F.least(F.floor((F.col("seconds") - lo) / width), F.lit(bins - 1)).cast("int").alias("b"))
        .groupBy("b").agg(F.count(F.lit(1)).alias("n")).collect()}
    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.bar([lo + (b + 0.5) * width for b in range(bins)], [counts.get(b, 0) for b in range(bins)], width=width * 0.9)
    ax.set_xlabel("seconds per image (inside the UDF)")
    ax.set_ylabel("images")
    ax.set_title("plates-ocr: time per image")
    return fig
