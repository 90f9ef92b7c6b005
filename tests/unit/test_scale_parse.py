"""Parsing raw scale-defect rows into typed canonical plates, with every bad row rejected."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from sparkfolio.scale import parse as P
from sparkfolio.scale import schema
from sparkfolio.scale.defects_job import DefectsConfig

CFG = DefectsConfig()
GOOD = ["PLT_1001", "03JAN2023:07:07:53", "양품", "AB/EH32-TM", "미국", "T", "32", "3700", "15100", "적용", "1호기",
        "1열", "1144", "116", "1133", "59", "259", "1133", "TMCP(온도제어)", "934", "8", "1조"]
LOWER = list(schema.LOWER_COLUMNS)


def _raw(spark, rows, corrupt=None):
    data = [tuple(r) + ((corrupt[i] if corrupt else None), "file:/x.csv") for i, r in enumerate(rows)]
    return spark.createDataFrame(data, ", ".join(f"`{c}` string" for c in LOWER) + ", _corrupt_record string, source_file string")


def _canon(df, present=LOWER):
    return P.canonicalize(df, present, CFG.labels, CFG.timestamp_format, CFG.valid_ranges, True)


def _with(**changes):
    row = list(GOOD)
    for k, v in changes.items():
        row[LOWER.index(k)] = v
    return row


def test_a_good_row_is_typed(spark):
    plates, rejects = P.split_valid(_canon(_raw(spark, [GOOD])), LOWER)
    assert rejects.count() == 0
    expected = Row(plate_no="PLT_1001", rolling_date=dt.datetime(2023, 1, 3, 7, 7, 53), scale=0, spec_long="AB/EH32-TM",
                   spec_country="미국", steel_kind="T", pt_thick=32.0, pt_width=3700.0, pt_length=15100.0, hsb=1,
                   fur_no=1, fur_input_row=1, fur_heat_temp=1144.0, fur_heat_time=116.0, fur_soak_temp=1133.0,
                   fur_soak_time=59.0, fur_total_time=259.0, fur_ex_temp=1133.0, rolling_method="TMCP(온도제어)",
                   rolling_temp=934.0, descaling_count=8.0, work_group=1)
    assertDataFrameEqual(plates, [expected])


def test_bad_values_go_to_rejects_with_every_reason(spark):
    rows = [
        GOOD,
        _with(plate_no="PLT_2", rolling_temp="0"),
        _with(plate_no="PLT_3", scale="??", pt_thick="abc"),
        _with(plate_no="PLT_4", rolling_date="2023-01-03 07:07:53", hsb=""),
        _with(plate_no="PLT_5", fur_no="A호기", fur_soak_temp="NaN"),
        _with(plate_no="PLT_6", work_group=" 2조 ", scale=" 불량 ", rolling_date="03jan2023:07:07:53"),
        _with(plate_no="", steel_kind="C0"),
    ]
    corrupt = [None] * 6 + ["PLT_7,broken"]
    typed = _canon(_raw(spark, rows, corrupt))
    plates, rejects = P.split_valid(typed, LOWER)
    assertDataFrameEqual(rejects.select("plate_no", "reason"), [
        Row(plate_no="PLT_2", reason="rolling_temp: outside [600, 1300] (0)"),
        Row(plate_no="PLT_3", reason="scale: unknown label '??'; pt_thick: not a number 'abc'"),
        Row(plate_no="PLT_4", reason="rolling_date: cannot parse '2023-01-03 07:07:53' as ddMMMyyyy:HH:mm:ss; "
                                     "hsb: missing value"),
        Row(plate_no="PLT_5", reason="fur_no: unknown label 'A호기'; fur_soak_temp: not a number 'NaN'"),
        Row(plate_no="", reason="malformed CSV line; plate_no: missing value"),
    ])
    # Trimmed labels and a lower-case month parse; the raw strings are kept for rejects only.
    assertDataFrameEqual(plates.select("plate_no", "scale", "work_group", "rolling_date"), [
        Row(plate_no="PLT_1001", scale=0, work_group=1, rolling_date=dt.datetime(2023, 1, 3, 7, 7, 53)),
        Row(plate_no="PLT_6", scale=1, work_group=2, rolling_date=dt.datetime(2023, 1, 3, 7, 7, 53)),
    ])
    assert rejects.first()["source_file"] == "file:/x.csv"
    assertDataFrameEqual(P.reject_reason_counts(rejects), [
        Row(reason_kind="fur_no: unknown label", count=1), Row(reason_kind="fur_soak_temp: not a number", count=1),
        Row(reason_kind="hsb: missing value", count=1), Row(reason_kind="malformed CSV line", count=1),
        Row(reason_kind="plate_no: missing value", count=1), Row(reason_kind="pt_thick: not a number", count=1),
        Row(reason_kind="rolling_date: cannot parse", count=1),
        Row(reason_kind="rolling_temp: outside [600, 1300]", count=1), Row(reason_kind="scale: unknown label", count=1),
    ])


@pytest.mark.parametrize("partitions", [None, 3])
def test_duplicates_keep_the_earliest_valid_row(spark, partitions):
    rows = [
        _with(rolling_date="03JAN2023:09:00:00", pt_thick="40"),
        _with(rolling_date="03JAN2023:08:00:00", pt_thick="30"),
        _with(rolling_date="03JAN2023:07:00:00", pt_thick="20", scale="??"),  # invalid: rejected for itself
        _with(plate_no="PLT_9"),
        # Same plate and time as each other: the raw text decides ("25" < "26"), whatever the row order.
        _with(plate_no="PLT_7", rolling_date="03JAN2023:08:00:00", pt_thick="26"),
        _with(plate_no="PLT_7", rolling_date="03JAN2023:08:00:00", pt_thick="25"),
    ]
    typed = P.flag_duplicates(_canon(_raw(spark, rows)), partitions)
    if partitions:
        assert typed.rdd.getNumPartitions() == partitions
    plates, rejects = P.split_valid(typed, LOWER)
    assertDataFrameEqual(plates.select("plate_no", "pt_thick"), [Row(plate_no="PLT_1001", pt_thick=30.0),
                                                                 Row(plate_no="PLT_9", pt_thick=32.0),
                                                                 Row(plate_no="PLT_7", pt_thick=25.0)])
    assertDataFrameEqual(rejects.select("pt_thick", "reason"), [
        Row(pt_thick="40", reason="plate_no: duplicate"), Row(pt_thick="20", reason="scale: unknown label '??'"),
        Row(pt_thick="26", reason="plate_no: duplicate")])


def test_parsed_partitions_follow_the_input_size():
    from sparkfolio.scale.defects_job import parsed_partitions
    assert parsed_partitions(1_300_000_000, 32 << 20, 8) == 39
    assert parsed_partitions(13_000_000, 32 << 20, 8) == 8
    assert parsed_partitions(0, 32 << 20, 2) == 2


def test_upper_variant_numbers_and_steel_sub_classes(spark):
    upper = list(schema.UPPER_COLUMNS)
    values = {"plate_no": "P1", "rolling_date": "03JAN2023:07:07:53", "scale": "불량", "spec_long": "KR-A",
              "steel_kind": "C0", "pt_thick": "20", "pt_width": "2500", "pt_length": "40000", "pt_weight": "15700",
              "fur_no": "2호기", "fur_input_row": "2", "fur_heat_temp": "1160", "fur_heat_time": "80",
              "fur_soak_temp": "1180", "fur_soak_time": "60", "fur_total_time": "230", "fur_ex_temp": "1180",
              "rolling_temp": "960", "hsb": "적용", "descaling_count": "10", "work_group": "3조"}
    df = spark.createDataFrame([tuple(values[c] for c in upper) + (None, "f")],
                               ", ".join(f"`{c}` string" for c in upper) + ", _corrupt_record string, source_file string")
    plates, rejects = P.split_valid(_canon(df, upper), upper)
    assert rejects.count() == 0
    r = plates.first()
    assert (r["steel_kind"], r["fur_no"], r["fur_input_row"], r["work_group"], r["pt_weight"], r["scale"]) == \
        ("C", 2, 2, 3, 15700.0, 1)


def test_read_raw_flags_malformed_lines_in_cp949(spark, tmp_path):
    header = ",".join(schema.LOWER_COLUMNS.values())
    text = header + "\n" + ",".join(GOOD) + "\n" + ",".join(GOOD[:5]) + "\n"
    path = tmp_path / "plates.csv"
    path.write_bytes(text.encode("cp949"))
    spark.conf.set("spark.sql.legacy.javaCharsets", "true")
    raw = P.read_raw(spark, [str(path)], header.split(","), "x-windows-949")
    plates, rejects = P.split_valid(_canon(P.rename_to_canonical(raw, schema.LOWER_COLUMNS)), LOWER)
    assert [r["scale"] for r in plates.collect()] == [0]
    got = rejects.first()
    assert got["reason"].startswith("malformed CSV line") and got["spec_country"] == "미국"
    assert got["source_file"].endswith("plates.csv")


@pytest.mark.parametrize("text,code", [("1호기", 1), ("2", 2), ("3.0", 3), ("4 조", 4), ("12번", 12)])
def test_numbered_labels(spark, text, code):
    df = spark.createDataFrame([(text,)], "v string")
    assert df.select(P._numbered(df["v"]).alias("n")).first()["n"] == code


def test_unknown_steel_class_and_fractional_descaling_count_are_rejected(spark):
    import pandas as pd

    from sparkfolio.scale.pandas_reference import canonicalize_chunk

    rows = [GOOD, _with(plate_no="PLT_2", steel_kind="X1"), _with(plate_no="PLT_3", descaling_count="8.5"),
            _with(plate_no="PLT_4", steel_kind="c0", descaling_count="10.0")]
    typed = P.canonicalize(_raw(spark, rows), LOWER, CFG.labels, CFG.timestamp_format, CFG.valid_ranges, True,
                           CFG.steel_kind_classes)
    plates, rejects = P.split_valid(typed, LOWER)
    reasons = ["", "steel_kind: unknown class 'X1' (known: C, T)", "descaling_count: not a whole number (8.5)", ""]
    assertDataFrameEqual(rejects.select("plate_no", "steel_kind", "descaling_count", "reason"), [
        Row(plate_no="PLT_2", steel_kind="X1", descaling_count="8", reason=reasons[1]),
        Row(plate_no="PLT_3", steel_kind="T", descaling_count="8.5", reason=reasons[2]),
    ])
    assertDataFrameEqual(plates.select("plate_no", "steel_kind", "descaling_count"), [
        Row(plate_no="PLT_1001", steel_kind="T", descaling_count=8.0),
        Row(plate_no="PLT_4", steel_kind="C", descaling_count=10.0),
    ])
    assertDataFrameEqual(P.reject_reason_counts(rejects), [
        Row(reason_kind="descaling_count: not a whole number", count=1),
        Row(reason_kind="steel_kind: unknown class", count=1),
    ])
    # The pandas reference gives the same reasons.
    _, why = canonicalize_chunk(pd.DataFrame(rows, columns=LOWER), LOWER, CFG, "f")
    assert list(why) == reasons
    # An empty class list turns the check off (X becomes a class of its own).
    plates_off, rejects_off = P.split_valid(
        P.canonicalize(_raw(spark, rows[:2]), LOWER, CFG.labels, CFG.timestamp_format, CFG.valid_ranges, True, []), LOWER)
    assert rejects_off.count() == 0 and sorted(r["steel_kind"] for r in plates_off.collect()) == ["T", "X"]
