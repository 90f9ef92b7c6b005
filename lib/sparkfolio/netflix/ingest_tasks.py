"""The executor side of ``netflix-ingest``: what one Spark task does with one byte-range split.

Pass 1 (:func:`parse_splits`) reads a split's lines, parses them with ``parse.py``, writes the
good rows straight to a Parquet part of the right table (pyarrow, one file per split) and returns
one small row of counters per split. Pass 2 (:func:`reject_rows`) runs only on splits that had
rejects and re-parses them to emit each rejected line with its real line number in its file.
Both take one task's list of splits (plain dicts, planned on the driver) and yield Arrow record
batches; ``runtime.tasks.run_tasks`` runs them, one Spark task per list, in ``mapInArrow``. They
capture only plain values (paths, sizes), never the session.
"""

from __future__ import annotations

import logging
from typing import Any, Iterator

import numpy as np

from sparkfolio.netflix.bitmaps import IdSet
from sparkfolio.netflix.parse import N_MONTHS, NO_MOVIE, REASONS, line_bounds, parse_block, runs_unique
from sparkfolio.netflix.splits import header_before
from sparkfolio.netflix.titles import parse_titles_block
from sparkfolio.runtime import fsio
from sparkfolio.runtime.byteranges import first_line_start, owned_chunks, stream_chunks

log = logging.getLogger(__name__)

#: Counters returned by pass 1, one row per split.
STATS_DDL = ("split_id int, lines long, headers long, rows long, rejects array<long>, "
             "rating_counts array<long>, month_counts array<long>, movie_ids array<int>, "
             "min_day int, max_day int, customers binary")
#: The rejects table.
REJECTS_DDL = "file string, line long, raw string, reason string"

#: Columns worth dictionary encoding: few distinct values. Customer ids (hundreds of thousands
#: per row group) would only make pyarrow try a dictionary and fall back, at twice the write cost.
DICTIONARY_COLUMNS = {"ratings": ["movie_id", "rating", "date"], "probe": ["movie_id"],
                      "qualifying": ["movie_id", "date"], "movies": True, "rejects": True}

#: Output table of each input kind.
TABLE_OF_KIND = {"ratings": "ratings", "probe": "probe", "qualifying": "qualifying", "titles": "movies"}


def arrow_schemas() -> dict[str, Any]:
    """The Parquet schema of each output table (the contract the ALS job reads)."""
    import pyarrow as pa

    return {
        "ratings": pa.schema([("movie_id", pa.int32()), ("customer_id", pa.int32()),
                              ("rating", pa.int8()), ("date", pa.date32())]),
        "probe": pa.schema([("movie_id", pa.int32()), ("customer_id", pa.int32())]),
        "qualifying": pa.schema([("movie_id", pa.int32()), ("customer_id", pa.int32()), ("date", pa.date32())]),
        "movies": pa.schema([("movie_id", pa.int32()), ("year", pa.int32()), ("title", pa.string())]),
        "rejects": pa.schema([("file", pa.string()), ("line", pa.int64()), ("raw", pa.string()), ("reason", pa.string())]),
    }


def _chunks(split: dict[str, Any], chunk_bytes: int) -> tuple[Any, Iterator[bytes], int]:
    """Open a split: ``(file, blocks of owned lines, movie state before its first line)``."""
    if split["compression"]:
        f = fsio.open_decompressed(split["path"], split["compression"])
        return f, stream_chunks(f, chunk_bytes), NO_MOVIE
    f = fsio.open_read(split["path"])
    begin = first_line_start(f, split["start"])
    movie = NO_MOVIE
    if split["kind"] != "titles" and begin is not None and 0 < begin < split["end"]:
        movie = header_before(f, begin)
    return f, owned_chunks(f, begin, split["end"], chunk_bytes), movie


def _stats_schema() -> Any:
    import pyarrow as pa

    return pa.schema([
        ("split_id", pa.int32()), ("lines", pa.int64()), ("headers", pa.int64()), ("rows", pa.int64()),
        ("rejects", pa.list_(pa.int64())), ("rating_counts", pa.list_(pa.int64())),
        ("month_counts", pa.list_(pa.int64())), ("movie_ids", pa.list_(pa.int32())),
        ("min_day", pa.int32()), ("max_day", pa.int32()), ("customers", pa.binary()),
    ])


def parse_splits(splits: list[dict[str, Any]], tables: dict[str, str], chunk_bytes: int, encoding: str,
                 customer_bitmaps: bool = True) -> Iterator[Any]:
    """Pass 1 for the splits of one task: write their rows to ``tables``, yield one counter row each.

    A split is a dict of ``split_id, file_index, path, name, kind, compression, start, end,
    first_line`` (see ``ingest_job._split_rows``).

    ``tables`` maps an output table name to its (staged) folder URI. The task writes one Parquet
    part per table, named after its first split id, so a retried task overwrites its own parts
    and nothing else. With ``customer_bitmaps`` a ratings split also returns the bitmap of its
    customer ids (see ``bitmaps.py``) so the driver can count distinct customers without
    another pass.
    """
    import pyarrow as pa

    from sparkfolio.runtime.malloc import keep_freed_memory

    keep_freed_memory()  # the parse allocates and frees large arrays per block (see malloc.py)
    schemas = arrow_schemas()
    if not splits:
        return
    first = min(s["split_id"] for s in splits)
    parts: dict[str, fsio.ParquetPart] = {}

    def part_for(table: str) -> fsio.ParquetPart:
        if table not in parts:
            parts[table] = fsio.ParquetPart(fsio.join(tables[table], f"part-{first:05d}.parquet"), schemas[table],
                                            DICTIONARY_COLUMNS[table])
        return parts[table]

    stats = []
    try:
        for split in splits:
            stats.append(_parse_one(split, part_for, schemas, chunk_bytes, encoding, customer_bitmaps))
    except BaseException:
        for part in parts.values():
            part.discard()
        raise
    for part in parts.values():
        if part.rows:
            part.commit()
        else:
            part.discard()  # no empty parts: the driver writes one empty part for an empty table
    yield pa.RecordBatch.from_pylist(stats, schema=_stats_schema())


