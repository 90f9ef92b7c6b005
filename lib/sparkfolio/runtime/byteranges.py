"""Byte-range splits of input files and reading the lines a split owns.

Follows Hadoop's ``TextInputFormat`` convention: a split ``[start, end)`` owns every line that
*starts* inside it, so a line crossing a boundary is read by exactly one task. Compressed files
cannot be split: one task streams each of them from the start. Jobs that read their text files in
their own Spark tasks (``netflix-ingest``, ``fifa-report``) plan the splits on the driver with
:func:`split_size`, :func:`plan_splits` and :func:`pack_splits` and read them on the executors
with :func:`first_line_start` and :func:`owned_chunks` (or :func:`stream_chunks`).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import IO, Iterator

_LOOKAHEAD = 1 << 16       # reading past a split's end to finish its last line
#: The compressed files the tasks can read (``fsio.open_decompressed``), by suffix of any case.
COMPRESSED_SUFFIX = re.compile(r"\.(gz|bz2)$", re.IGNORECASE)


@dataclass(frozen=True)
class Split:
    """One task's share of one file: bytes ``[start, end)`` (the whole file when compressed).

    ``kind`` is the caller's label of what the file holds (a Netflix ratings or titles file...).
    """

    split_id: int
    file_index: int
    path: str
    kind: str
    compression: str | None
    start: int
    end: int


def compression_of(name: str) -> str | None:
    """``"gz"`` or ``"bz2"`` for a file name with that suffix (any case), else ``None``."""
    m = COMPRESSED_SUFFIX.search(name)
    return m.group(1).lower() if m else None


def split_size(split_size_mb: float, splittable_bytes: int, parallelism: int) -> int:
    """Bytes per split: ``split_size_mb``, but small enough to give every core work.

    Like Spark's own file sources (``maxPartitionBytes`` capped by total bytes / default
    parallelism), a 60 MB file on 8 cores becomes 8 splits rather than one; splits never go
    below 1 MiB for that reason (an explicitly smaller ``split_size_mb`` still wins).
    """
    wanted = max(1, int(split_size_mb * 1024 * 1024))
    per_core = max(1 << 20, -(-splittable_bytes // max(1, parallelism)))
    return min(wanted, per_core)


def plan_splits(files: list[tuple[str, int, str, str | None]], split_bytes: int) -> list[Split]:
    """Cut ``(path, size, kind, compression)`` files into splits of about ``split_bytes``.

    Uncompressed files are cut into ``ceil(size / split_bytes)`` equal ranges; compressed ones
    (gzip, bzip2) and empty files make a single split each.
    """
    if split_bytes < 1:
        raise ValueError("split_bytes must be positive")
    out: list[Split] = []
    for index, (path, size, kind, compression) in enumerate(files):
        if compression or size == 0:
            out.append(Split(len(out), index, path, kind, compression, 0, size))
            continue
        pieces = max(1, math.ceil(size / split_bytes))
        step = math.ceil(size / pieces)
        for k in range(pieces):
            start = k * step
            end = min(size, (k + 1) * step)
            if start < end:
                out.append(Split(len(out), index, path, kind, compression, start, end))
    return out


def owned_chunks(f: IO[bytes], begin: int | None, end: int, chunk_bytes: int) -> Iterator[bytes]:
    """Yield the lines owned by a split of the seekable file ``f``, in blocks of whole lines.

    ``begin`` is the split's first line start (:func:`first_line_start` of its start offset) and
    ``end`` its end offset: the split owns the lines starting in ``[begin, end)``. The last
    block's last line may lack a newline at end of file. Blocks are about ``chunk_bytes`` long, so
    memory stays bounded whatever the split size.
    """
    if begin is None or begin >= end:
        return
    f.seek(begin)
    pos = begin
    carry = b""
    while pos < end:
        block = f.read(min(chunk_bytes, end - pos))
        if not block:
            break
        pos += len(block)
        data = carry + block if carry else block
        if pos >= end:
            carry = data
            break
        lines, carry = _whole_lines(data)
        if lines:
            yield lines
    if pos >= end and carry and not carry.endswith(b"\n"):
        # The split's last line started before `end` and finishes in the next split's bytes.
        tail = []
        while True:
            block = f.read(_LOOKAHEAD)
            if not block:
                break
            i = block.find(b"\n")
            if i >= 0:
                tail.append(block[: i + 1])
                break
            tail.append(block)
        carry += b"".join(tail)
    if carry:
        yield carry


def stream_chunks(f: IO[bytes], chunk_bytes: int) -> Iterator[bytes]:
    """Yield a whole (possibly decompressing) stream in blocks of complete lines."""
    carry = b""
    while True:
        block = f.read(chunk_bytes)
        if not block:
            break
        lines, carry = _whole_lines(carry + block if carry else block)
        if lines:
            yield lines
    if carry:
        yield carry


def _whole_lines(data: bytes) -> tuple[bytes, bytes]:
    """``data`` cut after its last newline: the whole lines, and the unfinished line after them."""
    cut = data.rfind(b"\n") + 1
    return data[:cut], data[cut:]


def first_line_start(f: IO[bytes], start: int) -> int | None:
    """Offset of the first line starting at or after ``start`` (``None`` if none does)."""
    if start == 0:
        return 0
    # The byte before `start` decides: a newline there means a line starts exactly at `start`.
    pos = start - 1
    f.seek(pos)
    while True:
        block = f.read(_LOOKAHEAD)
        if not block:
            return None
        i = block.find(b"\n")
        if i >= 0:
            return pos + i + 1
        pos += len(block)


def pack_splits(splits: list[Split], target_bytes: int, open_cost: int | None = None) -> list[list[Split]]:
    """Group splits into tasks of about ``target_bytes``, counting ``open_cost`` per split.

    ``open_cost`` (default: 1/64 of the target, at most 1 MiB) stands for the fixed price of
    opening a file, so a task never gets thousands of empty files.
    Big files are already cut to ``target_bytes``, so they keep one split per task; the many
    small files of the original layout (17,770 ``mv_*.txt`` of ~110 KB) share tasks, as Spark's
    file sources pack small files into one partition, instead of paying a task per file.
    """
    if open_cost is None:
        open_cost = min(1 << 20, max(1, target_bytes // 64))
    bins: list[list[Split]] = []
    current: list[Split] = []
    used = 0
    for s in splits:
        cost = (s.end - s.start) + open_cost
        if current and used + cost > target_bytes:
            bins.append(current)
            current, used = [], 0
        current.append(s)
        used += cost
    if current:
        bins.append(current)
    return bins
