"""The report's Spark aggregations on a small hand-made players table, against exact values."""

from __future__ import annotations

import numpy as np
import pytest
from pyspark.testing import assertDataFrameEqual

from sparkfolio.fifa import aggregate

COLS = ("player_id long, row_index long, name string, age int, nationality string, club string, position string, "
        "position_group string, overall int, potential int, value_eur long, wage_eur long, preferred_foot string, "
        "height_cm double, weight_kg double")
ROWS = [
    (1, 0, "A", 18, "England", "X", "ST", "FWD", 60, 80, 1_000_000, 5000, "Left", 180.0, 75.0),
    (2, 1, "B", 20, "England", "X", "GK", "GK", 70, 75, 2_000_000, 8000, "Right", 190.0, 85.0),
    (3, 2, "C", 18, "England", "Y", "CB", "DEF", 62, 82, 500_000, 2000, "Right", 185.0, 80.0),
    (4, 3, "D", 30, "Spain", "Y", "CM", "MID", 80, 80, 20_000_000, 90000, "Left", 175.0, 70.0),
    (5, 4, "E", 25, "Spain", None, "CM", "MID", 74, 76, 0, 0, "Right", 178.0, 72.0),
]


@pytest.fixture(scope="module")
def players(spark):
    return spark.createDataFrame(ROWS, COLS)


def test_by_nation_exact(players, spark) -> None:
    got = aggregate.by_nation(players, min_players=2, high_rating=80)
    expected = spark.createDataFrame(
        [("Spain", 2, 77.0, 77.0, 79.4, 80, 0.5), ("England", 3, 64.0, 62.0, 68.4, 70, 0.0)], got.schema)
    assertDataFrameEqual(got, expected, checkRowOrder=True, atol=1e-9)
    assert aggregate.by_nation(players, min_players=3, high_rating=80).count() == 1


def test_clubs_groups_and_gaps(players, spark) -> None:
    clubs = aggregate.by_club(players)
    assertDataFrameEqual(clubs, spark.createDataFrame(
        [("Y", 2, 71.0, 20_500_000, 92000, 24.0), ("X", 2, 65.0, 3_000_000, 13000, 19.0)], clubs.schema),
        checkRowOrder=True, atol=1e-9)
    gaps = aggregate.potential_gaps(players, max_age=21, top=2).select("player_id", "gap")
    assertDataFrameEqual(gaps, spark.createDataFrame([(3, 20), (1, 20)], gaps.schema), checkRowOrder=True)
    groups = aggregate.by_position_group(players).select("position_group", "players", "mean_overall")
    assertDataFrameEqual(groups, spark.createDataFrame(
        [("GK", 1, 70.0), ("DEF", 1, 62.0), ("MID", 2, 77.0), ("FWD", 1, 60.0)], groups.schema), checkRowOrder=True)


def test_foot_share_and_value_by_overall(players, spark) -> None:
    foot = aggregate.preferred_foot(players).filter("position_group = 'ALL'")
    assertDataFrameEqual(foot, spark.createDataFrame([("ALL", "Left", 2, 0.4), ("ALL", "Right", 3, 0.6)], foot.schema),
                         checkRowOrder=True, atol=1e-12)
    value = aggregate.value_by_overall(players).filter("overall = 80").select("players", "median_value_eur")
    assertDataFrameEqual(value, spark.createDataFrame([(1, 20_000_000.0)], value.schema))


def test_skill_correlation_matches_numpy(spark) -> None:
    rng = np.random.default_rng(0)
    data = rng.integers(20, 95, (200, 3))
    data[:, 1] = data[:, 0] + rng.integers(-5, 5, 200)
    df = spark.createDataFrame([tuple(int(v) for v in r) for r in data] + [(None, 50, 50)], "a int, b int, c int")
    cols, matrix = aggregate.skill_correlations(df, ["a", "b", "c"])
    assert cols == ["a", "b", "c"]
    np.testing.assert_allclose(np.array(matrix), np.corrcoef(data.T), atol=1e-12)
    assert aggregate.correlation_long(cols, matrix)[0][:2] == ("a", "b")


def test_scatter_sample_is_bounded_and_seeded(players) -> None:
    a = [r["player_id"] for r in aggregate.scatter_sample(players, 3, seed=1).collect()]
    b = [r["player_id"] for r in aggregate.scatter_sample(players, 3, seed=1).collect()]
    assert len(a) == 3 and a == b