def _parse_one(split: dict[str, Any], part_for: Any, schemas: dict[str, Any], chunk_bytes: int,
               encoding: str, customer_bitmaps: bool = True) -> dict[str, Any]:
    import pyarrow as pa

    kind = split["kind"]
    table = TABLE_OF_KIND[kind]
    part = part_for(table)
    rows = 0
    lines = headers = 0
    rejects = np.zeros(len(REASONS), np.int64)
    rating_counts = np.zeros(6, np.int64)
    months = np.zeros(N_MONTHS + 2, np.int64)
    movie_ids: set[int] = set()
    min_day: int | None = None
    max_day: int | None = None
    customers = IdSet() if kind == "ratings" and customer_bitmaps else None
    f = None
    try:
        f, chunks, movie = _chunks(split, chunk_bytes)
        for chunk in chunks:
            if kind == "titles":
                t = parse_titles_block(chunk, encoding)
                lines += t.n_lines
                rejects += np.bincount(np.asarray(t.reject_code, np.int64), minlength=len(REASONS))
                rows += len(t.movie_id)
                part.write(pa.RecordBatch.from_arrays(
                    [pa.array(t.movie_id, pa.int32()), pa.array(t.year, pa.int32()), pa.array(t.title, pa.string())],
                    schema=schemas[table]))
                continue
            p = parse_block(chunk, kind, movie)
            movie = p.last_movie
            lines += p.n_lines
            headers += p.n_headers
            rejects += np.bincount(p.reject_code.astype(np.int64), minlength=len(REASONS))
            if p.movie.size == 0:
                continue
            rows += p.movie.size
            movie_ids.update(runs_unique(p.movie).tolist())
            cols = [pa.array(p.movie), pa.array(p.customer)]
            if customers is not None:
                customers.add(p.customer)
            if kind == "ratings":
                cols.append(pa.array(p.rating))
                rating_counts += np.bincount(p.rating, minlength=6)[:6]
            if kind != "probe":
                cols.append(pa.Array.from_buffers(pa.date32(), p.day.size, [None, pa.py_buffer(p.day)]))
                months += p.month_hist
                lo, hi = int(p.day.min()), int(p.day.max())
                min_day = lo if min_day is None else min(min_day, lo)
                max_day = hi if max_day is None else max(max_day, hi)
            part.write(pa.RecordBatch.from_arrays(cols, schema=schemas[table]))
    finally:
        if f is not None:
            f.close()
    rejects[0] = 0
    return {
        "split_id": split["split_id"], "lines": lines, "headers": headers, "rows": rows,
        "rejects": rejects.tolist(), "rating_counts": rating_counts.tolist(), "month_counts": months.tolist(),
        "movie_ids": sorted(movie_ids), "min_day": min_day, "max_day": max_day,
        "customers": customers.encode() if customers is not None else None,
    }


def reject_rows(splits: list[dict[str, Any]], chunk_bytes: int, encoding: str, raw_max_chars: int) -> Iterator[Any]:
    """Pass 2: re-parse one task's splits and yield one row per rejected line.

    Each split row carries ``first_line``, the 1-based number of its first line in the file
    (lines of the earlier splits of that file, counted in pass 1, plus one).
    """
    import pyarrow as pa

    schema = arrow_schemas()["rejects"]
    for split in splits:
        files: list[str] = []
        numbers: list[int] = []
        raws: list[str] = []
        reasons: list[str] = []
        text_encoding = encoding if split["kind"] == "titles" else "utf-8"
        f, chunks, movie = _chunks(split, chunk_bytes)
        offset = int(split["first_line"])
        try:
            for chunk in chunks:
                if split["kind"] == "titles":
                    t = parse_titles_block(chunk, encoding)
                    idx, codes, n_lines = np.asarray(t.reject_line, np.int64), t.reject_code, t.n_lines
                else:
                    p = parse_block(chunk, split["kind"], movie)
                    movie = p.last_movie
                    idx, codes, n_lines = p.reject_line, p.reject_code.tolist(), p.n_lines
                if len(idx):
                    a = np.frombuffer(chunk, np.uint8)
                    starts, stops, _ = line_bounds(a)
                    for i, code in zip(idx.tolist(), codes):
                        raw = bytes(chunk[starts[i]:stops[i]]).decode(text_encoding, errors="replace")
                        files.append(split["name"])
                        numbers.append(offset + i)
                        raws.append(raw[:raw_max_chars])
                        reasons.append(REASONS[int(code)])
                offset += n_lines
        finally:
            f.close()
        yield pa.RecordBatch.from_arrays(
            [pa.array(files, pa.string()), pa.array(numbers, pa.int64()), pa.array(raws, pa.string()),
             pa.array(reasons, pa.string())], schema=schema)
