"""Recognising a scale-defect CSV before Spark reads it: its text encoding and its column variant.

Only the first bytes of a few files reach the driver (through Hadoop's FileSystem API, so the same
code works on HDFS and object stores); the rows themselves are read by the executors.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
from dataclasses import dataclass
from typing import Any

from sparkfolio.runtime.errors import ConfigError, InputError
from sparkfolio.runtime.inputs import InputFile

log = logging.getLogger(__name__)

# Python codec name -> the name Spark's (Java's) CSV reader and writer understand.
JAVA_CHARSETS: dict[str, str] = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8",
    "cp949": "x-windows-949",
    "euc-kr": "EUC-KR",
}
# Charsets Spark 4 accepts without ``spark.sql.legacy.javaCharsets``.
SPARK_NATIVE_CHARSETS = {"UTF-8", "US-ASCII", "ISO-8859-1", "UTF-16", "UTF-16BE", "UTF-16LE", "UTF-32"}

# Order matters: valid UTF-8 is tried first because CP949 would also "decode" most UTF-8 bytes.
AUTO_CANDIDATES: tuple[str, ...] = ("utf-8", "cp949")


@dataclass(frozen=True)
class SourceInfo:
    """What the probe learnt about the input: encoding (Python and Java names), header, variant."""

    encoding: str
    java_charset: str
    header: list[str]
    variant: str
    columns: dict[str, str]


def normalise_encoding(name: str) -> str:
    """The canonical Python codec name of ``name`` (``CP949`` -> ``cp949``, ``UTF8`` -> ``utf-8``).

    Raises
    ------
    ConfigError
        ``name`` is not a codec this job can hand to Spark.
    """
    try:
        canonical = codecs.lookup(name).name
    except LookupError:
        raise ConfigError(f"encoding {name!r} is unknown (use auto, {', '.join(sorted(JAVA_CHARSETS))})") from None
    if canonical not in JAVA_CHARSETS:
        raise ConfigError(f"encoding {name!r} is not supported (use auto, {', '.join(sorted(JAVA_CHARSETS))})")
    return canonical


def detect_encoding(head: bytes, where: str, candidates: tuple[str, ...] = AUTO_CANDIDATES) -> str:
    """The first of ``candidates`` that decodes ``head`` (the first bytes of a file) cleanly.

    A multi-byte character cut at the end of ``head`` is not an error (incremental decoding).

    Raises
    ------
    InputError
        ``head`` is empty, or no candidate decodes it.
    """
    if not head:
        raise InputError(f"{where}: the file is empty")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    for name in candidates:
        decoder = codecs.getincrementaldecoder(name)(errors="strict")
        try:
            decoder.decode(head, final=False)
        except UnicodeDecodeError:
            continue
        return codecs.lookup(name).name
    raise InputError(f"{where}: unknown text encoding (not {' or '.join(candidates)}); "
                     "set encoding to the file's encoding")


def header_of(head: bytes, encoding: str, where: str) -> list[str]:
    """The column names in the first line of ``head`` decoded with ``encoding``.

    Raises
    ------
    InputError
        The first line is blank or cannot be decoded.
    """
    try:
        text = codecs.getincrementaldecoder(encoding)(errors="strict").decode(head, final=False)
    except UnicodeDecodeError:
        raise InputError(f"{where}: cannot decode the header as {encoding}") from None
    text = text.lstrip("\ufeff")
    first = text.splitlines()[0] if text.splitlines() else ""
    if not first.strip():
        raise InputError(f"{where}: the first line is blank; expected a header of column names")
    return [c.strip() for c in next(csv.reader(io.StringIO(first)))]


def has_data_line(head: bytes, size: int) -> bool:
    """Whether the file holds anything after its header line (a data row or more bytes than read)."""
    if size > len(head):
        return True
    lines = [ln for ln in head.splitlines()[1:] if ln.strip()]
    return bool(lines)


def choose_variant(header: list[str], variants: dict[str, dict[str, str]], wanted: str, where: str) -> tuple[str, dict[str, str]]:
    """The variant whose columns are all in ``header`` (``wanted`` = ``auto`` tries each in turn).

    Raises
    ------
    InputError
        A required column is missing: names the column(s) and the variant that expects them.
    ConfigError
        ``wanted`` names no known variant.
    """
    present = set(header)
    if wanted != "auto":
        if wanted not in variants:
            raise ConfigError(f"variant {wanted!r} is unknown (known: auto, {', '.join(variants)})")
        missing = [c for c in variants[wanted].values() if c not in present]
        if missing:
            raise InputError(f"{where}: missing required column{'s' if len(missing) > 1 else ''} "
                             f"{', '.join(missing)} (variant {wanted!r} expects {', '.join(variants[wanted].values())})")
        return wanted, dict(variants[wanted])
    best: tuple[int, str, list[str]] | None = None
    for name, mapping in variants.items():
        missing = [c for c in mapping.values() if c not in present]
        if not missing:
            return name, dict(mapping)
        score = len(mapping) - len(missing)
        if best is None or score > best[0]:
            best = (score, name, missing)
    assert best is not None
    _, name, missing = best
    raise InputError(f"{where}: missing required column{'s' if len(missing) > 1 else ''} {', '.join(missing)} "
                     f"(closest variant {name!r} expects {', '.join(variants[name].values())})")


def java_charset(encoding: str) -> str:
    """Spark's name for a canonical Python codec name."""
    return JAVA_CHARSETS[encoding]


