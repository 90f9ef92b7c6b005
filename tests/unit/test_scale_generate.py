"""The synthetic plate generator: determinism, defect rules and fidelity to the real file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from sparkfolio.scale.generate import DefectModel, blocks_needed, defect_probability, generate_block
from sparkfolio.scale.profile import measure_profile, read_real_csv
from sparkfolio.scale.real_profile import PROFILE
from tests.conftest import shared_data

NUMERIC = ["pt_thick", "pt_width", "pt_length", "fur_heat_temp", "fur_heat_time", "fur_soak_temp", "fur_soak_time",
           "fur_total_time", "rolling_temp", "descaling_count"]


@pytest.fixture(scope="module")
def plates() -> pd.DataFrame:
    return pd.concat([generate_block(PROFILE, DefectModel(), 7, b, 20000, 60000) for b in range(3)], ignore_index=True)


@pytest.fixture(scope="module")
def real() -> pd.DataFrame:
    return read_real_csv(str(shared_data("scale/scale_defects.csv")))


def test_blocks_are_deterministic_and_independent():
    a = generate_block(PROFILE, DefectModel(), 42, 3, 500, 10_000)
    b = generate_block(PROFILE, DefectModel(), 42, 3, 500, 10_000)
    assert_frame_equal(a, b)
    other = generate_block(PROFILE, DefectModel(), 43, 3, 500, 10_000)
    assert not a["fur_soak_temp"].equals(other["fur_soak_temp"])
    assert a["plate_no"].iloc[0] == "PLT_2501" and a["plate_no"].iloc[-1] == "PLT_3000"


def test_last_block_is_short_and_times_increase():
    last = generate_block(PROFILE, DefectModel(), 42, 2, 400, 1000)
    assert len(last) == 200 and last["plate_no"].iloc[-1] == "PLT_2000"
    first = generate_block(PROFILE, DefectModel(), 42, 0, 400, 1000)
    assert first["rolling_date"].iloc[0] == pd.Timestamp(PROFILE["start"])
    t = pd.concat([first, generate_block(PROFILE, DefectModel(), 42, 1, 400, 1000), last])["rolling_date"]
    assert t.is_monotonic_increasing
    assert blocks_needed(1000, 400) == 3 and blocks_needed(0, 400) == 0


def test_defect_probability_rules():
    m = DefectModel()
    p = defect_probability(m, np.array([0, 1, 1, 1, 1, 1]), np.array([8, 7, 8, 8, 8, 8]),
                           np.array([900, 900, 1001, 1000, 900, 900]), np.array([1100, 1100, 1100, 1100, 1176, 1175]))
    assert p.tolist() == [1.0, 1.0, 1.0, 0.0, 1.0, 0.0]
    soft = DefectModel(base_probability=0.1, hsb_not_applied_probability=0.5, rolling_temp_width=10.0)
    p = defect_probability(soft, np.array([0, 1]), np.array([8, 8]), np.array([900, 1000]), np.array([1100, 1100]))
    from scipy.special import expit

    # Plate 0: no HSB (risk 0.5) at 900 °C (logistic risk expit(-10)); plate 1: at the limit (risk 0.5).
    assert p.tolist() == pytest.approx([1 - 0.9 * 0.5 * (1 - expit(-10.0)), 1 - 0.9 * 0.5], rel=1e-12)


def test_generated_plates_follow_the_real_rules_and_structure(plates):
    rule = ((plates["hsb"] == 0) | (plates["descaling_count"] % 2 == 1) | (plates["fur_soak_temp"] > 1175))
    # A rolling-temperature dropout (recorded 0) hides the real temperature, so check the rest.
    live = plates["rolling_temp"] > 0
    rule = rule | (plates["rolling_temp"] > 1000)
    assert (plates.loc[live, "scale"] == rule[live].astype(int)).all()
    assert (plates["fur_ex_temp"] == plates["fur_soak_temp"]).all()
    assert (plates["fur_total_time"] > plates["fur_heat_time"] + plates["fur_soak_time"]).all()
    assert (plates["pt_width"] % 100 == 0).all() and (plates["pt_length"] % 100 == 0).all()
    assert set(plates["work_group"]) == {1, 2, 3, 4} and set(plates["fur_no"]) == {1, 2, 3}
    # Crews work 12-hour shifts: day crews 1/3 from 07:00, night crews 2/4.
    day = plates["rolling_date"].dt.hour.between(7, 18)
    assert plates.loc[day, "work_group"].isin([1, 3]).all() and plates.loc[~day, "work_group"].isin([2, 4]).all()
    assert ((plates["steel_kind"] == "C") <= plates["rolling_method"].str.startswith("CR")).all()


def test_generated_distributions_match_the_real_file(plates, real):
    assert plates["scale"].mean() == pytest.approx(real["scale"].mean(), abs=0.04)
    assert plates["hsb"].eq(0).mean() == pytest.approx(0.047, abs=0.005)
    assert plates["rolling_temp"].eq(0).mean() == pytest.approx(0.006, abs=0.002)
    for c in NUMERIC:
        r = real.loc[real["rolling_temp"] > 0, c] if c == "rolling_temp" else real[c]
        g = plates.loc[plates["rolling_temp"] > 0, c] if c == "rolling_temp" else plates[c]
        assert g.mean() == pytest.approx(r.mean(), rel=0.03), c
        assert g.std() == pytest.approx(r.std(), rel=0.12), c
    live_r, live_g = real[real["rolling_temp"] > 0], plates[plates["rolling_temp"] > 0]
    diff = (live_r[NUMERIC + ["scale"]].corr() - live_g[NUMERIC + ["scale"]].corr()).abs().to_numpy()
    assert diff.max() < 0.15
    for c in ("steel_kind", "rolling_method", "hsb"):
        r = real.groupby(c)["scale"].mean()
        g = plates.groupby(c)["scale"].mean()
        assert g.to_numpy() == pytest.approx(r.to_numpy(), abs=0.05), c


def test_embedded_profile_is_the_real_file_measured(real):
    assert measure_profile(real) == PROFILE
