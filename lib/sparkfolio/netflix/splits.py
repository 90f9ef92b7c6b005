"""Byte-range splits of input files and reading the lines a split owns.

Follows Hadoop's ``TextInputFormat`` convention: a split ``[start, end)`` owns every line that
*starts* inside it, so a line crossing a boundary is read by exactly one task. Because a movie's
ratings follow its ``M:`` header, a split that starts mid-movie scans backwards for the last header
before its first line (``header_before``); a movie therefore spans any number of splits.
Compressed files cannot be split: one task streams each of them from the start.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import IO, Iterator

from sparkfolio.netflix.parse import NO_MOVIE, parse_header_value

_SCAN_BLOCK = 1 << 20      # backwards header search reads 1 MiB at a time
_LOOKAHEAD = 1 << 16       # reading past a split's end to finish its last line


@dataclass(frozen=True)
class Split:
    """One task's share of one file: bytes ``[start, end)`` (the whole file when compressed)."""

    split_id: int
    file_index: int
    path: str
    kind: str
    compression: str | None
    start: int
    end: int


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
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        yield data[: cut + 1]
        carry = data[cut + 1:]
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
        data = carry + block if carry else block
        cut = data.rfind(b"\n")
        if cut < 0:
            carry = data
            continue
        yield data[: cut + 1]
        carry = data[cut + 1:]
    if carry:
        yield carry


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


def header_before(f: IO[bytes], begin: int) -> int:
    """The movie state in force at ``begin`` (a line start): the last header line before it.

    Scans backwards for the last line holding a colon (only header lines do). Returns the movie
    id, ``BAD_MOVIE`` when that line is a malformed header, or ``NO_MOVIE`` when no header
    precedes ``begin`` (its lines are then data before any header).
    """
    hi = begin
    while hi > 0:
        lo = max(0, hi - _SCAN_BLOCK)
        f.seek(lo)
        block = f.read(hi - lo)
        i = block.rfind(b":")
        if i >= 0:
            return parse_header_value(_line_around(f, lo + i, begin))
        hi = lo
    return NO_MOVIE


def _line_around(f: IO[bytes], pos: int, limit: int) -> bytes:
    """The whole line holding byte ``pos`` (which lies before ``limit``, a line start)."""
    lo = pos
    while lo > 0:  # back to the previous newline
        step = min(lo, 4096)
        f.seek(lo - step)
        block = f.read(step)
        i = block.rfind(b"\n")
        if i >= 0:
            lo = lo - step + i + 1
            break
        lo -= step
    f.seek(lo)
    parts: list[bytes] = []
    remaining = limit - lo
    while remaining > 0:  # forward to the line's own newline (before `limit`, which starts a line)
        block = f.read(min(4096, remaining))
        if not block:
            break
        remaining -= len(block)
        skip = max(0, pos - lo - sum(len(b) for b in parts))
        j = block.find(b"\n", skip)
        if j >= 0:
            parts.append(block[: j + 1])
            break
        parts.append(block)
    return b"".join(parts)


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
