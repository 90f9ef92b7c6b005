"""Shared fixtures: one local[2] SparkSession per test run, and access to the real data sets."""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

import pytest

from sparkfolio.runtime.paths import data_dir

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def spark():
    """One SparkSession for the whole run: local[2], few shuffle partitions, UI off."""
    from pyspark.sql import SparkSession

    from sparkfolio.runtime.jvmcds import with_archive

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("sparkfolio-tests")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.default.parallelism", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "3g")
        # Spark's classes from the archive the setup builds (runtime/jvmcds.py): seconds off the start.
        .config("spark.driver.extraJavaOptions", with_archive(None) or "")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def shared_data(relative: str) -> Path:
    """Path of a real data set under SPARKFOLIO_DATA; skips the test with the reason when absent."""
    path = data_dir() / relative
    if not path.exists():
        pytest.skip(f"real data set {relative} not found under {data_dir()} (set SPARKFOLIO_DATA)")
    return path


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) of a PNG after checking its signature and that it decodes completely."""
    from PIL import Image

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR", f"{path.name} is not a PNG"
    with Image.open(path) as img:
        img.load()  # raises on a truncated or corrupt file
        assert img.size == struct.unpack(">II", data[16:24])
        return img.size


@pytest.fixture
def run_job(spark):
    """Run a job in-process through the same entry point as the CLI; returns its exit code.

    The session fixture is already active, so the job reuses it instead of starting a JVM.
    """
    from sparkfolio.cli import run_job as _run_job

    def _run(name: str, *args: str) -> int:
        return _run_job(name, list(args))

    return _run
