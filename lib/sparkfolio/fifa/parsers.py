"""Value parsers of the FIFA 19 text columns, vectorised over Arrow arrays (pyarrow.compute).

Each parser takes trimmed, non-empty text (an Arrow string array; null where the value is
missing) and returns the typed values, null where the text is not a valid value. They are pure
functions: :mod:`sparkfolio.fifa.clean` applies them to Arrow batches inside ``mapInArrow``.

Why Arrow and not Spark built-ins: the cleaning parses 89 columns a row. Written as Spark column
expressions, that is one projection whose generated code exceeds the JVM's 64 KB method limit,
so Spark interprets it row by row: ~10 us a value, 97 s for 100k rows on one core (profile in
docs/bench/tabular.md). The same rules in pyarrow.compute (RE2 regular expressions, vectorised
casts) cost well under a microsecond a value.

The formats are the regular expressions of :mod:`sparkfolio.fifa.schema`, shared with the
generator and the pandas reference.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from sparkfolio.fifa import schema

#: A parser: trimmed text (null = missing) -> typed values (null = missing or invalid).
Parser = Callable[[pa.Array], pa.Array]

_MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


def named_groups(pattern: str) -> str:
    """``pattern`` with its capturing groups named ``g1``, ``g2``... (pyarrow's extract_regex needs names)."""
    out, n, i = [], 0, 0
    while i < len(pattern):
        c = pattern[i]
        if c == "\\":
            out.append(pattern[i:i + 2])
            i += 2
            continue
        if c == "(" and not pattern.startswith("(?", i):
            n += 1
            out.append(f"(?P<g{n}>")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def _null_unless(mask: pa.Array, values: pa.Array) -> pa.Array:
    """``values`` where ``mask`` is true, null elsewhere (a null mask counts as false)."""
    return pc.if_else(pc.fill_null(mask, False), values, pa.scalar(None, values.type))


class _Groups:
    """The capturing groups of a regular expression over an array: ``.field("g1")``..., null where it did not match."""

    def __init__(self, t: pa.Array, pattern: str) -> None:
        self.matched = pc.extract_regex(t, named_groups(pattern))
        # flatten() gives each group with the struct's nulls applied (a bare child holds "" there).
        self._fields = dict(zip([f.name for f in self.matched.type], self.matched.flatten()))

    def field(self, name: str) -> pa.Array:
        return self._fields[name]


def _groups(t: pa.Array, pattern: str) -> _Groups:
    """The capturing groups of ``pattern`` in ``t``, null where it does not match."""
    return _Groups(t, pattern)


def _numbers(text: pa.Array, to: pa.DataType) -> pa.Array:
    """Text known to be numeric (or null) cast to ``to``."""
    return pc.cast(text, to)


def _round_half_up(x: pa.Array, digits: int) -> pa.Array:
    """Round like Spark's ``round`` (half away from zero), not half-to-even."""
    return pc.round(x, ndigits=digits, round_mode="half_towards_infinity")


def _between(x: pa.Array, lo: float, hi: float) -> pa.Array:
    return pc.and_(pc.greater_equal(x, lo), pc.less_equal(x, hi))


def parse_int(lo: int, hi: int) -> Parser:
    """Whole numbers in ``[lo, hi]`` (``5.0`` accepted: pandas writes integer columns with gaps that way)."""

    def _parse(t: pa.Array) -> pa.Array:
        ok = pc.match_substring_regex(t, schema.INTEGER_RE)
        value = _numbers(_null_unless(ok, t), pa.float64())
        return pc.cast(_null_unless(_between(value, lo, hi), value), pa.int32())

    return _parse


def parse_long_id(t: pa.Array) -> pa.Array:
    """A non-negative whole-number identifier (long), at most 18 digits."""
    return _numbers(_null_unless(pc.match_substring_regex(t, r"^[0-9]{1,18}$"), t), pa.int64())


def parse_long_index(t: pa.Array) -> pa.Array:
    """The pandas index column: a whole number (``12`` or ``12.0``) -> long, anything else -> null."""
    whole = _groups(t, r"^(-?[0-9]{1,18})(?:\.0+)?$").field("g1")
    return _numbers(whole, pa.int64())


def parse_money(t: pa.Array) -> pa.Array:
    """``€110.5M`` / ``€565K`` / ``€0`` -> whole euros (long)."""
    g = _groups(t, schema.MONEY_RE)
    number = _numbers(g.field("g1"), pa.float64())
    unit = pc.utf8_upper(g.field("g2"))
    mult = pc.if_else(pc.equal(unit, "M"), 1e6, pc.if_else(pc.equal(unit, "K"), 1e3, 1.0))
    return pc.cast(_round_half_up(pc.multiply(number, mult), 0), pa.int64())


def parse_height(t: pa.Array) -> pa.Array:
    """``5'7`` -> centimetres, one decimal."""
    g = _groups(t, schema.HEIGHT_RE)
    inches = pc.add(pc.multiply(_numbers(g.field("g1"), pa.float64()), 12.0), _numbers(g.field("g2"), pa.float64()))
    cm = _round_half_up(pc.multiply(inches, schema.INCH_CM), 1)
    return _null_unless(_between(cm, *schema.HEIGHT_CM_RANGE), cm)


def parse_weight(t: pa.Array) -> pa.Array:
    """``159lbs`` -> kilograms, one decimal."""
    lbs = _numbers(_groups(t, schema.WEIGHT_RE).field("g1"), pa.float64())
    kg = _round_half_up(pc.multiply(lbs, schema.POUND_KG), 1)
    return _null_unless(_between(kg, *schema.WEIGHT_KG_RANGE), kg)


def _civil_dates(year: np.ndarray, month: np.ndarray, day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Days since 1970-01-01 of (year, month, day), and whether the day exists in that month."""
    first = (year - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (month - 1).astype("timedelta64[M]")
    start = first.astype("datetime64[D]")
    days_in_month = ((first + np.timedelta64(1, "M")).astype("datetime64[D]") - start).astype(np.int64)
    exists = (day >= 1) & (day <= days_in_month)
    return start.astype(np.int64) + day - 1, exists


def parse_date(t: pa.Array) -> pa.Array:
    """``Jul 1, 2004`` -> date (``Feb 30, 2019`` is rejected, not rolled over)."""
    g = _groups(t, schema.DATE_RE)
    matched = pc.is_valid(g.matched).to_numpy(zero_copy_only=False)
    month = pc.fill_null(pc.index_in(g.field("g1"), value_set=pa.array(_MONTHS)), 0).to_numpy(zero_copy_only=False) + 1
    day = pc.fill_null(_numbers(g.field("g2"), pa.int64()), 1).to_numpy(zero_copy_only=False)
    year = pc.fill_null(_numbers(g.field("g3"), pa.int64()), 1970).to_numpy(zero_copy_only=False)
    days, exists = _civil_dates(year, month, day)
    lo, hi = schema.YEAR_RANGE
    ok = matched & exists & (year >= lo) & (year <= hi)
    return pa.array(days, type=pa.int64(), mask=~ok).cast(pa.int32()).cast(pa.date32())


def parse_contract_year(t: pa.Array) -> pa.Array:
    """``2021`` or a loan's end date ``Jun 30, 2019`` -> the year the contract runs until."""
    year = _numbers(_groups(t, schema.CONTRACT_RE).field("g1"), pa.int32())
    return _null_unless(_between(year, *schema.YEAR_RANGE), year)


def parse_choice(mapping: dict[str, Any], dtype: pa.DataType) -> Parser:
    """One of a fixed set of words (case-insensitive) -> its mapped value."""
    keys = pa.array([k.lower() for k in mapping])
    values = pa.array(list(mapping.values()), type=dtype)

    def _parse(t: pa.Array) -> pa.Array:
        return values.take(pc.index_in(pc.utf8_lower(t), value_set=keys))

    return _parse


def parse_text(t: pa.Array) -> pa.Array:
    """Free text, valid unless it holds U+FFFD (bytes the configured encoding could not decode)."""
    return _null_unless(pc.invert(pc.match_substring(t, "\ufffd")), t)


def parse_position(t: pa.Array) -> pa.Array:
    """A pitch position code (``ST``, ``LCB``...), upper-cased."""
    code = pc.utf8_upper(t)
    return _null_unless(pc.is_in(code, value_set=pa.array(list(schema.POSITION_GROUPS))), code)


def position_group(position: pa.Array) -> pa.Array:
    """GK / DEF / MID / FWD of a cleaned position code (null stays null)."""
    codes = pa.array(list(schema.POSITION_GROUPS))
    groups = pa.array(list(schema.POSITION_GROUPS.values()))
    return groups.take(pc.index_in(position, value_set=codes))


WORK_RATE_TYPE = pa.struct([("attack", pa.string()), ("defence", pa.string())])
POSITION_RATING_TYPE = pa.struct([("base", pa.int32()), ("bonus", pa.int32())])


def parse_work_rate(t: pa.Array) -> pa.StructArray:
    """``High/ Medium`` -> struct(attack, defence)."""
    g = _groups(t, schema.WORK_RATE_RE)
    return pa.StructArray.from_arrays([g.field("g1"), g.field("g2")], fields=list(WORK_RATE_TYPE),
                                      mask=pc.invert(pc.is_valid(g.matched)))


def parse_position_rating(t: pa.Array) -> pa.StructArray:
    """``88+2`` -> struct(base 88, bonus 2); the base must be a rating 0-100."""
    g = _groups(t, schema.POSITION_RATING_RE)
    base = _numbers(g.field("g1"), pa.int32())
    ok = pc.fill_null(_between(base, *schema.RATING_RANGE), False)
    return pa.StructArray.from_arrays([base, _numbers(g.field("g2"), pa.int32())], fields=list(POSITION_RATING_TYPE),
                                      mask=pc.invert(ok))


def by_distinct(parse: Parser) -> Parser:
    """``parse`` applied once per distinct text of the array, then spread back to every row.

    Ratings, money amounts, heights and dates repeat across millions of rows (a few hundred
    distinct values per column), so hashing a value is cheaper than matching it again.
    """

    def _parse(t: pa.Array) -> pa.Array:
        encoded = pc.dictionary_encode(t)
        return parse(encoded.dictionary).take(encoded.indices)

    return _parse


def trim_spaces(t: pa.Array) -> pa.Array:
    """Text trimmed of spaces, as Spark's ``trim`` (tabs and other whitespace are kept)."""
    return pc.utf8_trim(t, characters=" ")


def empty_as_null(trimmed: pa.Array) -> pa.Array:
    """Trimmed text (:func:`trim_spaces`) with empty strings as null: a missing value."""
    return _null_unless(pc.not_equal(trimmed, ""), trimmed)
