"""Vectorised parsing of Netflix Prize text blocks (``M:`` headers followed by data lines).

The ratings files (Kaggle ``combined_data_*.txt`` and the original ``training_set/mv_*.txt``),
``probe.txt`` and ``qualifying.txt`` share one structure: a line ``<movie id>:`` opens a movie and
the lines after it, up to the next header, belong to it. This module turns a block of *complete*
lines (bytes) into column arrays with numpy only: newline, comma and colon positions come from
``np.flatnonzero``, digits are gathered into small matrices and validated as a whole. No Python
code runs per line, which keeps a 64 MB split at a few hundred milliseconds.

Every line is either a header, a good data line or a reject with one reason code; nothing is
dropped. The parser is stateless apart from the movie id in force at the start of the block, so a
byte-range split can be parsed independently once that movie id is known (see ``splits.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np

# Movie state before any header and after a malformed header line.
NO_MOVIE = -1
BAD_MOVIE = -2

# Reject reasons. The codes index REASONS; 0 means the line is fine.
OK = 0
BEFORE_HEADER = 1
FIELD_COUNT = 2
NON_NUMERIC = 3
RATING_RANGE = 4
BAD_DATE = 5
BAD_HEADER = 6
UNDER_BAD_HEADER = 7
EMPTY_LINE = 8
BAD_YEAR = 9
REASONS: tuple[str, ...] = (
    "ok",
    "data before any header",
    "wrong field count",
    "non-numeric field",
    "rating outside 1-5",
    "bad date",
    "bad header",
    "data under a bad header",
    "empty line",
    "bad year",
)

# Data-line layouts of the header-structured kinds: (commas per line, has rating, has date).
LAYOUTS: dict[str, tuple[int, bool, bool]] = {
    "ratings": (2, True, True),     # customer,rating,YYYY-MM-DD
    "probe": (0, False, False),     # customer
    "qualifying": (1, False, True),  # customer,YYYY-MM-DD
}

# Month histogram buckets: 1998-01 .. 2006-12 plus one bucket each for earlier and later dates.
HIST_FIRST_YEAR = 1998
HIST_LAST_YEAR = 2006
N_MONTHS = (HIST_LAST_YEAR - HIST_FIRST_YEAR + 1) * 12

_NL, _CR, _COMMA, _COLON, _DASH = 10, 13, 44, 58, 45
_MAX_DIGITS = 9  # int32-safe: 999,999,999
_PAD = 16
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass
class Parsed:
    """The result of parsing one block of complete lines.

    Attributes
    ----------
    movie, customer, rating, day:
        Good data lines in file order (``rating`` is empty for probe/qualifying, ``day`` is days
        since 1970-01-01 and empty for probe).
    reject_line, reject_code:
        0-based line index inside the block and reason code of every rejected line.
    n_lines, n_headers:
        Lines in the block (the last one may lack its newline) and header lines among them.
    last_movie:
        The movie state after the block's last line, to carry into the next block.
    month_hist:
        Good lines per calendar month (``N_MONTHS`` buckets + before + after), kinds with a date.
    """

    movie: np.ndarray
    customer: np.ndarray
    rating: np.ndarray
    day: np.ndarray
    reject_line: np.ndarray
    reject_code: np.ndarray
    n_lines: int
    n_headers: int
    last_movie: int
    month_hist: np.ndarray = field(default_factory=lambda: np.zeros(N_MONTHS + 2, np.int64))


def line_bounds(a: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Start, content-stop (``\\r`` excluded) and end (newline position) of every line of ``a``.

    The final line may lack its newline (end of file); ``end`` is then ``len(a)``.
    """
    ends = np.flatnonzero(a == _NL)
    return _bounds_from_ends(a, ends)


