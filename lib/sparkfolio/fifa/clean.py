"""Turn the text columns of the FIFA 19 CSV into a typed ``players`` table and a ``rejects`` table.

Everything is a Spark built-in expression (regexp_extract, try_cast, try_to_date, when...), so the
cleaning runs in the JVM on the executors, at any size, with no Python UDF.

Rules for what happens to a value:

* empty -> null, counted as *missing* for its column;
* present but unparseable or out of range -> null in ``players`` **and** one row in ``rejects``
  (column, raw value, reason);
* a missing or bad value in a key column (ID, Name, Age, Nationality, Overall, Potential), or a
  malformed CSV line, drops the whole row: it cannot be aggregated. It is in ``rejects`` with
  ``row_dropped = true``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkfolio.fifa import schema
from sparkfolio.fifa.source import CORRUPT_COLUMN

#: Key columns: without them a row cannot be aggregated, so a bad value drops the row.
KEY_COLUMNS = ("ID", "Name", "Age", "Nationality", "Overall", "Potential")
#: How a bad value of the unnamed index column is named in ``rejects`` (its header cell is empty).
INDEX_REJECT_COLUMN = "(index)"
#: Pseudo-column of a malformed CSV line in ``rejects``.
LINE_REJECT_COLUMN = "(line)"


# --- parsers: trimmed text -> the typed value, or null when the text is not a valid value ------
# Every cast below only runs after its regular expression matched (CASE WHEN and AND evaluate
# lazily), so a plain cast never meets non-numeric text, even with ANSI mode on. try_cast would
# be safe too but measured 2-3x slower per value.
def parse_money(t: Column) -> Column:
    """``€110.5M`` / ``€565K`` / ``€0`` -> whole euros (long)."""
    number = F.regexp_extract(t, schema.MONEY_RE, 1).cast("double")
    unit = F.upper(F.regexp_extract(t, schema.MONEY_RE, 2))
    mult = F.when(unit == "M", F.lit(1e6)).when(unit == "K", F.lit(1e3)).otherwise(F.lit(1.0))
    return F.when(t.rlike(schema.MONEY_RE), F.round(number * mult).cast("long"))


def parse_int(lo: int, hi: int) -> Callable[[Column], Column]:
    """Whole numbers in ``[lo, hi]`` (``5.0`` accepted)."""

    def _parse(t: Column) -> Column:
        value = t.cast("double")
        return F.when(t.rlike(schema.INTEGER_RE) & value.between(lo, hi), value.cast("int"))

    return _parse


def parse_long_id(t: Column) -> Column:
    """A non-negative whole-number identifier (long)."""
    return F.when(t.rlike(r"^[0-9]{1,18}$"), t.cast("long"))


def parse_long_index(t: Column) -> Column:
    """The pandas index column: a whole number (``12`` or ``12.0``) -> long, anything else -> null."""
    pattern = r"^(-?[0-9]{1,18})(?:\.0+)?$"
    return F.when(t.rlike(pattern), F.regexp_extract(t, pattern, 1).cast("long"))


def parse_height(t: Column) -> Column:
    """``5'7`` -> centimetres, one decimal."""
    feet = F.regexp_extract(t, schema.HEIGHT_RE, 1).cast("int")
    inches = F.regexp_extract(t, schema.HEIGHT_RE, 2).cast("int")
    cm = F.round((feet * 12 + inches) * schema.INCH_CM, 1)
    return F.when(t.rlike(schema.HEIGHT_RE) & cm.between(*schema.HEIGHT_CM_RANGE), cm)


def parse_weight(t: Column) -> Column:
    """``159lbs`` -> kilograms, one decimal."""
    lbs = F.regexp_extract(t, schema.WEIGHT_RE, 1).cast("double")
    kg = F.round(lbs * schema.POUND_KG, 1)
    return F.when(t.rlike(schema.WEIGHT_RE) & kg.between(*schema.WEIGHT_KG_RANGE), kg)


