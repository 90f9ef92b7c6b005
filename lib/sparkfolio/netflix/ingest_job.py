"""``netflix-ingest``: Netflix Prize text files (Kaggle or original layout) to Parquet, with rejects.

The driver lists the input (names and sizes only), recognises the standard file names and cuts
every uncompressed file into byte-range splits. Pass 1 parses all splits in parallel
(``mapInArrow``): each task writes its good rows as a Parquet part and returns a row of counters.
Pass 2 re-reads only the splits that had rejects, now knowing each split's first line number (the
line counts of the earlier splits of its file), and writes the ``rejects`` table. Nothing that
grows with the data reaches the driver; the distinct-customer count is a Spark aggregation.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np

from sparkfolio.netflix.bitmaps import union_count
from sparkfolio.netflix.files import classify, layout_of
from sparkfolio.netflix.ingest_tasks import (REJECTS_DDL, STATS_DDL, TABLE_OF_KIND, arrow_schemas,
                                             parse_splits, reject_rows)
from sparkfolio.netflix.parse import HIST_FIRST_YEAR, N_MONTHS, REASONS
from sparkfolio.runtime import fsio
from sparkfolio.runtime.byteranges import Split, pack_splits, plan_splits, split_size
from sparkfolio.runtime.errors import ConfigError, DataQualityError, InputError
from sparkfolio.runtime.inputs import InputFile, list_input_files
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput
from sparkfolio.runtime.tasks import run_tasks

log = logging.getLogger(__name__)

_MAX_BITMAP_SPLITS = 256
_EXPECTED = ("combined_data_*.txt, training_set/mv_*.txt, movie_titles.csv/.txt, probe.txt, qualifying.txt "
             "(optionally .gz/.bz2)")


@dataclass
class IngestConfig:
    """Settings of ``netflix-ingest`` (defaults mirror ``conf/netflix_ingest.yaml``)."""

    split_size_mb: float = field(default=64.0, metadata={"help": "bytes per parallel split of an uncompressed file"})
    read_chunk_mb: float = field(default=16.0, metadata={"help": "a task parses its split in blocks of this size"})
    max_reject_fraction: float = field(default=0.01, metadata={"help": "fail when more lines than this are rejected"})
    titles_encoding: str = field(default="latin-1", metadata={"help": "encoding of movie_titles (latin-1 in both layouts)"})
    raw_max_chars: int = field(default=1000, metadata={"help": "a reject's raw line is cut to this length"})
    plots: bool = field(default=True, metadata={"help": "write ratings_by_value.png and ratings_by_month.png"})


def run(ctx: JobContext) -> None:
    """Ingest the Netflix Prize files under ``ctx.input`` into Parquet tables in ``ctx.output``."""
    cfg: IngestConfig = ctx.config
    _check(cfg)
    spark = ctx.spark
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    listed = list_input_files(spark, ctx.input)
    chosen, ignored = recognise(listed, ctx.input)
    for name in ignored:
        log.info("ignoring %s (not a Netflix Prize file name)", name)
    if not chosen or all(f.size == 0 for f, _, _, _ in chosen):
        raise InputError(f"no Netflix Prize data in {ctx.input}: expected {_EXPECTED}"
                         + (f"; found only empty files" if chosen else ""))
    names = [name for _, name, _, _ in chosen]
    split_bytes = split_size(cfg.split_size_mb, sum(f.size for f, _, _, comp in chosen if not comp),
                             spark.sparkContext.defaultParallelism)
    splits = plan_splits([(f.path, f.size, kind, comp) for f, _, kind, comp in chosen], split_bytes)
    kinds = sorted({kind for _, _, kind, _ in chosen})
    log.info("%d files, %d splits of up to %.2f MB", len(chosen), len(splits), split_bytes / 2**20)
    timings["list"] = time.perf_counter() - t0

    with JobOutput(spark, ctx.output) as out:
        tables = {TABLE_OF_KIND[k]: out.path(TABLE_OF_KIND[k]) for k in TABLE_OF_KIND}
        t = time.perf_counter()
        stats = _pass1(spark, splits, names, tables, cfg, split_bytes)
        timings["parse"] = time.perf_counter() - t
        by_split = {row["split_id"]: row for row in stats}
        first_lines = first_line_numbers(splits, {k: v["lines"] for k, v in by_split.items()})
        total_lines = sum(v["lines"] for v in by_split.values())
        if total_lines == 0:
            raise InputError(f"no Netflix Prize data in {ctx.input}: the recognised files hold no lines")

        t = time.perf_counter()
        bad_splits = [s for s in splits if sum(by_split[s.split_id]["rejects"]) > 0]
        if bad_splits:  # usually none: then no second pass at all, just an empty table below
            out.write_table("rejects", _pass2(spark, bad_splits, names, first_lines, cfg, split_bytes))
        timings["rejects"] = time.perf_counter() - t

        wanted = {"ratings", "movies", "rejects"} | {TABLE_OF_KIND[k] for k in kinds}
        schemas = arrow_schemas()
        for table in sorted(wanted):
            fsio.ensure_parquet_table(out.path(table), schemas[table])

        t = time.perf_counter()
        customers = count_customers(spark, out.path("ratings"), splits, by_split)
        timings["distinct_customers"] = time.perf_counter() - t
        metrics = build_metrics(ctx.input, cfg, chosen, ignored, splits, by_split, customers)
        timings["total"] = time.perf_counter() - t0
        metrics["seconds"] = {k: round(v, 3) for k, v in timings.items()}
        if cfg.plots and metrics["ratings"] > 0:
            _plots(out, metrics)
        out.write_json("metrics.json", metrics)
        fraction = metrics["reject_fraction"]
        if fraction > cfg.max_reject_fraction:
            out.keep_only(["rejects", "metrics.json"])
            raise DataQualityError(
                f"{metrics['rejects']} of {total_lines} lines rejected ({fraction:.2%} > max_reject_fraction "
                f"{cfg.max_reject_fraction:.2%}); see the rejects table in {out.uri} "
                f"({', '.join(f'{k}: {v}' for k, v in metrics['rejects_by_reason'].items())})")
    ctx.report(summary(metrics, out.uri))


def _check(cfg: IngestConfig) -> None:
    if cfg.split_size_mb <= 0:
        raise ConfigError(f"split_size_mb must be positive, got {cfg.split_size_mb}")
    if cfg.read_chunk_mb <= 0:
        raise ConfigError(f"read_chunk_mb must be positive, got {cfg.read_chunk_mb}")
    if not 0 <= cfg.max_reject_fraction <= 1:
        raise ConfigError(f"max_reject_fraction must be between 0 and 1, got {cfg.max_reject_fraction}")
    try:
        "x".encode(cfg.titles_encoding)
    except LookupError:
        raise ConfigError(f"titles_encoding: unknown encoding {cfg.titles_encoding!r}") from None


def recognise(files: list[InputFile], root: str) -> tuple[list[tuple[InputFile, str, str, str | None]], list[str]]:
    """Split listed files into ``(file, display name, kind, compression)`` we read and names we ignore.

    Display names are relative to ``root`` when it is a folder (``training_set/mv_0000001.txt``),
    else base names. Both layouts at once would double every rating, so that is an input error.
    """
    prefix = _local(root).rstrip("/") + "/"
    chosen, ignored = [], []
    layouts = set()
    for f in files:
        local = _local(f.path)
        name = local[len(prefix):] if local.startswith(prefix) else f.name
        found = classify(f.name)
        if found is None:
            ignored.append(name)
            continue
        kind, compression = found
        if kind == "ratings":
            layouts.add(layout_of(f.name))
        chosen.append((f, name, kind, compression))
    if len(layouts) > 1:
        raise InputError(f"{root} holds both combined_data_*.txt (Kaggle) and training_set/mv_*.txt (original) "
                         "ratings, the same data twice: point --input at one layout")
    return chosen, ignored


def _local(uri: str) -> str:
    """A URI without its ``file:`` scheme and with one leading slash, for prefix comparisons."""
    path = fsio.local_path(uri)
    if path.startswith("//"):
        path = "/" + path.lstrip("/")
    return path


def first_line_numbers(splits: list[Split], lines: dict[int, int]) -> dict[int, int]:
    """The 1-based number, in its file, of each split's first line (from pass-1 line counts)."""
    out: dict[int, int] = {}
    running: dict[int, int] = {}
    for s in sorted(splits, key=lambda s: (s.file_index, s.start)):
        out[s.split_id] = running.get(s.file_index, 0) + 1
        running[s.file_index] = running.get(s.file_index, 0) + lines.get(s.split_id, 0)
    return out


