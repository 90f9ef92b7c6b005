"""Atomic job outputs: staged, published by rename, untouched by a failed run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import numpy as np
import pytest

from sparkfolio.runtime.output import JobOutput, to_json


def _entries(folder):
    return sorted(os.listdir(folder))


def test_publish_replace_and_failed_run(spark, tmp_path):
    target = tmp_path / "out"
    with JobOutput(spark, str(target)) as out:
        out.write_table("numbers", spark.range(5))
        out.write_json("metrics.json", {"rows": 5})
        assert not target.exists()  # nothing appears before the job finishes
    assert _entries(target) == ["metrics.json", "numbers"]
    assert sorted(r.id for r in spark.read.parquet(str(target / "numbers")).collect()) == [0, 1, 2, 3, 4]

    # A re-run replaces the whole output.
    with JobOutput(spark, str(target)) as out:
        out.write_table("other", spark.range(2))
    assert _entries(target) == ["other"]

    # A failed run leaves the previous output as it was and no staging folder behind.
    with pytest.raises(RuntimeError, match="boom"):
        with JobOutput(spark, str(target)) as out:
            out.write_table("other", spark.range(7))
            raise RuntimeError("boom")
    assert _entries(target) == ["other"]
    assert spark.read.parquet(str(target / "other")).count() == 2
    assert _entries(tmp_path) == ["out"]


def test_keep_only_publishes_a_subset_even_on_error(spark, tmp_path):
    target = tmp_path / "out"
    with pytest.raises(ValueError):
        with JobOutput(spark, str(target)) as out:
            out.write_table("ratings", spark.range(3))
            out.write_table("rejects", spark.range(1))
            out.write_json("metrics.json", {"status": "failed"})
            out.keep_only(["rejects", "metrics.json"])
            raise ValueError("too many rejects")
    assert _entries(target) == ["metrics.json", "rejects"]


def test_scratch_data_is_readable_during_the_job_and_never_published(spark, tmp_path):
    target = tmp_path / "out"
    with JobOutput(spark, str(target)) as out:
        scratch = out.scratch_path("parsed")
        spark.range(4).write.parquet(scratch)
        out.write_table("evens", spark.read.parquet(scratch).filter("id % 2 = 0"))
    assert _entries(target) == ["evens"]
    assert sorted(r.id for r in spark.read.parquet(str(target / "evens")).collect()) == [0, 2]
    assert _entries(tmp_path) == ["out"]


def test_folders_left_by_killed_runs_are_removed_after_a_day(spark, tmp_path):
    stale = tmp_path / ".out._staging-0123456789ab"
    fresh = tmp_path / ".out._staging-ba9876543210"
    other = tmp_path / ".other._staging-0123456789ab"
    for folder in (stale, fresh, other):
        (folder / "t").mkdir(parents=True)
    two_days_ago = time.time() - 2 * 24 * 3600
    for folder in (stale, other):
        os.utime(folder, (two_days_ago, two_days_ago))
    with JobOutput(spark, str(tmp_path / "out")) as out:
        out.write_json("metrics.json", {})
    # The stale folder of this output goes; a recent one (a run in progress?) and other outputs' stay.
    assert _entries(tmp_path) == [".other._staging-0123456789ab", ".out._staging-ba9876543210", "out"]


def test_text_and_figure(spark, tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    with JobOutput(spark, str(tmp_path / "o")) as out:
        out.write_text("report.html", "<p>é</p>")
        out.write_figure("plot.png", fig)
    assert (tmp_path / "o" / "report.html").read_text(encoding="utf-8") == "<p>é</p>"
    assert (tmp_path / "o" / "plot.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_to_json_handles_numpy_dates_and_nan():
    import datetime

    text = to_json({"a": np.int64(3), "b": np.array([1.5, 2.0]), "c": float("nan"), "d": datetime.date(2005, 12, 31)})
    assert json.loads(text) == {"a": 3, "b": [1.5, 2.0], "c": None, "d": "2005-12-31"}


def test_ensure_parquet_table_gives_an_empty_table_its_schema_once(tmp_path):
    """A table no task wrote to gets one empty part of its schema; a written one is left alone."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from sparkfolio.runtime import fsio

    schema = pa.schema([("movie_id", pa.int32()), ("title", pa.string())])
    empty = tmp_path / "empty"
    (empty).mkdir()
    (empty / ".part-00000.parquet.abc.tmp").write_bytes(b"unfinished")  # hidden: not a part
    fsio.ensure_parquet_table(str(empty), schema)
    assert sorted(p.name for p in empty.iterdir() if not p.name.startswith(".")) == ["part-empty.parquet"]
    table = pq.read_table(empty / "part-empty.parquet")
    assert table.schema.equals(schema) and table.num_rows == 0

    missing = tmp_path / "missing"
    fsio.ensure_parquet_table(f"file://{missing}", schema)
    assert [p.name for p in missing.iterdir()] == ["part-empty.parquet"]

    written = tmp_path / "written"
    part = fsio.ParquetPart(str(written / "part-00003.parquet"), schema)
    part.write(pa.RecordBatch.from_pylist([{"movie_id": 1, "title": "x"}], schema=schema))
    part.commit()
    fsio.ensure_parquet_table(str(written), schema)
    assert [p.name for p in written.iterdir()] == ["part-00003.parquet"]


def test_plotting_loads_headless_in_the_background():
    # A fresh interpreter: in this one matplotlib may be loaded already.
    code = ("import sys\n"
            "from sparkfolio.runtime.output import load_plotting_in_background\n"
            "assert 'matplotlib' not in sys.modules\n"
            "t = load_plotting_in_background()\n"
            "t.join(60)\n"
            "assert not t.is_alive() and t.daemon and 'matplotlib.pyplot' in sys.modules\n"
            "import matplotlib\n"
            "print(matplotlib.get_backend().lower())\n")
    env = {**os.environ, "MPLBACKEND": ""}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "agg"