def parse_date(t: Column) -> Column:
    """``Jul 1, 2004`` -> date (``Feb 30, 2019`` is rejected, not rolled over)."""
    value = F.when(t.rlike(schema.DATE_RE), F.try_to_date(t, schema.DATE_FORMAT))
    return F.when(F.year(value).between(*schema.YEAR_RANGE), value)


def parse_contract_year(t: Column) -> Column:
    """``2021`` or a loan's end date ``Jun 30, 2019`` -> the year the contract runs until."""
    year = F.regexp_extract(t, schema.CONTRACT_RE, 1).cast("int")
    return F.when(t.rlike(schema.CONTRACT_RE) & year.between(*schema.YEAR_RANGE), year)


def parse_choice(mapping: dict[str, Any]) -> Callable[[Column], Column]:
    """One of a fixed set of words (case-insensitive) -> its mapped value."""

    def _parse(t: Column) -> Column:
        key = F.lower(t)
        return _case([(key == k.lower(), F.lit(v)) for k, v in mapping.items()])

    return _parse


def parse_text(t: Column) -> Column:
    """Free text, valid unless it holds U+FFFD (bytes the configured encoding could not decode)."""
    return F.when(~t.contains("\ufffd"), t)


def parse_position(t: Column) -> Column:
    """A pitch position code (``ST``, ``LCB``...), upper-cased."""
    code = F.upper(t)
    return F.when(code.isin(list(schema.POSITION_GROUPS)), code)


def position_group(position: Column) -> Column:
    """GK / DEF / MID / FWD of a cleaned position code (null stays null)."""
    return _case([(position.isin([p for p, g in schema.POSITION_GROUPS.items() if g == group]), F.lit(group))
                  for group in schema.POSITION_GROUP_ORDER])


def _case(branches: list[tuple[Column, Column]]) -> Column:
    """``CASE WHEN c1 THEN v1 WHEN c2 THEN v2 ... END`` (null when no branch matches)."""
    expr = F.when(*branches[0])
    for cond, value in branches[1:]:
        expr = expr.when(cond, value)
    return expr


def parse_work_rate(t: Column) -> Column:
    """``High/ Medium`` -> array(attack, defence)."""
    return F.when(t.rlike(schema.WORK_RATE_RE), F.array(F.regexp_extract(t, schema.WORK_RATE_RE, 1),
                                                        F.regexp_extract(t, schema.WORK_RATE_RE, 2)))


def parse_position_rating(t: Column) -> Column:
    """``88+2`` -> array(88, 2)."""
    base = F.regexp_extract(t, schema.POSITION_RATING_RE, 1).cast("int")
    bonus = F.regexp_extract(t, schema.POSITION_RATING_RE, 2).cast("int")
    return F.when(t.rlike(schema.POSITION_RATING_RE) & base.between(*schema.RATING_RANGE), F.array(base, bonus))


@dataclass(frozen=True)
class Field:
    """One CSV column: where it goes, how it is parsed and what a valid value looks like."""

    source: str
    target: str
    parse: Callable[[Column], Column]  # the typed value, null when the text is not valid
    expected: str
    dtype: str


