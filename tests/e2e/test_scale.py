"""End to end: scale-generate writes plates in the real format; scale-defects finds their causes.

The same numbers come out of the Spark job and the single-process pandas reference; the real file
gives its known figures; bad inputs give one-line errors and published rejects.
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path

import pytest

from sparkfolio.cli import run_job as cli_run_job
from sparkfolio.scale import schema
from sparkfolio.scale.pandas_reference import run_pandas
from tests.conftest import png_size, shared_data

pytestmark = pytest.mark.e2e

# Small model settings: the tests check the plumbing and the numbers, not model quality at scale.
LIGHT = ["--set", "max_depths=[3]", "--set", "cv_folds=2", "--set", "rf_trees=3", "--set", "gbt_iterations=2",
         "--set", "write_plates=false"]
TREE_ONLY = LIGHT + ["--set", "models=[decision_tree]", "--set", "max_depths=[3,5]"]


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


def check_report(folder: Path, m: dict) -> str:
    """report.html shows the run's key figures and embeds every figure it wrote (each a real PNG)."""
    page = (folder / "report.html").read_text(encoding="utf-8")
    rate = m["defect_rate"]
    assert f"<b>Defect rate {rate['rate']:.1%}</b> ({rate['defects']:,} of {rate['plates']:,} plates" in page
    assert f"{m['rows']['read']:,} rows read, {m['rows']['valid']:,} plates analysed, {m['rows']['rejected']:,} rejected" in page
    for r in m["recommendations"]:
        assert f"<li>{html.escape(r)}</li>" in page
    for f in m["findings"]:
        assert html.escape(f["text"]) in page
    assert m["figures"] and set(re.findall(r"<img src='([^']+)'", page)) == set(m["figures"])
    for name in m["figures"]:
        width, height = png_size(folder / name)
        assert width >= 300 and height >= 200, (name, width, height)
    return page


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    """1,200 synthetic plates (three blocks) and the defects analysis of them."""
    root = tmp_path_factory.mktemp("scale")
    gen = root / "gen"
    assert cli_run_job("scale-generate", ["--output", str(gen), "--set", "rows=1200", "--set", "seed=5",
                                          "--set", "block_rows=500"]) == 0
    out = root / "defects"
    assert cli_run_job("scale-defects", ["--input", str(gen), "--output", str(out)] + LIGHT) == 0
    return gen, out


def test_generator_writes_the_real_format_deterministically(generated, run_job, tmp_path):
    gen, _ = generated
    files = sorted((gen / "plates").glob("*.csv"))
    assert [f.name for f in files] == ["scale_defects-00000.csv"]
    text = files[0].read_bytes().decode("cp949")  # CP949 by default, like the real file
    lines = text.splitlines()
    assert lines[0] == ",".join(schema.LOWER_COLUMNS.values())
    assert len(lines) == 1201
    assert re.fullmatch(r"PLT_1001,03JAN2023:07:07:53,(양품|불량),[^,]+,[^,]+,[CT],\d+,\d+00,\d+00,(적용|미적용),"
                        r"[123]호기,[12]열,\d{4},\d+,\d{4},\d+,\d+,\d{4},(CR\(제어압연\)|TMCP\(온도제어\)),\d+,\d+,1조",
                        lines[1])
    m = _metrics(gen)
    assert m["rows"] == 1200 and m["counts"]["defects"] == sum(",불량," in ln for ln in lines[1:])
    # Same seed, other file split: the same plates.
    again = tmp_path / "again"
    assert run_job("scale-generate", "--output", str(again), "--set", "rows=1200", "--set", "seed=5",
                   "--set", "block_rows=500", "--set", "rows_per_file=600") == 0
    parts = sorted((again / "plates").glob("*.csv"))
    assert len(parts) == 2
    body = [ln for p in parts for ln in p.read_bytes().decode("cp949").splitlines()[1:]]
    assert body == lines[1:]


