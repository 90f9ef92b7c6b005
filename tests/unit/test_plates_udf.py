"""The executor side of plates-ocr: what the UDF closure captures, and escaping listed paths."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from sparkfolio.plates import render as R
from sparkfolio.plates.glyphs import find_fonts
from sparkfolio.plates.ocr_job import glob_escape, task_count
from sparkfolio.plates.pipeline import EMPTY_FILE, RESULT_FIELDS, OcrSettings
from sparkfolio.plates.udf import ocr_batches


def test_ocr_closure_captures_a_plain_dict_and_rebuilds_the_settings():
    settings = OcrSettings(use_tesseract=False, max_candidates=2)
    fn = ocr_batches(settings)
    captured = [cell.cell_contents for cell in fn.__closure__]
    assert captured == [asdict(settings)]
    assert type(captured[0]) is dict
    scene = R.render_scene(42, 0, R.SceneSpec(), find_fonts(names=R.PLATE_FONTS))
    batch = pd.DataFrame({"path": ["a.jpg", "e.jpg"], "content": [scene.jpeg, b""]})
    (out,) = list(fn(iter([batch])))
    assert list(out.columns) == [name for name, _ in RESULT_FIELDS]
    assert out["path"].tolist() == ["a.jpg", "e.jpg"]
    assert out["text"].tolist()[0] == scene.text and out["text"].isna().tolist() == [False, True]
    assert out["error"].isna().tolist() == [True, False] and out["error"].tolist()[1] == EMPTY_FILE
    # use_tesseract=False reached the executor: no second opinion was asked for.
    assert out["tesseract_text"].isna().all() and out["engine"].tolist()[0] == "templates"


def test_glob_escape_makes_listed_names_literal():
    assert glob_escape("file:/d/plate_000001.jpg") == "file:/d/plate_000001.jpg"
    assert glob_escape("file:/d/a[1].jpg") == r"file:/d/a\[1\].jpg"
    assert glob_escape("file:/d/{x,y}*?.jpg") == r"file:/d/\{x,y\}\*\?.jpg"
    assert glob_escape("s3a://b/k\\1.jpg") == r"s3a://b/k\\1.jpg"


def test_task_count_fills_whole_waves_of_cores():
    # 24 images, 8 per task, 2 cores: 4 tasks of 6, not 3 tasks with the third running alone.
    assert task_count(24, 2, 8) == 4
    assert task_count(32, 2, 8) == 4 and task_count(128, 2, 8) == 16
    assert task_count(7, 2, 8) == 2  # small inputs still use every core
    assert task_count(24, 1, 8) == 3
    assert task_count(3, 4, 8) == 3 and task_count(1, 2, 8) == 1  # never more tasks than images
    assert task_count(0, 2, 8) == 1
