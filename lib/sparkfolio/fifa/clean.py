"""Turn the text columns of the FIFA 19 CSV into a typed ``players`` table and a ``rejects`` table.

The Spark tasks of the players pass read the CSV text (:mod:`sparkfolio.fifa.source`: every field
as text, malformed lines kept as corrupt text) and parse it block by block with
:func:`parse_rows`, the one parsing code path: the vectorised parsers of
:mod:`sparkfolio.fifa.parsers` (see there why not Spark column expressions) over Arrow arrays.
:func:`kept_players`, :func:`reject_rows` and :func:`quality_counts` then give what the task
writes and the counters it returns; the driver adds those up (:func:`quality_from_totals`).

Rules for what happens to a value:

* empty -> null, counted as *missing* for its column;
* present but unparseable or out of range -> null in ``players`` **and** one row in ``rejects``
  (column, raw value, reason);
* a missing or bad value in a key column (ID, Name, Age, Nationality, Overall, Potential), or a
  malformed CSV line, drops the whole row: it cannot be aggregated. It is in ``rejects`` with
  ``row_dropped = true``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkfolio.fifa import parsers, schema

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
PLAYERS_SCHEMA = pa.schema(list(PLAYER_TYPES.items()))
#: The ``rejects`` table: one row per bad value or malformed line.
REJECTS_SCHEMA = pa.schema([
    ("source_file", pa.string()), ("row_index", pa.int64()), ("player_id", pa.int64()), ("name", pa.string()),
    ("column", pa.string()), ("raw_value", pa.string()), ("reason", pa.string()), ("row_dropped", pa.bool_()),
])

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


def parse_rows(fields: list[pa.Array], corrupt: pa.Array, header: list[str], source_file: str) -> pa.RecordBatch:
    """Typed columns of a block of CSV rows, with each row's problems listed beside it.

    Parameters
    ----------
    fields:
        The text of the rows, one string array per header column (:data:`sparkfolio.fifa.source.Rows`).
    corrupt:
        The raw text of each malformed line (its field count differs from the header), null elsewhere.
    header:
        The file's normalised header (the index column as ``""``).
    source_file:
        The file's URI, as ``source_file`` in ``rejects``.

    Returns
    -------
    pa.RecordBatch
        :data:`PARSED_SCHEMA`: :data:`PLAYER_COLUMNS` plus ``_source_file``, ``_raw_id``,
        ``_raw_name``, ``_errors`` (list of column / raw value / reason / drops_row), ``_missing``
        (names of the empty columns) and ``_dropped``.
    """
    sources = quality_columns(header)
    n = len(corrupt)
    # The index column is the first column when its header cell is empty.
    has_index = bool(header) and header[0] == schema.INDEX_COLUMN
    texts = [fields[header.index(s)] for s in sources]
    texts.append(fields[0] if has_index else pa.nulls(n, pa.string()))
    texts.append(pa.repeat(pa.scalar(source_file, pa.string()), n))
    texts.append(corrupt)
    names = [f"_t{i}" for i in range(len(sources))] + ["_t_index", "_source_file", "_corrupt"]
    return parse_batch(pa.RecordBatch.from_arrays(texts, names=names), sources, has_index)


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
    and ``_corrupt`` (as :func:`parse_rows` lays them out). A function of the batch only, no Spark.
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


def kept_players(parsed: pa.RecordBatch) -> pa.RecordBatch:
    """The cleaned players of a parsed batch: every row that was not dropped, :data:`PLAYER_COLUMNS` only."""
    return parsed.filter(pc.invert(parsed.column("_dropped"))).select(PLAYER_COLUMNS)


def reject_rows(parsed: pa.RecordBatch) -> pa.RecordBatch:
    """One row per bad value or malformed line of a parsed batch (:data:`REJECTS_SCHEMA`): where, what and why."""
    errors = parsed.column("_errors")
    rows = pc.list_parent_indices(errors)
    e = errors.flatten()

    def per_error(name: str) -> pa.Array:
        return parsed.column(name).take(rows)

    return pa.RecordBatch.from_arrays(
        [per_error("_source_file"), per_error("row_index"), _spark_long(per_error("_raw_id")), per_error("_raw_name"),
         e.field("column"), e.field("raw_value"), e.field("reason"), per_error("_dropped")], schema=REJECTS_SCHEMA)


_LONG_TEXT = re.compile(r"([+-]?)0*([0-9]+)")
_CAST_TRIMMED = "".join(chr(c) for c in [*range(0x21), *range(0x7F, 0xA0)])


def _spark_long(text: pa.Array) -> pa.Array:
    """``text`` as Spark's ``try_cast(... as long)`` reads it, for the few reject rows.

    Surrounding blanks and control characters are ignored; an optional sign and digits only;
    null beyond the long range.
    """
    out: list[int | None] = []
    for t in text.to_pylist():
        m = _LONG_TEXT.fullmatch((t or "").strip(_CAST_TRIMMED))
        n = int(m.group(1) + m.group(2)) if m and len(m.group(2)) <= 19 else None
        out.append(n if n is not None and -(1 << 63) <= n < (1 << 63) else None)
    return pa.array(out, pa.int64())


#: The row totals of :func:`quality_counts`, before the empty values per column.
ROW_COUNTERS = ["rows_read", "rows_dropped", "rows_with_rejects", "values_rejected"]


def quality_counts(parsed: pa.RecordBatch, columns: list[str]) -> np.ndarray:
    """Row totals (:data:`ROW_COUNTERS`) and the empty values of each of ``columns`` in a parsed batch.

    A task adds these up over its batches and returns them; the driver adds up the tasks'
    (:func:`totals_of`). ``columns`` are the CSV's header names (:func:`quality_columns`).
    """
    errors = pc.list_value_length(parsed.column("_errors"))
    missing = pc.value_counts(parsed.column("_missing").flatten())
    by_column = dict(zip(missing.field("values").to_pylist(), missing.field("counts").to_pylist()))
    return np.array([
        parsed.num_rows,
        pc.sum(parsed.column("_dropped").cast(pa.int64())).as_py() or 0,
        pc.sum(pc.greater(errors, 0).cast(pa.int64())).as_py() or 0,
        pc.sum(errors).as_py() or 0,
        *[by_column.get(c, 0) for c in columns],
    ], dtype=np.int64)


def totals_of(counts: np.ndarray, columns: list[str]) -> dict[str, Any]:
    """The summed :func:`quality_counts` as a dict: each of :data:`ROW_COUNTERS`, and ``missing`` per column."""
    totals: dict[str, Any] = {k: int(v) for k, v in zip(ROW_COUNTERS, counts)}
    totals["missing"] = dict(zip(columns, (int(v) for v in counts[len(ROW_COUNTERS):])))
    return totals


def quality_columns(header: list[str]) -> list[str]:
    """The header names whose empty values are counted (every parsed column; the index is not one)."""
    present = set(header)
    return [f.source for f in FIELDS if f.source in present]


def reject_counts(rejects_df: Any) -> list[Any]:
    """Rejected values per (column, reason) of a ``rejects`` table: one small grouped count."""
    return rejects_df.groupBy("column", "reason").count().collect()


def quality_from_totals(totals: dict[str, Any], reject_rows: list[Any]) -> dict[str, Any]:
    """The quality summary from the summed counters (:func:`totals_of`) and the reject counts.

    Whether a reject drops its row follows from its column (key columns and malformed lines do).
    """
    rows_read = totals["rows_read"]
    rows_dropped = totals["rows_dropped"]
    drops = set(KEY_COLUMNS) | {LINE_REJECT_COLUMN}
    return {
        "rows_read": rows_read,
        "rows_dropped": rows_dropped,
        "rows_kept": rows_read - rows_dropped,
        "rows_with_rejects": totals["rows_with_rejects"],
        "values_rejected": totals["values_rejected"],
        "missing_by_column": dict(sorted((c, n) for c, n in totals["missing"].items() if n)),
        "rejects_by_column": _nested_counts(reject_rows),
        "drop_reasons": _nested_counts([r for r in reject_rows if r["column"] in drops]),
    }


def _nested_counts(rows: list[Any]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for r in sorted(rows, key=lambda r: (r["column"], r["reason"])):
        reasons = out.setdefault(r["column"], {})
        reasons[r["reason"]] = reasons.get(r["reason"], 0) + int(r["count"])
    return out
