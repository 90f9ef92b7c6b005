"""fifa-generate and fifa-report end to end: real data, generated data with bad values, bad inputs."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sparkfolio.fifa import pandas_reference
from sparkfolio.fifa.generate import CORRUPTIONS, generate_chunk
from tests.conftest import png_size, shared_data


def _metrics(out: Path) -> dict:
    return json.loads((out / "metrics.json").read_text(encoding="utf-8"))


IMAGES = ["overall_by_nation.png", "overall_hist.png", "age_curve.png", "skill_correlation.png"]
PAGES = ["value_vs_overall.html", "nation_map.html"]


def _check_report(out: Path, m: dict) -> str:
    """report.html shows the key figures of metrics.json, embeds every PNG and links both plotly pages."""
    page = (out / "report.html").read_text(encoding="utf-8")
    assert re.findall(r"<img src='([^']+)'", page) == IMAGES
    assert re.findall(r"<a href='([^']+)'", page) == PAGES
    for name in IMAGES:
        width, height = png_size(out / name)
        assert width >= 400 and height >= 300, (name, width, height)
    q, cmp_ = m["quality"], m["comparison"]
    assert f"<td>players kept</td><td>{q['rows_kept']:,}</td>" in page
    assert f"<td>nations / clubs</td><td>{m['nations']:,} / {m['clubs']:,}</td>" in page
    assert f"<p class='key'>{html.escape(cmp_['sentence'])}</p>" in page
    ref = cmp_["reference"]
    assert (f"<td>{html.escape(cmp_['reference_nation'])} (reference)</td><td>{ref['players']:,}</td>"
            f"<td>{ref['mean']:.2f}</td><td>{ref['median']:g}</td><td>{100 * ref['share_high']:.1f}</td>") in page
    for c in cmp_["comparisons"]:
        assert (f"<td>{html.escape(c['nation'])}</td><td>{c['players']:,}</td><td>{c['mean_overall']:.2f}</td>"
                f"<td>{c['median_overall']:g}</td><td>{100 * c['share_high']:.1f}</td>") in page
    top_club = m["by_club_top"][0]
    assert f"<td>{html.escape(top_club['club'])}</td><td>{top_club['players']}</td>" in page
    assert f"valued €0 (not drawn on the log-scale value scatter): {m['value_zero_players']:,}" in page
    assert f"{m['skill_correlation_excluded']:,} left out with a skill missing" in page
    # The interactive pages open offline (plotly.js inlined) and hold the run's data.
    scatter = (out / "value_vs_overall.html").read_text(encoding="utf-8")
    assert "plotly.js" in scatter.lower() and not re.search(r"<script[^>]*src=['\"]https?:", scatter)
    assert f"Market value against Overall ({m['scatter_plotted']:,} of {m['players']:,} players" in scatter
    world = (out / "nation_map.html").read_text(encoding="utf-8")
    assert "window.PlotlyGeoAssets.topojson[\"world_110m\"]" in world and "Mean Overall by nation" in world
    return page


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    """1,500 generated players in 3 chunks and 2 files, 2% of rows with one bad value, then the report on them."""
    from sparkfolio.cli import run_job

    tmp = tmp_path_factory.mktemp("fifa_e2e")
    gen, rep = tmp / "gen", tmp / "rep"
    assert run_job("fifa-generate", ["--output", str(gen), "--set", "rows=1500", "--set", "chunk_rows=500",
                                     "--set", "files=2", "--set", "bad_value_fraction=0.02", "--set", "seed=5"]) == 0
    assert run_job("fifa-report", ["--input", str(gen / "players"), "--output", str(rep),
                                   "--set", "min_nation_players=20", "--set", "scatter_sample=300"]) == 0
    return gen, rep


def test_generated_files_are_the_kaggle_format(generated) -> None:
    gen, _ = generated
    parts = sorted((gen / "players").glob("part-*.csv"))
    assert len(parts) == 2
    assert parts[0].read_bytes().startswith(b"\xef\xbb\xbf,ID,Name,Age,Photo,Nationality")
    frame = pd.concat([pd.read_csv(p, encoding="utf-8-sig", dtype=str, keep_default_na=False, na_values=[""])
                       for p in parts], ignore_index=True)
    expected = pd.concat([generate_chunk(c, c * 500, 500, 5, 54, 0.02, 0.0026) for c in range(3)], ignore_index=True)
    expected.columns = frame.columns
    pd.testing.assert_frame_equal(frame.sort_values("ID").reset_index(drop=True), expected.astype(object)
                                  .where(expected.notna(), np.nan).sort_values("ID").reset_index(drop=True),
                                  check_dtype=False)


def test_every_injected_bad_value_is_in_rejects(generated, spark) -> None:
    gen, rep = generated
    clean = pd.concat([generate_chunk(c, c * 500, 500, 5, 54, 0.0, 0.0026) for c in range(3)], ignore_index=True)
    dirty = pd.concat([generate_chunk(c, c * 500, 500, 5, 54, 0.02, 0.0026) for c in range(3)], ignore_index=True)
    changed = clean.fillna("<NA>").to_numpy() != dirty.fillna("<NA>").to_numpy()
    rows, cols = np.nonzero(changed)
    want = sorted((int(dirty.iat[r, 0]), dirty.columns[c], dirty.iat[r, c]) for r, c in zip(rows, cols))
    assert {(col, v) for _, col, v in want} <= set(CORRUPTIONS) and len(want) > 10
    got = spark.read.parquet(str(rep / "rejects")).select("row_index", "column", "raw_value").collect()
    assert sorted((r["row_index"], r["column"], r["raw_value"]) for r in got) == want
    m = _metrics(rep)
    dropped = sum(1 for _, col, _ in want if col == "Overall")
    assert m["quality"]["rows_dropped"] == dropped
    assert m["players"] == 1500 - dropped == spark.read.parquet(str(rep / "players")).count()


def test_spark_tables_equal_the_pandas_reference(generated, spark) -> None:
    gen, rep = generated
    from sparkfolio.fifa.report_job import ReportConfig

    ref = pandas_reference.run_pandas(str(gen / "players"), ReportConfig(min_nation_players=20))
    for name, keys in [("by_nation", ["nationality"]), ("by_club", ["club"]), ("by_age", ["age"]),
                       ("by_position_group", ["position_group"]), ("value_by_overall", ["overall"]),
                       ("preferred_foot", ["position_group", "preferred_foot"])]:
        got = spark.read.parquet(str(rep / name)).toPandas().sort_values(keys).reset_index(drop=True)
        want = ref[name].sort_values(keys).reset_index(drop=True)
        pd.testing.assert_frame_equal(got[list(want.columns)], want, check_dtype=False, atol=1e-9, obj=name)
    gaps = spark.read.parquet(str(rep / "potential_gaps")).toPandas()
    assert gaps["player_id"].tolist() == ref["potential_gaps"]["player_id"].astype(int).tolist()
    m = _metrics(rep)
    assert m["comparison"]["sentence"] == ref["comparison"]["sentence"]
    corr = {(r["a"], r["b"]): r["r"] for r in spark.read.parquet(str(rep / "skill_correlations")).collect()}
    assert corr[("standing_tackle", "sliding_tackle")] == pytest.approx(
        ref["skill_correlation"].loc["standing_tackle", "sliding_tackle"], abs=1e-9)
    # What the correlations and the log-scale scatter leave out is counted, as pandas counts it.
    assert (m["skill_correlation_players"], m["skill_correlation_excluded"]) == \
        (ref["skill_correlation_players"], ref["skill_correlation_excluded"])
    assert m["skill_correlation_excluded"] > 0 and m["value_zero_players"] > 0
    assert (m["value_zero_players"], m["value_missing_players"]) == (ref["value_zero_players"], ref["value_missing_players"])
    assert m["scatter_plotted"] + m["scatter_value_zero_excluded"] == m["scatter_sample_size"] == 300
    # by_club is written whole; only its top rows and totals reach metrics.json.
    clubs = spark.read.parquet(str(rep / "by_club")).toPandas()
    want_top = clubs.sort_values(["squad_value_eur", "club"], ascending=[False, True]).head(20)
    assert [c["club"] for c in m["by_club_top"]] == want_top["club"].tolist()
    assert (m["clubs"], m["players_without_club"]) == (len(clubs), m["players"] - int(clubs["players"].sum()))
    _check_report(rep, m)


def test_real_fifa19_file(run_job, spark, tmp_path) -> None:
    data = shared_data("fifa19/data.csv")
    out = tmp_path / "real"
    assert run_job("fifa-report", "--input", str(data), "--output", str(out)) == 0
    m = _metrics(out)
    q = m["quality"]
    assert (q["rows_read"], q["rows_kept"], q["rows_dropped"], q["values_rejected"]) == (18207, 18207, 0, 0)
    assert q["missing_by_column"]["Club"] == 241 and q["missing_by_column"]["Loaned From"] == 16943
    assert q["missing_by_column"]["Release Clause"] == 1564 and q["missing_by_column"]["LS"] == 2085
    assert m["nations"] == 164 and m["map_unmapped_nations"] == []
    eng = m["comparison"]["reference"]
    assert (eng["players"], round(eng["mean"], 2), eng["median"]) == (1662, 63.43, 63.0)
    assert eng["share_high"] == pytest.approx(27 / 1662, abs=1e-9) == 0.016245487364620937
    spain = next(c for c in m["comparison"]["comparisons"] if c["nation"] == "Spain")
    assert (spain["players"], round(spain["mean_overall"], 2)) == (1072, 69.70) and spain["p_value"] < 1e-50
    # Every compared nation, from a real run: players, mean, median, players rated 80+, Mann-Whitney p.
    want = {
        "Spain": (1072, 69.69869402985074, 69.0, 91, 2.1341784512503442e-106),
        "France": (914, 67.79868708971554, 68.0, 50, 2.2875036928921166e-47),
        "Germany": (1198, 66.08681135225376, 66.0, 48, 1.0396700331669033e-23),
        "Brazil": (827, 71.2515114873035, 71.0, 60, 2.2659430201716582e-150),
        "Argentina": (937, 68.57203842049093, 69.0, 33, 4.3390658382701793e-75),
    }
    comps = m["comparison"]["comparisons"]
    assert [c["nation"] for c in comps] == list(want)
    for c in comps:
        players, mean, median, high, p_value = want[c["nation"]]
        assert (c["players"], c["median_overall"]) == (players, median), c["nation"]
        assert c["mean_overall"] == pytest.approx(mean, abs=1e-9), c["nation"]
        assert c["share_high"] == pytest.approx(high / players, abs=1e-9), c["nation"]
        assert c["mean_difference"] == pytest.approx(eng["mean"] - mean, abs=1e-9), c["nation"]
        assert c["significant"] and c["p_value"] == pytest.approx(p_value, rel=1e-9), c["nation"]
    assert (m["clubs"], m["players_without_club"]) == (651, 241)
    assert (m["value_zero_players"], m["value_missing_players"]) == (252, 0)
    assert (m["skill_correlation_players"], m["skill_correlation_excluded"]) == (18159, 48)
    assert (m["scatter_sample_size"], m["scatter_plotted"], m["scatter_value_zero_excluded"]) == (5000, 4911, 89)
    page = _check_report(out, m)
    assert "<td>England (reference)</td><td>1,662</td><td>63.43</td><td>63</td><td>1.6</td>" in page
    assert "<td>Brazil</td><td>827</td><td>71.25</td><td>71</td><td>7.3</td>" in page
    messi = spark.read.parquet(str(out / "players")).filter("player_id = 158023").first()
    assert (messi["value_eur"], messi["wage_eur"], messi["height_cm"], messi["weight_kg"], messi["position_group"]) == \
        (110_500_000, 565_000, 170.2, 72.1, "FWD")
    ref = pandas_reference.run_pandas(str(data))
    got = spark.read.parquet(str(out / "by_nation")).toPandas()
    pd.testing.assert_frame_equal(got.sort_values("nationality").reset_index(drop=True)[list(ref["by_nation"].columns)],
                                  ref["by_nation"].sort_values("nationality").reset_index(drop=True),
                                  check_dtype=False, atol=1e-9)


def _header(cols: list[str]) -> str:
    return ",".join(cols) + "\n"


def test_bad_inputs_give_one_clear_line(run_job, tmp_path, capsys) -> None:
    from sparkfolio.fifa import schema

    no_overall = tmp_path / "no_overall.csv"
    no_overall.write_text(_header([c for c in schema.KAGGLE_COLUMNS if c != "Overall"]) + "0,1\n", encoding="utf-8")
    assert run_job("fifa-report", "--input", str(no_overall), "--output", str(tmp_path / "o1")) == 2
    assert "required column 'Overall' is missing; expected the Kaggle FIFA 19 data.csv layout" in capsys.readouterr().err

    fifa20 = tmp_path / "players_20.csv"
    fifa20.write_text("sofifa_id,short_name,overall\n1,A,60\n", encoding="utf-8")
    assert run_job("fifa-report", "--input", str(fifa20), "--output", str(tmp_path / "o2")) == 2
    assert "FIFA 20-22 players_XX.csv layout" in capsys.readouterr().err

    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert run_job("fifa-report", "--input", str(empty), "--output", str(tmp_path / "o3")) == 2
    assert "the input is empty" in capsys.readouterr().err

    only_header = tmp_path / "header.csv"
    only_header.write_text(_header(schema.KAGGLE_COLUMNS), encoding="utf-8")
    assert run_job("fifa-report", "--input", str(only_header), "--output", str(tmp_path / "o4")) == 2
    assert "has a header but no player rows" in capsys.readouterr().err

    assert run_job("fifa-report", "--input", str(only_header), "--output", str(tmp_path / "o5"),
                   "--set", "encoding=no-such-charset") == 2
    assert "'no-such-charset' is not a known text encoding" in capsys.readouterr().err
    assert not (tmp_path / "o1").exists() and not (tmp_path / "o5").exists()


def test_too_many_dropped_rows_publish_only_rejects(generated, run_job, tmp_path, capsys) -> None:
    gen, _ = generated
    out = tmp_path / "dq"
    assert run_job("fifa-report", "--input", str(gen / "players"), "--output", str(out),
                   "--set", "max_reject_fraction=0.0001") == 4
    err = capsys.readouterr().err
    assert "rows dropped" in err and "most common: Overall not a rating 0-100" in err
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "rejects"]
