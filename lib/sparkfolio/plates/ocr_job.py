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

from pyspark.sql import functions as F

from sparkfolio.plates.tesseract import API_CHOICES
from sparkfolio.runtime.binaryfiles import binary_files, has_extension, open_cost, plan_packing
from sparkfolio.runtime.errors import ConfigError, DataQualityError, InputError
from sparkfolio.runtime.inputs import list_input_files
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput, load_plotting_in_background
from sparkfolio.runtime.session import executor_cores

log = logging.getLogger(__name__)


@dataclass
class OcrConfig:
    """Settings of `plates-ocr` (defaults mirror conf/plates_ocr.yaml)."""

    labels: str = field(default="", metadata={"help": "CSV path,text[,note] of known plates (else from file names)"})
    extensions: list[str] = field(default_factory=lambda: ["jpg", "jpeg", "png"],
                                  metadata={"help": "image file extensions read (case-insensitive)"})
    files_per_task: int = field(default=32, metadata={
        "help": "at most about this many images per Spark task (fewer where that keeps every core busy to the end)"})
    use_tesseract: bool = field(default=True, metadata={"help": "also read the plate glyphs with Tesseract"})
    tesseract_cmd: str = "tesseract"
    tesseract_lang: str = "kor"
    tesseract_timeout_s: float = 30.0
    tesseract_api: str = field(default="auto", metadata={
        "help": "library: libtesseract in-process, model loaded once; cli: a tesseract process per image; "
                "auto: library where it loads"})
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
    if cfg.tesseract_api not in API_CHOICES:
        raise ConfigError(f"tesseract_api must be one of {', '.join(API_CHOICES)}, got {cfg.tesseract_api!r}")


def _settings(cfg: OcrConfig) -> Any:
    from sparkfolio.plates.pipeline import OcrSettings

    return OcrSettings(tesseract_cmd=cfg.tesseract_cmd, tesseract_lang=cfg.tesseract_lang,
                       use_tesseract=cfg.use_tesseract, tesseract_timeout_s=cfg.tesseract_timeout_s,
                       tesseract_api=cfg.tesseract_api,
                       max_candidates=cfg.max_candidates, font_dir=cfg.font_dir)


def _read_labels(spark: Any, path: str) -> Any:
    """The labels CSV as a DataFrame (InputError naming the file when unusable).

    The header line is read here and handed to Spark as the schema (every column a string):
    Spark's own header inference runs a job first, which took 2.7 s of a cold driver against
    1.1 s with the schema given. ``enforceSchema`` off makes Spark still check each file's
    header against it.
    """
    from pyspark.sql.types import StringType, StructField, StructType

    from sparkfolio.plates.accuracy import normalize_labels

    first = list_input_files(spark, path)[0].path  # InputError when missing
    columns = csv_header(spark, first)
    if not {"path", "text"} <= {c.lower().strip() for c in columns}:
        raise InputError(f"labels file {first}: header {','.join(columns) or '(none)'} lacks path and text "
                         "(need path,text[,note])")
    raw = (spark.read.schema(StructType([StructField(c, StringType()) for c in columns]))
           .option("header", True).option("enforceSchema", False).option("encoding", "UTF-8").csv(path))
    return normalize_labels(raw, "labels csv")


def csv_header(spark: Any, uri: str) -> list[str]:
    """The column names on the first line of a UTF-8 CSV file (``[]`` for an empty file).

    Read through Hadoop's FileSystem API, as Spark reads the file itself (any cluster storage).
    """
    import csv

    jvm = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(uri)
    stream = path.getFileSystem(spark._jsc.hadoopConfiguration()).open(path)
    try:
        line = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8")).readLine()
    finally:
        stream.close()
    return next(csv.reader([line]), []) if line else []


