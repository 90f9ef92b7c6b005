"""Fixtures for tests against a real Spark standalone cluster on 127.0.0.1.

* ``packaged``: ``scripts/package.sh --no-env`` run into a temporary dist folder (what a user ships).
* ``bare_python``: an interpreter with the project's third-party packages but *without* sparkfolio,
  which records where every process imports ``sparkfolio`` from; jobs run with it can only get the
  library from ``--py-files``.
* ``standalone_cluster``: a master and two workers (1 core, 1 GiB each), stopped at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import pytest

from sparkfolio.runtime.cluster import StandaloneCluster
from tests.conftest import REPO

# Installed into the bare interpreter's site-packages: a meta-path finder that asks the normal
# path machinery where ``sparkfolio`` is and appends (pid, cwd, origin) to a JSON-lines file.
# It survives pyspark.daemon's fork, so executor-side Python workers are recorded too.
_RECORDER = '''
import importlib.machinery, json, os, sys

class _SparkfolioImportRecorder:
    """Record where the top-level sparkfolio package is imported from, then step aside."""

    def find_spec(self, name, path=None, target=None):
        if name != "sparkfolio":
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        with open(RECORD, "a") as fh:
            fh.write(json.dumps({"pid": os.getpid(), "cwd": os.getcwd(),
                                 "origin": spec.origin if spec else None}) + "\\n")
        return spec

RECORD = __RECORD__
sys.meta_path.insert(0, _SparkfolioImportRecorder())
'''


@dataclass(frozen=True)
class BarePython:
    """An interpreter without sparkfolio installed, and the file recording its sparkfolio imports."""

    executable: Path
    record: Path

    def imports(self) -> list[dict]:
        """Every recorded import of ``sparkfolio``: pid, working directory and origin file."""
        if not self.record.exists():
            return []
        return [json.loads(line) for line in self.record.read_text().splitlines() if line.strip()]

    def reset(self) -> None:
        """Forget earlier recordings."""
        self.record.unlink(missing_ok=True)


@pytest.fixture(scope="session")
def packaged(tmp_path_factory) -> Path:
    """The dist folder ``scripts/package.sh --no-env`` builds from the current sources."""
    dist = tmp_path_factory.mktemp("dist")
    done = subprocess.run(["bash", str(REPO / "scripts" / "package.sh"), "--no-env", "--dist", str(dist)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, f"package.sh failed:\n{done.stdout}\n{done.stderr}"
    assert (dist / "sparkfolio.zip").is_file()
    return dist


@pytest.fixture(scope="session")
def bare_python(tmp_path_factory) -> BarePython:
    """A venv that sees .venv's site-packages through a plain path entry, so the editable install's
    ``.pth`` (which puts lib/ on the path) is never processed: pandas/pyarrow/yaml import, sparkfolio
    does not."""
    root = tmp_path_factory.mktemp("bare-python")
    env_dir = root / "venv"
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--without-pip", str(env_dir)], check=True, timeout=120)
    python = env_dir / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "project_site.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    record = root / "sparkfolio-imports.jsonl"
    (site / "sitecustomize.py").write_text(_RECORDER.replace("__RECORD__", repr(str(record))))

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    probe = subprocess.run([str(python), "-c", "import pandas, pyarrow, numpy, yaml; import sparkfolio"],
                           cwd=root, env=env, capture_output=True, text=True)
    # The interpreter must be able to run the job's dependencies but not find sparkfolio by itself.
    assert "No module named 'sparkfolio'" in probe.stderr, probe.stderr
    bare = BarePython(python, record)
    bare.reset()
    return bare


@pytest.fixture(scope="module")
def standalone_cluster(tmp_path_factory):
    """A real standalone cluster on loopback: master + 2 workers x 1 core x 1 GiB, always stopped."""
    cluster = StandaloneCluster(workers=2, worker_cores=1, worker_memory="1g",
                                base_dir=tmp_path_factory.mktemp("standalone"), start_timeout=180)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()