def read_head(spark: Any, file: InputFile, nbytes: int) -> bytes:
    """The first ``nbytes`` bytes of ``file`` (decompressed when Hadoop knows its codec, e.g. ``.gz``)."""
    jvm = spark._jvm
    conf = spark._jsc.hadoopConfiguration()
    path = jvm.org.apache.hadoop.fs.Path(file.path)
    fs = path.getFileSystem(conf)
    codec = jvm.org.apache.hadoop.io.compress.CompressionCodecFactory(conf).getCodec(path)
    raw = fs.open(path)
    stream = codec.createInputStream(raw) if codec is not None else raw
    try:
        data = stream.readNBytes(int(nbytes))
    finally:
        stream.close()
    return bytes(data)


def probe(spark: Any, files: list[InputFile], encoding: str, variant: str,
          variants: dict[str, dict[str, str]], head_bytes: int = 65536, max_files: int = 16) -> SourceInfo:
    """Detect (or check) the encoding and the variant on the first ``max_files`` files.

    Raises
    ------
    InputError
        A file is empty or has no data rows, the encodings or headers of the files differ, the
        encoding is unknown, or a required column is missing.
    """
    found: list[tuple[str, list[str]]] = []
    any_data = False
    for f in files[:max_files]:
        head = read_head(spark, f, head_bytes)
        if not head.strip():
            raise InputError(f"{f.path}: the file is empty")
        enc = detect_encoding(head, f.path) if encoding == "auto" else normalise_encoding(encoding)
        header = header_of(head, enc, f.path)
        any_data = any_data or has_data_line(head, f.size)
        found.append((enc, header))
    encs = {e.replace("-sig", "") for e, _ in found}
    if len(encs) > 1:
        raise InputError(f"{files[0].path}: input files use different encodings ({', '.join(sorted(encs))}); "
                         "convert them to one encoding")
    headers = {tuple(h) for _, h in found}
    if len(headers) > 1:
        raise InputError(f"{files[0].path}: input files have different headers; give one variant per run")
    if not any_data and len(files) <= max_files:
        raise InputError(f"{files[0].path}: the file has a header but no data rows")
    enc, header = found[0]
    name, columns = choose_variant(header, variants, variant, files[0].path)
    log.info("input %s: encoding %s, variant %s, %d file(s)", files[0].path, enc, name, len(files))
    return SourceInfo(encoding=enc, java_charset=java_charset(enc), header=header, variant=name, columns=columns)