def _bounds_from_ends(a: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if a.size and a[-1] != _NL:
        ends = np.append(ends, a.size)
    starts = np.empty(ends.size, np.int64)
    if ends.size:
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    stops = ends.astype(np.int64, copy=True)
    nonempty = np.flatnonzero(ends > starts)
    crlf = nonempty[a[ends[nonempty] - 1] == _CR]
    stops[crlf] -= 1
    return starts, stops, ends


def _padded(a: np.ndarray) -> np.ndarray:
    """``a`` with ``_PAD`` newline bytes on both sides, so fixed-width gathers never go out of range."""
    p = np.full(a.size + 2 * _PAD, _NL, np.uint8)
    p[_PAD:_PAD + a.size] = a
    return p


def _rows(p: np.ndarray, first: np.ndarray, width: int) -> np.ndarray:
    """The ``width`` bytes of ``p`` from each position ``first + _PAD``, as an ``(n, width)`` matrix.

    A strided view turns this into one row gather instead of ``width`` separate gathers.
    """
    view = np.lib.stride_tricks.sliding_window_view(p, width)
    return view[first + _PAD]


_ZEROS8 = np.uint64(0x3030303030303030)
_HIGH_NIBBLES = np.uint64(0xF0F0F0F0F0F0F0F0)
_SIX8 = np.uint64(0x0606060606060606)


def _swar_digits(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eight ASCII digits per uint64 (first character in the low byte) to their value, all at once.

    SIMD-within-a-register: a byte is a digit when its high nibble is 3 and adding 6 to it does
    not carry into the high nibble; the value then comes from three multiply-shift steps that
    combine digit pairs, then pairs of pairs (the well-known 8-digit parsing trick), instead of
    eight passes over the digits. Returns ``(values, all bytes were digits)``.
    """
    ok = ((x & _HIGH_NIBBLES) == _ZEROS8) & (((x + _SIX8) & _HIGH_NIBBLES) == _ZEROS8)
    v = x & np.uint64(0x0F0F0F0F0F0F0F0F)
    v = (v * np.uint64(2561)) >> np.uint64(8)
    v = ((v & np.uint64(0x00FF00FF00FF00FF)) * np.uint64(6553601)) >> np.uint64(16)
    v = ((v & np.uint64(0x0000FFFF0000FFFF)) * np.uint64(42949672960001)) >> np.uint64(32)
    return v & np.uint64(0xFFFFFFFF), ok


def _words(p: np.ndarray, dtype: str) -> np.ndarray:
    """An overlapping view of ``p`` with one (unaligned) word of ``dtype`` starting at every byte.

    Gathering ``view[pos]`` then loads a whole field in one step; numpy handles the unaligned reads.
    """
    size = np.dtype(dtype).itemsize
    return np.ndarray(shape=(p.size - size + 1,), dtype=dtype, buffer=p, offset=0, strides=(1,))


def _parse_uint8(p: np.ndarray, fs: np.ndarray, fe: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`parse_uint` for fields of at most 8 bytes: one uint64 per field, SWAR-converted."""
    x = _words(p, "<u8")[fe - 8 + _PAD]
    # Bytes left of the field (the low bytes: little-endian, leftmost character first) become '0'.
    fill = (8 - np.clip(length, 0, 8)).astype(np.uint64) * np.uint64(8)
    low = np.where(fill >= 64, np.uint64(0xFFFFFFFFFFFFFFFF), (np.uint64(1) << np.minimum(fill, 63)) - np.uint64(1))
    x = (x & ~low) | (_ZEROS8 & low)
    values, ok = _swar_digits(x)
    ok &= (length >= 1) & (length <= 8)
    values = values.astype(np.int64)
    values[~ok] = 0
    return values, ok


def parse_uint(p: np.ndarray, fs: np.ndarray, fe: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse the unsigned decimal fields ``a[fs:fe]`` (one per row) without a per-row Python loop.

    ``p`` is the block padded by :func:`_padded`; ``fs``/``fe`` are positions in the unpadded
    block. Fields are gathered right-aligned into an ``(n, width)`` matrix (width <= 9, int32-safe)
    and folded column by column; bytes left of the field are masked to zero, which does not change
    the value. A field is valid when it has 1-9 bytes that are all ASCII digits.
    Returns ``(values as int64, valid mask)``; invalid rows get 0.
    """
    n = fs.size
    if n == 0:
        return np.zeros(0, np.int64), np.zeros(0, bool)
    length = fe - fs
    longest = int(length.max())
    if longest == 1 and int(length.min()) == 1:  # ratings: one byte each
        digit = p[fs + _PAD] - np.uint8(48)
        ok = digit <= 9
        return np.where(ok, digit, 0).astype(np.int64), ok
    if longest <= 8:
        return _parse_uint8(p, fs, fe, length)
    ok = (length >= 1) & (length <= _MAX_DIGITS)
    width = int(min(_MAX_DIGITS, max(1, longest)))
    digits = _rows(p, np.maximum(fe - width, -_PAD), width) - np.uint8(48)  # below '0' wraps >= 208
    # Column j belongs to the field when j >= width - length.
    outside = np.arange(width)[None, :] < (width - np.minimum(length, width))[:, None]
    digits[outside] = 0
    ok &= (digits <= 9).all(axis=1)
    values = np.zeros(n, np.int32)
    for j in range(width):
        values *= 10
        values += digits[:, j]
    out = values.astype(np.int64)
    out[~ok] = 0
    return out, ok


def _month_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tables keyed by ``(year - 1900) * 100 + month`` for any two-digit month.

    ``start``: days since 1970-01-01 of the month's first day; ``length``: days in the month, 0 for
    an impossible month (00, 13..99), so one comparison checks the day; ``bucket``: the month
    histogram bucket. Twenty thousand entries replace all calendar arithmetic per row.
    """
    key = np.arange((TABLE_LAST_YEAR - TABLE_FIRST_YEAR + 1) * 100)
    y = TABLE_FIRST_YEAR + key // 100
    m = key % 100
    month_ok = (m >= 1) & (m <= 12)
    leap = ((y % 4 == 0) & (y % 100 != 0)) | (y % 400 == 0)
    length = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[np.where(month_ok, m, 0)]
    length = np.where(month_ok, length + ((m == 2) & leap), 0)
    start = days_from_civil(y, np.where(month_ok, m, 1), np.ones_like(y))
    bucket = (y - HIST_FIRST_YEAR) * 12 + (m - 1)
    bucket = np.where(bucket < 0, N_MONTHS, np.where(bucket >= N_MONTHS, N_MONTHS + 1, bucket))
    return start.astype(np.int32), length.astype(np.int32), bucket.astype(np.int64)


# Dates outside 1900-2099 are rejected as bad dates: the Prize data spans 1999-11-11..2005-12-31.
TABLE_FIRST_YEAR = 1900
TABLE_LAST_YEAR = 2099
_MONTHS: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None


def parse_dates(p: np.ndarray, fs: np.ndarray, fe: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Parse ``YYYY-MM-DD`` fields (``p`` padded, positions unpadded) into days since 1970-01-01.

    Returns ``(days int32, month bucket index, valid mask)``; the month index is for histograms.
    """
    global _MONTHS
    n = fs.size
    if n == 0:
        return np.zeros(0, np.int32), np.zeros(0, np.int64), np.zeros(0, bool)
    if _MONTHS is None:
        _MONTHS = _month_tables()
    start, length, buckets = _MONTHS
    ok = (fe - fs) == 10
    pos = np.minimum(fs, p.size - 2 * _PAD) + _PAD
    w = _words(p, "<u8")[pos]                       # "YYYY-MM-" (first character in the low byte)
    u = _words(p, "<u2")[pos + 8].astype(np.uint64)  # "DD"
    ok &= ((w >> np.uint64(32)) & np.uint64(0xFF)) == _DASH
    ok &= (w >> np.uint64(56)) == _DASH
    # Rebuild "YYYYMMDD" in one word, check its eight digits at once and convert digit pairs
    # (the first SWAR step): the four 16-bit lanes then hold 20 | 05 | MM | DD.
    x = (w & np.uint64(0xFFFFFFFF)) | ((w >> np.uint64(8)) & np.uint64(0x0000FFFF00000000)) | (u << np.uint64(48))
    ok &= ((x & _HIGH_NIBBLES) == _ZEROS8) & (((x + _SIX8) & _HIGH_NIBBLES) == _ZEROS8)
    pairs = (((x & np.uint64(0x0F0F0F0F0F0F0F0F)) * np.uint64(2561)) >> np.uint64(8)).view(np.uint16).reshape(-1, 4)
    lanes = pairs.astype(np.int32) & 0xFF  # low byte of each lane: the 2-digit value 0..99
    year = lanes[:, 0] * 100 + lanes[:, 1]
    ok &= (year >= TABLE_FIRST_YEAR) & (year <= TABLE_LAST_YEAR)
    key = (year - TABLE_FIRST_YEAR) * 100 + lanes[:, 2]
    key[~ok] = 1
    day = lanes[:, 3]
    ok &= (day >= 1) & (day <= length[key])
    days = start[key] + (day - 1)
    return days.astype(np.int32), buckets[key], ok


def days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm, vectorised)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    mp = (m + 9) % 12
    doy = (153 * mp + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_header_value(line: bytes) -> int:
    """The movie state a single header-like line sets: its id, or ``BAD_MOVIE`` if malformed."""
    text = line.rstrip(b"\r\n")
    if text.endswith(b":") and text.count(b":") == 1 and 1 <= len(text) - 1 <= _MAX_DIGITS and text[:-1].isdigit():
        return int(text[:-1])
    return BAD_MOVIE


def parse_block(buf: bytes | memoryview, kind: str, movie: int) -> Parsed:
    """Parse a block of complete lines of a header-structured file.

    Parameters
    ----------
    buf:
        Whole lines; only the last may lack its newline. ``\\r\\n`` endings are accepted.
    kind:
        ``"ratings"``, ``"probe"`` or ``"qualifying"`` (the data-line layout).
    movie:
        The movie id in force before the first line (``NO_MOVIE`` at the start of a file).

    Returns
    -------
    Parsed
        Columns of the good lines, the rejects with reasons, counters and the carried movie state.
    """
    n_commas, has_rating, has_date = LAYOUTS[kind]
    a = np.frombuffer(buf, dtype=np.uint8)
    # One pass finds newlines, commas and colons together; the commas of a data line are the
    # delimiters between its newline and the previous one, so no per-comma search is needed
    # (a line holding a colon is a header, never a data line).
    delim = np.flatnonzero((a == _NL) | (a == _COMMA) | (a == _COLON))
    kinds = a[delim]
    is_nl = kinds == _NL
    nl_at = np.flatnonzero(is_nl)
    starts, stops, ends = _bounds_from_ends(a, delim[nl_at])
    if ends.size > nl_at.size:  # a last line without newline: a virtual delimiter at the end
        nl_at = np.append(nl_at, delim.size)
    p = _padded(a)
    n = int(ends.size)
    empty_i32 = np.zeros(0, np.int32)
    if n == 0:
        return Parsed(empty_i32, empty_i32, np.zeros(0, np.int8), empty_i32, np.zeros(0, np.int64),
                      np.zeros(0, np.int8), 0, 0, movie)

    # Header lines: any line holding a colon (data lines never do). Valid ones are `digits:`.
    colons = delim[kinds == _COLON]
    hdr = np.unique(np.searchsorted(ends, colons)) if colons.size else np.zeros(0, np.int64)
    hdr_values = np.zeros(hdr.size, np.int64)
    if hdr.size:
        colons_per_line = np.bincount(np.searchsorted(ends, colons), minlength=n)[hdr]
        last_is_colon = a[np.maximum(stops[hdr] - 1, 0)] == _COLON
        ids, id_ok = parse_uint(p, starts[hdr], stops[hdr] - 1)
        good = (colons_per_line == 1) & last_is_colon & (stops[hdr] > starts[hdr]) & id_ok
        hdr_values = np.where(good, ids, BAD_MOVIE)
    # Movie in force on every line: the last header at or before it (the carried one before any).
    seg_values = np.concatenate(([movie], hdr_values)).astype(np.int64)
    seg_bounds = np.concatenate(([0], hdr, [n]))
    line_movie = np.repeat(seg_values, np.diff(seg_bounds))
    is_hdr = np.zeros(n, bool)
    is_hdr[hdr] = True

    code = np.zeros(n, np.int8)
    code[hdr[hdr_values == BAD_MOVIE]] = BAD_HEADER
    data = ~is_hdr
    empty = data & (stops == starts)
    code[empty] = EMPTY_LINE
    live = data & ~empty
    code[live & (line_movie == NO_MOVIE)] = BEFORE_HEADER
    code[live & (line_movie == BAD_MOVIE)] = UNDER_BAD_HEADER
    live &= line_movie >= 0

    # Field separators: commas per line must match the layout exactly.
    prev_nl = np.empty(n, np.int64)
    prev_nl[0] = -1
    prev_nl[1:] = nl_at[:-1]
    per_line = nl_at - prev_nl - 1
    first_comma = prev_nl + 1  # index into delim of the line's first comma (when it has one)
    wrong = live & (per_line != n_commas)
    code[wrong] = FIELD_COUNT
    cand = np.flatnonzero(live & ~wrong)

    fs = starts[cand]
    c1 = delim[first_comma[cand]] if n_commas >= 1 else stops[cand]
    customer, cust_ok = parse_uint(p, fs, c1)
    bad = ~cust_ok
    rating = np.zeros(cand.size, np.int64)
    if has_rating:
        c2 = delim[first_comma[cand] + 1]
        rating, r_num = parse_uint(p, c1 + 1, c2)
        code[cand[~bad & ~r_num]] = NON_NUMERIC
        bad |= ~r_num
        r_range = (rating >= 1) & (rating <= 5)
        code[cand[~bad & ~r_range]] = RATING_RANGE
        bad |= ~r_range
        date_start = c2 + 1
    else:
        date_start = c1 + 1
    code[cand[~cust_ok]] = NON_NUMERIC
    days = np.zeros(cand.size, np.int32)
    bucket = np.zeros(cand.size, np.int64)
    if has_date:
        days, bucket, d_ok = parse_dates(p, date_start, stops[cand])
        code[cand[~bad & ~d_ok]] = BAD_DATE
        bad |= ~d_ok

    keep = ~bad
    rows = cand[keep]
    month_hist = np.zeros(N_MONTHS + 2, np.int64)
    if has_date and rows.size:
        month_hist = np.bincount(bucket[keep], minlength=N_MONTHS + 2).astype(np.int64)
    rejects = np.flatnonzero(code != OK)
    return Parsed(
        movie=line_movie[rows].astype(np.int32),
        customer=customer[keep].astype(np.int32),
        rating=rating[keep].astype(np.int8) if has_rating else np.zeros(0, np.int8),
        day=days[keep] if has_date else empty_i32,
        reject_line=rejects.astype(np.int64),
        reject_code=code[rejects],
        n_lines=n,
        n_headers=int(hdr.size),
        last_movie=int(seg_values[-1]),
        month_hist=month_hist,
    )


def runs_unique(values: np.ndarray) -> np.ndarray:
    """Distinct values of an array made of long runs (movie ids in file order), cheaply."""
    if values.size == 0:
        return np.zeros(0, values.dtype)
    change = np.flatnonzero(values[1:] != values[:-1]) + 1
    return np.unique(values[np.concatenate(([0], change))])
