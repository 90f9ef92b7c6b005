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


def test_names_that_look_like_status_fields_spaces_and_hangul_keep_path_and_size(spark, tmp_path):
    # The listing parses Hadoop's FileStatus descriptions with the exact path as prefix: a name
    # that repeats their fields, or needs escaping in a URI, must still get its own size.
    names = {
        "x; isDirectory=true; length=7; y.jpg": 3,
        "with space.png": 11,
        "19오7777.jpg": 2,
        "100%.jpg": 5,
        "a{path=b}.jpg": 4,
    }
    nested = tmp_path / "deep; isDirectory=false; length=9;" / "more"
    nested.mkdir(parents=True)
    for name, size in names.items():
        (nested / name).write_bytes(b"z" * size)
    (nested / "empty.jpg").write_bytes(b"")
    (tmp_path / "_tmp").mkdir()
    (tmp_path / "_tmp" / "skipped.jpg").write_bytes(b"1")

    found = list_input_files(spark, str(tmp_path))
    hadoop = spark._jvm.org.apache.hadoop.fs.Path
    fs = hadoop(f"file://{tmp_path}").getFileSystem(spark._jsc.hadoopConfiguration())
    # Each path string is the one Hadoop itself gives the file (Spark's binaryFile ``path``).
    expected = sorted((str(fs.getFileStatus(hadoop(f"file://{nested / n}")).getPath().toString()), size)
                      for n, size in {**names, "empty.jpg": 0}.items())
    assert [(f.path, f.size) for f in found] == expected
    assert sorted(f.name for f in found) == sorted([*names, "empty.jpg"])


def test_a_folder_of_many_files(spark, tmp_path):
    for i in range(300):
        (tmp_path / f"f{i:03d}.bin").write_bytes(b"b" * i)
    found = list_input_files(spark, str(tmp_path))
    assert [(f.name, f.size) for f in found] == [(f"f{i:03d}.bin", i) for i in range(300)]
