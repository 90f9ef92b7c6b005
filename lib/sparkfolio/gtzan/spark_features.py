"""The Spark side of gtzan-features: the per-file Arrow UDF and the tables derived from its output.

Files come from Spark's ``binaryFile`` source (path, length, content). ``mapInArrow`` hands each
Python worker whole Arrow batches of files; the worker sets itself up once (one BLAS thread, JIT
kernels compiled), then decodes and analyses each file once and yields one small record batch
per file, so memory stays at a file or two and Arrow does the (de)serialisation in bulk.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Iterator

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import (
    ArrayType,
    BinaryType,
    DoubleType,
    FloatType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from sparkfolio.gtzan.audio import GTZAN_NAME, PARENT_FOLDER
from sparkfolio.gtzan.features import SUMMARY_FEATURES, FeatureParams

# One segment: index, start time, frame count and the MFCC matrix as mfcc[coefficient][frame]
# (librosa's (n_mfcc, n_frames) layout: `np.array(row.mfcc)` is what librosa.feature.mfcc returns).
SEGMENT_TYPE = StructType([
    StructField("segment", IntegerType(), False),
    StructField("start_s", DoubleType(), False),
    StructField("n_frames", IntegerType(), False),
    StructField("mfcc", ArrayType(ArrayType(FloatType(), False), False), False),
])


def analysis_schema() -> StructType:
    """Schema of the UDF's output: one row per input file, good or not."""
    return StructType(
        [
            StructField("path", StringType(), False),
            StructField("status", StringType(), False),
            StructField("error", StringType(), True),
            StructField("size_bytes", LongType(), False),
            StructField("source_rate", IntegerType(), True),
            StructField("channels", IntegerType(), True),
            StructField("duration_s", DoubleType(), True),
            StructField("length", LongType(), True),
            StructField("n_segments", IntegerType(), True),
        ]
        + [StructField(name, DoubleType(), True) for name in SUMMARY_FEATURES]
        + [
            StructField("segments", ArrayType(SEGMENT_TYPE, False), True),
            StructField("waveform_png", BinaryType(), True),
            StructField("melspec_png", BinaryType(), True),
            StructField("work_s", DoubleType(), True),
        ]
    )


def clip_analyser(params: FeatureParams, plot_paths: list[str]) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """The ``mapInArrow`` function: ``(path, content)`` batches in, one analysis record batch per file out.

    The closure holds plain values only (a dict of settings and a frozenset of paths); heavy
    modules are imported on the executor.
    """
    settings = dataclasses.asdict(params)
    to_plot = frozenset(plot_paths)

    def analyse_batches(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa
        from pyspark.sql.pandas.types import to_arrow_schema

        from sparkfolio.gtzan.analysis import analyse, worker_setup
        from sparkfolio.gtzan.features import FeatureParams as Params
        from sparkfolio.gtzan.spark_features import analysis_schema as schema_of

        worker_setup()
        fp = Params(**settings)
        arrow_schema = to_arrow_schema(schema_of())
        for batch in batches:
            paths = batch.column("path").to_pylist()
            contents = batch.column("content")
            for i, path in enumerate(paths):
                rec = analyse(contents[i].as_py() or b"", path, fp, plot=path in to_plot)
                yield pa.RecordBatch.from_pylist([rec], schema=arrow_schema)

    return analyse_batches


def file_name_column(path: Column) -> Column:
    """The base name of a path column."""
    return F.regexp_extract(path, r"([^/]+)$", 1)


def genre_column(path: Column) -> Column:
    """The genre of a clip path: the GTZAN file-name prefix, else the parent folder (lower-cased).

    Same rule as :func:`sparkfolio.gtzan.audio.genre_from_path`, with built-in functions.
    """
    name = file_name_column(path)
    return F.lower(
        F.when(name.rlike(GTZAN_NAME), F.regexp_extract(name, GTZAN_NAME, 1))
        .otherwise(F.regexp_extract(path, PARENT_FOLDER, 1))
    )


def with_identity(df: DataFrame) -> DataFrame:
    """Add ``file_name`` and ``genre`` after ``path`` (from the path alone, with built-ins)."""
    rest = [c for c in df.columns if c != "path"]
    return df.select("path", file_name_column(F.col("path")).alias("file_name"),
                     genre_column(F.col("path")).alias("genre"), *rest)


def clips_table(analysed: DataFrame) -> DataFrame:
    """One row per good clip: identity, format, segment count and the 57 csv-compatible features."""
    cols = ["path", "file_name", "genre", "source_rate", "channels", "duration_s", "length", "n_segments",
            *SUMMARY_FEATURES]
    return analysed.where(F.col("status") == "ok").select(*cols)


def segments_table(analysed: DataFrame, n_mfcc: int) -> DataFrame:
    """One row per segment of a good clip: path, genre, segment index and its MFCC matrix.

    ``mfcc`` is ``array<array<float>>`` indexed ``[coefficient][frame]`` (``n_mfcc`` x ``n_frames``).
    """
    seg = F.explode("segments").alias("s")
    return (
        analysed.where(F.col("status") == "ok")
        .select("path", "file_name", "genre", seg)
        .select("path", "file_name", "genre", F.col("s.segment").alias("segment"), F.col("s.start_s").alias("start_s"),
                F.col("s.n_frames").alias("n_frames"), F.lit(n_mfcc).alias("n_mfcc"), F.col("s.mfcc").alias("mfcc"))
    )


def rejects_table(analysed: DataFrame) -> DataFrame:
    """One row per file that could not be used, with the reason."""
    return analysed.where(F.col("status") != "ok").select(
        "path", "file_name", "genre", "size_bytes", F.col("error").alias("reason"))
