"""The synthetic plate renderer: valid labels, deterministic images, plates inside the frame."""

from __future__ import annotations

from collections import Counter

import cv2
import numpy as np
import pytest

from sparkfolio.plates import formats as F_
from sparkfolio.plates import render as R
from sparkfolio.plates.glyphs import find_fonts


@pytest.fixture(scope="module")
def fonts():
    return find_fonts(names=R.PLATE_FONTS)


def test_random_plate_texts_are_valid_in_the_asked_shares():
    rng = np.random.default_rng(1)
    draws = [R.random_plate_text(rng, 0.3, 0.1) for _ in range(2000)]
    assert all(F_.plate_format(t) == f for t, f in draws)
    counts = Counter(f for _, f in draws)
    assert counts["regional"] / 2000 == pytest.approx(0.1, abs=0.02)
    assert counts["3-digit"] / 2000 == pytest.approx(0.3, abs=0.03)
    assert len({t[2] for t, f in draws if f == "2-digit"}) == len(F_.PLATE_HANGUL)  # every syllable used


def test_scene_is_a_function_of_seed_and_index(fonts):
    spec = R.SceneSpec()
    a = R.render_scene(5, 17, spec, fonts)
    b = R.render_scene(5, 17, spec, fonts)
    c = R.render_scene(5, 18, spec, fonts)
    assert a == b
    assert a.jpeg != c.jpeg
    img = cv2.imdecode(np.frombuffer(a.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    assert img.shape == (spec.height, spec.width)
    assert F_.plate_format(a.text) == a.fmt
    xs = [p[0] for p in a.quad]
    ys = [p[1] for p in a.quad]
    assert 0 <= min(xs) < max(xs) <= spec.width and 0 <= min(ys) < max(ys) <= spec.height
    plate_w = max(xs) - min(xs)
    assert spec.plate_width[0] * spec.width * 0.8 <= plate_w <= spec.plate_width[1] * spec.width * 1.25


def test_plate_is_brighter_than_its_lettering(fonts):
    plate = R.render_plate("12가3456", fonts[0], np.random.default_rng(0))
    assert plate.shape == (R.PLATE_H, R.PLATE_W)
    band = plate[30:80, 60:460]
    # Plenty of dark ink in the glyph band, and a bright plate around it.
    assert (band < 100).mean() > 0.1
    assert np.median(plate) > 200


def test_crop_mode_gives_a_plate_filling_the_image(fonts):
    r = R.render_scene(3, 0, R.SceneSpec(scene=False), fonts)
    img = cv2.imdecode(np.frombuffer(r.jpeg, np.uint8), cv2.IMREAD_GRAYSCALE)
    h, w = img.shape
    xs = [p[0] for p in r.quad]
    assert (max(xs) - min(xs)) / w > 0.8
