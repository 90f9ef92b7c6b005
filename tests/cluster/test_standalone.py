"""netflix-ingest submitted to a real standalone cluster (master + 2 workers on 127.0.0.1).

The job is shipped the way a user ships it: ``scripts/package.sh`` builds ``sparkfolio.zip`` and
``spark-submit --py-files sparkfolio.zip jobs/netflix_ingest.py`` runs it. Driver and executors
use an interpreter that has pandas, pyarrow... but not sparkfolio, so the job can only run if the
zip is what provides the library; a recorder in that interpreter logs where each process imported
``sparkfolio`` from, which proves it for the driver and for the executors' Python workers. The
result must equal an in-process local run of the same job and settings.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest

from sparkfolio.runtime.cluster import StandaloneCluster, stop_process_group

from tests.conftest import REPO
from tests.e2e.test_cli import INGEST_SETTINGS, assert_same_output, netflix_input, reference_ingest

pytestmark = pytest.mark.cluster


def _group_alive(pgid: int) -> bool:
    """Whether a live (not zombie) process is in group ``pgid``.

    Killed orphans are reparented to PID 1 and stay zombies until it reaps them, which a
    container's init may do late; a zombie runs nothing, so only live members count.
    """
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:  # the process ended while we looked
            continue
        state, pgrp = fields[0], int(fields[2])
        if pgrp == pgid and state != "Z":
            return True
    return False


def test_stop_process_group_ends_children_that_ignore_sigterm():
    """A leader and its children all ignore SIGTERM: SIGKILL after the grace period ends all."""
    proc = subprocess.Popen(["bash", "-c", 'trap "" TERM; sleep 300 & sleep 300 & wait'], start_new_session=True)
    time.sleep(0.5)
    stop_process_group(proc, timeout=0.5)
    assert proc.returncode is not None
    # SIGKILL is delivered asynchronously: allow the children a moment to finish dying.
    deadline = time.monotonic() + 10
    while _group_alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _group_alive(proc.pid)


def test_submit_command_is_client_mode_on_loopback(tmp_path):
    cluster = StandaloneCluster(base_dir=tmp_path)  # not started: building a command needs no daemon
    cluster.master_port = 7177
    cmd = cluster.submit_command("jobs/netflix_ingest.py", ["--input", "in"], py_files=["a.zip", "b.zip"],
                                 conf={"spark.ui.enabled": "true"})
    assert cmd[0].endswith("/bin/spark-submit")
    assert cmd[1:5] == ["--master", "spark://127.0.0.1:7177", "--deploy-mode", "client"]
    assert cmd[5:7] == ["--py-files", "a.zip,b.zip"]
    confs = [cmd[i + 1] for i, a in enumerate(cmd) if a == "--conf"]
    assert confs == ["spark.driver.host=127.0.0.1", "spark.driver.bindAddress=127.0.0.1", "spark.ui.enabled=true"]
    assert cmd[-3:] == ["jobs/netflix_ingest.py", "--input", "in"]


def test_workers_are_registered_on_loopback(standalone_cluster):
    state = standalone_cluster.state()
    assert state["status"] == "ALIVE"
    assert state["url"] == standalone_cluster.master_url
    workers = standalone_cluster.alive_workers()
    assert len(workers) == 2
    assert {w["host"] for w in workers} == {"127.0.0.1"}
    assert [(w["cores"], w["memory"]) for w in workers] == [(1, 1024), (1, 1024)]


def test_netflix_ingest_on_the_cluster_equals_a_local_run(spark, standalone_cluster, packaged, bare_python,
                                                          tmp_path_factory, tmp_path):
    raw, reference = netflix_input(tmp_path_factory), reference_ingest(tmp_path_factory)
    zip_path = packaged / "sparkfolio.zip"
    out = tmp_path / "ingested"
    bare_python.reset()

    done = standalone_cluster.submit(
        "jobs/netflix_ingest.py", ["--input", str(raw), "--output", str(out), *INGEST_SETTINGS],
        py_files=[str(zip_path)],
        conf={
            "spark.pyspark.python": str(bare_python.executable),
            "spark.pyspark.driver.python": str(bare_python.executable),
            # Each worker offers 1 GiB; two executors of 512 MiB leave the JVMs room on a small box.
            "spark.executor.memory": "512m",
            "spark.driver.memory": "1g",
            # A small job on a small box is start-up bound: C1-only JIT and the serial GC save CPU.
            "spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
            "spark.executor.extraJavaOptions": "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
            # Schedule only once both executors are up, so both workers really take part.
            "spark.scheduler.minRegisteredResourcesRatio": "1.0",
            "spark.scheduler.maxRegisteredResourcesWaitingTime": "180s",
        },
        # No PYTHONPATH: nothing but the zip may bring sparkfolio to the bare interpreter.
        env={"PYTHONPATH": ""},
        cwd=REPO, timeout=420,
    )
    assert done.returncode == 0, (f"spark-submit failed ({done.returncode}):\n{done.stdout[-4000:]}\n"
                                  f"{done.stderr[-4000:]}\n{standalone_cluster.logs(20)}")
    # ctx.report lines (the Python driver's output reaches spark-submit's stdout).
    assert "netflix-ingest: 20,000 ratings" in done.stdout and f"  output: file:{out}" in done.stdout

    # It ran on the cluster, with an executor on each worker, and finished.
    apps = [a for a in standalone_cluster.completed_apps() if a["name"] == "sparkfolio netflix-ingest"]
    assert len(apps) == 1 and apps[0]["state"] == "FINISHED" and apps[0]["cores"] == 2, apps

    # Where sparkfolio came from: the driver (in the repo, reading the dist zip) and Python workers
    # under the workers' work folders (reading the copy Spark shipped them), all from the zip.
    imports = bare_python.imports()
    assert imports, "the bare interpreter recorded no import of sparkfolio"
    origins = {i["origin"] for i in imports}
    assert all(o and o.endswith("sparkfolio.zip/sparkfolio/__init__.py") for o in origins), origins
    driver = [i for i in imports if i["cwd"] == str(REPO)]
    executors = [i for i in imports if Path(i["cwd"]).is_relative_to(standalone_cluster.base_dir)]
    assert driver and all(i["origin"] == f"{zip_path}/sparkfolio/__init__.py" for i in driver)
    assert executors, imports
    assert len(driver) + len(executors) == len(imports), imports  # no other process imported it
    assert all(not i["origin"].startswith(str(packaged)) for i in executors)
    # Both workers' executors imported it (their folders are worker-0/..., worker-1/...).
    assert {Path(i["cwd"]).relative_to(standalone_cluster.base_dir).parts[0] for i in executors} == \
        {"worker-0", "worker-1"}

    assert_same_output(spark, out, reference)


def test_stop_ends_every_daemon_and_what_they_started(standalone_cluster):
    """Runs last in this module: stopping the cluster leaves no master, worker or executor behind."""
    groups = [pid for _, pid in standalone_cluster.processes]
    assert len(groups) == 3 and all(_group_alive(g) for g in groups)
    standalone_cluster.stop()
    assert standalone_cluster.processes == []
    deadline = time.monotonic() + 10  # SIGKILLed children may take a moment to finish dying
    while any(_group_alive(g) for g in groups) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert [g for g in groups if _group_alive(g)] == []
