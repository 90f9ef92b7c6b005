"""Input listing through Hadoop's FileSystem API."""

from __future__ import annotations

import pytest

from sparkfolio.runtime.errors import InputError
from sparkfolio.runtime.inputs import list_input_files, local_path


def test_folder_glob_and_file(spark, tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("12345")
    (tmp_path / "b.txt").write_text("1")
    (tmp_path / ".hidden").write_text("no")
    (tmp_path / "_SUCCESS").write_text("")

    found = list_input_files(spark, str(tmp_path))
    assert [(local_path(f.path), f.size) for f in found] == [
        (str(tmp_path / "a" / "x.txt"), 5),
        (str(tmp_path / "b.txt"), 1),
    ]
    assert [f.name for f in list_input_files(spark, str(tmp_path / "*.txt"))] == ["b.txt"]
    assert [f.name for f in list_input_files(spark, str(tmp_path / "a" / "x.txt"))] == ["x.txt"]


def test_missing_path_names_it(spark, tmp_path):
    with pytest.raises(InputError, match=f"input not found: {tmp_path}/nothing"):
        list_input_files(spark, str(tmp_path / "nothing"))