_RATING = parse_int(*schema.RATING_RANGE)
FIELDS: list[Field] = [
    Field("ID", "player_id", parse_long_id, "a whole-number player id", "long"),
    Field("Name", "name", parse_text, "valid text in the configured encoding", "string"),
    Field("Age", "age", parse_int(*schema.AGE_RANGE), f"an age {schema.AGE_RANGE[0]}-{schema.AGE_RANGE[1]}", "int"),
    Field("Photo", "photo_url", parse_text, "valid text in the configured encoding", "string"),
    Field("Nationality", "nationality", parse_text, "valid text in the configured encoding", "string"),
    Field("Flag", "flag_url", parse_text, "valid text in the configured encoding", "string"),
    Field("Overall", "overall", _RATING, "a rating 0-100", "int"),
    Field("Potential", "potential", _RATING, "a rating 0-100", "int"),
    Field("Club", "club", parse_text, "valid text in the configured encoding", "string"),
    Field("Club Logo", "club_logo_url", parse_text, "valid text in the configured encoding", "string"),
    Field("Value", "value_eur", parse_money, "a euro amount like €110.5M, €565K or €0", "long"),
    Field("Wage", "wage_eur", parse_money, "a euro amount like €565K or €0", "long"),
    Field("Special", "special", parse_int(0, 5000), "a whole number 0-5000", "int"),
    Field("Preferred Foot", "preferred_foot", parse_choice({"Left": "Left", "Right": "Right"}), "Left or Right", "string"),
    Field("International Reputation", "international_reputation", parse_int(1, 5), "a whole number 1-5", "int"),
    Field("Weak Foot", "weak_foot", parse_int(1, 5), "a whole number 1-5", "int"),
    Field("Skill Moves", "skill_moves", parse_int(1, 5), "a whole number 1-5", "int"),
    Field("Work Rate", "_work_rate", parse_work_rate, "attack/defence like 'High/ Medium'", "array<string>"),
    Field("Body Type", "body_type", parse_text, "valid text in the configured encoding", "string"),
    Field("Real Face", "real_face", parse_choice({"Yes": True, "No": False}), "Yes or No", "boolean"),
    Field("Position", "position", parse_position, "a position code like ST, LCB, CAM or GK", "string"),
    Field("Jersey Number", "jersey_number", parse_int(1, 99), "a whole number 1-99", "int"),
    Field("Joined", "joined", parse_date, "a date like 'Jul 1, 2004'", "date"),
    Field("Loaned From", "loaned_from", parse_text, "valid text in the configured encoding", "string"),
    Field("Contract Valid Until", "contract_until", parse_contract_year, "a year like 2021 or a date like 'Jun 30, 2019'", "int"),
    Field("Height", "height_cm", parse_height, "feet'inches like 5'7", "double"),
    Field("Weight", "weight_kg", parse_weight, "pounds like 159lbs", "double"),
    *[Field(p, f"_pr_{p.lower()}", parse_position_rating, "a rating like 88+2", "array<int>")
      for p in schema.POSITION_RATING_COLUMNS],
    *[Field(s, t, _RATING, "a rating 0-100", "int") for s, t in schema.SKILL_COLUMNS.items()],
    Field("Release Clause", "release_clause_eur", parse_money, "a euro amount like €226.5M", "long"),
]

#: The cleaned table's columns, in order.
PLAYER_COLUMNS: list[str] = (
    ["row_index", "player_id", "name", "age", "nationality", "overall", "potential", "club",
     "value_eur", "wage_eur", "release_clause_eur", "special", "preferred_foot", "international_reputation",
     "weak_foot", "skill_moves", "work_rate_attack", "work_rate_defence", "body_type", "real_face",
     "position", "position_group", "jersey_number", "joined", "loaned_from", "contract_until",
     "height_cm", "weight_kg"]
    + [schema.position_rating_column(p) for p in schema.POSITION_RATING_COLUMNS]
    + ["position_rating_bonus"] + schema.SKILL_TARGETS + ["photo_url", "flag_url", "club_logo_url"]
)

ERROR_TYPE = "array<struct<column:string,raw_value:string,reason:string,drops_row:boolean>>"