def run(ctx: JobContext) -> None:
    """Read every image under ``--input``; write plates, rejects, metrics and annotated samples."""
    import time

    from sparkfolio.plates.accuracy import attach_labels, score
    from sparkfolio.plates.pipeline import prepare
    from sparkfolio.plates.udf import RESULT_SCHEMA, ocr_batches

    started = time.perf_counter()
    cfg: OcrConfig = ctx.config
    _check(cfg)
    spark = ctx.spark
    settings = _settings(cfg)
    # Fail fast on the driver with the install hint, before any task starts.
    prepare(settings)
    files = [f for f in list_input_files(spark, ctx.input) if has_extension(f.name, cfg.extensions)]
    if not files:
        raise InputError(f"no images ({', '.join(cfg.extensions)}) under {ctx.input}")
    n = len(files)
    # Spark's file scan skips zero-byte files: they get their error rows here instead of
    # vanishing from the output (the listing knows them).
    empty = [f.path for f in files if f.size == 0]
    cores = executor_cores(spark)
    packing = plan_packing([f.size for f in files], cfg.files_per_task, open_cost(spark), cores)
    tasks = packing.tasks
    labels = _read_labels(spark, cfg.labels) if cfg.labels else None
    with JobOutput(spark, ctx.output) as out, \
            binary_files(spark, ctx.input, cfg.extensions, packing) as images:
        results = images.select("path", "content").mapInPandas(ocr_batches(settings), RESULT_SCHEMA)
        if empty:
            results = results.unionByName(_empty_rows(spark, empty))
        # One job reads every image once and writes the table: the plan reads the UDF's output
        # once (attach_labels joins without a self-join), and the few output files come from a
        # shuffle of the small result rows. (coalesce would pull the UDF itself into that many
        # tasks; orderBy would add a sampling job.) One file holds up to 100k rows (~20 MB), so
        # small inputs come out as one file sorted by path. The shuffle is by path, before the
        # labels are attached: their choice of the best label per path then needs no second one.
        by_path = results.repartition(max(1, math.ceil(n / 100_000)), "path")
        plotting = load_plotting_in_background()
        out.write_table("plates", score(attach_labels(by_path, labels)).sortWithinPartitions("path"))
        plates = spark.read.parquet(out.path("plates"))
        rejects = plates.where(F.col("error").isNotNull()).select("path", F.col("error").alias("reason"))
        out.write_table("rejects", rejects)
        metrics, histogram = _metrics(plates, n, tasks, cores)
        if cfg.annotate > 0:
            metrics["annotated"] = _annotate(spark, out, images, plates, cfg)
        plotting.join()
        out.write_figure("seconds_per_image.png", _timing_figure(histogram))
        metrics["config"] = {k: getattr(cfg, k) for k in cfg.__dataclass_fields__}
        # max 1: an input of only empty files runs no task, yet its wall time was spent.
        _set_wall(metrics["timing"], time.perf_counter() - started, n, max(1, min(cores, tasks)))
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


def _empty_rows(spark: Any, paths: list[str]) -> Any:
    """Result rows (the UDF's schema) with an error for zero-byte files, which Spark never reads."""
    from sparkfolio.plates.pipeline import EMPTY_FILE, PlateResult
    from sparkfolio.plates.udf import RESULT_SCHEMA

    return spark.createDataFrame([PlateResult(path=p, error=EMPTY_FILE).as_dict() for p in paths], RESULT_SCHEMA)


#: Bins per tenfold of the seconds-per-image histogram (each ~12 % wide), on a fixed scale so
#: that the bins need no pass over the data to find its range.
BINS_PER_DECADE = 20
# Times below this share the lowest bin (log10 needs a positive number).
_MIN_SECONDS = 1e-4


def timing_bin(seconds: Any) -> Any:
    """The histogram bin of a seconds column: ``floor(log10(s) * BINS_PER_DECADE)`` (null stays null)."""
    # (greatest() skips nulls, so the null test comes first.)
    return F.when(seconds.isNotNull(),
                  F.floor(F.log10(F.greatest(seconds, F.lit(_MIN_SECONDS))) * BINS_PER_DECADE).cast("int"))


