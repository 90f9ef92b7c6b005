"""The executor side of plates-ocr: what the UDF closure captures."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from sparkfolio.plates import render as R
from sparkfolio.plates.glyphs import find_fonts
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
