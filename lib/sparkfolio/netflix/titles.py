"""Parsing ``movie_titles.csv``/``.txt`` (synthetic titles are made in ``synth_titles.py``).

The file is ``id,year,title`` in latin-1, one movie per line, *not* CSV-quoted: titles contain
commas (``394,1916,20,000 Leagues Under the Sea``), so only the first two commas separate fields.
Unknown years are the word ``NULL``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sparkfolio.netflix.parse import BAD_YEAR, EMPTY_LINE, FIELD_COUNT, NON_NUMERIC


@dataclass
class ParsedTitles:
    """Good title lines as columns, plus the 0-based line index and reason code of each reject."""

    movie_id: list[int]
    year: list[int | None]
    title: list[str]
    reject_line: list[int]
    reject_code: list[int]
    n_lines: int


def parse_title_line(text: str) -> tuple[int, int | None, str] | int:
    """Parse one decoded line (newline stripped): ``(id, year or None, title)`` or a reason code."""
    if text == "":
        return EMPTY_LINE
    parts = text.split(",", 2)
    if len(parts) < 3:
        return FIELD_COUNT
    ident, year, title = parts
    if not (ident.isascii() and ident.isdigit() and len(ident) <= 9):
        return NON_NUMERIC
    if year == "NULL":
        return int(ident), None, title
    if not (year.isascii() and year.isdigit() and len(year) == 4):
        return BAD_YEAR
    return int(ident), int(year), title


def parse_titles_block(buf: bytes, encoding: str = "latin-1") -> ParsedTitles:
    """Parse a block of complete lines of a movie-titles file (``\\r\\n`` accepted).

    The file is small (17,770 lines), so a plain loop over lines is fast enough here.
    """
    lines = buf.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the block's final newline ends the last line; it does not start a new one
    out = ParsedTitles([], [], [], [], [], len(lines))
    for i, raw in enumerate(lines):
        if raw.endswith(b"\r"):
            raw = raw[:-1]
        result = parse_title_line(raw.decode(encoding, errors="replace"))
        if isinstance(result, int):
            out.reject_line.append(i)
            out.reject_code.append(result)
        else:
            out.movie_id.append(result[0])
            out.year.append(result[1])
            out.title.append(result[2])
    return out