def _metrics(plates: Any, n: int, tasks: int, cores: int) -> tuple[dict[str, Any], dict[int, int]]:
    """Counts, format and engine shares, accuracy and timing figures of the written table, and
    the seconds-per-image histogram (images per :func:`timing_bin`) for its figure.

    One aggregation over grouping sets, whatever the number of images: by format, engine, label
    source and flag (counts, accuracy sums, time); by timing bin; and over all rows (the
    percentiles). Only their few rows reach the driver. (Two aggregations, the second for bins
    spanning the observed range, took 1.1-1.2 s on 1,024 images in a warm session, against 0.6 s.)
    """
    from sparkfolio.plates.accuracy import ACCURACY_KEYS, accuracy_aggs, summarise_accuracy

    keys = ["format", "engine", *ACCURACY_KEYS]
    named = (plates.withColumn("format", F.coalesce("format", F.lit("none")))
             .withColumn("engine", F.coalesce("engine", F.lit("none")))
             .withColumn("bin", timing_bin(F.col("seconds"))))
    rows = [r.asDict() for r in named.groupingSets([keys, ["bin"], []], *keys, "bin").agg(
        # One bit per column, set where the row is not grouped by it (the bin is bit 0).
        F.grouping_id().alias("set"),
        *accuracy_aggs(),
        F.sum(F.col("error").isNotNull().cast("int")).alias("errors"),
        F.sum(F.col("text").isNotNull().cast("int")).alias("read"),
        F.sum(F.col("valid").cast("int")).alias("valid"),
        F.sum("seconds").alias("work_s"),
        F.max("seconds").alias("hi"),
        F.percentile_approx("seconds", [0.5, 0.95]).alias("q"),
    ).collect()]
    by_keys, by_bin, everything = 1, ((1 << len(keys)) - 1) << 1, (1 << (len(keys) + 1)) - 1
    parts = [r for r in rows if r["set"] == by_keys]
    histogram = {int(r["bin"]): int(r["n"]) for r in rows if r["set"] == by_bin and r["bin"] is not None}
    total = next((r for r in rows if r["set"] == everything), None)
    summed = {k: sum(int(p[k] or 0) for p in parts) for k in ("n", "errors", "read", "valid")}
    work = sum(float(p["work_s"] or 0.0) for p in parts)
    by_format: dict[str, int] = {}
    by_engine: dict[str, int] = {}
    for p in parts:
        by_format[p["format"]] = by_format.get(p["format"], 0) + int(p["n"])
        by_engine[p["engine"]] = by_engine.get(p["engine"], 0) + int(p["n"])
    q = (total["q"] if total else None) or [None, None]
    images = summed["n"]
    return {
        "images": {"total": images, "errors": summed["errors"], "read": summed["read"], "valid": summed["valid"],
                   "listed": n},
        "by_format": dict(sorted(by_format.items())),
        "by_engine": dict(sorted(by_engine.items())),
        "accuracy": summarise_accuracy(parts),
        "timing": {
            "tasks": tasks,
            "cores": cores,
            "work_s": round(work, 3),
            "mean_s": round(work / images, 4) if images else 0.0,
            "median_s": round(float(q[0] or 0.0), 4),
            "p95_s": round(float(q[1] or 0.0), 4),
            "max_s": round(float((total["hi"] if total else None) or 0.0), 4),
        },
    }, dict(sorted(histogram.items()))


def _set_wall(timing: dict[str, Any], wall: float, n: int, busy_cores: int) -> None:
    """Whole-job figures: wall time from the start of the job (session start excluded) to its metrics."""
    # Rates derive from the rounded wall time, so metrics.json is consistent with itself.
    wall = round(wall, 3)
    timing["wall_s"] = wall
    timing["images_per_second"] = round(n / wall, 3) if wall > 0 else None
    # Share of the cores' wall time not spent reading images: listing, Spark, Arrow, set-up,
    # the outputs and their summaries.
    timing["overhead_fraction"] = round(1.0 - timing["work_s"] / (wall * busy_cores), 4) if wall > 0 else None


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


def _timing_figure(histogram: dict[int, int]) -> Any:
    """Histogram of seconds per image on a log scale (bins counted on the executors by :func:`_metrics`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    if histogram:
        lo, hi = min(histogram), max(histogram)
        edges = [10 ** (b / BINS_PER_DECADE) for b in range(lo, hi + 2)]
        ax.stairs([histogram.get(b, 0) for b in range(lo, hi + 1)], edges, fill=True)
        ax.set_xscale("log")
    ax.set_xlabel("seconds per image (inside the UDF)")
    ax.set_ylabel("images")
    ax.set_title("plates-ocr: time per image")
    return fig
