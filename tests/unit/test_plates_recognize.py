"""Segmentation and format-guided reading of plate crops."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from sparkfolio.plates import render as R
from sparkfolio.plates import segment
from sparkfolio.plates.glyphs import cached_bank, find_fonts
from sparkfolio.plates.pipeline import PLATE_CHARSET, OcrSettings
from sparkfolio.plates.recognize import Reading, decode, read_crop, read_rows


@pytest.fixture(scope="module")
def bank():
    s = OcrSettings()
    return cached_bank(PLATE_CHARSET, s.font_dir, s.bank_variants, s.bank_seed)


@pytest.fixture(scope="module")
def fonts():
    return find_fonts(names=R.PLATE_FONTS)


def _plate(text, font, angle=0.0):
    img = R.render_plate(text, font, np.random.default_rng(0))
    img = cv2.copyMakeBorder(img, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=40)
    if angle:
        img = segment.rotate(img, angle)
    return img


@pytest.mark.parametrize("text, fmt", [
    ("12가3456", "2-digit"),
    ("87허0192", "2-digit"),
    ("305보7718", "3-digit"),
    ("서울34누5078", "regional"),
])
def test_reads_rendered_plates_exactly(bank, fonts, text, fmt):
    reading = read_crop(_plate(text, fonts[0]), bank)
    assert isinstance(reading, Reading)
    assert (reading.text, reading.fmt) == (text, fmt)
    assert len(reading.chars) == len(text)
    assert 0.8 < reading.confidence <= 1.0


def test_tilted_plate_is_deskewed_before_reading(bank, fonts):
    img = _plate("46보1344", fonts[2], angle=6.0)
    g = segment.to_plate_height(img)
    assert segment.crop_skew(g) == pytest.approx(-6.0, abs=1.5)
    assert read_crop(img, bank).text == "46보1344"


def test_rows_find_the_glyph_band_and_group_jamo(fonts):
    g = segment.to_plate_height(_plate("62오8738", fonts[0]))
    polarity, _, mask = segment.binarizations(g)[0]
    rows = segment.find_rows(mask, polarity)
    assert len(rows) == 1
    row = rows[0]
    # 오 is two pieces stacked (ㅇ over ㅗ): one group. Bolts are not in the band.
    tall = [gr for gr in row.groups if gr.h > 0.6 * row.band_height]
    assert len(tall) == 7
    assert row.band_height == pytest.approx(0.67 * R.PLATE_H * g.shape[0] / (R.PLATE_H + 24), rel=0.12)


def test_decoder_respects_slots(bank, fonts):
    g = segment.to_plate_height(_plate("12가3456", fonts[0]))
    polarity, _, mask = segment.binarizations(g)[0]
    rows = segment.find_rows(mask, polarity)
    # Forcing the 3-digit layout on a 2-digit plate puts a digit where a syllable belongs,
    # which costs; the free reading picks the right layout.
    forced = decode(rows[0], bank, "DDDHDDDD")
    free = read_rows(rows, bank)
    assert free.text == "12가3456"
    assert forced is None or forced.score < free.score
    assert all(c.isdigit() for c in free.text[:2] + free.text[3:])


def test_blank_and_noise_images_read_nothing(bank):
    assert read_crop(np.full((60, 200), 200, np.uint8), bank) is None
    noise = np.random.default_rng(0).integers(0, 256, (60, 200)).astype(np.uint8)
    r = read_crop(noise, bank)
    assert r is None or r.fmt is None or r.confidence < 0.8
