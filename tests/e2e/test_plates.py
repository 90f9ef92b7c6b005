"""End to end: plates-generate renders a labelled set; plates-ocr reads it and real photos.

Jobs run in-process on the session's local[2] Spark through the CLI entry point.
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from sparkfolio.plates.render import SceneSpec, render_scene
from sparkfolio.runtime.binaryfiles import plan_packing
from tests.conftest import shared_data

pytestmark = pytest.mark.e2e


def _metrics(folder: Path) -> dict:
    return json.loads((folder / "metrics.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def generated(spark, tmp_path_factory):
    from sparkfolio.cli import run_job

    out = tmp_path_factory.mktemp("plates") / "gen"
    assert run_job("plates-generate", ["--output", str(out), "--set", "count=6", "--set", "seed=11",
                                       "--set", "images_per_task=2"]) == 0
    return out


def test_generate_writes_images_and_labels(generated, run_job, tmp_path):
    from sparkfolio.plates.glyphs import find_fonts
    from sparkfolio.plates.render import PLATE_FONTS

    # labels.csv was written by Spark and moved in: no part folder, checksum or marker left over.
    assert sorted(p.name for p in generated.iterdir()) == ["images", "labels", "labels.csv", "metrics.json"]
    assert (generated / "labels.csv").read_bytes().startswith(b"path,text\nimages/plate_000000.jpg,")
    images = sorted(p.name for p in (generated / "images").iterdir())
    assert images == [f"plate_{i:06d}.jpg" for i in range(6)]
    with open(generated / "labels.csv", encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    fonts = find_fonts(names=PLATE_FONTS)
    expected = [render_scene(11, i, SceneSpec(), fonts) for i in range(6)]
    assert rows == [{"path": f"images/plate_{i:06d}.jpg", "text": e.text} for i, e in enumerate(expected)]
    for i, e in enumerate(expected):  # the executors wrote exactly what the renderer makes
        assert (generated / "images" / f"plate_{i:06d}.jpg").read_bytes() == e.jpeg
    table = pd.read_parquet(generated / "labels").sort_values("path").reset_index(drop=True)
    assert table["text"].tolist() == [e.text for e in expected]
    assert table["format"].tolist() == [e.fmt for e in expected]
    m = _metrics(generated)
    assert m["images"] == 6 and m["tasks"] == 3 and sum(m["by_format"].values()) == 6
    # Image i depends on (seed, i) only: fewer images in other tasks give the same first files.
    again = tmp_path / "again"
    assert run_job("plates-generate", "--output", str(again), "--set", "count=2", "--set", "seed=11",
                   "--set", "images_per_task=1") == 0
    for name in ("plate_000000.jpg", "plate_000001.jpg"):
        assert (again / "images" / name).read_bytes() == (generated / "images" / name).read_bytes()


def test_ocr_reads_generated_scenes_and_rejects_broken_files(generated, run_job, tmp_path):
    data = tmp_path / "in"
    shutil.copytree(generated / "images", data / "images")
    shutil.copy(generated / "labels.csv", data / "labels.csv")
    (data / "images" / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 truncated")
    (data / "images" / "notes.txt").write_text("not an image")
    out = tmp_path / "ocr"
    assert run_job("plates-ocr", "--input", str(data / "images"), "--output", str(out),
                   "--set", f"labels={data / 'labels.csv'}", "--set", "annotate=3") == 0
    plates = pd.read_parquet(out / "plates")
    assert len(plates) == 7  # six images and the broken one; notes.txt is not an image
    ok = plates[plates["error"].isna()].sort_values("path")
    with open(data / "labels.csv", encoding="utf-8") as fh:
        truth = {r["path"].split("/")[-1]: r["text"] for r in csv.DictReader(fh)}
    assert dict(zip(ok["path"].str.rsplit("/", n=1).str[-1], ok["text"])) == truth
    assert ok["valid"].all() and ok["exact"].all()
    assert (ok["label_source"] == "labels csv").all()
    assert ok["box_w"].gt(50).all() and ok["seconds"].gt(0).all()
    rejects = pd.read_parquet(out / "rejects")
    assert rejects["path"].str.endswith("/broken.jpg").tolist() == [True]
    assert rejects["reason"].tolist() == ["cannot decode image (corrupt or not an image)"]
    m = _metrics(out)
    assert m["images"] == {"total": 7, "errors": 1, "read": 6, "valid": 6, "listed": 7}
    assert m["accuracy"]["all"] == {"labelled": 6, "correct": 6, "exact_accuracy": 1.0, "char_accuracy": 1.0}
    # Packed by size (runtime.binaryfiles, whose tests check Spark runs the tasks it plans).
    sizes = [p.stat().st_size for p in (data / "images").glob("*.jpg")]
    assert m["timing"]["tasks"] == plan_packing(sizes, 32, 4 << 20, 2).tasks and m["timing"]["cores"] == 2
    t = m["timing"]
    assert t["work_s"] > 0 and t["wall_s"] > 0 and t["images_per_second"] == round(7 / t["wall_s"], 3)
    assert "histogram" not in t and 0 < t["median_s"] <= t["p95_s"] <= t["max_s"]
    assert t["mean_s"] == pytest.approx(t["work_s"] / 7, abs=1e-3)
    assert len(m["annotated"]) == 3
    assert all((out / name).stat().st_size > 1000 for name in m["annotated"])
    assert (out / "seconds_per_image.png").exists()


def _write_labels(path: Path, rows: list[tuple[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["path", "text"])
        writer.writerows(rows)


def test_ocr_reads_nested_folders_and_names_with_glob_characters(generated, run_job, tmp_path):
    with open(generated / "labels.csv", encoding="utf-8") as fh:
        truth = [r["text"] for r in csv.DictReader(fh)]
    src = generated / "images"
    top = tmp_path / "in" / "top"
    (top / "nested" / "deeper").mkdir(parents=True)
    # Re-globbed, "a[1].jpg" would match a1.jpg (twice) and never itself.
    shutil.copy(src / "plate_000000.jpg", top / "a[1].jpg")
    shutil.copy(src / "plate_000001.jpg", top / "a1.jpg")
    shutil.copy(src / "plate_000002.jpg", top / "nested" / "deeper" / "b{2}.jpg")
    shutil.copy(src / "plate_000003.jpg", top / "nested" / "plate_000003.jpg")
    labels = tmp_path / "labels.csv"
    _write_labels(labels, [("a[1].jpg", truth[0]), ("a1.jpg", truth[1]), ("deeper/b{2}.jpg", truth[2]),
                           ("nested/plate_000003.jpg", truth[3])])
    out = tmp_path / "ocr"
    assert run_job("plates-ocr", "--input", str(top), "--output", str(out), "--set", f"labels={labels}",
                   "--set", "annotate=0", "--set", "use_tesseract=false") == 0
    plates = pd.read_parquet(out / "plates").sort_values("path")
    assert plates["path"].tolist() == [f"file:{top}/{name}" for name in
                                       ("a1.jpg", "a[1].jpg", "nested/deeper/b{2}.jpg", "nested/plate_000003.jpg")]
    assert plates["text"].tolist() == [truth[1], truth[0], truth[2], truth[3]]
    assert plates["label"].tolist() == plates["text"].tolist() and plates["exact"].all()
    assert plates["error"].isna().all()
    assert _metrics(out)["images"] == {"total": 4, "errors": 0, "read": 4, "valid": 4, "listed": 4}


def test_ocr_gives_zero_byte_files_error_and_reject_rows(generated, run_job, tmp_path):
    data = tmp_path / "in"
    (data / "sub").mkdir(parents=True)
    shutil.copy(generated / "images" / "plate_000004.jpg", data / "plate_000004.jpg")
    shutil.copy(generated / "images" / "plate_000005.jpg", data / "plate_000005.jpg")
    (data / "empty.jpg").write_bytes(b"")
    (data / "sub" / "zero[0].png").write_bytes(b"")
    out = tmp_path / "ocr"
    assert run_job("plates-ocr", "--input", str(data), "--output", str(out), "--set", "annotate=0",
                   "--set", "use_tesseract=false", "--set", "max_error_fraction=0.5") == 0
    plates = pd.read_parquet(out / "plates").sort_values("path")
    assert plates["path"].tolist() == [f"file:{data}/{n}" for n in
                                       ("empty.jpg", "plate_000004.jpg", "plate_000005.jpg", "sub/zero[0].png")]
    assert plates["error"].tolist() == ["empty file", None, None, "empty file"]
    assert plates["valid"].tolist() == [False, True, True, False]
    assert plates["text"].isna().tolist() == [True, False, False, True]
    assert plates["seconds"].tolist()[0] == 0.0 and plates["seconds"].tolist()[3] == 0.0
    rejects = pd.read_parquet(out / "rejects").sort_values("path")
    assert rejects.values.tolist() == [[f"file:{data}/empty.jpg", "empty file"],
                                       [f"file:{data}/sub/zero[0].png", "empty file"]]
    m = _metrics(out)
    assert m["images"] == {"total": 4, "errors": 2, "read": 2, "valid": 2, "listed": 4}
    assert m["timing"]["tasks"] == 2


def test_ocr_on_real_crops_with_flagged_labels(run_job, tmp_path):
    crops = shared_data("korean_plate_crops")
    out = tmp_path / "crops"
    # 10.jpg carries a label noted as wrong; the others are plain.
    pattern = str(crops / "images" / "{10,15,63,data_00_33716,data_02_18331}.jpg")
    assert run_job("plates-ocr", "--input", pattern, "--output", str(out),
                   "--set", f"labels={crops / 'labels.csv'}", "--set", "annotate=0",
                   "--set", "use_tesseract=false") == 0
    plates = pd.read_parquet(out / "plates").sort_values("path")
    names = plates["path"].str.rsplit("/", n=1).str[-1].tolist()
    assert names == ["10.jpg", "15.jpg", "63.jpg", "data_00_33716.jpg", "data_02_18331.jpg"]
    assert plates["flagged"].tolist() == [True, False, False, False, False]
    assert plates["label"].tolist() == ["71라1466", "56조0255", "40다3304", "48수4259", "35머0366"]
    m = _metrics(out)
    acc = m["accuracy"]
    assert acc["all"]["labelled"] == 5 and acc["excluding_flagged"]["labelled"] == 4
    # The four plainly labelled crops are read exactly (nothing is random, so every run).
    assert plates.loc[~plates["flagged"], "exact"].tolist() == [True] * 4
    assert acc["excluding_flagged"] == {"labelled": 4, "correct": 4, "exact_accuracy": 1.0, "char_accuracy": 1.0}
    # The flagged label says 71...; the image (and the reading) shows 12 ... 1466.
    flagged = plates.loc[plates["flagged"], "text"].item()
    assert (flagged[:2], flagged[3:]) == ("12", "1466")


def test_missing_tesseract_is_a_one_line_dependency_error(run_job, tmp_path, capsys, generated):
    code = run_job("plates-ocr", "--input", str(generated / "images"), "--output", str(tmp_path / "o"),
                   "--set", "tesseract_cmd=/nonexistent/tesseract", "--set", "tesseract_api=cli")
    assert code == 3
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "Tesseract not found" in err and "install tesseract-ocr tesseract-ocr-kor" in err
    assert not (tmp_path / "o").exists()


def test_unknown_tesseract_api_is_a_config_error(run_job, tmp_path, capsys, generated):
    code = run_job("plates-ocr", "--input", str(generated / "images"), "--output", str(tmp_path / "o"),
                   "--set", "tesseract_api=grpc")
    assert code == 2
    assert "tesseract_api must be one of auto, library, cli, got 'grpc'" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_no_images_is_an_input_error(run_job, tmp_path, capsys):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "readme.txt").write_text("nothing to see")
    assert run_job("plates-ocr", "--input", str(tmp_path / "in"), "--output", str(tmp_path / "o")) == 2
    assert "no images (jpg, jpeg, png) under" in capsys.readouterr().err


def test_too_many_unreadable_images_fail_but_publish_rejects(run_job, tmp_path, capsys):
    data = tmp_path / "in"
    data.mkdir()
    for i in range(3):
        (data / f"bad{i}.png").write_bytes(b"\x89PNG\r\n\x1a\n broken")
    out = tmp_path / "o"
    assert run_job("plates-ocr", "--input", str(data), "--output", str(out), "--set", "annotate=0") == 4
    assert "3 of 3 images" in capsys.readouterr().err
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "rejects"]
    assert len(pd.read_parquet(out / "rejects")) == 3


def test_only_empty_images_fail_with_their_rejects(run_job, tmp_path, capsys):
    data = tmp_path / "in"
    data.mkdir()
    for name in ("a.jpg", "b.png"):
        (data / name).write_bytes(b"")
    out = tmp_path / "o"
    # No file reaches a task (Spark skips empty files): the job still reports and fails cleanly.
    assert run_job("plates-ocr", "--input", str(data), "--output", str(out), "--set", "annotate=0") == 4
    assert "2 of 2 images" in capsys.readouterr().err
    assert pd.read_parquet(out / "rejects").sort_values("path").values.tolist() == [
        [f"file:{data}/a.jpg", "empty file"], [f"file:{data}/b.png", "empty file"]]
    assert _metrics(out)["timing"]["tasks"] == 0
