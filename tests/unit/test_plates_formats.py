"""Plate formats, labels from file names and the text metrics."""

from __future__ import annotations

import unicodedata

import pytest

from sparkfolio.plates import formats as F_


@pytest.mark.parametrize("text, fmt", [
    ("12가3456", "2-digit"),
    ("123가4567", "3-digit"),
    ("서울12가3456", "regional"),
    ("경기1바3456", "regional"),
    ("01배0000", "2-digit"),
    ("12리3456", None),        # 리 is not a plate syllable
    ("1가3456", None),          # one class digit needs a region
    ("12가345", None),
    ("12가34567", None),
    ("평양12가3456", None),     # not a region
    ("12a3456", None),
    ("", None),
    (None, None),
])
def test_plate_format(text, fmt):
    assert F_.plate_format(text) == fmt
    assert F_.is_valid_plate(text) is (fmt is not None)


def test_label_from_name_normalises_decomposed_names():
    nfd = unicodedata.normalize("NFD", "19오7777.jpg")  # how macOS stores it
    assert nfd != "19오7777.jpg"
    assert F_.label_from_name(nfd) == "19오7777"
    assert F_.label_from_name("/data/cars/54가0639.JPG") == "54가0639"
    assert F_.label_from_name("IMG_1234.jpg") is None
    assert F_.label_from_name("35리6110.jpg") is None  # not a valid plate: no label


def test_clean_text_keeps_digits_and_syllables():
    assert F_.clean_text(" 12 가-3456,\n") == "12가3456"
    assert F_.clean_text(unicodedata.normalize("NFD", "12가3456")) == "12가3456"
    assert F_.clean_text(None) == ""


def test_levenshtein_and_char_accuracy():
    assert F_.levenshtein("12가3456", "12가3456") == 0
    assert F_.levenshtein("12가3456", "12거3456") == 1
    assert F_.levenshtein("", "abc") == 3
    assert F_.levenshtein("kitten", "sitting") == 3
    assert F_.char_accuracy("12거3456", "12가3456") == pytest.approx(6 / 7)
    assert F_.char_accuracy(None, "12가3456") == 0.0
    assert F_.char_accuracy("12가34567890123", "12가3456") == 0.0  # floored at 0
    with pytest.raises(ValueError):
        F_.char_accuracy("x", "")


def test_slots_and_allowed_characters():
    assert F_.slots_of("2-digit") == "DDHDDDD"
    assert F_.slots_of("3-digit") == "DDDHDDDD"
    assert F_.slots_of("regional", 1) == "RRDHDDDD"
    assert F_.allowed_for_slot("D") == "0123456789"
    assert set(F_.allowed_for_slot("H")) == set(F_.PLATE_HANGUL)
    assert len(F_.PLATE_HANGUL) == 40 and len(set(F_.PLATE_HANGUL)) == 40
    assert F_.nearest_region("서을") == "서울"
    assert F_.nearest_region("가나") is None
