"""The Netflix Prize file formats: constants and fast, vectorised writers of their text lines.

Rating files (``combined_data_N.txt`` and ``training_set/mv_0000001.txt``) hold a header line
``M:`` followed by ``customer_id,rating,YYYY-MM-DD`` lines; ``probe.txt`` holds ``M:`` then
customer ids; ``qualifying.txt`` holds ``M:`` then ``customer_id,YYYY-MM-DD``; ``movie_titles``
holds latin-1 ``id,year,title`` lines where the year may be ``NULL`` and titles contain commas.

The writers turn whole numpy arrays into bytes at once (digits scattered into a byte buffer)
because the generator writes up to 100 million lines and per-line Python would dominate.
"""

from __future__ import annotations

import datetime as _dt
import functools

import numpy as np

#: Days since 1970-01-01 of the first and last rating dates of the real data set.
FIRST_DAY = (_dt.date(1999, 11, 11) - _dt.date(1970, 1, 1)).days
LAST_DAY = (_dt.date(2005, 12, 31) - _dt.date(1970, 1, 1)).days

#: Standard file names (without a ``.gz``/``.bz2`` suffix) of both published layouts.
COMBINED_NAME = "combined_data_{index}.txt"
TRAINING_SET_DIR = "training_set"
MOVIE_FILE_NAME = "mv_{movie:07d}.txt"
PROBE_NAME = "probe.txt"
QUALIFYING_NAME = "qualifying.txt"
TITLES_KAGGLE = "movie_titles.csv"
TITLES_ORIGINAL = "movie_titles.txt"

#: The encoding of ``movie_titles`` in both layouts (titles such as "Amélie" are latin-1).
TITLES_ENCODING = "latin-1"

_ZERO, _COMMA, _COLON = 48, 44, 58


def count_digits(values: np.ndarray) -> np.ndarray:
    """Number of decimal digits of each non-negative integer (0 has one digit)."""
    v = np.asarray(values, dtype=np.int64)
    n = np.ones(v.shape, dtype=np.int64)
    limit = 10
    for _ in range(18):
        more = v >= limit
        if not more.any():
            break
        n += more
        limit *= 10
    return n


_TABLE_FIRST = (_dt.date(1900, 1, 1) - _dt.date(1970, 1, 1)).days
_TABLE_LAST = (_dt.date(2099, 12, 31) - _dt.date(1970, 1, 1)).days


@functools.lru_cache(maxsize=1)
def _date_table() -> np.ndarray:
    """``YYYY-MM-DD`` bytes of every day of 1900-2099 as a (days, 10) uint8 table (built once)."""
    days = np.arange(_TABLE_FIRST, _TABLE_LAST + 1).astype("datetime64[D]")
    text = np.datetime_as_string(days, unit="D").astype("S10")
    return np.frombuffer(text.tobytes(), dtype=np.uint8).reshape(-1, 10)


def format_movie_blocks(
    movie_ids: np.ndarray,
    counts: np.ndarray,
    customers: np.ndarray,
    ratings: np.ndarray | None = None,
    days: np.ndarray | None = None,
    newline: bytes = b"\n",
) -> bytes:
    """Format consecutive movie blocks: for each movie ``M:`` then one line per row.

    Rows of movie ``movie_ids[j]`` are the next ``counts[j]`` entries of ``customers`` (and of
    ``ratings`` / ``days`` when given). A row is ``customer[,rating][,YYYY-MM-DD]``, so the same
    writer makes rating files (all three), ``probe.txt`` (customers only) and ``qualifying.txt``
    (customers and days). Movies with no rows still get their header line.

    Parameters
    ----------
    movie_ids, counts:
        One entry per movie block, in output order.
    customers, ratings, days:
        One entry per row; ``days`` are days since 1970-01-01.
    newline:
        ``b"\\n"`` (the real files) or ``b"\\r\\n"``.
    """
    movie_ids = np.asarray(movie_ids, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    customers = np.asarray(customers, dtype=np.int64)
    n_rows = int(counts.sum())
    if len(customers) != n_rows:
        raise ValueError(f"counts sum to {n_rows} rows but {len(customers)} customers were given")
    nl = np.frombuffer(newline, dtype=np.uint8)
    n_head = len(movie_ids)
    n_lines = n_rows + n_head
    # Line order: header j is followed by its counts[j] rows.
    head_line = np.cumsum(counts) - counts + np.arange(n_head)
    is_head = np.zeros(n_lines, dtype=bool)
    is_head[head_line] = True
    values = np.empty(n_lines, dtype=np.int64)
    values[is_head] = movie_ids
    values[~is_head] = customers
    # Each line is laid out in a fixed-width byte matrix: the number right-aligned in the first
    # `width` columns, then the tail (":\n" or ",r,YYYY-MM-DD\n"); a mask of the used cells
    # compacts it into the text in one step, with no per-digit scatter.
    digits = count_digits(values)
    width = int(digits.max()) if n_lines else 1
    data_tail = len(nl) + (2 if ratings is not None else 0) + (11 if days is not None else 0)
    head_tail = 1 + len(nl)
    tail = max(data_tail, head_tail)
    mat = np.empty((n_lines, width + tail), dtype=np.uint8)
    rest = values.copy()
    for k in range(width):
        mat[:, width - 1 - k] = _ZERO + rest % 10
        rest //= 10
    rows = np.flatnonzero(~is_head)
    heads = head_line
    mat[heads, width] = _COLON
    mat[heads, width + 1:width + 1 + len(nl)] = nl
    col = width
    if ratings is not None:
        mat[rows, col] = _COMMA
        mat[rows, col + 1] = _ZERO + np.asarray(ratings, dtype=np.int64)
        col += 2
    if days is not None and n_rows:
        d = np.asarray(days, dtype=np.int64)
        if int(d.min()) < _TABLE_FIRST or int(d.max()) > _TABLE_LAST:
            raise ValueError("dates must lie in 1900-2099")
        mat[rows, col] = _COMMA
        mat[rows, col + 1:col + 11] = _date_table()[d - _TABLE_FIRST]
        col += 11
    mat[rows, col:col + len(nl)] = nl
    cols = np.arange(width + tail)
    used_tail = np.where(is_head, head_tail, data_tail)
    mask = (cols >= (width - digits)[:, None]) & (cols < (width + used_tail)[:, None])
    return mat[mask].tobytes()


def format_titles(movie_ids: np.ndarray, years: np.ndarray, titles: list[str], newline: bytes = b"\n") -> bytes:
    """``movie_titles`` lines ``id,year,title`` in latin-1; a year below 0 is written ``NULL``."""
    parts = []
    nl = newline.decode("ascii")
    for mid, year, title in zip(movie_ids.tolist(), years.tolist(), titles):
        parts.append(f"{mid},{'NULL' if year < 0 else year},{title}{nl}")
    return "".join(parts).encode(TITLES_ENCODING)