def test_nation_tables_from_the_histogram_equal_the_direct_aggregations(players, spark) -> None:
    hist = aggregate.nation_overall_histogram(players)
    got = aggregate.by_nation_from_histogram(hist, min_players=2, high_rating=80)
    assert got.collect() == aggregate.by_nation(players, min_players=2, high_rating=80).collect()
    assertDataFrameEqual(got, spark.createDataFrame(
        [("Spain", 2, 77.0, 77.0, 79.4, 80, 0.5), ("England", 3, 64.0, 62.0, 68.4, 70, 0.0)], got.schema),
        checkRowOrder=True, atol=1e-9)
    assert aggregate.nation_map_from_histogram(hist).collect() == aggregate.nation_map_stats(players).collect()
    assert [tuple(r) for r in aggregate.nation_map_from_histogram(hist).collect()] == [
        ("England", 3, 64.0, 192), ("Spain", 2, 77.0, 154)]
    overall = aggregate.overall_histogram_from_nations(hist)
    assert overall.collect() == aggregate.overall_histogram(players).collect()
    assert [tuple(r) for r in overall.collect()] == [(60, 1), (62, 1), (70, 1), (74, 1), (80, 1)]


def test_preferred_foot_counts_players_without_a_group_in_all_only(spark) -> None:
    df = spark.createDataFrame([("GK", "Left"), ("GK", "Right"), (None, "Left"), ("MID", None)],
                               "position_group string, preferred_foot string")
    got = [tuple(r) for r in aggregate.preferred_foot(df).collect()]
    assert got == [("ALL", "Left", 2, 2 / 3), ("ALL", "Right", 1, 1 / 3), ("GK", "Left", 1, 0.5), ("GK", "Right", 1, 0.5)]


def test_player_totals_figures_and_what_they_leave_out(spark) -> None:
    rng = np.random.default_rng(1)
    data = rng.integers(20, 95, (300, 3))
    data[:, 2] = 120 - data[:, 0] + rng.integers(-8, 8, 300)
    overall = rng.integers(45, 90, 300)
    value = (10 ** (overall / 15)).astype(np.int64)
    value[:7] = 0  # seven players valued €0
    rows = [tuple(int(v) for v in r) + (int(o), int(x)) for r, o, x in zip(data, overall, value)]
    rows += [(None, 50, 50, 60, None), (40, None, None, 61, 1000)]  # two players with a skill missing, one without value
    df = spark.createDataFrame(rows, "a int, b int, c int, overall int, value_eur long")
    t = aggregate.player_totals(df, ["a", "b", "c"])
    assert (t["skill_players"], t["skill_excluded"], t["value_zero"], t["value_missing"]) == (300, 2, 7, 1)
    np.testing.assert_allclose(np.array(t["skill_matrix"]), np.corrcoef(data.T), atol=1e-12)
    assert t["skill_matrix"][0][0] == 1.0 and t["skill_matrix"][0][2] < -0.9
    ov = np.array([r[3] for r in rows if r[4] is not None], dtype=float)
    va = np.array([r[4] for r in rows if r[4] is not None], dtype=float)
    assert t["value_vs_overall"]["pearson_value"] == pytest.approx(np.corrcoef(ov, va)[0, 1], abs=1e-12)
    assert t["value_vs_overall"]["pearson_log10_value"] == pytest.approx(np.corrcoef(ov, np.log10(va + 1))[0, 1], abs=1e-12)



def test_moments_combine_to_those_of_all_rows() -> None:
    """Partition moments merged in any grouping equal the moments of the whole (and give numpy's r)."""
    rng = np.random.default_rng(3)
    x = rng.normal(50, 12, (1000, 4))
    x[:, 2] = 0.5 * x[:, 0] + rng.normal(0, 1, 1000)
    parts = [x[:1], x[1:400], x[400:400], x[400:]]
    merged = (0, np.zeros(4), np.zeros((4, 4)))
    for p in parts:
        merged = aggregate.combine_moments(merged, aggregate.moments(p))
    n, mean, m2 = aggregate.moments(x)
    assert merged[0] == n == 1000
    np.testing.assert_allclose(merged[1], mean, rtol=1e-13)
    np.testing.assert_allclose(merged[2], m2, rtol=1e-11)
    np.testing.assert_allclose(aggregate.correlation_from_moments(merged), np.corrcoef(x.T), atol=1e-13)


def test_correlation_of_a_constant_column_is_nan() -> None:
    x = np.column_stack([np.arange(10.0), np.full(10, 7.0)])
    corr = aggregate.correlation_from_moments(aggregate.moments(x))
    assert corr[0, 0] == 1.0 and np.isnan(corr[1, 1]) and np.isnan(corr[0, 1])