def parse_players(raw: DataFrame, header: list[str]) -> DataFrame:
    """Typed columns of every CSV row, with its problems listed beside it.

    Parameters
    ----------
    raw:
        The CSV as text columns (:func:`sparkfolio.fifa.source.read_players_csv`).
    header:
        The file's normalised header (the index column as ``""``).

    Returns
    -------
    DataFrame
        :data:`PLAYER_COLUMNS` plus ``_source_file``, ``_raw_id``, ``_raw_name``, ``_errors``
        (array of column / raw value / reason / drops_row), ``_missing`` (names of the empty
        columns) and ``_dropped``.
    """
    present = set(header)
    spark_names = list(raw.columns)
    # The index column is the first column when its header cell is empty (Spark calls it _c0).
    index_col = spark_names[0] if header and header[0] == schema.INDEX_COLUMN else None
    fields = [f for f in FIELDS if f.source in present]

    # Three narrow steps rather than one huge expression: trimmed text, then typed values, then
    # the error list built from the two. Each value is computed once and only referenced after.
    texts = raw.select(
        *[F.trim(F.col(f"`{f.source}`")).alias(f"_t{i}") for i, f in enumerate(fields)],
        (F.trim(F.col(f"`{index_col}`")) if index_col else F.lit(None).cast("string")).alias("_t_index"),
        F.col("_metadata.file_path").alias("_source_file"),
        F.col(CORRUPT_COLUMN).alias("_corrupt"),
    )
    typed = texts.select(
        "*",
        *[F.when(F.col(f"_t{i}") != "", f.parse(F.col(f"_t{i}"))).cast(f.dtype).alias(f"_v{i}")
          for i, f in enumerate(fields)],
    )

    errors: list[Column] = []
    missing: list[Column] = []
    for i, f in enumerate(fields):
        text, value = F.col(f"_t{i}"), F.col(f"_v{i}")
        is_missing = text.isNull() | (text == "")
        key = f.source in KEY_COLUMNS
        errors.append(F.when(~is_missing & value.isNull(), _error(f.source, text, f"not {f.expected}", key)))
        if key:
            errors.append(F.when(is_missing, _error(f.source, F.lit(None), "missing key value", True)))
        missing.append(F.when(is_missing, F.lit(f.source)))
    corrupt = F.col("_corrupt")
    line_error = F.array(_error(LINE_REJECT_COLUMN, F.substring(corrupt, 1, 1000),
                                "malformed CSV line: its field count differs from the header", True))

    values: dict[str, Column] = {f.target: F.lit(None).cast(f.dtype) for f in FIELDS}
    values.update({f.target: F.col(f"_v{i}") for i, f in enumerate(fields)})
    work_rate = values.pop("_work_rate")
    ratings = {p: values.pop(f"_pr_{p.lower()}") for p in schema.POSITION_RATING_COLUMNS}
    values["work_rate_attack"] = work_rate.getItem(0)
    values["work_rate_defence"] = work_rate.getItem(1)
    for p, arr in ratings.items():
        values[schema.position_rating_column(p)] = arr.getItem(0)
    # The in-form bonus is the same at every position; take it from the first rating present.
    values["position_rating_bonus"] = F.coalesce(*[arr.getItem(1) for arr in ratings.values()])
    values["position_group"] = position_group(values["position"])
    # The unnamed index is optional (never drops a row), but a value that is not a whole number is
    # reported instead of silently becoming a null row_index.
    index_text = F.col("_t_index")
    values["row_index"] = parse_long_index(index_text)
    if index_col:
        errors.append(F.when((index_text != "") & values["row_index"].isNull(),
                             _error(INDEX_REJECT_COLUMN, index_text, "not a whole-number row index", False)))

    raw_id = F.col(f"_t{[f.source for f in fields].index('ID')}") if "ID" in present else F.lit(None).cast("string")
    raw_name = F.col(f"_t{[f.source for f in fields].index('Name')}") if "Name" in present else F.lit(None).cast("string")
    parsed = typed.select(
        *[values[c].alias(c) for c in PLAYER_COLUMNS],
        "_source_file",
        raw_id.alias("_raw_id"),
        raw_name.alias("_raw_name"),
        # A malformed line is one reject; the empty or shifted fields it causes are not counted.
        F.when(corrupt.isNotNull(), line_error)
        .otherwise(F.filter(F.array(*errors), lambda e: e.isNotNull())).alias("_errors"),
        F.when(corrupt.isNotNull(), F.array().cast("array<string>"))
        .otherwise(F.filter(F.array(*missing), lambda m: m.isNotNull())).alias("_missing"),
    )
    return parsed.withColumn("_dropped", F.exists("_errors", lambda e: e["drops_row"]))


def _error(column: str, raw_value: Column, reason: str, drops_row: bool) -> Column:
    return F.struct(F.lit(column).alias("column"), raw_value.cast("string").alias("raw_value"),
                    F.lit(reason).alias("reason"), F.lit(drops_row).alias("drops_row"))