def test_defects_of_generated_plates_equal_the_pandas_reference(generated):
    gen, out = generated
    m = _metrics(out)
    g = _metrics(gen)
    assert m["input"]["encoding"] == "cp949" and m["input"]["variant"] == "lower"
    assert m["rows"]["read"] == 1200
    # The generator's sensor dropouts (rolling temperature 0) are exactly the rejects.
    assert m["rows"]["rejected"] == g["counts"]["rolling_temp_dropouts"]
    assert set(m["rows"]["reject_reasons"]) <= {"rolling_temp: outside [600, 1300]"}
    ref = run_pandas(str(gen / "plates"))
    assert ref["rows"] == {k: m["rows"][k] for k in ("read", "valid", "rejected", "reject_fraction")}
    assert ref["defect_rate"] == pytest.approx(m["defect_rate"])
    for key in ("category_rates", "numeric_by_status", "binned_rates", "chi_square"):
        assert len(ref[key]) == len(m[key]), key
        for a, b in zip(ref[key], m[key]):
            assert a == pytest.approx(b, nan_ok=True), key
    assert [f["text"] for f in ref["findings"]] == [f["text"] for f in m["findings"]]
    assert ref["recommendations"] == m["recommendations"]
    # The generator's rules are what the analysis finds: HSB, descaling passes and temperatures.
    significant = {f["column"] for f in m["findings"] if f["significant"]}
    assert {"hsb", "rolling_temp", "fur_soak_temp", "descaling_count"} <= significant
    assert m["tree"]["png_rendered"] and (out / "decision_tree.png").read_bytes()[:4] == b"\x89PNG"
    assert set(m["models"]) == {"decision_tree", "random_forest", "gradient_boosted_trees"}
    for name, model in m["models"].items():
        assert set(model["cv_auc_by_depth"]) == {"3"} and model["best_max_depth"] == 3
        assert model["test"]["auc"] > 0.8, name
        assert sum(model["test"]["confusion"].values()) == m["split"]["test"]
        assert sum(model["importances"].values()) == pytest.approx(1.0)
    assert m["split"]["train"] + m["split"]["test"] == m["rows"]["valid"]
    check_report(out, m)
    assert set(m["figures"]) == {"rate_by_category.png", "binned_rates.png", "distributions_by_status.png",
                                 "correlation_heatmap.png", "roc_curves.png", "feature_importance.png",
                                 "decision_tree.png"}


def test_real_file_gives_its_known_figures(spark, tmp_path, run_job):
    real = shared_data("scale/scale_defects.csv")
    out = tmp_path / "real"
    assert run_job("scale-defects", "--input", str(real), "--output", str(out), *TREE_ONLY) == 0
    m = _metrics(out)
    assert m["input"]["encoding"] == "cp949" and m["input"]["variant"] == "lower"
    assert m["rows"] == {"read": 1000, "valid": 994, "rejected": 6, "reject_fraction": 0.006,
                         "reject_reasons": {"rolling_temp: outside [600, 1300]": 6}}
    assert (m["defect_rate"]["plates"], m["defect_rate"]["defects"]) == (994, 310)
    rates = {(r["column"], r["label"]): r for r in m["category_rates"]}
    assert (rates[("hsb", "not applied")]["n"], rates[("hsb", "not applied")]["rate"]) == (47, 1.0)
    assert rates[("steel_kind", "T")]["defects"] == 20 and rates[("steel_kind", "T")]["n"] == 241
    top = m["findings"][0]
    assert (top["column"], top["edge"], top["n_group"]) == ("rolling_temp", 1000.0, 193)
    assert any(r.startswith("Keep the rolling temperature (T5) below 1000 °C") for r in m["recommendations"])
    assert any("hot scale breaker (HSB), make 'applied' the standard" in r for r in m["recommendations"])
    assert m["duplicate_columns"] == {"fur_ex_temp": "fur_soak_temp"}
    assert m["logit"]["status"] == "fitted" and m["logit"]["converged"]
    assert any(n.startswith("hsb='not applied'") for n in m["logit"]["notes"])
    tree = m["models"]["decision_tree"]
    assert set(tree["cv_auc_by_depth"]) == {"3", "5"}
    assert tree["best_max_depth"] == int(max(tree["cv_auc_by_depth"], key=tree["cv_auc_by_depth"].get))
    assert tree["test"]["auc"] > 0.85
    assert m["logit"]["test"]["auc"] > 0.85
    rejects = spark.read.parquet(str(out / "rejects")).collect()
    assert sorted(r["plate_no"] for r in rejects) == ["PLT_1054", "PLT_1222", "PLT_1223", "PLT_1599", "PLT_1600",
                                                      "PLT_1601"]
    page = check_report(out, m)
    assert "<b>Defect rate 31.2%</b> (310 of 994 plates" in page
    assert "1,000 rows read, 994 plates analysed, 6 rejected" in page
    assert "rolling_temp: outside [600, 1300] (6)" in page


