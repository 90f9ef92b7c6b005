"""The scale-defect data: canonical columns, the two known file variants and their Korean labels.

Two variants of the POSCO course file exist:

* ``lower`` -- the 2023 re-issue (1,000 plates x 22 columns, lower-case names such as ``plate_no``,
  ``hsb``, ``fur_soak_temp``, ``rolling_temp``, ``descaling_count``);
* ``upper`` -- the older ``SCALE불량.csv`` (21 columns, upper-case names such as ``PLATE_NO``,
  ``HSB``, ``FUR_SZ_TEMP``, ``ROLLING_TEMP_T5``, ``ROLLING_DESCALING``; it has the plate weight
  ``PT_WGT`` but neither the spec's country nor the rolling method).

Everything downstream works on the *canonical* names, which are the lower variant's; each variant
is a map ``canonical name -> name in the file`` (kept in ``conf/scale_defects.yaml``, defaults here).
"""

from __future__ import annotations

from dataclasses import dataclass

# canonical -> column in the file. Every mapped column is required in that variant.
LOWER_COLUMNS: dict[str, str] = {
    "plate_no": "plate_no",
    "rolling_date": "rolling_date",
    "scale": "scale",
    "spec_long": "spec_long",
    "spec_country": "spec_country",
    "steel_kind": "steel_kind",
    "pt_thick": "pt_thick",
    "pt_width": "pt_width",
    "pt_length": "pt_length",
    "hsb": "hsb",
    "fur_no": "fur_no",
    "fur_input_row": "fur_input_row",
    "fur_heat_temp": "fur_heat_temp",
    "fur_heat_time": "fur_heat_time",
    "fur_soak_temp": "fur_soak_temp",
    "fur_soak_time": "fur_soak_time",
    "fur_total_time": "fur_total_time",
    "fur_ex_temp": "fur_ex_temp",
    "rolling_method": "rolling_method",
    "rolling_temp": "rolling_temp",
    "descaling_count": "descaling_count",
    "work_group": "work_group",
}

UPPER_COLUMNS: dict[str, str] = {
    "plate_no": "PLATE_NO",
    "rolling_date": "ROLLING_DATE",
    "scale": "SCALE",
    "spec_long": "SPEC",
    "steel_kind": "STEEL_KIND",
    "pt_thick": "PT_THK",
    "pt_width": "PT_WDTH",
    "pt_length": "PT_LTH",
    "pt_weight": "PT_WGT",
    "fur_no": "FUR_NO",
    "fur_input_row": "FUR_NO_ROW",
    "fur_heat_temp": "FUR_HZ_TEMP",
    "fur_heat_time": "FUR_HZ_TIME",
    "fur_soak_temp": "FUR_SZ_TEMP",
    "fur_soak_time": "FUR_SZ_TIME",
    "fur_total_time": "FUR_TIME",
    "fur_ex_temp": "FUR_EXTEMP",
    "rolling_temp": "ROLLING_TEMP_T5",
    "hsb": "HSB",
    "descaling_count": "ROLLING_DESCALING",
    "work_group": "WORK_GR",
}

VARIANTS: dict[str, dict[str, str]] = {"lower": LOWER_COLUMNS, "upper": UPPER_COLUMNS}

# The file order of each variant (what the generator writes).
LOWER_ORDER: list[str] = list(LOWER_COLUMNS)
UPPER_ORDER: list[str] = list(UPPER_COLUMNS)

# Columns every variant must map: without them there is nothing to analyse.
CORE_COLUMNS: tuple[str, ...] = ("plate_no", "scale", "hsb", "fur_soak_temp", "rolling_temp")

LABEL = "scale"
ID = "plate_no"
TIMESTAMP = "rolling_date"

# Kinds of the canonical columns.
STRING_CATEGORICAL: tuple[str, ...] = ("spec_long", "spec_country", "steel_kind", "rolling_method")
# Korean labels that carry a number: 1호기 (furnace 1), 1열 (row 1), 1조 (crew 1); plain digits too.
NUMBERED_CATEGORICAL: tuple[str, ...] = ("fur_no", "fur_input_row", "work_group")
NUMBERED_SUFFIXES: tuple[str, ...] = ("호기", "열", "조", "번")
# Columns whose Korean labels map through ``labels`` in the config (값 -> 0/1).
MAPPED_LABELS: tuple[str, ...] = ("scale", "hsb")
NUMERIC: tuple[str, ...] = (
    "pt_thick", "pt_width", "pt_length", "pt_weight",
    "fur_heat_temp", "fur_heat_time", "fur_soak_temp", "fur_soak_time", "fur_total_time", "fur_ex_temp",
    "rolling_temp", "descaling_count",
)

