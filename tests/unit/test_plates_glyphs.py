"""Glyph normalisation, HOG features and the template bank."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sparkfolio.plates import glyphs
from sparkfolio.plates.formats import DIGITS, PLATE_HANGUL
from sparkfolio.plates.pipeline import PLATE_CHARSET, OcrSettings
from sparkfolio.runtime.errors import DependencyError


def test_normalize_keeps_aspect_ratio_and_centres():
    bar = np.zeros((60, 40), np.uint8)
    bar[5:55, 18:24] = 255  # a tall thin stroke, like a 1
    norm = glyphs.normalize_glyph(bar)
    assert norm.shape == (glyphs.GLYPH_SIZE, glyphs.GLYPH_SIZE)
    cols = np.nonzero(norm.max(axis=0) > 0.5)[0]
    rows = np.nonzero(norm.max(axis=1) > 0.5)[0]
    assert rows.max() - rows.min() + 1 == glyphs.GLYPH_SIZE - 4  # fills the height
    assert cols.max() - cols.min() + 1 <= 5  # and stays thin
    assert abs((cols.min() + cols.max()) / 2 - (glyphs.GLYPH_SIZE - 1) / 2) <= 1


def test_deslant_uprights_a_sheared_stroke():
    bar = np.zeros((80, 80), np.uint8)
    cv2.line(bar, (30, 70), (50, 10), 255, 6)  # leans right, like italic glyphs
    m0 = cv2.moments(bar, True)
    m1 = cv2.moments(glyphs.deslant(bar), True)
    assert abs(m0["mu11"] / m0["mu02"]) > 0.3
    assert abs(m1["mu11"] / m1["mu02"]) < 0.05


def test_hog_is_contrast_invariant_and_sized():
    rng = np.random.default_rng(0)
    img = rng.random((32, 32)).astype(np.float32)
    h1 = glyphs.hog(img)
    h2 = glyphs.hog(img * 3.0)
    assert h1.shape == (1, 3 * 3 * 4 * 9)
    np.testing.assert_allclose(h1, h2, atol=1e-4)
    batch = glyphs.hog(np.stack([img, img.T]))
    np.testing.assert_allclose(batch[0], h1[0], atol=1e-6)
    assert not np.allclose(batch[1], h1[0])


def test_find_fonts_missing_is_a_dependency_error(tmp_path):
    with pytest.raises(DependencyError, match="fonts-nanum"):
        glyphs.find_fonts(str(tmp_path))


@pytest.fixture(scope="module")
def bank():
    s = OcrSettings()
    return glyphs.cached_bank(PLATE_CHARSET, s.font_dir, s.bank_variants, s.bank_seed)


def test_bank_is_deterministic_and_sorted(bank):
    assert bank.charset == "".join(sorted(set(PLATE_CHARSET)))
    assert list(bank.starts) == sorted(bank.starts)
    assert all(bank.labels[s] == ch for s, ch in zip(bank.starts, bank.charset))
    np.testing.assert_allclose(np.linalg.norm(bank.features, axis=1), 1.0, atol=1e-4)
    # The same seed renders the same templates (checked on a small bank: fast).
    fonts = glyphs.find_fonts()[:1]
    a = glyphs.build_bank("가1", fonts, variants=3, seed=3)
    b = glyphs.build_bank("가1", fonts, variants=3, seed=3)
    np.testing.assert_array_equal(a.features, b.features)


@pytest.mark.parametrize("ch", list(DIGITS) + list("가나다라마거너더러머버서어저고노도로모보소오조구누두루무부수우주하허호"))
def test_distorted_glyphs_of_an_unseen_font_are_recognised(bank, ch):
    """A glyph from a face not in the bank, sheared and blurred, is still read within its slot."""
    # Faces the bank was not built from (it uses the bold SquareRound and Coding faces).
    font = "/usr/share/fonts/truetype/nanum/" + ("NanumGothicCoding.ttf" if ch.isdigit() else "NanumSquareRoundR.ttf")
    base = glyphs.render_glyph(ch, font)
    h, w = base.shape
    sheared = cv2.warpAffine(base, np.float32([[1, -0.15, 0.15 * h + 4], [0, 1, 0]]), (w + int(0.15 * h) + 8, h))
    small = cv2.resize(sheared, None, fx=0.4, fy=0.4, interpolation=cv2.INTER_AREA)
    mask = (cv2.GaussianBlur(small, (3, 3), 0.8) > 100).astype(np.uint8) * 255
    feat = glyphs.glyph_features(glyphs.normalize_glyph(mask))
    allowed = DIGITS if ch.isdigit() else PLATE_HANGUL
    got, sim, margin = bank.classify(feat, allowed, alpha=0.3 if ch.isdigit() else 1.0)
    assert got == ch, f"{ch} read as {got} (similarity {sim:.3f})"
