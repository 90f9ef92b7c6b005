"""The command line as a user meets it: ``sparkfolio``, ``sparkfolio JOB`` and ``spark-submit jobs/JOB.py``.

Most error cases run in-process through the CLI entry point (``run_job`` + ``capsys``): same code,
no JVM start. A few real subprocesses of ``.venv/bin/sparkfolio`` and ``.venv/bin/spark-submit``
prove the installed entry points themselves (each JVM start costs seconds, so they are few); a
successful ``spark-submit jobs/netflix_ingest.py`` run is in tests/cluster/test_standalone.py.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparkfolio.registry import JOBS, job_spec
from tests.conftest import REPO

pytestmark = pytest.mark.e2e

BIN = Path(sys.executable).parent
SPARKFOLIO = BIN / "sparkfolio"
SPARK_SUBMIT = BIN / "spark-submit"

# Small splits, so a 100 kB file is cut in several byte ranges parsed by different tasks.
INGEST_SETTINGS = ("--set", "split_size_mb=0.03")
# Lines the ingest job must reject (customer not a number, rating 7, 30 February): the rejects
# table and its second pass are then part of every comparison.
BAD_LINES = b"not-a-customer,3,2005-01-01\n1234,7,2005-01-01\n1234,4,2005-02-30\n"


# -- shared data: generated once per test session, reused by tests/cluster ------------------
def netflix_input(tmp_path_factory) -> Path:
    """Synthetic Netflix Prize files (Kaggle layout, 20,000 ratings) plus three bad lines.

    Made with the real ``netflix-generate`` job on the test session; cached under the session's
    base temp folder so every test module that needs it shares one copy. Needs the ``spark``
    fixture to be active.
    """
    from sparkfolio.cli import run_job

    raw = tmp_path_factory.getbasetemp() / "netflix-raw"
    if not raw.exists():
        code = run_job("netflix-generate", ["--output", str(raw), "--set", "ratings=20000", "--set", "files=2",
                                            "--log-level", "WARNING"])
        assert code == 0
        with open(raw / "combined_data_2.txt", "ab") as fh:
            fh.write(BAD_LINES)
    return raw


def reference_ingest(tmp_path_factory) -> Path:
    """The output of ``netflix-ingest`` on :func:`netflix_input`, run in-process (cached likewise)."""
    from sparkfolio.cli import run_job

    out = tmp_path_factory.getbasetemp() / "netflix-ingest-reference"
    if not out.exists():
        code = run_job("netflix-ingest", ["--input", str(netflix_input(tmp_path_factory)), "--output", str(out),
                                          *INGEST_SETTINGS, "--log-level", "WARNING"])
        assert code == 0
    return out


def assert_same_output(spark, actual: Path, expected: Path, volatile: tuple[str, ...] = ("seconds",)) -> None:
    """Two job outputs hold the same entries, equal Parquet tables and equal metrics.

    Tables are compared whole (rows in any order, exact values: the jobs are deterministic);
    ``metrics.json`` is compared key by key except the ``volatile`` ones (wall-clock timings);
    other files (plots) byte for byte.
    """
    from pyspark.testing import assertDataFrameEqual

    def entries(folder: Path) -> dict[str, Path]:
        return {p.name: p for p in folder.iterdir() if not p.name.startswith((".", "_"))}

    got, want = entries(actual), entries(expected)
    assert sorted(got) == sorted(want)
    assert "metrics.json" in want and any(p.is_dir() for p in want.values())
    for name, path in sorted(want.items()):
        if path.is_dir():
            a, e = spark.read.parquet(str(got[name])), spark.read.parquet(str(path))
            assert a.schema == e.schema, name
            assertDataFrameEqual(a, e, rtol=0.0, atol=0.0)
        elif name.endswith(".json"):
            a_json, e_json = json.loads(got[name].read_text()), json.loads(path.read_text())
            for key in volatile:
                a_json.pop(key, None)
                e_json.pop(key, None)
            assert a_json == e_json, name
        else:
            assert got[name].read_bytes() == path.read_bytes(), name


# JVMs of these short runs spend about half their CPU in the C2 JIT compiler: C1 only and the
# serial GC halve the CPU a run costs on a 2-core box (measured: 41.6 -> 20.5 CPU-s for the
# sparkfolio run below) and change nothing else. The JVM notes the option on stderr.
FAST_JVM = {"JAVA_TOOL_OPTIONS": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"}


def _clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would make a child think it runs under
    spark-submit or change its Spark settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYSPARK_GATEWAY", "SPARK_CONF", "PYSPARK_DRIVER"))}
    env.update(extra)
    return env


def _run(cmd: list[str], cwd: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(c) for c in cmd], cwd=cwd, env=_clean_env(**env), capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture
def quiet_logs(capsys):
    """Send the CLI's log handler to the stderr capsys captures during this test.

    ``setup_logging`` binds its handler to the ``sys.stderr`` of the moment it first runs, which
    in a test session is some earlier test's capture stream; the stream is swapped by assignment
    (``setStream`` would flush the old one, which may be closed) and put back afterwards.
    """
    import logging

    from sparkfolio.runtime.logs import setup_logging

    setup_logging()
    swapped = []
    for handler in logging.getLogger().handlers:
        if getattr(handler, "_sparkfolio", False):
            swapped.append((handler, handler.stream))
            handler.stream = sys.stderr
    yield
    for handler, old in swapped:
        handler.stream = sys.__stderr__ if getattr(old, "closed", False) else old


def _one_error_line(err: str, job: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got:\n{err}"
    assert lines[0].startswith(f"sparkfolio {job}: error: "), lines[0]
    assert "Traceback" not in err
    return lines[0]


# -- help -----------------------------------------------------------------------------------
def test_overview_lists_every_job_and_shared_option():
    done = _run([SPARKFOLIO, "--help"], cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    for job in JOBS:
        assert any(line.split()[:1] == [job.name] and job.summary in line for line in done.stdout.splitlines()), job.name
    for option in ("--input", "--output", "--config", "--set KEY=VALUE", "--master", "spark-submit jobs/JOB.py"):
        assert option in done.stdout


def test_job_help_lists_options_and_every_config_key():
    done = _run([SPARKFOLIO, "netflix-ingest", "--help"], cwd=REPO, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: sparkfolio netflix-ingest")
    for option in ("--input", "--output", "--config", "--set KEY=VALUE", "--master", "--profile"):
        assert option in done.stdout
    config_cls = job_spec("netflix-ingest").load_config_class()
    for f in dataclasses.fields(config_cls):
        assert f"  {f.name} = {f.default!r}" in done.stdout, f.name


def test_unknown_job_is_one_line_error(capsys):
    from sparkfolio.cli import main

    assert main(["netflix-ingestt", "--input", "x"]) == 2
    err = capsys.readouterr().err
    assert err.splitlines() == [err.strip()] and err.startswith("sparkfolio: error: unknown job 'netflix-ingestt'")


# -- user errors, in-process ----------------------------------------------------------------
def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# Each case: (the extra CLI arguments, the text the one error line must contain), given a temp folder.
BROKEN_CONFIGS = {
    "missing config file": lambda tmp: (["--config", str(tmp / "nowhere" / "x.yaml")],
                                        f"config file not found: {tmp / 'nowhere' / 'x.yaml'}"),
    "invalid YAML": lambda tmp: (["--config", str(_write(tmp / "bad.yaml", "split_size_mb: [1, 2\n"))],
                                 f"config file {tmp / 'bad.yaml'} is not valid YAML"),
    "config not a mapping": lambda tmp: (["--config", str(_write(tmp / "list.yaml", "- split_size_mb\n- 64\n"))],
                                         f"config file {tmp / 'list.yaml'} must hold a mapping"),
    "unknown key in config": lambda tmp: (["--config", str(_write(tmp / "typo.yaml", "split_size_mb: 8\nsplitsize: 4\n"))],
                                          f"{tmp / 'typo.yaml'}: unknown key 'splitsize'"),
    "unknown --set key": lambda tmp: (["--set", "split_size=8"], "--set split_size: unknown key 'split_size'"),
    "--set of the wrong type": lambda tmp: (["--set", "split_size_mb=big"],
                                            "--set split_size_mb: expected a number, got 'big'"),
    "--set without =": lambda tmp: (["--set", "plots"], "--set 'plots': expected key=value"),
}


@pytest.mark.parametrize("case", list(BROKEN_CONFIGS))
def test_unreadable_config_is_one_line_error(case, run_job, tmp_path, capsys, quiet_logs):
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "combined_data_1.txt").write_text("1:\n6,3,2005-09-06\n")
    args, expected = BROKEN_CONFIGS[case](tmp_path)
    out = tmp_path / "out"
    assert run_job("netflix-ingest", "--input", str(raw), "--output", str(out), *args) == 2
    line = _one_error_line(capsys.readouterr().err, "netflix-ingest")
    assert expected in line
    assert not out.exists()


def test_missing_input_is_one_line_error(run_job, tmp_path, capsys, quiet_logs):
    missing = tmp_path / "no" / "such" / "folder"
    out = tmp_path / "out"
    assert run_job("netflix-ingest", "--input", str(missing), "--output", str(out)) == 2
    line = _one_error_line(capsys.readouterr().err, "netflix-ingest")
    assert line == f"sparkfolio netflix-ingest: error: input not found: {missing}"
    assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())


@pytest.mark.parametrize("layout", ["empty folder", "empty file"])
def test_empty_input_is_one_line_error(layout, run_job, tmp_path, capsys, quiet_logs):
    raw = tmp_path / "raw"
    raw.mkdir()
    if layout == "empty file":
        (raw / "combined_data_1.txt").write_bytes(b"")
    out = tmp_path / "out"
    assert run_job("netflix-ingest", "--input", str(raw), "--output", str(out)) == 2
    line = _one_error_line(capsys.readouterr().err, "netflix-ingest")
    assert f"no Netflix Prize data in {raw}" in line
    assert ("found only empty files" in line) == (layout == "empty file")
    assert not out.exists()


def test_default_config_is_conf_job_yaml_of_the_working_folder(run_job, tmp_path, monkeypatch, capsys, quiet_logs):
    """Without --config the job reads ./conf/netflix_ingest.yaml (here one with a typo)."""
    (tmp_path / "conf").mkdir()
    config = _write(tmp_path / "conf" / "netflix_ingest.yaml", "split_size_mb: 8\nchunk_mb: 4\n")
    monkeypatch.chdir(tmp_path)
    assert run_job("netflix-ingest", "--input", str(tmp_path), "--output", str(tmp_path / "out")) == 2
    line = _one_error_line(capsys.readouterr().err, "netflix-ingest")
    assert f"{config}: unknown key 'chunk_mb'" in line


def test_input_is_required(run_job, tmp_path, capsys, quiet_logs):
    assert run_job("netflix-ingest", "--output", str(tmp_path / "out")) == 2
    assert _one_error_line(capsys.readouterr().err, "netflix-ingest") == \
        "sparkfolio netflix-ingest: error: --input is required for netflix-ingest"


# -- the real entry points, as subprocesses --------------------------------------------------
def test_sparkfolio_config_error_is_one_line_on_stderr(tmp_path):
    """Before any JVM starts, a bad --set gives exactly one stderr line and exit code 2."""
    done = _run([SPARKFOLIO, "netflix-ingest", "--input", tmp_path, "--output", tmp_path / "out",
                 "--set", "no_such_key=1"], cwd=REPO, timeout=120)
    assert done.returncode == 2
    line = _one_error_line(done.stderr, "netflix-ingest")
    assert "--set no_such_key: unknown key 'no_such_key'" in line
    assert done.stdout == ""


def test_sparkfolio_command_runs_the_job(spark, tmp_path_factory, tmp_path):
    """`sparkfolio netflix-ingest` (its own JVM, --master) gives the same output as the in-process run."""
    raw, reference = netflix_input(tmp_path_factory), reference_ingest(tmp_path_factory)
    out = tmp_path / "ingested"
    done = _run([SPARKFOLIO, "netflix-ingest", "--input", raw, "--output", out, "--master", "local[2]",
                 *INGEST_SETTINGS], cwd=tmp_path, **FAST_JVM)
    assert done.returncode == 0, done.stderr[-3000:]
    # Run from another folder, as a scheduler would; the master is the one asked for.
    assert "master local[2], app sparkfolio netflix-ingest" in done.stderr
    assert done.stdout.startswith("netflix-ingest: 20,000 ratings of ")
    assert "rejects 3 " in done.stdout
    assert_same_output(spark, out, reference)


def test_spark_submit_runs_the_job_file_with_its_master_and_exit_code(tmp_path):
    """`spark-submit --master local[1] jobs/netflix_ingest.py` with a missing input: the job runs on
    spark-submit's master (not the CLI default local[*]) and exits 2 with the one-line error.

    spark-submit's PythonRunner merges the Python driver's stderr into its own stdout, so the
    error line (and the driver's log) arrive on stdout there; the JVM's log lines are on stderr.
    A successful spark-submit run, compared with a local run, is tests/cluster/test_standalone.py.
    """
    missing = tmp_path / "missing"
    done = _run([SPARK_SUBMIT, "--master", "local[1]", "--conf", "spark.ui.enabled=false",
                 "jobs/netflix_ingest.py", "--input", missing, "--output", tmp_path / "out"],
                cwd=REPO, PYSPARK_PYTHON=sys.executable, **FAST_JVM)
    assert done.returncode == 2, done.stdout[-3000:] + done.stderr[-3000:]
    assert "master local[1], app sparkfolio netflix-ingest" in done.stdout
    both = done.stdout + done.stderr
    errors = [ln for ln in both.splitlines() if ln.startswith("sparkfolio netflix-ingest: error:")]
    assert errors == [f"sparkfolio netflix-ingest: error: input not found: {missing}"]
    assert done.stdout.splitlines()[-1] == errors[0]
    assert "Traceback" not in both
    assert not (tmp_path / "out").exists()
