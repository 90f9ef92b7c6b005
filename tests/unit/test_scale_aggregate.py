"""Spark aggregations of plates into small tables, and the variant formatting of generated plates."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal
from pyspark.sql import Row
from pyspark.testing import assertDataFrameEqual

from sparkfolio.scale import aggregate as A
from sparkfolio.scale import formats


@pytest.fixture(scope="module")
def plates(spark):
    rng = np.random.default_rng(11)
    n = 500
    d = pd.DataFrame({
        "scale": rng.integers(0, 2, n).astype("int32"),
        "hsb": rng.integers(0, 2, n).astype("int32"),
        "steel_kind": rng.choice(["C", "T"], n),
        "descaling_count": rng.integers(5, 11, n).astype(float),
        "rolling_temp": rng.normal(940, 60, n).round(),
        "fur_soak_temp": rng.normal(1150, 17, n).round(),
    })
    d["fur_ex_temp"] = d["fur_soak_temp"]
    return d, spark.createDataFrame(d)


def test_category_counts(plates):
    d, sdf = plates
    got = A.category_counts(sdf, ["hsb", "steel_kind", "descaling_count"])
    rows = []
    for c in ["descaling_count", "hsb", "steel_kind"]:
        lv = d[c].map(lambda v: str(int(v)) if isinstance(v, float) else str(v))
        g = d.groupby(lv)["scale"].agg(["size", "sum"])
        rows += [{"column": c, "level": k, "n": int(r["size"]), "defects": int(r["sum"])} for k, r in g.iterrows()]
    expected = pd.DataFrame(rows).sort_values(["column", "level"]).reset_index(drop=True)
    assert_frame_equal(got.astype({"n": "int64", "defects": "int64"}), expected)


def test_moments_bins_and_correlations(plates):
    d, sdf = plates
    m = A.moments_by_status(sdf, ["rolling_temp", "fur_soak_temp"])
    for r in m.itertuples():
        x = d.loc[d["scale"] == r.status, r.column]
        assert (r.n, r.mean, r.var, r.min, r.max) == (len(x), pytest.approx(x.mean()), pytest.approx(x.var()),
                                                      x.min(), x.max())
    widths = A.bin_widths(["rolling_temp", "fur_soak_temp"], {"rolling_temp": 25.0}, m, 20)
    assert widths["rolling_temp"] == 25.0
    span = d["fur_soak_temp"].max() - d["fur_soak_temp"].min()
    assert widths["fur_soak_temp"] == A.nice_width(d["fur_soak_temp"].min(), d["fur_soak_temp"].max(), 20)
    assert span / widths["fur_soak_temp"] <= 20
    got = A.bin_counts(sdf, {"rolling_temp": 25.0})
    b = np.floor(d["rolling_temp"] / 25.0) * 25.0
    g = d.groupby(b)["scale"].agg(["size", "sum"])
    expected = pd.DataFrame({"column": "rolling_temp", "bin_low": g.index.to_numpy(dtype=float), "width": 25.0,
                             "n": g["size"].to_numpy(), "defects": g["sum"].to_numpy()})
    assert_frame_equal(got.astype({"n": "int64", "defects": "int64"}), expected.astype({"n": "int64", "defects": "int64"}))
    corr = A.correlations(sdf, ["rolling_temp", "fur_soak_temp", "fur_ex_temp"])
    assert corr.loc["rolling_temp", "fur_soak_temp"] == pytest.approx(d["rolling_temp"].corr(d["fur_soak_temp"]))
    assert A.duplicate_columns(corr) == {"fur_ex_temp": "fur_soak_temp"}


@pytest.mark.parametrize("lo,hi,bins,width", [(0, 100, 20, 5.0), (1113, 1185, 20, 5.0), (12, 100, 20, 5.0),
                                              (7900, 54900, 20, 2500.0), (0, 0, 20, 1.0), (0, 1, 3, 0.5)])
def test_nice_width(lo, hi, bins, width):
    assert A.nice_width(lo, hi, bins) == width


def test_to_variant_writes_the_real_formats(spark):
    row = Row(plate_no="PLT_1001", ts_year=2023, ts_month=1, ts_day=3, ts_hour=7, ts_minute=7, ts_second=53, scale=1,
              spec_long="AB/EH32-TM", spec_country="미국", steel_kind="T", pt_thick=32, pt_width=3700, pt_length=15100,
              hsb=0, fur_no=1, fur_input_row=2, fur_heat_temp=1144, fur_heat_time=116, fur_soak_temp=1133,
              fur_soak_time=59, fur_total_time=259, fur_ex_temp=1133, rolling_method="TMCP(온도제어)", rolling_temp=934,
              descaling_count=8, work_group=4)
    df = spark.createDataFrame([row])
    assertDataFrameEqual(formats.to_variant(df, "lower"), [Row(
        plate_no="PLT_1001", rolling_date="03JAN2023:07:07:53", scale="불량", spec_long="AB/EH32-TM",
        spec_country="미국", steel_kind="T", pt_thick="32", pt_width="3700", pt_length="15100", hsb="미적용",
        fur_no="1호기", fur_input_row="2열", fur_heat_temp="1144", fur_heat_time="116", fur_soak_temp="1133",
        fur_soak_time="59", fur_total_time="259", fur_ex_temp="1133", rolling_method="TMCP(온도제어)",
        rolling_temp="934", descaling_count="8", work_group="4조")])
    upper = formats.to_variant(df, "upper").first().asDict()
    assert list(upper) == ["PLATE_NO", "ROLLING_DATE", "SCALE", "SPEC", "STEEL_KIND", "PT_THK", "PT_WDTH", "PT_LTH",
                           "PT_WGT", "FUR_NO", "FUR_NO_ROW", "FUR_HZ_TEMP", "FUR_HZ_TIME", "FUR_SZ_TEMP", "FUR_SZ_TIME",
                           "FUR_TIME", "FUR_EXTEMP", "ROLLING_TEMP_T5", "HSB", "ROLLING_DESCALING", "WORK_GR"]
    assert (upper["STEEL_KIND"], upper["FUR_NO_ROW"], upper["PT_WGT"], upper["WORK_GR"]) == \
        ("T1", "2", str(round(32 * 3700 * 15100 * 7.85e-6)), "4조")
    assert not math.isnan(float(upper["PT_WGT"]))
