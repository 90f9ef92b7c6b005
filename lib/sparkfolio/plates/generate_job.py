"""`plates-generate`: render a labelled set of synthetic Korean plates in Spark tasks.

Each task renders its share of image indices (image ``i`` is a pure function of ``seed`` and
``i``) and writes the JPEGs straight into the job's staged output folder through the file
system named by its URI (local disk, HDFS or an object store, via ``pyarrow.fs``). The labels
(path, text, format, plate box) become the ``labels`` table and ``labels.csv``, both written
by Spark: nothing that grows with ``count`` passes through the driver.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field
from typing import Any, Iterator

from sparkfolio.runtime.errors import ConfigError
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput

log = logging.getLogger(__name__)

LABEL_SCHEMA = ("path string, text string, format string, box_x int, box_y int, box_w int, box_h int, "
                "bytes long")


@dataclass
class GenerateConfig:
    """Settings of `plates-generate` (defaults mirror conf/plates_generate.yaml)."""

    count: int = field(default=200, metadata={"help": "number of images"})
    seed: int = field(default=42, metadata={"help": "image i is a function of (seed, i) only"})
    scene: bool = field(default=True, metadata={"help": "plates placed in scenes; false: plate crops"})
    width: int = field(default=640, metadata={"help": "scene width in pixels"})
    height: int = field(default=480, metadata={"help": "scene height in pixels"})
    share_3digit: float = field(default=0.25, metadata={"help": "share of 123가4567 plates"})
    share_regional: float = field(default=0.1, metadata={"help": "share of 서울12가3456 plates"})
    max_rotation_deg: float = 8.0
    max_perspective: float = 0.08
    max_blur: float = 1.2
    max_noise: float = 6.0
    images_per_task: int = field(default=50, metadata={"help": "images rendered per Spark task"})
    font_dir: str = "/usr/share/fonts/truetype/nanum"


def _check(cfg: GenerateConfig) -> None:
    if cfg.count < 1:
        raise ConfigError(f"count must be at least 1, got {cfg.count}")
    if cfg.images_per_task < 1:
        raise ConfigError(f"images_per_task must be at least 1, got {cfg.images_per_task}")
    if not (0 <= cfg.share_3digit and 0 <= cfg.share_regional and cfg.share_3digit + cfg.share_regional <= 1):
        raise ConfigError("share_3digit and share_regional must be >= 0 and add up to at most 1")
    if cfg.scene and (cfg.width < 200 or cfg.height < 120):
        raise ConfigError(f"scene size {cfg.width}x{cfg.height} is too small (at least 200x120)")


def render_partition(seed: int, spec_args: dict[str, Any], fonts: list[str], images_uri: str,
                     ) -> Any:
    """The ``mapInPandas`` function: render the indices in each batch and write the JPEGs.

    Only plain values are captured; the file system is resolved from the URI on the executor.
    """

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd
        from pyarrow import fs as pafs

        from sparkfolio.plates.render import SceneSpec, render_scene

        spec = SceneSpec(**spec_args)
        filesystem, root = pafs.FileSystem.from_uri(images_uri)
        filesystem.create_dir(root, recursive=True)
        for pdf in batches:
            rows = []
            for index in pdf["id"].tolist():
                img = render_scene(seed, int(index), spec, fonts)
                name = f"plate_{int(index):06d}.jpg"
                with filesystem.open_output_stream(f"{root}/{name}") as f:
                    f.write(img.jpeg)
                xs = [p[0] for p in img.quad]
                ys = [p[1] for p in img.quad]
                x0, y0 = int(math.floor(min(xs))), int(math.floor(min(ys)))
                rows.append((f"images/{name}", img.text, img.fmt, x0, y0,
                             int(math.ceil(max(xs))) - x0, int(math.ceil(max(ys))) - y0, len(img.jpeg)))
            yield pd.DataFrame(rows, columns=["path", "text", "format", "box_x", "box_y", "box_w", "box_h", "bytes"])

    return run


def _write_labels_csv(spark: Any, out: JobOutput, labels: Any, name: str) -> None:
    """Write ``labels`` as one headed UTF-8 CSV file ``name`` in the staged output.

    Spark writes a single sorted part file into a hidden staging folder of the output; the part
    file is renamed to ``name`` and the folder deleted, so ``name`` is published atomically
    with the rest of the output. Works on any Hadoop file system (rename within one folder).
    """
    folder = out.path(f"_{name}.parts")
    (labels.coalesce(1).sortWithinPartitions("path").write.mode("overwrite")
     .option("header", True).option("encoding", "UTF-8").option("lineSep", "\n").csv(folder))
    jvm = spark._jvm
    hfolder = jvm.org.apache.hadoop.fs.Path(folder)
    fs = hfolder.getFileSystem(spark._jsc.hadoopConfiguration())
    parts = [st.getPath() for st in fs.listStatus(hfolder)
             if st.getPath().getName().startswith("part-") and st.getPath().getName().endswith(".csv")]
    if len(parts) != 1:
        raise RuntimeError(f"expected one CSV part file in {folder}, found {len(parts)}")
    # The raw file system renames the file alone (the local checksummed one would drag its
    # .crc sidecar along); deleting the folder removes the sidecars and _SUCCESS.
    checksummed = jvm.java.lang.Class.forName("org.apache.hadoop.fs.ChecksumFileSystem")
    raw = fs.getRawFileSystem() if checksummed.isInstance(fs) else fs
    if not raw.rename(parts[0], jvm.org.apache.hadoop.fs.Path(out.path(name))):
        raise OSError(f"cannot move {parts[0].toString()} to {out.path(name)}")
    fs.delete(hfolder, True)


def run(ctx: JobContext) -> None:
    """Render ``count`` labelled plate images into ``<output>/images`` with ``labels.csv``."""
    from pyspark.sql import functions as F

    from sparkfolio.plates.glyphs import find_fonts
    from sparkfolio.plates.render import PLATE_FONTS

    cfg: GenerateConfig = ctx.config
    _check(cfg)
    fonts = find_fonts(cfg.font_dir, PLATE_FONTS)
    spec_args = {
        "width": cfg.width, "height": cfg.height, "scene": cfg.scene,
        "share_3digit": cfg.share_3digit, "share_regional": cfg.share_regional,
        "max_rotation_deg": cfg.max_rotation_deg, "max_perspective": cfg.max_perspective,
        "max_blur": cfg.max_blur, "max_noise": cfg.max_noise,
    }
    tasks = max(1, math.ceil(cfg.count / cfg.images_per_task))
    spark = ctx.spark
    with JobOutput(spark, ctx.output) as out:
        images_uri = out.path("images")
        ids = spark.range(0, cfg.count, 1, numPartitions=tasks)
        labels = ids.mapInPandas(render_partition(cfg.seed, spec_args, fonts, images_uri), LABEL_SCHEMA)
        out.write_table("labels", labels)
        table = spark.read.parquet(out.path("labels"))
        # labels.csv (path,text) is what `plates-ocr --set labels=...` reads. Spark writes it
        # (one partition, sorted by path), so the driver never holds or streams the labels.
        _write_labels_csv(spark, out, table.select("path", "text"), "labels.csv")
        stats = table.agg(F.count(F.lit(1)).alias("images"), F.sum("bytes").alias("bytes")).first()
        by_format = {r["format"]: r["n"] for r in table.groupBy("format").agg(F.count(F.lit(1)).alias("n")).collect()}
        metrics = {
            "images": int(stats["images"]),
            "bytes": int(stats["bytes"] or 0),
            "by_format": dict(sorted(by_format.items())),
            "tasks": tasks,
            "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        }
        out.write_json("metrics.json", metrics)
    ctx.report(f"plates-generate: {metrics['images']} images ({', '.join(f'{k} {v}' for k, v in metrics['by_format'].items())}) "
               f"in {tasks} tasks -> {out.uri}/images, labels in {out.uri}/labels.csv")
