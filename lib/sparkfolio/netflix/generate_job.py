"""``netflix-generate``: synthetic Netflix Prize data in the original file formats, at any scale.

Spark tasks each make a range of movies (the model behind them is recomputed from the seed in
every task, see :mod:`sparkfolio.netflix.synth`) and stream their lines into part files in the
staged output; a second, I/O-only stage joins the parts of each output file in movie order. So no
task holds more than one movie range, the driver handles only counts, and the bytes do not depend
on how the work was split. Everything is staged and published atomically by ``JobOutput``.

Layouts: ``kaggle`` (``combined_data_1.txt`` .. ``combined_data_N.txt`` + ``movie_titles.csv``)
or ``training_set`` (``training_set/mv_0000001.txt`` .. + ``movie_titles.txt``); both with
``probe.txt`` and ``qualifying.txt``.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass, field
from typing import Any, Iterator, Literal

from sparkfolio.runtime.errors import ConfigError
from sparkfolio.runtime.job import JobContext
from sparkfolio.runtime.output import JobOutput

log = logging.getLogger(__name__)

_PARTS = "_parts"
_STATS_SCHEMA = ("task long, ratings long, movies long, probe long, qualifying long, "
                 "rating_counts array<long>, min_day int, max_day int, customers_seen binary, "
                 "bytes string")
_CONCAT_SCHEMA = "name string, bytes long"


@dataclass
class GenerateConfig:
    """Settings of ``netflix-generate`` (mirrored in ``conf/netflix_generate.yaml``)."""

    ratings: int = field(default=2_000_000, metadata={"help": "training ratings to write (full scale: 100480507)"})
    seed: int = field(default=42, metadata={"help": "seed of every random draw; same seed, same bytes"})
    layout: Literal["kaggle", "training_set"] = field(
        default="kaggle", metadata={"help": "kaggle: combined_data_N.txt; training_set: one mv_%07d.txt per movie"})
    files: int = field(default=4, metadata={"help": "number of combined_data_N.txt files (kaggle layout)"})
    movies: int = field(default=0, metadata={"help": "number of movies; 0 scales with ratings (17770 at full scale)"})
    customers: int = field(default=0, metadata={"help": "number of customers; 0 scales with ratings (480189 at full scale)"})
    min_customer_ratings: int = field(default=3, metadata={"help": "distinct movies every customer rates at least"})
    probe_fraction: float = field(default=0.014, metadata={"help": "share of ratings listed in probe.txt (0: no file)"})
    qualifying_fraction: float = field(
        default=0.028, metadata={"help": "unrated pairs in qualifying.txt per training rating (0: no file)"})
    line_ending: Literal["lf", "crlf"] = field(default="lf", metadata={"help": "lf as the real files, or crlf"})
    chunk_ratings: int = field(default=2_000_000, metadata={"help": "ratings per generating task (bounds its memory)"})


def synth_params(cfg: GenerateConfig) -> Any:
    """The model parameters of ``cfg`` (shape scaled from ``ratings`` unless given)."""
    from sparkfolio.netflix.synth import SynthParams, default_shape, validate

    if cfg.ratings < 1:
        raise ConfigError(f"ratings must be at least 1, got {cfg.ratings}")
    movies, customers = default_shape(cfg.ratings)
    params = SynthParams(
        ratings=cfg.ratings, movies=cfg.movies or movies, customers=cfg.customers or customers, seed=cfg.seed,
        min_customer_ratings=cfg.min_customer_ratings, probe_fraction=cfg.probe_fraction,
        qualifying_fraction=cfg.qualifying_fraction)
    try:
        validate(params)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return params


def plan_tasks(counts: Any, layout: str, files: int, chunk_ratings: int) -> list[dict[str, Any]]:
    """Movie ranges of the generating tasks: ``task``, ``file`` (1-based, kaggle), ``lo``, ``hi``.

    In the Kaggle layout a task never crosses a ``combined_data`` file boundary.
    """
    from sparkfolio.netflix.synth import chunk_ranges, file_ranges

    ranges = file_ranges(counts, files) if layout == "kaggle" else [(1, len(counts) + 1)]
    tasks: list[dict[str, Any]] = []
    for file_no, (lo, hi) in enumerate(ranges, start=1):
        for a, b in chunk_ranges(counts, lo, hi, max(1, chunk_ratings)):
            tasks.append({"task": len(tasks), "file": file_no, "lo": a, "hi": b})
    return tasks


def run(ctx: JobContext) -> None:
    """Generate the data set described by ``ctx.config`` into ``ctx.output``."""
    import numpy as np

    from sparkfolio.netflix import formats
    from sparkfolio.netflix.synth import build_model
    from sparkfolio.netflix.synth_titles import movie_titles

    cfg: GenerateConfig = ctx.config
    if cfg.files < 1:
        raise ConfigError(f"files must be at least 1, got {cfg.files}")
    if cfg.chunk_ratings < 1:
        raise ConfigError(f"chunk_ratings must be at least 1, got {cfg.chunk_ratings}")
    params = synth_params(cfg)
    model = build_model(params)  # the driver needs only the per-movie counts, to plan the tasks
    tasks = plan_tasks(model.movie_counts, cfg.layout, cfg.files, cfg.chunk_ratings)
    n_files = max(t["file"] for t in tasks)
    newline = b"\r\n" if cfg.line_ending == "crlf" else b"\n"
    log.info("generating %d ratings: %d movies, %d customers, %d tasks, layout %s",
             params.ratings, params.movies, params.customers, len(tasks), cfg.layout)

    spark = ctx.spark
    with JobOutput(spark, ctx.output) as out:
        rating_names = ([formats.COMBINED_NAME.format(index=k) for k in range(1, n_files + 1)]
                        if cfg.layout == "kaggle" else [])
        extra_names = ([formats.PROBE_NAME] if params.probe_fraction > 0 else []) + (
            [formats.QUALIFYING_NAME] if params.qualifying_fraction > 0 else [])
        settings = {
            "params": asdict(params), "layout": cfg.layout, "newline": newline,
            "parts": out.path(_PARTS), "training_set": out.path(formats.TRAINING_SET_DIR),
            "probe": params.probe_fraction > 0, "qualifying": params.qualifying_fraction > 0,
        }
        task_df = spark.createDataFrame(
            spark.sparkContext.parallelize([[t] for t in tasks], len(tasks)).flatMap(lambda x: x)
            .map(lambda t: (t["task"], t["file"], t["lo"], t["hi"])),
            "task long, file long, lo long, hi long")
        stats = task_df.mapInPandas(_generate_tasks(settings), _STATS_SCHEMA).collect()

        # Join the parts of every output file in movie order (one I/O task per file).
        joins = []
        for name in rating_names + extra_names:
            parts = [f"{out.path(_PARTS)}/{name}/part-{t['task']:05d}" for t in tasks
                     if name in extra_names or formats.COMBINED_NAME.format(index=t["file"]) == name]
            joins.append((name, out.path(name), parts))
        if joins:
            join_df = spark.createDataFrame(
                spark.sparkContext.parallelize(joins, len(joins)), "name string, target string, parts array<string>")
            joined = {r["name"]: r["bytes"] for r in join_df.mapInPandas(_concat_parts, _CONCAT_SCHEMA).collect()}
        else:
            joined = {}

        ids = np.arange(1, params.movies + 1)
        titles = movie_titles(np.random.default_rng([params.seed, 99]), params.movies)
        titles_name = formats.TITLES_KAGGLE if cfg.layout == "kaggle" else formats.TITLES_ORIGINAL
        titles_bytes = formats.format_titles(ids, model.movie_years, titles, newline)
        out.write_bytes(titles_name, titles_bytes)

        metrics = _metrics(cfg, params, model, stats, joined, titles_name, len(titles_bytes), len(tasks))
        out.write_json("metrics.json", metrics)
        published = rating_names + extra_names + [titles_name, "metrics.json"]
        if cfg.layout == "training_set":
            published.append(formats.TRAINING_SET_DIR)
        out.keep_only(published)  # drops the _parts folder
    ctx.report(
        f"netflix-generate: {metrics['ratings']:,} ratings of {metrics['movies']:,} movies by "
        f"{metrics['customers']:,} customers ({cfg.layout} layout, {metrics['bytes_total']:,} bytes), "
        f"probe {metrics['probe']:,}, qualifying {metrics['qualifying']:,} -> {ctx.output}")


def _metrics(cfg: GenerateConfig, params: Any, model: Any, stats: list[Any], joined: dict[str, int],
             titles_name: str, titles_bytes: int, n_tasks: int) -> dict[str, Any]:
    """Counts of what was written, summed over the tasks' small stats rows."""
    import numpy as np

    from sparkfolio.netflix import formats

    hist = np.zeros(5, dtype=np.int64)
    seen = np.zeros((params.customers + 7) // 8, dtype=np.uint8)
    files: dict[str, int] = dict(joined)
    for s in stats:
        hist += np.asarray(s["rating_counts"], dtype=np.int64)
        seen |= np.frombuffer(s["customers_seen"], dtype=np.uint8)
        for name, n in json.loads(s["bytes"]).items():
            if name not in joined:  # joined files were measured whole by the join stage
                files[name] = files.get(name, 0) + n
    files[titles_name] = titles_bytes
    ratings = int(sum(s["ratings"] for s in stats))
    days = [d for s in stats for d in (s["min_day"], s["max_day"]) if d is not None]
    as_date = lambda d: str(np.datetime64(int(d), "D"))  # noqa: E731
    return {
        "layout": cfg.layout,
        "seed": params.seed,
        "ratings": ratings,
        "movies": int(sum(s["movies"] for s in stats)),
        "customers": int(np.unpackbits(seen).sum()),
        "movies_in_catalogue": params.movies,
        "customers_in_model": params.customers,
        "max_customer_id": int(model.customer_ids.max()),
        "probe": int(sum(s["probe"] for s in stats)),
        "qualifying": int(sum(s["qualifying"] for s in stats)),
        "rating_counts": {str(k + 1): int(hist[k]) for k in range(5)},
        "rating_shares": {str(k + 1): float(hist[k] / max(ratings, 1)) for k in range(5)},
        "rating_mean": float((hist * np.arange(1, 6)).sum() / max(ratings, 1)),
        "null_years": int((model.movie_years < 0).sum()),
        "first_date": as_date(min(days)) if days else None,
        "last_date": as_date(max(days)) if days else None,
        "files": dict(sorted(files.items())),
        "training_set_files": params.movies if cfg.layout == "training_set" else 0,
        "bytes_total": int(sum(files.values())),
        "tasks": n_tasks,
        "config": asdict(cfg),
    }


# --- executor side -------------------------------------------------------------------------------

def _filesystem(uri: str) -> tuple[Any, str]:
    """A pyarrow file system and path for a Hadoop URI (``file:`` paths use the local file system)."""
    from pyarrow import fs as pafs

    if uri.startswith("file:") or "://" not in uri:
        path = uri[len("file:"):] if uri.startswith("file:") else uri
        if path.startswith("//"):
            path = path[2:]
        return pafs.LocalFileSystem(), path
    return pafs.FileSystem.from_uri(uri)


def _generate_tasks(settings: dict[str, Any]) -> Any:
    """The mapInPandas function: each input row is a movie range; it writes that range's lines."""
    params_dict = dict(settings["params"])
    layout = settings["layout"]
    newline = settings["newline"]
    parts_uri = settings["parts"]
    training_uri = settings["training_set"]
    want_probe, want_qualifying = settings["probe"], settings["qualifying"]

    def generate(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        for batch in batches:
            for task, file_no, lo, hi in batch.itertuples(index=False):
                row = _generate_range(params_dict, layout, newline, parts_uri, training_uri,
                                      want_probe, want_qualifying, int(task), int(file_no), int(lo), int(hi))
                yield pd.DataFrame([row])

    return generate


def _generate_range(params_dict: dict[str, Any], layout: str, newline: bytes, parts_uri: str,
                    training_uri: str, want_probe: bool, want_qualifying: bool,
                    task: int, file_no: int, lo: int, hi: int) -> dict[str, Any]:
    """Write movies ``[lo, hi)``: rating lines (a part or mv files), probe and qualifying parts."""
    import numpy as np

    from sparkfolio.netflix import formats
    from sparkfolio.netflix.synth import SynthParams, build_model, movie_rows

    model = build_model(SynthParams(**params_dict))
    fs, parts_path = _filesystem(parts_uri)
    part = f"part-{task:05d}"
    combined = formats.COMBINED_NAME.format(index=file_no)
    streams: dict[str, Any] = {}
    written: dict[str, int] = {}

    def stream(name: str) -> Any:
        if name not in streams:
            fs.create_dir(f"{parts_path}/{name}", recursive=True)
            streams[name] = fs.open_output_stream(f"{parts_path}/{name}/{part}")
        return streams[name]

    if layout == "training_set":
        tfs, training_path = _filesystem(training_uri)
        tfs.create_dir(training_path, recursive=True)
    hist = np.zeros(6, dtype=np.int64)
    seen = np.zeros(model.n_customers, dtype=bool)
    min_day, max_day = None, None
    n_ratings = n_probe = n_qual = n_movies = 0
    pending: list[Any] = []
    pending_rows = 0

    def flush() -> None:
        nonlocal pending, pending_rows
        if not pending:
            return
        mids = np.array([r.movie_id for r in pending])
        if layout == "kaggle":
            data = formats.format_movie_blocks(
                mids, np.array([len(r.customers) for r in pending]), np.concatenate([r.customers for r in pending]),
                np.concatenate([r.ratings for r in pending]), np.concatenate([r.days for r in pending]), newline)
            stream(combined).write(data)
            written[combined] = written.get(combined, 0) + len(data)
        if want_probe:
            probe = [r for r in pending if r.probe.any()]
            if probe:
                data = formats.format_movie_blocks(
                    np.array([r.movie_id for r in probe]), np.array([int(r.probe.sum()) for r in probe]),
                    np.concatenate([r.customers[r.probe] for r in probe]), newline=newline)
                stream(formats.PROBE_NAME).write(data)
        if want_qualifying:
            qual = [r for r in pending if len(r.qualifying)]
            if qual:
                data = formats.format_movie_blocks(
                    np.array([r.movie_id for r in qual]), np.array([len(r.qualifying) for r in qual]),
                    np.concatenate([r.qualifying for r in qual]), days=np.concatenate([r.qualifying_days for r in qual]),
                    newline=newline)
                stream(formats.QUALIFYING_NAME).write(data)
        pending, pending_rows = [], 0

    for movie_id in range(lo, hi):
        rows = movie_rows(model, movie_id)
        n = len(rows.customers)
        n_ratings += n
        n_movies += n > 0
        n_probe += int(rows.probe.sum()) if want_probe else 0
        n_qual += len(rows.qualifying) if want_qualifying else 0
        hist += np.bincount(rows.ratings, minlength=6)
        seen[rows.customer_index] = True
        if n:
            lo_d, hi_d = int(rows.days.min()), int(rows.days.max())
            min_day = lo_d if min_day is None else min(min_day, lo_d)
            max_day = hi_d if max_day is None else max(max_day, hi_d)
        if layout == "training_set":
            data = formats.format_movie_blocks(np.array([movie_id]), np.array([n]), rows.customers,
                                               rows.ratings, rows.days, newline)
            with tfs.open_output_stream(f"{training_path}/{formats.MOVIE_FILE_NAME.format(movie=movie_id)}") as f:
                f.write(data)
            key = formats.TRAINING_SET_DIR + "/"
            written[key] = written.get(key, 0) + len(data)
        pending.append(rows)
        pending_rows += n
        if pending_rows >= 250_000:  # bounded memory: format and write in blocks of movies
            flush()
    flush()
    for s in streams.values():
        s.close()
    return {
        "task": task, "ratings": n_ratings, "movies": n_movies, "probe": n_probe, "qualifying": n_qual,
        "rating_counts": hist[1:].tolist(), "min_day": min_day, "max_day": max_day,
        "customers_seen": np.packbits(seen).tobytes(), "bytes": json.dumps(written),
    }


def _concat_parts(batches: Iterator[Any]) -> Iterator[Any]:
    """The mapInPandas function of the join stage: concatenate each file's parts in order."""
    import pandas as pd
    from pyarrow import fs as pafs

    for batch in batches:
        for name, target, parts in batch.itertuples(index=False):
            fs, target_path = _filesystem(target)
            found = []
            for part in parts:
                pfs, ppath = _filesystem(part)
                if pfs.get_file_info(ppath).type != pafs.FileType.NotFound:
                    found.append(ppath)  # a task with no lines of a kind (no probe pairs) wrote no part
            info = fs.get_file_info(target_path)
            if not found and info.type != pafs.FileType.NotFound:
                # A retried task whose first attempt already moved the only part into place.
                yield pd.DataFrame([{"name": name, "bytes": info.size}])
                continue
            if len(found) == 1:
                # One part is the whole file: a rename, no copy (the parts share the staging file system).
                fs.move(found[0], target_path)
                yield pd.DataFrame([{"name": name, "bytes": fs.get_file_info(target_path).size}])
                continue
            total = 0
            with fs.open_output_stream(target_path) as dst:
                for ppath in found:
                    with fs.open_input_stream(ppath) as src:
                        while True:
                            block = src.read(8 << 20)
                            if not block:
                                break
                            dst.write(block)
                            total += len(block)
            yield pd.DataFrame([{"name": name, "bytes": total}])
