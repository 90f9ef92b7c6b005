"""Reading whole images: photos with a plate somewhere, crops, broken files; serial loop."""

from __future__ import annotations

import cv2
import numpy as np
import pandas as pd
import pytest

from sparkfolio.plates import pipeline as P
from sparkfolio.plates import render as R
from sparkfolio.plates import serial
from sparkfolio.plates.annotate import annotate, romanize
from sparkfolio.plates.detect import find_candidates
from sparkfolio.plates.glyphs import find_fonts
from tests.conftest import shared_data

SETTINGS = P.OcrSettings()


@pytest.fixture(scope="module")
def bank():
    return P.prepare(SETTINGS)


@pytest.fixture(scope="module")
def fonts():
    return find_fonts(names=R.PLATE_FONTS)


def _iou(a, b):
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0, min(ay + ah, by + bh) - max(ay, by))
    return ix * iy / (aw * ah + bw * bh - ix * iy)


def test_corrupt_and_empty_files_give_error_rows(bank):
    bad = P.read_image("x.jpg", b"\xff\xd8 not really a jpeg", SETTINGS, bank)
    assert bad.error == "cannot decode image (corrupt or not an image)"
    assert (bad.text, bad.valid, bad.box_x) == (None, False, None)
    assert P.read_image("e.png", b"", SETTINGS, bank).error == "empty file"
    assert list(bad.as_dict()) == [name for name, _ in P.RESULT_FIELDS]


@pytest.mark.parametrize("index", [0, 1, 3])
def test_reads_the_plate_in_a_generated_scene(bank, fonts, index):
    scene = R.render_scene(42, index, R.SceneSpec(), fonts)
    res = P.read_image(f"{index}.jpg", scene.jpeg, SETTINGS, bank)
    assert (res.text, res.valid, res.format, res.error) == (scene.text, True, scene.fmt, None)
    assert res.source == "chain"
    xs = [p[0] for p in scene.quad]
    ys = [p[1] for p in scene.quad]
    truth = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    assert _iou((res.box_x, res.box_y, res.box_w, res.box_h), truth) > 0.5
    assert (res.width, res.height) == (640, 480)
    assert res.seconds > 0


def test_candidates_are_found_where_the_plate_is(fonts):
    scene = R.render_scene(42, 1, R.SceneSpec(), fonts)
    gray = cv2.imdecode(np.frombuffer(scene.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    cands = find_candidates(gray, max_candidates=3)
    xs = [p[0] for p in scene.quad]
    ys = [p[1] for p in scene.quad]
    truth = (min(xs), min(ys), max(xs) - min(xs), max(ys) - min(ys))
    assert any(_iou(c.box, truth) > 0.3 for c in cands)
    for c in cands:  # the crop is deskewed: its glyph rows are level
        assert c.crop.ndim == 2 and c.crop.shape[1] > c.crop.shape[0]


def test_real_whole_car_photo(bank):
    path = shared_data("license_plates/49허1769.jpg")
    res = P.read_image(str(path), path.read_bytes(), SETTINGS, bank)
    assert (res.text, res.valid, res.engine) == ("49허1769", True, "both")
    # The plate sits in the middle band of this close-up.
    assert 50 < res.box_x < 200 and 80 < res.box_y < 160 and 300 < res.box_w < 450


@pytest.mark.parametrize("name, text", [("15.jpg", "56조0255"), ("data_00_33716.jpg", "48수4259"),
                                        ("data_02_18331.jpg", "35머0366")])
def test_real_plate_crops(bank, name, text):
    path = shared_data(f"korean_plate_crops/images/{name}")
    res = P.read_image(name, path.read_bytes(), SETTINGS, bank)
    assert (res.text, res.valid, res.source) == (text, True, "image")


def test_serial_loop_matches_the_pipeline(bank, fonts, tmp_path):
    paths = []
    for i in (0, 1):
        p = tmp_path / f"s{i}.jpg"
        p.write_bytes(R.render_scene(42, i, R.SceneSpec(scene=False), fonts).jpeg)
        paths.append(str(p))
    paths.append(str(tmp_path / "missing.jpg"))
    df = serial.process_files(paths, SETTINGS)
    assert list(df.columns) == [n for n, _ in P.RESULT_FIELDS]
    assert df["path"].tolist() == paths
    expected = [R.render_scene(42, i, R.SceneSpec(scene=False), fonts).text for i in (0, 1)]
    assert df["text"].tolist()[:2] == expected
    assert df["error"].tolist()[2].startswith("cannot read file")
    one = P.read_image(paths[0], open(paths[0], "rb").read(), SETTINGS, bank).as_dict()
    pd.testing.assert_series_equal(df.iloc[0].drop("seconds"), pd.Series(one).drop("seconds"), check_names=False)


def test_annotation_draws_box_and_korean_text(fonts):
    scene = R.render_scene(42, 0, R.SceneSpec(), fonts)
    rec = {"text": "12가3456", "valid": True, "box_x": 10, "box_y": 50, "box_w": 200, "box_h": 60, "error": None}
    png = annotate(scene.jpeg, rec, SETTINGS.font_dir)
    img = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)
    assert img.shape[:2] == (480, 640)
    assert tuple(img[50, 100]) == (0, 200, 0)  # the green box edge
    assert annotate(b"garbage", rec, SETTINGS.font_dir) is None
    assert romanize("12가3456") == "12ga3456"
    assert romanize("서울12허3456") == "seoul12heo3456"
