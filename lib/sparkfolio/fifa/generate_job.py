"""``fifa-generate``: synthetic FIFA 19 players in the Kaggle CSV format, generated in parallel Spark tasks.

The output folder holds ``players/`` (CSV part files, each with the Kaggle header, UTF-8 BOM
included) and ``metrics.json``. Give ``<output>/players`` to ``fifa-report --input``.
Rows are made in chunks of ``chunk_rows`` seeded by (seed, chunk number), so the same settings
give the same files on any cluster, with any number of executors.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Iterator

import pandas as pd
from pyspark.sql.types import StringType, StructField, StructType

from sparkfolio.fifa import schema
from sparkfolio.fifa.generate import generate_chunk
from sparkfolio.runtime.errors import ConfigError
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput

#: Players per club in the real file (18,207 players, 651 clubs).
PLAYERS_PER_CLUB = 28


@dataclass
class GenerateConfig:
    """Settings of ``fifa-generate`` (``conf/fifa_generate.yaml`` mirrors these defaults)."""

    rows: int = field(default=18207, metadata={"help": "players to generate (the real file has 18,207)"})
    seed: int = field(default=19, metadata={"help": "random seed; same seed and sizes give the same files"})
    chunk_rows: int = field(default=50000, metadata={"help": "rows per generated chunk (part of what the data depend on)"})
    files: int = field(default=0, metadata={"help": "CSV part files to write; 0 = one per million rows"})
    bad_value_fraction: float = field(default=0.0, metadata={"help": "share of rows with one unparseable value (tests rejects)"})
    incomplete_fraction: float = field(default=0.0026, metadata={"help": "share of rows with only identity fields, as in the real file"})


def _check(cfg: GenerateConfig) -> None:
    if cfg.rows < 1:
        raise ConfigError(f"rows must be at least 1, got {cfg.rows}")
    if cfg.chunk_rows < 1:
        raise ConfigError(f"chunk_rows must be at least 1, got {cfg.chunk_rows}")
    if cfg.files < 0:
        raise ConfigError(f"files must be 0 (automatic) or more, got {cfg.files}")
    for name in ("bad_value_fraction", "incomplete_fraction"):
        v = getattr(cfg, name)
        if not 0.0 <= v <= 1.0:
            raise ConfigError(f"{name} must be between 0 and 1, got {v}")


def output_schema() -> StructType:
    """The 89 text columns; the index column is named U+FEFF so each part file starts with the BOM, like Kaggle's."""
    names = ["\ufeff"] + schema.KAGGLE_COLUMNS[1:]
    return StructType([StructField(n, StringType(), True) for n in names])


def run(ctx: JobContext) -> None:
    """Generate ``rows`` players in ``ceil(rows / chunk_rows)`` chunks spread over ``files`` tasks."""
    cfg: GenerateConfig = ctx.config
    _check(cfg)
    n_chunks = math.ceil(cfg.rows / cfg.chunk_rows)
    files = min(n_chunks, cfg.files or max(1, math.ceil(cfg.rows / 1_000_000)))
    # Plain values for the executors' closure (never the config object or the context).
    rows, chunk_rows, seed = cfg.rows, cfg.chunk_rows, cfg.seed
    bad, incomplete = cfg.bad_value_fraction, cfg.incomplete_fraction
    n_clubs = max(20, round(rows / PLAYERS_PER_CLUB))
    columns = [f.name for f in output_schema().fields]

    def make(batches: Iterator[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            for chunk in batch["id"].tolist():
                start = chunk * chunk_rows
                frame = generate_chunk(chunk, start, min(chunk_rows, rows - start), seed, n_clubs, bad, incomplete)
                frame.columns = columns
                yield frame

    players = ctx.spark.range(0, n_chunks, 1, numPartitions=files).mapInPandas(make, output_schema())
    with JobOutput(ctx.spark, ctx.output) as out:
        (players.write.mode("overwrite")
         .options(header="true", quote='"', escape='"', nullValue="", emptyValue='""', encoding="UTF-8", lineSep="\n")
         .csv(out.path("players")))
        out.write_json("metrics.json", {"rows": rows, "chunks": n_chunks, "files": files, "clubs": n_clubs,
                                        "config": asdict(cfg), "format": schema.LAYOUT_NAME})
    ctx.report(f"fifa-generate: {rows:,} players in {files} file(s) at {out.final_path('players')} "
               f"(fifa-report --input {out.final_path('players')})")
