"""The executor side of ``fifa-report``'s players pass: what one Spark task does with its splits.

:func:`parse_splits` reads the lines each byte-range split owns (:mod:`sparkfolio.runtime.byteranges`;
a compressed file, or any file when quoted fields may hold line breaks, is streamed whole), turns
them into text columns (:mod:`sparkfolio.fifa.source`), parses those with
:func:`sparkfolio.fifa.clean.parse_rows`, writes the kept players and the rejects straight to one
Parquet part of each staged table and returns one small row of counters. It takes one task's
splits (plain dicts planned on the driver), is run by ``runtime.tasks.run_tasks`` and captures
only plain values (the header, the encoding, folder URIs), never the session.
"""

from __future__ import annotations

from typing import Any, Iterator

import numpy as np
import pyarrow as pa

from sparkfolio.fifa import clean, source
from sparkfolio.runtime import fsio
from sparkfolio.runtime.byteranges import first_line_start, owned_chunks, stream_chunks

#: What a task returns: :data:`sparkfolio.fifa.clean.ROW_COUNTERS` and the empty values per
#: counted column, added up over its splits.
COUNTS_DDL = "counts array<long>"
#: A task reads and parses its lines in blocks of about this size (about 30,000 rows of the
#: Kaggle layout; each block is one row group of ``players``).
READ_BLOCK_BYTES = 16 << 20

#: Columns of ``players`` not worth dictionary-encoding: (nearly) one distinct value a row.
_NO_DICTIONARY = {"row_index", "player_id", "name", "photo_url"}


def parse_splits(splits: list[dict[str, Any]], header: list[str], encoding: str, multi_line: bool, players_uri: str,
                 rejects_uri: str, block_bytes: int = READ_BLOCK_BYTES) -> Iterator[Any]:
    """Parse the splits of one task, write its ``players`` and ``rejects`` parts, yield its counters.

    A split is a dict of ``split_id, path, source_file, compression, start, end``.

    ``header`` is the normalised header of the input (every file starts with it);
    ``players_uri`` and ``rejects_uri`` are the staged table folders. The task writes one part
    per table, named after its first split id, so a retried task overwrites its own parts and
    nothing else; a table it has no rows for gets no part.
    """
    from sparkfolio.runtime.malloc import keep_freed_memory

    keep_freed_memory()  # the parse allocates and frees large arrays per block (see malloc.py)
    if not splits:
        return
    name = f"part-{min(s['split_id'] for s in splits):05d}.parquet"
    columns = clean.quality_columns(header)
    counts = np.zeros(len(clean.ROW_COUNTERS) + len(columns), np.int64)
    dictionary = [c for c in clean.PLAYER_COLUMNS if c not in _NO_DICTIONARY]
    players = fsio.ParquetPart(fsio.join(players_uri, name), clean.PLAYERS_SCHEMA, dictionary)
    rejects = fsio.ParquetPart(fsio.join(rejects_uri, name), clean.REJECTS_SCHEMA)
    try:
        for split in splits:
            for fields, corrupt in split_rows(split, len(header), encoding, multi_line, block_bytes):
                parsed = clean.parse_rows(fields, corrupt, header, split["source_file"])
                players.write(clean.kept_players(parsed))
                rejects.write(clean.reject_rows(parsed))
                counts += clean.quality_counts(parsed, columns)
    except BaseException:
        players.discard()
        rejects.discard()
        raise
    for part in (players, rejects):
        if part.rows:
            part.commit()
        else:
            part.discard()
    yield pa.RecordBatch.from_pylist([{"counts": counts.tolist()}], schema=pa.schema([("counts", pa.list_(pa.int64()))]))


def split_rows(split: dict[str, Any], width: int, encoding: str, multi_line: bool,
               block_bytes: int = READ_BLOCK_BYTES) -> Iterator[source.Rows]:
    """The text columns of the CSV records a split owns, block by block (its file's header line skipped)."""
    if multi_line or split["compression"]:
        f = fsio.open_decompressed(split["path"], split["compression"])
        blocks = stream_chunks(f, block_bytes)
    else:
        f = fsio.open_read(split["path"])
        blocks = owned_chunks(f, first_line_start(f, split["start"]), split["end"], block_bytes)
    try:
        if split["start"] == 0:
            blocks = source.skip_first_line(blocks)
        if multi_line:
            try:
                yield from source.stream_rows(blocks, width, encoding, block_bytes)
            except pa.ArrowInvalid as exc:
                raise ValueError(f"{split['path']}: cannot read a CSV record longer than {block_bytes >> 20} MiB "
                                 f"(with multi_line, a quote left open runs on to the end of the file): {exc}") from None
        else:
            for block in blocks:
                yield from source.block_rows(block, width, encoding)
    finally:
        f.close()
