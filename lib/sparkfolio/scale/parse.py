"""Raw scale-defect rows (strings, any variant) -> typed canonical plates, and the rows rejected.

Every check is a built-in Spark expression evaluated on the executors in one pass; a row that fails
any check goes to ``rejects`` with every reason found (``"rolling_temp: outside [600, 1300] (0)"``),
never silently dropped.
"""

from __future__ import annotations

from typing import Any

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from sparkfolio.scale import schema

CORRUPT = "_corrupt_record"
SOURCE = "source_file"
REASON = "reason"
REASON_SEPARATOR = "; "


def read_raw(spark: Any, paths: list[str], header: list[str], java_charset: str) -> DataFrame:
    """Read the CSV files as strings with the file's own column names, plus the corrupt-record column.

    The schema is given (every column a string) so no inference pass runs over the data and a
    malformed line (wrong number of fields, broken quoting) lands in ``_corrupt_record``.
    """
    fields = [T.StructField(c, T.StringType(), True) for c in header]
    fields.append(T.StructField(CORRUPT, T.StringType(), True))
    return (
        spark.read.schema(T.StructType(fields))
        .option("header", True)
        .option("encoding", java_charset)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .option("ignoreLeadingWhiteSpace", True)
        .option("ignoreTrailingWhiteSpace", True)
        .csv(paths)
        # The hidden file-metadata column names each row's file (input_file_name() is deprecated).
        .select("*", F.col("_metadata.file_path").alias(SOURCE))
    )


def rename_to_canonical(raw: DataFrame, columns: dict[str, str]) -> DataFrame:
    """Select the mapped columns under their canonical names (still strings), keeping bookkeeping columns."""
    return raw.select(*[F.col(f"`{src}`").alias(canon) for canon, src in columns.items()],
                      F.col(CORRUPT), F.col(SOURCE))


def _blank(c: Column) -> Column:
    return c.isNull() | (F.trim(c) == "")


def _numbered(c: Column) -> Column:
    """``1호기`` / ``2열`` / ``3조`` / ``1`` / ``1.0`` -> the integer; anything else -> null."""
    suffixes = "|".join(schema.NUMBERED_SUFFIXES)
    digits = F.regexp_extract(F.trim(c), rf"^(\d+)(?:\.0+)?\s*(?:{suffixes})?$", 1)
    return F.when(digits == "", F.lit(None).cast("int")).otherwise(digits.cast("int"))


def _label(c: Column, mapping: dict[str, int]) -> Column:
    """Map a label through ``mapping`` (exact after trimming); unknown -> null."""
    expr: Column = F.lit(None).cast("int")
    for word, code in mapping.items():
        expr = F.when(F.trim(c) == word, F.lit(int(code))).otherwise(expr)
    return expr


def canonicalize(
    df: DataFrame,
    present: list[str],
    labels: dict[str, dict[str, int]],
    timestamp_format: str,
    valid_ranges: dict[str, list[float]],
    steel_kind_major_class: bool,
    steel_kind_classes: list[str] | None = None,
) -> DataFrame:
    """Type every canonical column and collect the reasons a row is invalid in ``reasons`` (text).

    Parameters
    ----------
    df:
        Canonical string columns (``rename_to_canonical``) with ``_corrupt_record`` and ``source_file``.
    present:
        The canonical columns this variant has.
    labels:
        Label maps for ``scale`` and ``hsb`` (file word -> 0/1).
    timestamp_format:
        Spark datetime pattern of ``rolling_date`` (``ddMMMyyyy:HH:mm:ss`` for ``03JAN2023:07:07:53``).
    valid_ranges:
        ``column -> [low, high]``: a numeric value outside is a reason to reject the row.
    steel_kind_major_class:
        Keep only the leading letter of ``steel_kind`` (the older file sub-divides ``C0``, ``C1``...).
    steel_kind_classes:
        The known major classes (``C``, ``T``): a ``steel_kind`` whose leading letter is another one
        is rejected with the reason rather than becoming a category of its own. None or empty: no check.

    Returns
    -------
    DataFrame
        Typed canonical columns, ``raw`` (struct of the original strings), ``source_file`` and
        ``reasons`` (every reason found, joined by ``"; "``; empty for a good row).
    """
    raw_struct = F.struct(*[F.col(c).alias(c) for c in present])
    typed: dict[str, Column] = {}
    checks: list[Column] = [F.when(F.col(CORRUPT).isNotNull(), F.lit("malformed CSV line"))]
    for c in present:
        col = F.col(c)
        if c in schema.NUMERIC:
            cast = col.try_cast("double")
            # "NaN" casts to a double NaN in Spark; it is no measurement, so treat it as not a number.
            typed[c] = F.when(F.isnan(cast), F.lit(None).cast("double")).otherwise(cast)
            value = _typed(c)
            checks.append(F.when(_blank(col), F.lit(f"{c}: missing value"))
                          .when(value.isNull(), F.concat(F.lit(f"{c}: not a number '"), col, F.lit("'"))))
            if c in valid_ranges:
                lo, hi = float(valid_ranges[c][0]), float(valid_ranges[c][1])
                checks.append(F.when(value.isNotNull() & ((value < lo) | (value > hi)),
                                     F.concat(F.lit(f"{c}: outside [{lo:g}, {hi:g}] ("), col, F.lit(")"))))
            if c in schema.WHOLE_NUMBERS:
                # A count such as 8.5 descaling passes is an entry error, not a ninth category level.
                checks.append(F.when(value.isNotNull() & (value != F.floor(value)),
                                     F.concat(F.lit(f"{c}: not a whole number ("), col, F.lit(")"))))
        elif c in schema.MAPPED_LABELS:
            typed[c] = _label(col, labels.get(c, {}))
            value = _typed(c)
            checks.append(F.when(_blank(col), F.lit(f"{c}: missing value"))
                          .when(value.isNull(), F.concat(F.lit(f"{c}: unknown label '"), col, F.lit("'"))))
        elif c in schema.NUMBERED_CATEGORICAL:
            typed[c] = _numbered(col)
            value = _typed(c)
            checks.append(F.when(_blank(col), F.lit(f"{c}: missing value"))
                          .when(value.isNull(), F.concat(F.lit(f"{c}: unknown label '"), col, F.lit("'"))))
        elif c == schema.TIMESTAMP:
            typed[c] = F.try_to_timestamp(F.trim(col), F.lit(timestamp_format))
            value = _typed(c)
            checks.append(F.when(_blank(col), F.lit(f"{c}: missing value"))
                          .when(value.isNull(), F.concat(F.lit(f"{c}: cannot parse '"), col,
                                                         F.lit(f"' as {timestamp_format}"))))
        else:  # plate_no and the string categories
            value = F.trim(col)
            major = F.upper(F.substring(value, 1, 1))
            if c == "steel_kind" and steel_kind_major_class:
                value = major
            typed[c] = F.when(_blank(col), F.lit(None).cast("string")).otherwise(value)
            check = F.when(_blank(col), F.lit(f"{c}: missing value"))
            if c == "steel_kind" and steel_kind_classes:
                known = ", ".join(steel_kind_classes)
                check = check.when(~major.isin([k.upper() for k in steel_kind_classes]),
                                   F.concat(F.lit(f"{c}: unknown class '"), col, F.lit(f"' (known: {known})")))
            checks.append(check)
    # Two projections: the typed values first, then the checks over them, so each value is parsed
    # once (a check that repeated the parse expression made the whole parse about 2x slower).
    parsed = df.select(*[F.col(c) for c in present], *[v.alias(f"_v_{c}") for c, v in typed.items()],
                       F.col(CORRUPT), F.col(SOURCE))
    return parsed.select(
        *[_typed(c).alias(c) for c in typed],
        raw_struct.alias("raw"),
        F.col(SOURCE),
        # concat_ws skips the nulls (the checks that passed) in generated code; a higher-order
        # filter over an array of the checks is evaluated row by row outside it, with every check
        # inside (measured 3.5x slower on the whole parse at 1M rows).
        F.concat_ws(REASON_SEPARATOR, *checks).alias("reasons"),
    )


