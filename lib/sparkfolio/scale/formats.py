"""Canonical typed plates -> the text columns of a real file variant, with built-in Spark functions.

The formatting (SAS timestamps, Korean labels, variant column names) runs in the JVM on the
executors; Python only produces the numbers.
"""

from __future__ import annotations

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from sparkfolio.scale import schema

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
STEEL_DENSITY_KG_MM3 = 7.85e-6  # kg per mm^3 (7,850 kg/m^3)

# Columns written as plain integers.
INTEGER_COLUMNS: tuple[str, ...] = (
    "pt_thick", "pt_width", "pt_length", "fur_heat_temp", "fur_heat_time", "fur_soak_temp", "fur_soak_time",
    "fur_total_time", "fur_ex_temp", "rolling_temp", "descaling_count",
)


def sas_timestamp(year: Column, month: Column, day: Column, hour: Column, minute: Column, second: Column) -> Column:
    """``03JAN2023:07:07:53`` from wall-clock parts (no time zone is involved)."""
    name = F.element_at(F.array(*[F.lit(m) for m in MONTHS]), month.cast("int"))
    return F.format_string("%02d%s%04d:%02d:%02d:%02d", day.cast("int"), name, year.cast("int"), hour.cast("int"),
                           minute.cast("int"), second.cast("int"))


def _word(c: Column, words: dict[int, str]) -> Column:
    expr: Column = F.lit(None).cast("string")
    for code, word in words.items():
        expr = F.when(c == code, F.lit(word)).otherwise(expr)
    return expr


def to_variant(df: DataFrame, variant: str) -> DataFrame:
    """Text columns of file ``variant`` (``lower``/``upper``) from canonical generated plates.

    ``df`` has the canonical columns with ``scale``/``hsb`` as 0/1, numbered categories as ints and
    the rolling date as ``ts_year``..``ts_second`` parts. The older upper-case variant has no
    country or rolling method: its steel kind carries a sub-class digit (``C0``; ``T1`` for
    TMCP-rolled plates), its furnace row is a plain number and it adds ``PT_WGT``, the plate
    weight in kilograms from the dimensions (the original file's unit is not documented).
    """
    if variant not in schema.VARIANTS:
        raise ValueError(f"unknown variant {variant!r}")
    c = F.col
    out: dict[str, Column] = {
        "plate_no": c("plate_no"),
        "rolling_date": sas_timestamp(c("ts_year"), c("ts_month"), c("ts_day"), c("ts_hour"), c("ts_minute"),
                                      c("ts_second")),
        "scale": _word(c("scale"), schema.LABEL_WORDS["scale"]),
        "spec_long": c("spec_long"),
        "spec_country": c("spec_country"),
        "steel_kind": c("steel_kind"),
        "hsb": _word(c("hsb"), schema.LABEL_WORDS["hsb"]),
        "fur_no": F.concat(c("fur_no").cast("string"), F.lit(schema.NUMBER_WORDS["fur_no"])),
        "fur_input_row": F.concat(c("fur_input_row").cast("string"), F.lit(schema.NUMBER_WORDS["fur_input_row"])),
        "rolling_method": c("rolling_method"),
        "work_group": F.concat(c("work_group").cast("string"), F.lit(schema.NUMBER_WORDS["work_group"])),
    }
    for name in INTEGER_COLUMNS:
        out[name] = c(name).cast("long").cast("string")
    if variant == "upper":
        tmcp = F.upper(c("rolling_method")).startswith("TMCP")
        out["steel_kind"] = F.concat(c("steel_kind"), F.when(tmcp, F.lit("1")).otherwise(F.lit("0")))
        out["fur_input_row"] = c("fur_input_row").cast("string")
        weight = c("pt_thick") * c("pt_width") * c("pt_length") * F.lit(STEEL_DENSITY_KG_MM3)
        out["pt_weight"] = F.round(weight).cast("long").cast("string")
    return df.select(*[out[canon].alias(src) for canon, src in schema.VARIANTS[variant].items()])
