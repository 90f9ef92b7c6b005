"""Turn the text columns of the FIFA 19 CSV into a typed ``players`` table and a ``rejects`` table.

Spark reads the CSV (every field as text, malformed lines kept in a corrupt-record column) and
the values are parsed on the executors, batch by batch, in ``mapInArrow`` with the vectorised
parsers of :mod:`sparkfolio.fifa.parsers` (see there why not Spark column expressions).

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
from typing import Any, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql.pandas.types import from_arrow_schema

from sparkfolio.fifa import parsers, schema
from sparkfolio.fifa.source import CORRUPT_COLUMN

#: Key columns: without them a row cannot be aggregated, so a bad value drops the row.
KEY_COLUMNS = ("ID", "Name", "Age", "Nationality", "Overall", "Potential")
#: How a bad value of the unnamed index column is named in ``rejects`` (its header cell is empty).
INDEX_REJECT_COLUMN = "(index)"
#: Pseudo-column of a malformed CSV line in ``rejects``.
LINE_REJECT_COLUMN = "(line)"
LINE_REJECT_REASON = "malformed CSV line: its field count differs from the header"


@dataclass(frozen=True)
class Field:
    """One CSV column: where it goes, how it is parsed and what a valid value looks like."""

    source: str
    target: str
    parse: parsers.Parser  # the typed values, null where the text is not valid
    expected: str


_TEXT = "valid text in the configured encoding"
_distinct = parsers.by_distinct  # for columns with few distinct values (all but names, URLs, ids)
_RATING = _distinct(parsers.parse_int(*schema.RATING_RANGE))
FIELDS: list[Field] = [
    Field("ID", "player_id", parsers.parse_long_id, "a whole-number player id"),
    Field("Name", "name", parsers.parse_text, _TEXT),
    Field("Age", "age", _distinct(parsers.parse_int(*schema.AGE_RANGE)),
          f"an age {schema.AGE_RANGE[0]}-{schema.AGE_RANGE[1]}"),
    Field("Photo", "photo_url", parsers.parse_text, _TEXT),
    Field("Nationality", "nationality", parsers.parse_text, _TEXT),
    Field("Flag", "flag_url", parsers.parse_text, _TEXT),
    Field("Overall", "overall", _RATING, "a rating 0-100"),
    Field("Potential", "potential", _RATING, "a rating 0-100"),
    Field("Club", "club", parsers.parse_text, _TEXT),
    Field("Club Logo", "club_logo_url", parsers.parse_text, _TEXT),
    Field("Value", "value_eur", _distinct(parsers.parse_money), "a euro amount like €110.5M, €565K or €0"),
    Field("Wage", "wage_eur", _distinct(parsers.parse_money), "a euro amount like €565K or €0"),
    Field("Special", "special", _distinct(parsers.parse_int(0, 5000)), "a whole number 0-5000"),
    Field("Preferred Foot", "preferred_foot",
          _distinct(parsers.parse_choice({"Left": "Left", "Right": "Right"}, pa.string())), "Left or Right"),
    Field("International Reputation", "international_reputation", _distinct(parsers.parse_int(1, 5)),
          "a whole number 1-5"),
    Field("Weak Foot", "weak_foot", _distinct(parsers.parse_int(1, 5)), "a whole number 1-5"),
    Field("Skill Moves", "skill_moves", _distinct(parsers.parse_int(1, 5)), "a whole number 1-5"),
    Field("Work Rate", "_work_rate", _distinct(parsers.parse_work_rate), "attack/defence like 'High/ Medium'"),
    Field("Body Type", "body_type", parsers.parse_text, _TEXT),
    Field("Real Face", "real_face", _distinct(parsers.parse_choice({"Yes": True, "No": False}, pa.bool_())),
          "Yes or No"),
    Field("Position", "position", _distinct(parsers.parse_position), "a position code like ST, LCB, CAM or GK"),
    Field("Jersey Number", "jersey_number", _distinct(parsers.parse_int(1, 99)), "a whole number 1-99"),
    Field("Joined", "joined", _distinct(parsers.parse_date), "a date like 'Jul 1, 2004'"),
    Field("Loaned From", "loaned_from", parsers.parse_text, _TEXT),
    Field("Contract Valid Until", "contract_until", _distinct(parsers.parse_contract_year),
          "a year like 2021 or a date like 'Jun 30, 2019'"),
    Field("Height", "height_cm", _distinct(parsers.parse_height), "feet'inches like 5'7"),
    Field("Weight", "weight_kg", _distinct(parsers.parse_weight), "pounds like 159lbs"),
    *[Field(p, f"_pr_{p.lower()}", _distinct(parsers.parse_position_rating), "a rating like 88+2")
      for p in schema.POSITION_RATING_COLUMNS],
    *[Field(s, t, _RATING, "a rating 0-100") for s, t in schema.SKILL_COLUMNS.items()],
    Field("Release Clause", "release_clause_eur", _distinct(parsers.parse_money), "a euro amount like €226.5M"),
]
_BY_SOURCE = {f.source: f for f in FIELDS}

#: The cleaned table: column name -> Arrow type, in order.
PLAYER_TYPES: dict[str, pa.DataType] = {
    "row_index": pa.int64(), "player_id": pa.int64(), "name": pa.string(), "age": pa.int32(),
    "nationality": pa.string(), "overall": pa.int32(), "potential": pa.int32(), "club": pa.string(),
    "value_eur": pa.int64(), "wage_eur": pa.int64(), "release_clause_eur": pa.int64(), "special": pa.int32(),
    "preferred_foot": pa.string(), "international_reputation": pa.int32(), "weak_foot": pa.int32(),
    "skill_moves": pa.int32(), "work_rate_attack": pa.string(), "work_rate_defence": pa.string(),
    "body_type": pa.string(), "real_face": pa.bool_(), "position": pa.string(), "position_group": pa.string(),
    "jersey_number": pa.int32(), "joined": pa.date32(), "loaned_from": pa.string(), "contract_until": pa.int32(),
    "height_cm": pa.float64(), "weight_kg": pa.float64(),
    **{schema.position_rating_column(p): pa.int32() for p in schema.POSITION_RATING_COLUMNS},
    "position_rating_bonus": pa.int32(),
    **{t: pa.int32() for t in schema.SKILL_TARGETS},
    "photo_url": pa.string(), "flag_url": pa.string(), "club_logo_url": pa.string(),
}
#: The cleaned table's columns, in order.
PLAYER_COLUMNS: list[str] = list(PLAYER_TYPES)

ERROR_STRUCT = pa.struct([("column", pa.string()), ("raw_value", pa.string()), ("reason", pa.string()),
                          ("drops_row", pa.bool_())])
#: The side columns of the parsed rows, after :data:`PLAYER_COLUMNS`.
SIDE_TYPES: dict[str, pa.DataType] = {
    "_source_file": pa.string(), "_raw_id": pa.string(), "_raw_name": pa.string(),
    "_errors": pa.list_(pa.field("element", ERROR_STRUCT, nullable=False)),
    "_missing": pa.list_(pa.field("element", pa.string(), nullable=False)),
    "_dropped": pa.bool_(),
}
PARSED_SCHEMA = pa.schema([*PLAYER_TYPES.items(), *SIDE_TYPES.items()])


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
    sources = [f.source for f in FIELDS if f.source in present]
    texts = raw.select(
        *[F.col(f"`{s}`").alias(f"_t{i}") for i, s in enumerate(sources)],
        (F.col(f"`{index_col}`") if index_col else F.lit(None).cast("string")).alias("_t_index"),
        F.col("_metadata.file_path").alias("_source_file"),
        F.col(CORRUPT_COLUMN).alias("_corrupt"),
    )
    has_index = index_col is not None  # plain values only in the closure sent to the executors

    def parse_batches(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield parse_batch(batch, sources, has_index)

    return texts.mapInArrow(parse_batches, from_arrow_schema(PARSED_SCHEMA))


def _per_row(rows: list[np.ndarray], order: list[np.ndarray], n: int) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """Group list elements, given as parts of (row number, order within the row), into ``n`` rows.

    Returns the sorting permutation of the concatenated elements, the sorted row numbers and the
    list offsets of the ``n`` rows.
    """
    all_rows = np.concatenate(rows) if rows else np.zeros(0, dtype=np.int64)
    perm = np.lexsort((np.concatenate(order), all_rows)) if rows else np.zeros(0, dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(np.bincount(all_rows, minlength=n))]).astype(np.int32)
    return perm, all_rows[perm], pa.array(offsets)


def _sorted(parts: list[pa.Array], perm: np.ndarray, dtype: pa.DataType) -> pa.Array:
    """The concatenated ``parts`` in ``perm`` order (an empty array of ``dtype`` when there are none)."""
    return pa.concat_arrays(parts).take(pa.array(perm)) if parts else pa.array([], dtype)


def parse_batch(batch: pa.RecordBatch, sources: list[str], has_index: bool) -> pa.RecordBatch:
    """Parse one batch of CSV text into :data:`PARSED_SCHEMA`.

    The batch holds ``_t0``.. (the text of ``sources``, in order), ``_t_index``, ``_source_file``
    and ``_corrupt`` (:func:`parse_players`). A function of the batch only, no Spark.
    """
    n = batch.num_rows
    corrupt = pc.is_valid(batch.column("_corrupt")).to_numpy(zero_copy_only=False)
    values: dict[str, pa.Array] = {}
    texts: dict[str, pa.Array] = {}
    # Errors and missing values are collected as (row, order, ...) entries, then sorted into lists
    # per row in header order, as a reader of one row expects them.
    e_rows, e_order, e_cols, e_raw, e_reason, e_drops = [], [], [], [], [], []
    m_rows, m_order, m_cols = [], [], []

    def add_errors(mask: np.ndarray, order: int, column: str, raw: pa.Array | None, reason: str, drops: bool) -> None:
        rows = np.flatnonzero(mask & ~corrupt)
        if not len(rows):
            return
        e_rows.append(rows)
        e_order.append(np.full(len(rows), order))
        e_cols.append(pa.array([column] * len(rows), pa.string()))
        e_raw.append(raw.take(pa.array(rows)) if raw is not None else pa.nulls(len(rows), pa.string()))
        e_reason.append(pa.array([reason] * len(rows), pa.string()))
        e_drops.append(pa.array(np.full(len(rows), drops)))

    for i, source in enumerate(sources):
        f = _BY_SOURCE[source]
        text = parsers.trim_spaces(batch.column(f"_t{i}"))
        texts[source] = text
        given = parsers.empty_as_null(text)
        value = f.parse(given)
        values[f.target] = value
        missing = ~pc.is_valid(given).to_numpy(zero_copy_only=False)
        bad = ~missing & ~pc.is_valid(value).to_numpy(zero_copy_only=False)
        key = source in KEY_COLUMNS
        add_errors(bad, 2 * i, source, text, f"not {f.expected}", key)
        if key:
            add_errors(missing, 2 * i + 1, source, None, "missing key value", True)
        rows = np.flatnonzero(missing & ~corrupt)
        if len(rows):
            m_rows.append(rows)
            m_order.append(np.full(len(rows), i))
            m_cols.append(pa.array([source] * len(rows), pa.string()))

    # The unnamed index is optional (never drops a row), but a value that is not a whole number is
    # reported instead of silently becoming a null row_index.
    index_text = parsers.empty_as_null(parsers.trim_spaces(batch.column("_t_index")))
    row_index = parsers.parse_long_index(index_text)
    if has_index:
        bad_index = pc.is_valid(index_text).to_numpy(zero_copy_only=False) & ~pc.is_valid(row_index).to_numpy(
            zero_copy_only=False)
        add_errors(bad_index, 2 * len(sources), INDEX_REJECT_COLUMN, index_text, "not a whole-number row index", False)
    # A malformed line is one reject; the empty or shifted fields it causes are not counted.
    corrupt_rows = np.flatnonzero(corrupt)
    if len(corrupt_rows):
        line = pc.utf8_slice_codeunits(batch.column("_corrupt"), 0, 1000)
        e_rows.append(corrupt_rows)
        e_order.append(np.zeros(len(corrupt_rows), dtype=np.int64))
        e_cols.append(pa.array([LINE_REJECT_COLUMN] * len(corrupt_rows), pa.string()))
        e_raw.append(line.take(pa.array(corrupt_rows)))
        e_reason.append(pa.array([LINE_REJECT_REASON] * len(corrupt_rows), pa.string()))
        e_drops.append(pa.array(np.ones(len(corrupt_rows), dtype=bool)))

    columns: dict[str, pa.Array] = {}
    for name, dtype in PLAYER_TYPES.items():
        columns[name] = values[name] if name in values else pa.nulls(n, dtype)
    columns["row_index"] = row_index
    work_rate = values.get("_work_rate")
    if work_rate is not None:
        columns["work_rate_attack"] = pc.struct_field(work_rate, "attack")
        columns["work_rate_defence"] = pc.struct_field(work_rate, "defence")
    bonus: pa.Array = pa.nulls(n, pa.int32())
    for p in schema.POSITION_RATING_COLUMNS:
        rating = values.get(f"_pr_{p.lower()}")
        if rating is not None:
            columns[schema.position_rating_column(p)] = pc.struct_field(rating, "base")
            # The in-form bonus is the same at every position; take it from the first rating present.
            bonus = pc.coalesce(bonus, pc.struct_field(rating, "bonus"))
    columns["position_rating_bonus"] = bonus
    columns["position_group"] = parsers.position_group(columns["position"])
    columns["_source_file"] = batch.column("_source_file")
    columns["_raw_id"] = texts.get("ID", pa.nulls(n, pa.string()))
    columns["_raw_name"] = texts.get("Name", pa.nulls(n, pa.string()))

    perm, error_rows, offsets = _per_row(e_rows, e_order, n)
    drops = _sorted(e_drops, perm, pa.bool_())
    errors = pa.StructArray.from_arrays(
        [_sorted(e_cols, perm, pa.string()), _sorted(e_raw, perm, pa.string()), _sorted(e_reason, perm, pa.string()),
         drops], fields=list(ERROR_STRUCT))
    columns["_errors"] = pa.ListArray.from_arrays(offsets, errors, type=SIDE_TYPES["_errors"])
    dropped = np.zeros(n, dtype=bool)
    dropped[error_rows[drops.to_numpy(zero_copy_only=False)]] = True
    columns["_dropped"] = pa.array(dropped)
    perm, _, offsets = _per_row(m_rows, m_order, n)
    columns["_missing"] = pa.ListArray.from_arrays(offsets, _sorted(m_cols, perm, pa.string()),
                                                   type=SIDE_TYPES["_missing"])
    return pa.RecordBatch.from_arrays([columns[name] for name in PARSED_SCHEMA.names], schema=PARSED_SCHEMA)


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


def quality_aggregates(columns: list[str]) -> list[Column]:
    """Aggregate expressions over ``parsed`` giving the row totals and the empty values per column.

    Plain aggregates (no grouping), so they ride along the pass that writes ``players`` as a Spark
    ``Observation`` instead of costing a parse of their own (measured: no visible cost at 100k
    rows). ``columns`` are the CSV's header names; the count of empty values of the i-th is
    ``_missing_<i>``.
    """
    return [
        F.count(F.lit(1)).alias("rows_read"),
        F.count_if(F.col("_dropped")).alias("rows_dropped"),
        F.count_if(F.size("_errors") > 0).alias("rows_with_rejects"),
        F.coalesce(F.sum(F.size("_errors")), F.lit(0)).cast("long").alias("values_rejected"),
        *[F.count_if(F.array_contains("_missing", c)).alias(f"_missing_{i}") for i, c in enumerate(columns)],
    ]


def quality_columns(header: list[str]) -> list[str]:
    """The header names whose empty values are counted (every parsed column; the index is not one)."""
    present = set(header)
    return [f.source for f in FIELDS if f.source in present]


def reject_counts(rejects_df: DataFrame) -> list[Any]:
    """Rejected values per (column, reason) of a ``rejects`` table: one small grouped count."""
    return rejects_df.groupBy("column", "reason").count().collect()


def quality_from_totals(totals: dict[str, Any], columns: list[str], reject_rows: list[Any]) -> dict[str, Any]:
    """The quality summary from the :func:`quality_aggregates` values over ``columns`` and the reject counts.

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
        "missing_by_column": dict(sorted((c, int(totals[f"_missing_{i}"])) for i, c in enumerate(columns)
                                         if totals[f"_missing_{i}"])),
        "rejects_by_column": _nested_counts(reject_rows),
        "drop_reasons": _nested_counts([r for r in reject_rows if r["column"] in drops]),
    }


def quality_summary(parsed: DataFrame, header: list[str]) -> dict[str, Any]:
    """Rows read, kept and dropped, and per column the missing and rejected value counts.

    One aggregation pass over ``parsed`` plus a grouped count of the rejects; only tens of numbers
    reach the driver. The job gets the totals from its players pass instead (see
    :func:`quality_aggregates`); this is the stand-alone form.
    """
    columns = quality_columns(header)
    totals = parsed.agg(*quality_aggregates(columns)).first().asDict()
    return quality_from_totals(totals, columns, reject_counts(rejects(parsed)))


def _nested_counts(rows: list[Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in sorted(rows, key=lambda r: (r["column"], r["reason"])):
        reasons = out.setdefault(r["column"], {})
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + int(r["count"])
    return out