def _split_rows(splits: list[Split], names: list[str], first_lines: dict[int, int] | None = None) -> list[dict]:
    return [{"split_id": s.split_id, "file_index": s.file_index, "path": s.path, "name": names[s.file_index],
             "kind": s.kind, "compression": s.compression, "start": s.start, "end": s.end,
             "first_line": (first_lines or {}).get(s.split_id, 1)} for s in splits]


def _task_plan(splits: list[Split], names: list[str], split_bytes: int,
               first_lines: dict[int, int] | None = None) -> list[list[dict]]:
    """The splits of each task (big files: one split per task; small files share one)."""
    return [_split_rows(b, names, first_lines) for b in pack_splits(splits, split_bytes)]


def _pass1(spark: Any, splits: list[Split], names: list[str], tables: dict[str, str], cfg: IngestConfig,
           split_bytes: int) -> list[dict]:
    # Bitmaps (<= 2 MiB each) only while their number stays modest; beyond, Spark counts.
    bitmaps = sum(1 for s in splits if s.kind == "ratings") <= _MAX_BITMAP_SPLITS
    fn = functools.partial(parse_splits, tables=dict(tables), chunk_bytes=_chunk_bytes(cfg),
                           encoding=cfg.titles_encoding, customer_bitmaps=bitmaps)
    rows = run_tasks(spark, _task_plan(splits, names, split_bytes), fn, STATS_DDL).collect()
    return [r.asDict() for r in rows]


