"""``scale-generate``: synthetic steel plates in the real scale-defect CSV format, at any size.

Plates follow the profile measured on the real 1,000-plate file (specification mix, Gaussian-copula
dimensions/temperatures/times per steel kind, descaling passes by thickness, crews on 12-hour
shifts) and the file's defect rules (no HSB, odd descaling passes, rolling above 1000 °C or soaking
above 1175 °C). Blocks of plates are generated in parallel Spark tasks, each from its own seeded
random stream, and written as CSV in the chosen variant and encoding (CP949 by default).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Iterator

import pandas as pd
from pyspark import StorageLevel
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkfolio.runtime.config import config_to_dict
from sparkfolio.runtime.errors import ConfigError
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput
from sparkfolio.scale import formats, schema
from sparkfolio.scale import source as SRC
from sparkfolio.scale.generate import DefectModel, blocks_needed, generate_block

log = logging.getLogger(__name__)

TYPED_SCHEMA = T.StructType([
    T.StructField("plate_no", T.StringType()),
    T.StructField("ts_year", T.IntegerType()), T.StructField("ts_month", T.IntegerType()),
    T.StructField("ts_day", T.IntegerType()), T.StructField("ts_hour", T.IntegerType()),
    T.StructField("ts_minute", T.IntegerType()), T.StructField("ts_second", T.IntegerType()),
    T.StructField("scale", T.LongType()),
    T.StructField("spec_long", T.StringType()), T.StructField("spec_country", T.StringType()),
    T.StructField("steel_kind", T.StringType()),
    T.StructField("pt_thick", T.LongType()), T.StructField("pt_width", T.LongType()),
    T.StructField("pt_length", T.LongType()), T.StructField("hsb", T.LongType()),
    T.StructField("fur_no", T.LongType()), T.StructField("fur_input_row", T.LongType()),
    T.StructField("fur_heat_temp", T.LongType()), T.StructField("fur_heat_time", T.LongType()),
    T.StructField("fur_soak_temp", T.LongType()), T.StructField("fur_soak_time", T.LongType()),
    T.StructField("fur_total_time", T.LongType()), T.StructField("fur_ex_temp", T.LongType()),
    T.StructField("rolling_method", T.StringType()), T.StructField("rolling_temp", T.LongType()),
    T.StructField("descaling_count", T.LongType()), T.StructField("work_group", T.LongType()),
])


@dataclass
class GenerateConfig:
    """Settings of ``scale-generate`` (defaults mirror ``conf/scale_generate.yaml``)."""

    rows: int = 1000
    seed: int = 42
    variant: str = "lower"            # lower (2023 re-issue) or upper (older SCALE불량.csv)
    encoding: str = "cp949"           # cp949, euc-kr or utf-8
    rows_per_file: int = 1000000
    block_rows: int = 50000
    hsb_not_applied: float | None = None   # None: the real share (4.7%)
    sensor_dropout: float | None = None    # None: the real share of rolling temperatures recorded as 0 (0.6%)
    defects: DefectModel = field(default_factory=DefectModel)


def _check(cfg: GenerateConfig) -> None:
    if cfg.rows < 1:
        raise ConfigError(f"rows must be at least 1, got {cfg.rows}")
    if cfg.block_rows < 1 or cfg.rows_per_file < 1:
        raise ConfigError("block_rows and rows_per_file must be at least 1")
    if cfg.variant not in schema.VARIANTS:
        raise ConfigError(f"variant must be one of {', '.join(schema.VARIANTS)}, got {cfg.variant!r}")
    for name in ("hsb_not_applied", "sensor_dropout"):
        v = getattr(cfg, name)
        if v is not None and not 0 <= v <= 1:
            raise ConfigError(f"{name} must be between 0 and 1, got {v}")
    for f in dataclasses.fields(cfg.defects):
        if f.name.endswith("probability") and not 0 <= getattr(cfg.defects, f.name) <= 1:
            raise ConfigError(f"defects.{f.name} must be between 0 and 1")


def generator(profile: dict[str, Any], model: dict[str, float], seed: int, block_rows: int, rows: int,
              hsb_not_applied: float | None, sensor_dropout: float | None):
    """The ``mapInPandas`` function: block numbers in, generated plates (typed, time as parts) out.

    Only plain values are captured, so the closure pickles small; numpy/pandas run per task.
    """

    def run(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        from sparkfolio.scale.generate import DefectModel as _Model
        from sparkfolio.scale.generate import generate_block as _block

        m = _Model(**model)
        for batch in batches:
            for block in batch["block"].tolist():
                df = _block(profile, m, seed, int(block), block_rows, rows, hsb_not_applied, sensor_dropout)
                t = df.pop("rolling_date")
                parts = pd.DataFrame({"ts_year": t.dt.year, "ts_month": t.dt.month, "ts_day": t.dt.day,
                                      "ts_hour": t.dt.hour, "ts_minute": t.dt.minute, "ts_second": t.dt.second},
                                     index=df.index).astype("int32")
                out = pd.concat([df[["plate_no"]], parts, df.drop(columns=["plate_no"])], axis=1)
                yield out[[f.name for f in TYPED_SCHEMA.fields]]

    return run


def run(ctx: JobContext) -> None:
    """Generate ``rows`` plates and write them as CSV files under ``<output>/plates``."""
    from sparkfolio.scale.real_profile import PROFILE

    cfg: GenerateConfig = ctx.config
    _check(cfg)
    spark = ctx.spark
    encoding = SRC.normalise_encoding(cfg.encoding)
    charset = SRC.java_charset(encoding)
    if charset.upper() not in SRC.SPARK_NATIVE_CHARSETS:
        spark.conf.set("spark.sql.legacy.javaCharsets", "true")
    started = time.perf_counter()
    blocks = blocks_needed(cfg.rows, cfg.block_rows)
    files = min(blocks, max(1, -(-cfg.rows // cfg.rows_per_file)))
    fn = generator(PROFILE, dataclasses.asdict(cfg.defects), cfg.seed, cfg.block_rows, cfg.rows,
                   cfg.hsb_not_applied, cfg.sensor_dropout)
    typed = (spark.range(0, blocks, numPartitions=files).withColumnRenamed("id", "block")
             .mapInPandas(fn, TYPED_SCHEMA)).persist(StorageLevel.MEMORY_AND_DISK)
    try:
        with JobOutput(spark, ctx.output) as out:
            target = out.path("plates")
            (formats.to_variant(typed, cfg.variant).write.mode("overwrite")
             .option("header", True).option("encoding", charset).option("lineSep", "\n").csv(target))
            names = _rename_parts(spark, target)
            d = cfg.defects
            s = typed.agg(
                F.count(F.lit(1)).alias("rows"), F.sum("scale").alias("defects"),
                F.sum((F.col("hsb") == 0).cast("long")).alias("hsb_not_applied"),
                F.sum((F.col("descaling_count") % 2 == 1).cast("long")).alias("odd_descaling"),
                F.sum((F.col("rolling_temp") > d.rolling_temp_limit).cast("long")).alias("rolling_temp_above_limit"),
                F.sum((F.col("fur_soak_temp") > d.soak_temp_limit).cast("long")).alias("soak_temp_above_limit"),
                F.sum((F.col("rolling_temp") == 0).cast("long")).alias("rolling_temp_dropouts"),
            ).first().asDict()
            metrics = {
                "job": "scale-generate", "rows": int(s["rows"]), "defects": int(s["defects"]),
                "defect_rate": s["defects"] / s["rows"], "counts": {k: int(v) for k, v in s.items()},
                "files": names, "variant": cfg.variant, "encoding": encoding, "blocks": blocks,
                "profile_rows": PROFILE["rows"], "profile_defect_rate": PROFILE["defect_rate"],
                "config": config_to_dict(cfg), "seconds": round(time.perf_counter() - started, 1),
            }
            out.write_json("metrics.json", metrics)
    finally:
        typed.unpersist()
    ctx.report(f"scale-generate: {metrics['rows']:,} plates ({metrics['defect_rate']:.1%} defective) in "
               f"{len(names)} {cfg.variant}-variant {encoding} file(s) under {ctx.output}/plates")


def _rename_parts(spark: Any, folder: str) -> list[str]:
    """Give Spark's ``part-NNNNN-<uuid>.csv`` files stable names ``scale_defects-NNNNN.csv``.

    The random uuid would make two runs with the same seed differ in their file names only.
    """
    jvm = spark._jvm
    path = jvm.org.apache.hadoop.fs.Path(folder)
    fs = path.getFileSystem(spark._jsc.hadoopConfiguration())
    names = []
    for st in sorted(fs.listStatus(path), key=lambda s: s.getPath().getName()):
        name = st.getPath().getName()
        if name.startswith("part-") and name.endswith(".csv"):
            new = f"scale_defects-{name.split('-')[1]}.csv"
            fs.rename(st.getPath(), jvm.org.apache.hadoop.fs.Path(path, new))
            names.append(new)
    return names
