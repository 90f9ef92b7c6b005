"""The Tesseract command-line wrapper."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from sparkfolio.plates import tesseract as T
from sparkfolio.runtime.errors import DependencyError

TSV = (
    "level\tpage_num\tblock_num\tpar_num\tline_num\tword_num\tleft\ttop\twidth\theight\tconf\ttext\n"
    "1\t1\t0\t0\t0\t0\t0\t0\t300\t80\t-1\t\n"
    "4\t1\t1\t1\t1\t0\t10\t10\t280\t60\t-1\t\n"
    "5\t1\t1\t1\t1\t1\t10\t10\t120\t60\t91.5\t12가\n"
    "5\t1\t1\t1\t1\t2\t140\t10\t150\t60\t88.5\t3456\n"
    "5\t1\t1\t1\t1\t3\t295\t10\t5\t60\t10.0\t \n"
)


def test_parse_tsv_joins_words_and_averages_confidence():
    r = T.parse_tsv(TSV)
    assert r == T.TesseractResult("12가3456", 90.0)
    assert T.parse_tsv("level\tpage_num\n") == T.TesseractResult("", -1.0)


def test_missing_binary_names_the_packages():
    with pytest.raises(DependencyError, match="install tesseract-ocr tesseract-ocr-kor"):
        T.check_tesseract("/nonexistent/tesseract", "kor")


def test_missing_language_names_the_packages():
    T.check_tesseract.cache_clear()
    with pytest.raises(DependencyError, match="no 'xyz' language data.*tesseract-ocr-kor"):
        T.check_tesseract("tesseract", "xyz")


def test_reads_a_clean_korean_line():
    assert T.check_tesseract("tesseract", "kor").startswith("tesseract")
    img = Image.new("L", (420, 90), 255)
    font = ImageFont.truetype("/usr/share/fonts/truetype/nanum/NanumGothicBold.ttf", 52)
    ImageDraw.Draw(img).text((20, 12), "12가 3456", fill=0, font=font)
    r = T.ocr_line(np.asarray(img), psm=7, whitelist="0123456789가")
    assert r.text == "12가3456"
    assert 50 < r.confidence <= 100