def _pass2(spark: Any, bad: list[Split], names: list[str], first_lines: dict[int, int], cfg: IngestConfig,
           split_bytes: int) -> Any:
    fn = functools.partial(reject_rows, chunk_bytes=_chunk_bytes(cfg), encoding=cfg.titles_encoding,
                           raw_max_chars=cfg.raw_max_chars)
    return run_tasks(spark, _task_plan(bad, names, split_bytes, first_lines), fn, REJECTS_DDL)


def _chunk_bytes(cfg: IngestConfig) -> int:
    return max(1024, int(cfg.read_chunk_mb * 1024 * 1024))


def count_customers(spark: Any, ratings_path: str, splits: list[Split], by_split: dict[int, dict]) -> int:
    """Distinct customers: the union of the splits' bitmaps, or a Spark count when one is missing."""
    blobs = [by_split[s.split_id]["customers"] for s in splits if s.kind == "ratings" and by_split[s.split_id]["rows"]]
    if all(b is not None for b in blobs):
        return union_count(blobs)
    from pyspark.sql import functions as F

    log.info("customer ids beyond the bitmap range: counting distinct customers with Spark")
    return int(spark.read.parquet(ratings_path).agg(F.countDistinct("customer_id")).first()[0])


def build_metrics(input_path: str, cfg: IngestConfig, chosen: list, ignored: list[str], splits: list[Split],
                  by_split: dict[int, dict], customers: int) -> dict[str, Any]:
    """Every figure of the run, from the per-split counters (small) and the customer count."""
    per_file: dict[int, dict[str, Any]] = {}
    for i, (f, name, kind, comp) in enumerate(chosen):
        per_file[i] = {"file": name, "kind": kind, "compression": comp, "bytes": f.size, "splits": 0,
                       "lines": 0, "rows": 0, "rejects": 0}
    rejects = np.zeros(len(REASONS), np.int64)
    ratings_counts = np.zeros(6, np.int64)
    months = np.zeros(N_MONTHS + 2, np.int64)
    rows_by_kind: dict[str, int] = {}
    movies: set[int] = set()
    lines = headers = 0
    min_day: int | None = None
    max_day: int | None = None
    for s in splits:
        st = by_split[s.split_id]
        pf = per_file[s.file_index]
        pf["splits"] += 1
        pf["lines"] += st["lines"]
        pf["rows"] += st["rows"]
        pf["rejects"] += int(sum(st["rejects"]))
        lines += st["lines"]
        headers += st["headers"]
        rejects += np.asarray(st["rejects"], np.int64)
        rows_by_kind[s.kind] = rows_by_kind.get(s.kind, 0) + st["rows"]
        if s.kind == "ratings":
            ratings_counts += np.asarray(st["rating_counts"], np.int64)
            months += np.asarray(st["month_counts"], np.int64)
            movies.update(st["movie_ids"])
            if st["min_day"] is not None:
                min_day = st["min_day"] if min_day is None else min(min_day, st["min_day"])
                max_day = st["max_day"] if max_day is None else max(max_day, st["max_day"])
    n_ratings = rows_by_kind.get("ratings", 0)
    n_rejects = int(rejects.sum())
    by_month = {}
    for b in np.flatnonzero(months[:N_MONTHS]):
        by_month[f"{HIST_FIRST_YEAR + b // 12}-{b % 12 + 1:02d}"] = int(months[b])
    epoch = date(1970, 1, 1)
    metrics: dict[str, Any] = {
        "input": input_path,
        "config": {k: getattr(cfg, k) for k in cfg.__dataclass_fields__},
        "files_read": [per_file[i] for i in sorted(per_file)],
        "files_ignored": ignored,
        "n_files_read": len(per_file),
        "n_files_ignored": len(ignored),
        "splits": len(splits),
        "lines": lines,
        "headers": headers,
        "ratings": n_ratings,
        "titles": rows_by_kind.get("titles", 0),
        "rejects": n_rejects,
        "rejects_by_reason": {REASONS[i]: int(rejects[i]) for i in range(1, len(REASONS)) if rejects[i]},
        "reject_fraction": n_rejects / lines if lines else 0.0,
        "movies": len(movies),
        "customers": customers,
        "rating_counts": {str(r): int(ratings_counts[r]) for r in range(1, 6)},
        "mean_rating": (float((ratings_counts[1:] * np.arange(1, 6)).sum() / n_ratings) if n_ratings else None),
        "first_date": (epoch + timedelta(days=min_day)).isoformat() if min_day is not None else None,
        "last_date": (epoch + timedelta(days=max_day)).isoformat() if max_day is not None else None,
        "ratings_by_month": by_month,
        "ratings_before_1998": int(months[N_MONTHS]),
        "ratings_after_2006": int(months[N_MONTHS + 1]),
    }
    for kind in ("probe", "qualifying"):
        if kind in rows_by_kind:
            metrics[kind] = rows_by_kind[kind]
    return metrics


