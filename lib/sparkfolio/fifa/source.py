"""Reading the FIFA 19 CSV as it is: encoding, header check and Spark's CSV reader options.

The Kaggle file is UTF-8 with a BOM, its first column is pandas' unnamed index (an empty header
cell), names and dates with commas are double-quoted and quotes inside are doubled (RFC 4180).
Every field is read as text; :mod:`sparkfolio.fifa.clean` turns them into typed columns so a bad
value becomes a reject with its reason instead of a silent null from schema inference.
"""

from __future__ import annotations

import codecs
import logging
from typing import Any

from sparkfolio.fifa import schema
from sparkfolio.runtime.errors import ConfigError, InputError
from sparkfolio.runtime.inputs import list_input_files

log = logging.getLogger(__name__)

CORRUPT_COLUMN = "_corrupt_record"
BOM = "\ufeff"


def check_encoding(spark: Any, encoding: str) -> str:
    """Return ``encoding`` if both Python and the JVM know it, else raise ConfigError.

    Spark silently falls back to nothing useful for an unknown charset name deep inside a task;
    checking up front turns a typo (``--set encoding=utf8x``) into one clear line.
    """
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise ConfigError(f"encoding {encoding!r} is not a known text encoding (e.g. UTF-8, cp1252, latin-1)") from None
    try:
        supported = bool(spark._jvm.java.nio.charset.Charset.isSupported(encoding))
    except Exception:  # an illegal charset name raises on the JVM side
        supported = False
    if not supported:
        raise ConfigError(f"encoding {encoding!r} is not supported by the Java runtime Spark runs on")
    return encoding


def csv_options(encoding: str, multi_line: bool) -> dict[str, str]:
    """Spark CSV reader options for the Kaggle dialect (RFC 4180 quoting, every field as text)."""
    return {
        "header": "true",
        "encoding": encoding,
        "quote": '"',
        "escape": '"',  # quotes inside a quoted field are doubled, as pandas writes them
        "multiLine": "true" if multi_line else "false",
        "mode": "PERMISSIVE",
        "columnNameOfCorruptRecord": CORRUPT_COLUMN,
        "inferSchema": "false",
        "ignoreLeadingWhiteSpace": "false",
        "ignoreTrailingWhiteSpace": "false",
    }


def normalise_header(columns: list[str]) -> list[str]:
    """Header names as written in the file: the BOM stripped, Spark's ``_c0`` for an empty cell back to ``""``."""
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


def read_players_csv(spark: Any, path: str, encoding: str = "UTF-8", multi_line: bool = False) -> tuple[Any, list[str]]:
    """Read the FIFA CSV file(s) at ``path`` with every column as text, plus the corrupt-line column.

    Returns the DataFrame (its columns named as the header, the index column ``_c0``) and the
    normalised header.

    Raises
    ------
    ConfigError
        Unknown encoding.
    InputError
        Nothing at ``path``, only empty files, a header-only file or a wrong layout.
    """
    from pyspark.errors import AnalysisException
    from pyspark.sql.types import StringType, StructField, StructType

    check_encoding(spark, encoding)
    files = list_input_files(spark, path)
    if sum(f.size for f in files) == 0:
        raise InputError(f"{path}: the input is empty (0 bytes in {len(files)} file(s)); expected {schema.LAYOUT_NAME}")
    opts = csv_options(encoding, multi_line)
    try:
        # Only the header line is read here (no schema inference over the data).
        spark_header = spark.read.options(**opts).csv(path).columns
    except AnalysisException as exc:
        raise InputError(f"{path}: cannot read a CSV header ({str(exc).splitlines()[0]})") from None
    if not spark_header:
        raise InputError(f"{path}: no header line found (empty file?); expected {schema.LAYOUT_NAME}")
    header = normalise_header(list(spark_header))
    check_header(header, path)
    # Schema names equal to the header cells (the index cell is empty) keep Spark's header check
    # quiet; the index column is renamed to Spark's usual _c0 right after.
    names = list(spark_header)
    if header[0] == schema.INDEX_COLUMN:
        names[0] = ""
    fields = [StructField(c, StringType(), True) for c in names]
    fields.append(StructField(CORRUPT_COLUMN, StringType(), True))
    df = spark.read.options(**opts).schema(StructType(fields)).csv(path)
    if header[0] == schema.INDEX_COLUMN:
        df = df.withColumnRenamed("", "_c0")
    log.info("reading %d file(s), %.1f MB, %d columns from %s", len(files), sum(f.size for f in files) / 1e6,
             len(header), path)
    return df, header
