"""Finding the movie a Netflix ratings split starts in.

A split of a ratings file owns the lines starting in its byte range (Hadoop's rule, see
:mod:`sparkfolio.runtime.byteranges`). Because a movie's ratings follow its ``M:`` header, a split
that starts mid-movie scans backwards for the last header before its first line
(:func:`header_before`); a movie therefore spans any number of splits.
"""

from __future__ import annotations

from typing import IO

from sparkfolio.netflix.parse import NO_MOVIE, parse_header_value

_SCAN_BLOCK = 1 << 20      # backwards header search reads 1 MiB at a time


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