# Numeric columns that count something: a fractional value is an entry error (rejected).
WHOLE_NUMBERS: tuple[str, ...] = ("descaling_count",)
# The major steel classes (leading letter of steel_kind): C = general, T = TMCP.
STEEL_KIND_CLASSES: tuple[str, ...] = ("C", "T")

# Default label maps: the file's words -> canonical codes (scale: 1 = defective; hsb: 1 = applied).
DEFAULT_LABELS: dict[str, dict[str, int]] = {
    "scale": {"양품": 0, "불량": 1},
    "hsb": {"적용": 1, "미적용": 0},
}

# The words written back by the generator (inverse of the defaults).
LABEL_WORDS: dict[str, dict[int, str]] = {
    name: {code: word for word, code in mapping.items()} for name, mapping in DEFAULT_LABELS.items()
}
NUMBER_WORDS: dict[str, str] = {"fur_no": "호기", "fur_input_row": "열", "work_group": "조"}


@dataclass(frozen=True)
class ColumnInfo:
    """How a canonical column reads in findings and whether the mill can act on it."""

    description: str
    unit: str = ""
    # "process": a setting the mill controls; "product": fixed by the order; "organisation": who works.
    kind: str = "process"


COLUMN_INFO: dict[str, ColumnInfo] = {
    "spec_long": ColumnInfo("product specification", kind="product"),
    "spec_country": ColumnInfo("specification country", kind="product"),
    "steel_kind": ColumnInfo("steel kind", kind="product"),
    "pt_thick": ColumnInfo("plate thickness", "mm", "product"),
    "pt_width": ColumnInfo("plate width", "mm", "product"),
    "pt_length": ColumnInfo("plate length", "mm", "product"),
    "pt_weight": ColumnInfo("plate weight", "", "product"),
    "hsb": ColumnInfo("hot scale breaker (HSB)"),
    "fur_no": ColumnInfo("reheating furnace"),
    "fur_input_row": ColumnInfo("furnace charging row"),
    "fur_heat_temp": ColumnInfo("furnace heating-zone temperature", "°C"),
    "fur_heat_time": ColumnInfo("furnace heating-zone time", "min"),
    "fur_soak_temp": ColumnInfo("furnace soaking-zone temperature", "°C"),
    "fur_soak_time": ColumnInfo("furnace soaking-zone time", "min"),
    "fur_total_time": ColumnInfo("total furnace time", "min"),
    "fur_ex_temp": ColumnInfo("furnace exit temperature", "°C"),
    "rolling_method": ColumnInfo("rolling method"),
    "rolling_temp": ColumnInfo("rolling temperature (T5)", "°C"),
    "descaling_count": ColumnInfo("number of descaling passes"),
    "work_group": ColumnInfo("work crew", kind="organisation"),
}


def level_label(column: str, level: str) -> str:
    """A category level as people read it (``hsb`` 0 -> ``not applied``, ``fur_no`` 2 -> ``furnace 2``)."""
    if column == "hsb":
        return {"1": "applied", "0": "not applied"}.get(level, level)
    prefix = {"fur_no": "furnace ", "fur_input_row": "row ", "work_group": "crew "}.get(column)
    return f"{prefix}{level}" if prefix else level


def describe(column: str) -> str:
    """The plain-words name of a canonical column (the column name itself when unknown)."""
    info = COLUMN_INFO.get(column)
    return info.description if info else column


def unit(column: str) -> str:
    """The unit of a numeric canonical column, or an empty string."""
    info = COLUMN_INFO.get(column)
    return info.unit if info else ""


def column_kind(column: str) -> str:
    """``process``, ``product`` or ``organisation``: whether a finding can become a process change."""
    info = COLUMN_INFO.get(column)
    return info.kind if info else "process"
