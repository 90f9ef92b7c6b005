"""Encoding detection, header parsing and variant choice of scale-defect CSV files."""

from __future__ import annotations

import pytest

from sparkfolio.runtime.errors import ConfigError, InputError
from sparkfolio.scale import schema
from sparkfolio.scale import source as SRC

LOWER_HEADER = ",".join(schema.LOWER_COLUMNS.values())
UPPER_HEADER = ",".join(schema.UPPER_COLUMNS.values())
ROW = "PLT_1001,03JAN2023:07:07:53,양품,AB/A,미국,C,32,3700,15100,적용,1호기,1열,1144,116,1133,59,259,1133,CR(제어압연),934,8,1조"


def test_detects_cp949_and_utf8():
    text = LOWER_HEADER + "\n" + ROW + "\n"
    assert SRC.detect_encoding(text.encode("cp949"), "f") == "cp949"
    assert SRC.detect_encoding(text.encode("utf-8"), "f") == "utf-8"
    assert SRC.detect_encoding(b"\xef\xbb\xbf" + text.encode("utf-8"), "f") == "utf-8-sig"


def test_a_character_cut_at_the_end_of_the_head_is_no_error():
    data = (LOWER_HEADER + "\n" + ROW).encode("utf-8")
    cut = data[: data.index("양".encode("utf-8")) + 1]  # first byte of a 3-byte character
    assert SRC.detect_encoding(cut, "f") == "utf-8"


def test_unknown_encoding_and_empty_file_are_input_errors():
    with pytest.raises(InputError, match="f.csv: unknown text encoding"):
        SRC.detect_encoding(b"plate_no\n\xff\xfe\x80\x80\xff", "f.csv")
    with pytest.raises(InputError, match="f.csv: the file is empty"):
        SRC.detect_encoding(b"", "f.csv")


def test_header_of_strips_bom_and_spaces():
    head = ("\ufeff" + "plate_no, scale ,hsb\nPLT_1,양품,적용\n").encode("utf-8")
    assert SRC.header_of(head, "utf-8-sig", "f") == ["plate_no", "scale", "hsb"]
    with pytest.raises(InputError, match="first line is blank"):
        SRC.header_of(b"\n\n", "utf-8", "f")


def test_has_data_line():
    assert SRC.has_data_line(b"a,b\n1,2\n", 8)
    assert not SRC.has_data_line(b"a,b\n\n", 5)
    assert SRC.has_data_line(b"a,b\n", 1000)  # more bytes than were read


def test_choose_variant_auto_and_explicit():
    assert SRC.choose_variant(LOWER_HEADER.split(","), schema.VARIANTS, "auto", "f")[0] == "lower"
    name, cols = SRC.choose_variant(UPPER_HEADER.split(",") + ["EXTRA"], schema.VARIANTS, "auto", "f")
    assert name == "upper" and cols["fur_soak_temp"] == "FUR_SZ_TEMP"
    assert SRC.choose_variant(UPPER_HEADER.split(","), schema.VARIANTS, "upper", "f")[0] == "upper"


def test_missing_column_names_the_column_and_the_variant():
    header = [c for c in UPPER_HEADER.split(",") if c != "HSB"]
    with pytest.raises(InputError, match=r"x.csv: missing required column HSB \(closest variant 'upper' expects"):
        SRC.choose_variant(header, schema.VARIANTS, "auto", "x.csv")
    with pytest.raises(InputError, match=r"missing required columns .*variant 'lower' expects"):
        SRC.choose_variant(UPPER_HEADER.split(","), schema.VARIANTS, "lower", "x.csv")
    with pytest.raises(ConfigError, match="variant 'middle' is unknown"):
        SRC.choose_variant(UPPER_HEADER.split(","), schema.VARIANTS, "middle", "x.csv")


def test_normalise_encoding():
    assert SRC.normalise_encoding("CP949") == "cp949"
    assert SRC.normalise_encoding("UTF8") == "utf-8"
    assert SRC.java_charset("cp949") == "x-windows-949"
    with pytest.raises(ConfigError, match="encoding 'klingon' is unknown"):
        SRC.normalise_encoding("klingon")
    with pytest.raises(ConfigError, match="not supported"):
        SRC.normalise_encoding("shift_jis")
