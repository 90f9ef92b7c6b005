"""Hand-planned tasks (runtime.tasks) and the worker daemon's path trimming (runtime.pydaemon)."""

from __future__ import annotations

import functools
import zipfile
from pathlib import Path
from typing import Any, Iterator

import pyarrow as pa

from sparkfolio.runtime.pydaemon import without_redundant_zips
from sparkfolio.runtime.tasks import run_tasks


def _task(payload: dict[str, Any], scale: int) -> Iterator[pa.RecordBatch]:
    """Yields one row per value of the payload, tagged with the task's partition."""
    from pyspark import TaskContext

    part = TaskContext.get().partitionId()
    values = [v * scale for v in payload["values"]]
    yield pa.RecordBatch.from_pydict({"name": [payload["name"]] * len(values), "value": values,
                                      "part": [part] * len(values)})


def test_run_tasks_runs_each_payload_once_in_its_own_partition(spark):
    payloads = [{"name": "a", "values": [1, 2]}, {"name": "b", "values": []}, {"name": "c", "values": [3]}]
    df = run_tasks(spark, payloads, functools.partial(_task, scale=10), "name string, value long, part long")
    assert df.rdd.getNumPartitions() == 3
    rows = sorted((r.name, r.value, r.part) for r in df.collect())
    assert rows == [("a", 10, 0), ("a", 20, 0), ("c", 30, 2)]


def test_run_tasks_with_no_payload_is_empty_with_the_schema(spark):
    df = run_tasks(spark, [], functools.partial(_task, scale=1), "name string, value long, part long")
    assert df.collect() == []
    assert df.columns == ["name", "value", "part"]


def _fake_package(root: Path, package: str, version: str) -> None:
    (root / package).mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "version.py").write_text(f"__version__ = {version!r}\n")


def _fake_zip(path: Path, package: str, version: str) -> str:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{package}/__init__.py", "")
        z.writestr(f"{package}/version.py", f"__version__ = {version!r}\n")
    return str(path)


def test_daemon_drops_a_source_zip_only_when_the_same_version_is_installed(tmp_path):
    site = tmp_path / "site"
    _fake_package(site, "pyspark", "4.3.0")
    _fake_package(site, "py4j", "0.10.9.9")
    same = _fake_zip(tmp_path / "pyspark.zip", "pyspark", "4.3.0")
    py4j = _fake_zip(tmp_path / "py4j-src.zip", "py4j", "0.10.9.9")
    (tmp_path / "old").mkdir()
    other = _fake_zip(tmp_path / "old" / "pyspark.zip", "pyspark", "3.5.1")
    unrelated = _fake_zip(tmp_path / "deps.zip", "mylib", "1.0")
    path = [same, py4j, other, unrelated, str(site)]
    assert without_redundant_zips(path) == [other, unrelated, str(site)]


def test_daemon_keeps_the_zips_when_nothing_is_installed(tmp_path):
    zipped = _fake_zip(tmp_path / "pyspark.zip", "pyspark", "4.3.0")
    assert without_redundant_zips([zipped, str(tmp_path / "empty")]) == [zipped, str(tmp_path / "empty")]