def players(parsed: DataFrame) -> DataFrame:
    """The cleaned players: every row that was not dropped, :data:`PLAYER_COLUMNS` only."""
    return parsed.filter(~F.col("_dropped")).select(*PLAYER_COLUMNS)


def rejects(parsed: DataFrame) -> DataFrame:
    """One row per bad value or malformed line: where it was, what it was and why it was rejected."""
    return (
        parsed.filter(F.size("_errors") > 0)
        .select("_source_file", "row_index", "_raw_id", "_raw_name", "_dropped", F.explode("_errors").alias("e"))
        .select(
            F.col("_source_file").alias("source_file"),
            "row_index",
            F.col("_raw_id").try_cast("long").alias("player_id"),
            F.col("_raw_name").alias("name"),
            F.col("e.column").alias("column"),
            F.col("e.raw_value").alias("raw_value"),
            F.col("e.reason").alias("reason"),
            F.col("_dropped").alias("row_dropped"),
        )
    )


def quality_aggregates() -> list[Column]:
    """Aggregate expressions over ``parsed`` giving the row totals (read, dropped, with rejects, values rejected).

    Four plain aggregates (no grouping), so they can ride along the pass that writes ``players``
    as a Spark ``Observation`` instead of costing a parse of their own.
    """
    return [
        F.count(F.lit(1)).alias("rows_read"),
        F.count_if(F.col("_dropped")).alias("rows_dropped"),
        F.count_if(F.size("_errors") > 0).alias("rows_with_rejects"),
        F.coalesce(F.sum(F.size("_errors")), F.lit(0)).cast("long").alias("values_rejected"),
    ]


def missing_counts(parsed: DataFrame) -> list[Any]:
    """Empty values per column: one grouped count of ``_missing``.

    ``_missing`` depends only on the trimmed text, so Spark prunes every parser from this job: it
    costs a read of the CSV, not a parse (measured cheaper than 89 counters riding along the
    players pass, which Spark evaluates row by row outside generated code).
    """
    return parsed.select(F.explode("_missing").alias("column")).groupBy("column").count().collect()


def reject_counts(rejects_df: DataFrame) -> list[Any]:
    """Rejected values per (column, reason) of a ``rejects`` table: one small grouped count."""
    return rejects_df.groupBy("column", "reason").count().collect()


def quality_from_totals(totals: dict[str, Any], missing_rows: list[Any], reject_rows: list[Any]) -> dict[str, Any]:
    """The quality summary from the :func:`quality_aggregates` values and the grouped counts.

    Whether a reject drops its row follows from its column (key columns and malformed lines do).
    """
    rows_read = int(totals["rows_read"] or 0)
    rows_dropped = int(totals["rows_dropped"] or 0)
    drops = set(KEY_COLUMNS) | {LINE_REJECT_COLUMN}
    return {
        "rows_read": rows_read,
        "rows_dropped": rows_dropped,
        "rows_kept": rows_read - rows_dropped,
        "rows_with_rejects": int(totals["rows_with_rejects"] or 0),
        "values_rejected": int(totals["values_rejected"] or 0),
        "missing_by_column": {r["column"]: int(r["count"]) for r in sorted(missing_rows, key=lambda r: r["column"])},
        "rejects_by_column": _nested_counts(reject_rows),
        "drop_reasons": _nested_counts([r for r in reject_rows if r["column"] in drops]),
    }


def quality_summary(parsed: DataFrame) -> dict[str, Any]:
    """Rows read, kept and dropped, and per column the missing and rejected value counts.

    One aggregation pass over ``parsed`` plus two grouped counts; only tens of numbers reach the
    driver. The job gets the totals from its players pass instead (see :func:`quality_aggregates`);
    this is the stand-alone form.
    """
    totals = parsed.agg(*quality_aggregates()).first().asDict()
    return quality_from_totals(totals, missing_counts(parsed), reject_counts(rejects(parsed)))


def _nested_counts(rows: list[Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in sorted(rows, key=lambda r: (r["column"], r["reason"])):
        reasons = out.setdefault(r["column"], {})
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + int(r["count"])
    return out