def _typed(c: str) -> Column:
    """The typed value of canonical column ``c`` in the first projection of :func:`canonicalize`."""
    return F.col(f"_v_{c}")


def flag_duplicates(df: DataFrame, partitions: int | None = None) -> DataFrame:
    """Add a reason to every repeat of a ``plate_no`` already seen among the otherwise valid rows.

    The first occurrence (earliest ``rolling_date``, then source file and raw text) is kept, so the
    choice does not depend on how the input was split into partitions.

    ``partitions``: how many partitions the rows are hashed into by ``plate_no`` for the check
    (default: ``spark.sql.shuffle.partitions``). The job sizes it from the input bytes, so a
    partition's sort and its share of the staged rows stay the same size at any input (with 8, a
    partition held 1.25M wide rows at 10M rows).
    """
    # The raw strings as a struct compare field by field: a total order without building JSON.
    order = [F.col(schema.TIMESTAMP).asc_nulls_last(), F.col(SOURCE), F.col("raw")] \
        if schema.TIMESTAMP in df.columns else [F.col(SOURCE), F.col("raw")]
    if partitions:
        # Hashing by plate_no alone satisfies the window's (plate_no, valid) clustering: no second shuffle.
        df = df.repartition(partitions, F.col(schema.ID))
    valid = is_valid()
    # Only valid rows compete for "first"; invalid rows are rejected for their own reasons already,
    # so a repeat has no other reason.
    rank = F.when(valid, F.row_number().over(Window.partitionBy(F.col(schema.ID), valid).orderBy(*order)))
    return df.withColumn(
        "reasons", F.when(rank > 1, F.lit(f"{schema.ID}: duplicate")).otherwise(F.col("reasons")))


def is_valid() -> Column:
    """True for a row without any reason to reject it."""
    return F.col("reasons") == ""


def split_valid(df: DataFrame, present: list[str]) -> tuple[DataFrame, DataFrame]:
    """(plates, rejects): typed rows without reasons; raw rows with ``reason`` and ``source_file``."""
    plates = df.filter(is_valid()).select(*present)
    rejects = df.filter(~is_valid()).select(
        *[F.col(f"raw.{c}").alias(c) for c in present],
        F.col(SOURCE),
        F.col("reasons").alias(REASON),
    )
    return plates, rejects


def reject_reason_counts(rejects: DataFrame) -> DataFrame:
    """How many rejected rows carry each reason kind (``rolling_temp: outside [600, 1300]``...).

    The offending value is cut from each reason so equal problems count together.
    """
    kinds = F.transform(F.split(F.col(REASON), REASON_SEPARATOR),
                        lambda r: F.regexp_replace(r, r"( ?'[^']*'.*| \([^)]*\))$", ""))
    return (rejects.select(F.explode(F.array_distinct(kinds)).alias("reason_kind"))
            .groupBy("reason_kind").count().orderBy(F.desc("count"), "reason_kind"))