def _plots(out: JobOutput, metrics: dict[str, Any]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = metrics["rating_counts"]
    fig, ax = plt.subplots(figsize=(5, 3.2))
    total = max(1, metrics["ratings"])
    ax.bar(list(counts), [v / total * 100 for v in counts.values()], color="#b20710")
    ax.set_xlabel("rating")
    ax.set_ylabel("% of ratings")
    ax.set_title(f"{metrics['ratings']:,} ratings, mean {metrics['mean_rating']:.3f}")
    out.write_figure("ratings_by_value.png", fig)
    months = metrics["ratings_by_month"]
    if months:
        fig, ax = plt.subplots(figsize=(7, 3.2))
        ax.plot(range(len(months)), list(months.values()), color="#221f1f")
        step = max(1, len(months) // 8)
        ax.set_xticks(range(0, len(months), step))
        ax.set_xticklabels(list(months)[::step], rotation=45, ha="right")
        ax.set_ylabel("ratings per month")
        ax.set_title("Ratings over time")
        out.write_figure("ratings_by_month.png", fig)


def summary(metrics: dict[str, Any], uri: str) -> str:
    """The lines a person running the job sees."""
    lines = [
        f"netflix-ingest: {metrics['ratings']:,} ratings of {metrics['movies']:,} movies by "
        f"{metrics['customers']:,} customers from {metrics['n_files_read']} files ({metrics['splits']} splits)",
        f"  lines {metrics['lines']:,}, rejects {metrics['rejects']:,} ({metrics['reject_fraction']:.4%})"
        + (f": {metrics['rejects_by_reason']}" if metrics["rejects"] else ""),
    ]
    if metrics["ratings"]:
        lines.append(f"  dates {metrics['first_date']} .. {metrics['last_date']}, mean rating {metrics['mean_rating']:.3f}")
    extra = [f"{k} {metrics[k]:,}" for k in ("titles", "probe", "qualifying") if metrics.get(k)]
    if extra:
        lines.append("  " + ", ".join(extra))
    if metrics["n_files_ignored"]:
        lines.append(f"  ignored {metrics['n_files_ignored']} other files: {', '.join(metrics['files_ignored'][:5])}")
    lines.append(f"  output: {uri}")
    return "\n".join(lines)
