"""plates-ocr's labels CSV: the header read on the driver becomes the schema Spark reads with."""

from __future__ import annotations

import pytest

from sparkfolio.plates.ocr_job import _read_labels, csv_header
from sparkfolio.runtime.errors import InputError


def test_columns_in_any_order_and_case_without_note(spark, tmp_path):
    f = tmp_path / "labels.csv"
    f.write_text('TEXT,"Path",extra\n12가3456,images/a.jpg,x\n" 40다3304 ",b.jpg,\n', encoding="utf-8")
    assert csv_header(spark, f"file://{f}") == ["TEXT", "Path", "extra"]
    got = sorted(tuple(r) for r in _read_labels(spark, str(f)).collect())
    assert got == [("b.jpg", "40다3304", None, "labels csv"), ("images/a.jpg", "12가3456", None, "labels csv")]


def test_a_folder_of_csv_parts_with_notes(spark, tmp_path):
    for i, row in enumerate(["a.jpg,11가1111,", "b.jpg,22나2222,label likely wrong"]):
        (tmp_path / f"part-{i}.csv").write_text(f"path,text,note\r\n{row}\r\n", encoding="utf-8")
    got = sorted(tuple(r) for r in _read_labels(spark, str(tmp_path)).collect())
    assert got == [("a.jpg", "11가1111", None, "labels csv"), ("b.jpg", "22나2222", "label likely wrong", "labels csv")]


@pytest.mark.parametrize("content", ["file,text\na.jpg,1\n", "", "path\n"])
def test_a_header_without_path_and_text_names_the_file(spark, tmp_path, content):
    f = tmp_path / "labels.csv"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(InputError, match=f"labels file file:{f}: header .* lacks path and text"):
        _read_labels(spark, str(f))


def test_a_missing_labels_file_is_an_input_error(spark, tmp_path):
    with pytest.raises(InputError, match="input not found"):
        _read_labels(spark, str(tmp_path / "nope.csv"))
