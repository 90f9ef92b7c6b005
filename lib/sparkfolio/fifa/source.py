"""Reading the FIFA 19 CSV as it is: encoding, header check, byte-range splits, every field as text.

The Kaggle file is UTF-8 with a BOM, its first column is pandas' unnamed index (an empty header
cell), names and dates with commas are double-quoted and quotes inside are doubled (RFC 4180).

The driver (:func:`plan_input`) lists the files, reads and checks the header (the first line of
the first non-empty file) and cuts the files into byte-range splits
(:mod:`sparkfolio.runtime.byteranges`); that is all it reads of the data. The Spark tasks read
their splits themselves (:mod:`sparkfolio.fifa.players_tasks`) and turn each block of lines into
text columns with :func:`block_rows` (or :func:`stream_rows` when quoted fields may hold line
breaks); :mod:`sparkfolio.fifa.clean` parses those into typed columns, so a bad value becomes a
reject with its reason instead of a silent null from schema inference.

Every file starts with its own header line, which is skipped. A line whose field count differs
from the header is kept as Spark's PERMISSIVE CSV mode kept it: its leading fields (padded with
nulls, or cut to the header's width) plus the raw line as the *corrupt* text, which the cleaning
turns into a ``(line)`` reject. Unless ``multi_line`` is set, a record never spans lines: a line
with an unbalanced quote is read on its own, as Spark reads it.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from dataclasses import dataclass
from typing import Any, Iterable, Iterator

import pyarrow as pa
import pyarrow.csv as pcsv

from sparkfolio.fifa import schema
from sparkfolio.runtime import fsio
from sparkfolio.runtime.byteranges import Split, compression_of, plan_splits, split_size
from sparkfolio.runtime.errors import ConfigError, InputError
from sparkfolio.runtime.inputs import list_input_files

log = logging.getLogger(__name__)

BOM = "\ufeff"
#: A header line longer than this is not a CSV header (a binary file, a file without line breaks).
_HEADER_MAX_BYTES = 1 << 20
#: pyarrow parses a block in pieces of this size; longer lines are parsed in one piece instead.
_ARROW_BLOCK = 1 << 20
_LINE_END = re.compile(r"\r\n|\r|\n")
#: Spark skips lines holding nothing but these (Java's ``String.trim``: spaces and control characters).
_BLANK = "".join(chr(c) for c in range(0x21))
_LINE_END_BYTES = re.compile(rb"\r\n|\r|\n")

#: Text columns of a block of CSV rows: one string array per header column (null where a
#: malformed line had no such field) and the raw text of each malformed line (null elsewhere).
Rows = tuple[list[pa.Array], pa.Array]


def check_encoding(encoding: str) -> str:
    """Return ``encoding`` if Python can decode CSV lines with it, else raise ConfigError.

    The tasks cut files at line-break bytes and decode each block, so the encoding must write
    line breaks, commas and quotes as the ASCII bytes (UTF-8, cp1252, latin-1... do; UTF-16 does
    not). Checking up front turns a typo (``--set encoding=utf8x``) into one clear line.
    """
    try:
        ascii_compatible = '\r\n,"'.encode(encoding) == b'\r\n,"'
    except LookupError:
        raise ConfigError(f"encoding {encoding!r} is not a known text encoding (e.g. UTF-8, cp1252, latin-1)") from None
    if not ascii_compatible:
        raise ConfigError(f"encoding {encoding!r} does not write line breaks, commas and quotes as ASCII bytes; "
                          "convert the file to UTF-8")
    return encoding


def normalise_header(columns: list[str]) -> list[str]:
    """Header names as written in the file: the BOM stripped; an index cell named ``_c0`` or ``Unnamed: 0`` as ``""``."""
    out = []
    for i, c in enumerate(columns):
        c = c.lstrip(BOM)
        if i == 0 and c in ("_c0", "", "Unnamed: 0"):
            c = schema.INDEX_COLUMN
        out.append(c)
    return out


def check_header(header: list[str], where: str) -> None:
    """Raise InputError naming the first required column that is missing, or the variant the file is.

    Raises
    ------
    InputError
        The header is of another FIFA layout, contains undecodable characters, or lacks a
        required column.
    """
    if any("\ufffd" in h for h in header):
        raise InputError(f"{where}: the header has characters that are not valid in the configured encoding "
                         "(set --set encoding=... to the file's encoding)")
    present = set(header)
    for marker, variant in schema.OTHER_LAYOUTS.items():
        if marker in present:
            raise InputError(f"{where}: this is {variant}, not {schema.LAYOUT_NAME}")
    missing = [c for c in schema.REQUIRED_COLUMNS if c not in present]
    if missing:
        more = f" (and {len(missing) - 1} more: {', '.join(missing[1:6])}{'...' if len(missing) > 6 else ''})" if len(missing) > 1 else ""
        raise InputError(f"{where}: required column {missing[0]!r} is missing{more}; expected {schema.LAYOUT_NAME}")


def read_header(uri: str, compression: str | None, encoding: str) -> list[str]:
    """The cells of the first line of ``uri`` (undecodable bytes as U+FFFD, a BOM stripped); ``[]`` if it is empty."""
    with fsio.open_decompressed(uri, compression) as f:
        head = b""
        while len(head) <= _HEADER_MAX_BYTES:
            block = f.read(1 << 16)
            if not block:
                break
            head += block
            if _LINE_END_BYTES.search(head):
                break
    line = _LINE_END_BYTES.split(head, 1)[0][:_HEADER_MAX_BYTES]
    text = line.decode(encoding, errors="replace").lstrip(BOM)
    return _fields(text)


@dataclass(frozen=True)
class CsvInput:
    """What the driver knows of the input before any task runs: files, header and splits.

    ``source_files`` holds each file's URI as Spark's ``_metadata.file_path`` gives it (Hadoop's
    ``Path.toUri``: a space is ``%20``), by the splits' ``file_index``: the ``source_file`` of its
    rejects.
    """

    path: str
    n_bytes: int
    header: list[str]
    source_files: list[str]
    splits: list[Split]
    split_bytes: int


def plan_input(spark: Any, path: str, encoding: str = "UTF-8", multi_line: bool = False,
               split_size_mb: float = 64.0) -> CsvInput:
    """List the FIFA CSV file(s) at ``path``, check the header and cut the files into splits.

    Splits are ``split_size_mb`` or smaller so every core gets work
    (:func:`~sparkfolio.runtime.byteranges.split_size`); a compressed file, or any file when
    ``multi_line`` is set (a record may then span a split boundary), is one split.

    Raises
    ------
    ConfigError
        Unknown encoding.
    InputError
        Nothing at ``path``, only empty files, no header line or a wrong layout.
    """
    check_encoding(encoding)
    files = list_input_files(spark, path)
    n_bytes = sum(f.size for f in files)
    if n_bytes == 0:
        raise InputError(f"{path}: the input is empty (0 bytes in {len(files)} file(s)); expected {schema.LAYOUT_NAME}")
    first = next(f for f in files if f.size > 0)
    cells = read_header(first.path, compression_of(first.name), encoding)
    if not cells:
        raise InputError(f"{path}: no header line found (the first line is empty); expected {schema.LAYOUT_NAME}")
    header = normalise_header(cells)
    check_header(header, path)
    entries = [(f.path, f.size, "players", compression_of(f.name)) for f in files]
    split_bytes = split_size(split_size_mb, sum(size for _, size, _, comp in entries if not comp),
                             spark.sparkContext.defaultParallelism)
    if multi_line:
        split_bytes = max(f.size for f in files)  # one split per file
    splits = plan_splits(entries, split_bytes)
    hadoop_path = spark._jvm.org.apache.hadoop.fs.Path
    source_files = [hadoop_path(f.path).toUri().toString() for f in files]
    log.info("reading %d file(s), %.1f MB, %d columns from %s in %d splits of up to %.2f MB", len(files), n_bytes / 1e6,
             len(header), path, len(splits), split_bytes / 2**20)
    return CsvInput(path, n_bytes, header, source_files, splits, split_bytes)


# --- the text of a split, on the executors ---------------------------------------------------

def skip_first_line(blocks: Iterable[bytes]) -> Iterator[bytes]:
    """Blocks of whole lines without the first line (a file's header)."""
    it = iter(blocks)
    for block in it:
        m = _LINE_END_BYTES.search(block)
        rest = block[m.end():] if m else b""
        if rest:
            yield rest
        yield from it
        return


def to_utf8(block: bytes, encoding: str) -> bytes:
    """``block`` (whole lines in ``encoding``) as UTF-8; bytes the encoding cannot decode become U+FFFD."""
    return block.decode(encoding, errors="replace").encode("utf-8")


def _is_utf8(encoding: str) -> bool:
    return codecs.lookup(encoding).name in ("utf-8", "utf-8-sig")


def block_rows(block: bytes, width: int, encoding: str) -> list[Rows]:
    """The text columns of a block of whole CSV lines, one record per line.

    pyarrow parses the block; lines with the wrong field count come back through its invalid-row
    handler and are read again with :mod:`csv` (:func:`_python_rows`). pyarrow lets a quoted field
    run on across lines, which a record of this mode never does: when the rows it found are not
    exactly the block's lines (an unbalanced quote, blank lines), the whole block is read line by
    line with :mod:`csv` instead. Valid UTF-8 is parsed as it is; other text and other encodings are
    converted to UTF-8 first.
    """
    utf8 = _is_utf8(encoding)
    text = block if utf8 else to_utf8(block, encoding)
    for one_piece in (False, True):
        invalid: list[str] = []
        try:
            table = _arrow_csv(pa.BufferReader(text), width, len(text) + 1 if one_piece else _ARROW_BLOCK, False, invalid)
        except pa.ArrowInvalid:  # invalid UTF-8, or a line longer than a piece: converted, in one piece
            text = to_utf8(block, encoding) if utf8 else text
            continue
        if table.num_rows + len(invalid) != _count_lines(text):
            break
        rows = [([c.combine_chunks() for c in table.columns], pa.nulls(table.num_rows, pa.string()))]
        if invalid:
            rows.append(_python_rows(invalid, width))
        return rows
    return [_python_rows(_LINE_END.split(to_utf8(block, encoding).decode("utf-8")), width)]


def stream_rows(blocks: Iterable[bytes], width: int, encoding: str, piece: int) -> Iterator[Rows]:
    """The text columns of a stream of CSV records whose quoted fields may hold line breaks.

    ``blocks`` are whole lines in ``encoding`` (converted to UTF-8 here); pyarrow parses them
    ``piece`` bytes at a time, so a record must be shorter than that.
    """
    data = (to_utf8(b, encoding) for b in blocks)
    first = next((b for b in data if b.strip(b"\r\n")), None)
    if first is None:
        return
    invalid: list[str] = []
    reader = _arrow_csv(_BlockStream(first, data), width, piece, True, invalid)
    for batch in reader:
        yield list(batch.columns), pa.nulls(batch.num_rows, pa.string())
        if invalid:
            yield _python_rows(invalid, width, skip_blank=False)
            invalid.clear()
    if invalid:
        yield _python_rows(invalid, width, skip_blank=False)


def _arrow_csv(source: Any, width: int, piece: int, multi_line: bool, invalid: list[str]) -> Any:
    """pyarrow's CSV reader over ``source`` with every column as text; lines with the wrong field count go to ``invalid``.

    A table for one block, a streaming reader when ``multi_line``.
    """
    names = [f"c{i}" for i in range(width)]

    def handler(row: Any) -> str:
        invalid.append(row.text)
        return "skip"

    read = pcsv.ReadOptions(column_names=names, use_threads=False, block_size=piece)
    parse = pcsv.ParseOptions(quote_char='"', double_quote=True, escape_char=False, newlines_in_values=multi_line,
                              ignore_empty_lines=True, invalid_row_handler=handler)
    # An empty field is null unless quoted (""), as Spark's CSV reader reads it.
    convert = pcsv.ConvertOptions(column_types={n: pa.string() for n in names}, strings_can_be_null=True,
                                  null_values=[""], quoted_strings_can_be_null=False)
    if multi_line:
        return pcsv.open_csv(source, read_options=read, parse_options=parse, convert_options=convert)
    return pcsv.read_csv(source, read_options=read, parse_options=parse, convert_options=convert)


def _count_lines(text: bytes) -> int:
    """Lines in ``text``: its line breaks (``\\r\\n``, ``\\n`` or ``\\r``), plus an unterminated last line."""
    breaks = text.count(b"\n") + text.count(b"\r") - text.count(b"\r\n")
    return breaks + (0 if not text or text.endswith((b"\n", b"\r")) else 1)


def _fields(text: str) -> list[str]:
    """The fields of one CSV record (Python's :mod:`csv`, RFC 4180 quoting); ``[]`` when it cannot be read."""
    try:
        return next(csv.reader(io.StringIO(text, newline="")), [])
    except csv.Error:  # e.g. a field beyond csv.field_size_limit()
        return []


def _python_rows(records: list[str], width: int, skip_blank: bool = True) -> Rows:
    """Text columns of CSV records read with :mod:`csv`: a record of another width is malformed.

    A malformed record keeps its first ``width`` fields (missing ones null) and its raw text as the
    corrupt text, as Spark's PERMISSIVE mode keeps it. With ``skip_blank``, records of nothing but
    spaces and control characters are skipped, as Spark skips such lines outside ``multiLine``
    mode. Empty fields are null (:mod:`csv` does not tell a quoted empty field from an
    unquoted one).
    """
    cells: list[list[str | None]] = [[] for _ in range(width)]
    corrupt: list[str | None] = []
    for text in records:
        if skip_blank and not text.strip(_BLANK):
            continue
        fields = _fields(text)
        for i in range(width):
            cells[i].append(fields[i] if i < len(fields) and fields[i] else None)
        corrupt.append(None if len(fields) == width else text)
    return [pa.array(c, pa.string()) for c in cells], pa.array(corrupt, pa.string())


class _BlockStream:
    """A read-only file over an iterator of byte blocks (the input of pyarrow's streaming CSV reader)."""

    closed = False

    def __init__(self, first: bytes, rest: Iterator[bytes]) -> None:
        self._buf = first
        self._rest = rest

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def read(self, size: int = -1) -> bytes:
        while not self._buf or (0 <= size and len(self._buf) < size):
            nxt = next(self._rest, None)
            if nxt is None:
                break
            self._buf += nxt
        if size < 0 or size >= len(self._buf):
            out, self._buf = self._buf, b""
        else:
            out, self._buf = self._buf[:size], self._buf[size:]
        return out

    def close(self) -> None:
        self.closed = True