def test_upper_variant_in_utf8_statistics_and_logit_only(run_job, tmp_path):
    gen = tmp_path / "upper"
    assert run_job("scale-generate", "--output", str(gen), "--set", "rows=600", "--set", "variant=upper",
                   "--set", "encoding=utf-8", "--set", "seed=9") == 0
    header = next((gen / "plates").glob("*.csv")).read_text(encoding="utf-8").splitlines()[0]
    assert header == ",".join(schema.UPPER_COLUMNS.values())
    out = tmp_path / "out"
    assert run_job("scale-defects", "--input", str(gen), "--output", str(out), "--set", "models=[]",
                   "--set", "write_plates=false") == 0
    m = _metrics(out)
    assert (m["input"]["variant"], m["input"]["encoding"]) == ("upper", "utf-8")
    assert "pt_weight" in {r["column"] for r in m["numeric_by_status"]}
    assert "spec_country" not in {r["column"] for r in m["category_rates"]}
    assert {r["level"] for r in m["category_rates"] if r["column"] == "steel_kind"} == {"C", "T"}
    assert m["logit"]["status"] == "fitted" and m["models"] == {}
    assert not m["tree"]["dot_written"] and not (out / "decision_tree.dot").exists()
    assert "feature_importances" not in {p.name for p in out.iterdir()}
    check_report(out, m)
    assert "feature_importance.png" not in m["figures"] and "roc_curves.png" in m["figures"]
    assert ref_rates(gen) == [(r["column"], r["level"], r["n"], r["defects"]) for r in m["category_rates"]]


def ref_rates(gen: Path) -> list[tuple]:
    """Category counts of the pandas reference (same cleaning, same aggregation)."""
    return [(r["column"], r["level"], r["n"], r["defects"]) for r in run_pandas(str(gen / "plates"))["category_rates"]]


def _lower_csv(rows: list[list[str]], drop: str | None = None) -> str:
    cols = [c for c in schema.LOWER_COLUMNS.values() if c != drop]
    out = [",".join(cols)]
    for r in rows:
        out.append(",".join(v for c, v in zip(schema.LOWER_COLUMNS.values(), r) if c != drop))
    return "\n".join(out) + "\n"


ROW = ["PLT_1", "03JAN2023:07:07:53", "양품", "AB/A", "미국", "C", "20", "2500", "40000", "적용", "1호기", "1열", "1160",
       "80", "1150", "60", "230", "1150", "CR(제어압연)", "950", "8", "1조"]


@pytest.mark.parametrize("name,content,message", [
    ("missing.csv", _lower_csv([ROW], drop="hsb").encode("cp949"),
     r"missing.csv: missing required column hsb \(closest variant 'lower' expects"),
    ("empty.csv", b"", r"empty.csv: the file is empty"),
    ("header.csv", _lower_csv([]).encode("cp949"), r"header.csv: the file has a header but no data rows"),
    ("binary.csv", b"plate_no,scale\n\xff\xfe\x80\x81\xff\n", r"binary.csv: unknown text encoding"),
])
def test_bad_inputs_fail_with_one_line(run_job, tmp_path, capsys, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    assert run_job("scale-defects", "--input", str(path), "--output", str(tmp_path / "out")) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and re.search(message, err[0]), err
    assert not (tmp_path / "out").exists()


def test_too_many_rejects_publish_rejects_and_fail(run_job, tmp_path, capsys):
    bad = [ROW[:0] + [f"PLT_{i}"] + ROW[1:] for i in range(8)]
    for r in bad[:3]:
        r[19] = "0"  # rolling_temp 0: a sensor dropout
    bad[3][2] = "모름"  # unknown defect label
    path = tmp_path / "bad.csv"
    path.write_bytes(_lower_csv(bad).encode("cp949"))
    out = tmp_path / "out"
    assert run_job("scale-defects", "--input", str(path), "--output", str(out)) == 4
    assert "4 of 8 rows rejected (50.0% > max_reject_fraction 5.0%)" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "rejects"]
    m = _metrics(out)
    assert m["rows"]["reject_reasons"] == {"rolling_temp: outside [600, 1300]": 3, "scale: unknown label": 1}
