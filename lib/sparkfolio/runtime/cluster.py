"""A real Spark standalone cluster on 127.0.0.1 for tests and benchmarks: one master, N workers.

The pip ``pyspark`` ships no ``sbin/start-*.sh`` scripts, so the daemons are started directly with
``spark-class org.apache.spark.deploy.master.Master`` / ``...worker.Worker`` on free loopback
ports, each in its own process group so that stopping the cluster also ends the executors and
Python workers they launched. Nothing listens beyond loopback, every wait is bounded, and
:meth:`StandaloneCluster.stop` (also run by the context manager and at interpreter exit) kills and
reaps every process it started.

Example
-------
>>> with StandaloneCluster(workers=2) as cluster:                      # doctest: +SKIP
...     done = cluster.submit("jobs/netflix_ingest.py", ["--input", "in", "--output", "out"],
...                           py_files=["dist/sparkfolio.zip"])
...     done.check_returncode()
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sparkfolio.runtime.errors import DependencyError

log = logging.getLogger(__name__)

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


class ClusterError(RuntimeError):
    """The local cluster did not start, lost a daemon or did not answer in time."""


class _PortTaken(ClusterError):
    """A daemon could not bind a port chosen as free (another process took it meanwhile)."""


# Loopback requests must never go through an HTTP proxy set in the environment.
_NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@dataclass
class _Daemon:
    """One JVM the cluster started: its role, process and log file."""

    name: str
    process: subprocess.Popen
    log_path: Path


def spark_home() -> Path:
    """The Spark installation to run: ``SPARK_HOME`` when it has ``bin/spark-class``, else pip pyspark's.

    Raises
    ------
    DependencyError
        Neither holds ``bin/spark-class``.
    """
    candidates = []
    if os.environ.get("SPARK_HOME"):
        candidates.append(Path(os.environ["SPARK_HOME"]))
    try:
        import pyspark

        candidates.append(Path(pyspark.__file__).resolve().parent)
    except ImportError:  # pragma: no cover - pyspark is a hard requirement of the project
        pass
    for home in candidates:
        if (home / "bin" / "spark-class").is_file():
            return home
    raise DependencyError("no Spark found: set SPARK_HOME or pip install pyspark (bin/spark-class is missing)")


def java_binary() -> Path | None:
    """The ``java`` Spark will run: ``$JAVA_HOME/bin/java`` when it exists, else the one on PATH (``None``: none)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return (Path(java_home) / "bin" / "java").resolve()
    found = shutil.which("java")
    return Path(found).resolve() if found else None


def free_ports(count: int, host: str = "127.0.0.1") -> list[int]:
    """``count`` distinct TCP ports that are free on ``host`` right now.

    All sockets stay open until every port is chosen, so the ports differ from each other; another
    process may still take one before the daemon binds it, which :meth:`StandaloneCluster.start`
    answers by retrying on fresh ports.
    """
    sockets = []
    try:
        for _ in range(count):
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.bind((host, 0))
            sockets.append(s)
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


class StandaloneCluster:
    """A Spark standalone master and ``workers`` workers on loopback, started and stopped as a unit.

    Parameters
    ----------
    workers:
        Number of worker daemons.
    worker_cores, worker_memory:
        What each worker offers to executors (``--cores``, ``--memory``); keep executors within it.
    daemon_memory:
        Heap of the master and worker JVMs themselves (``SPARK_DAEMON_MEMORY``).
    base_dir:
        Folder for logs, worker work dirs (executor logs) and an empty ``SPARK_CONF_DIR``. A
        temporary folder (removed by :meth:`stop`) when not given; a given folder is kept.
    start_timeout:
        Seconds to wait for the master and all workers to be ALIVE.
    env:
        Extra environment for the daemons (and so for the executors they launch).
    """

    def __init__(
        self,
        workers: int = 2,
        worker_cores: int = 1,
        worker_memory: str = "1g",
        daemon_memory: str = "512m",
        base_dir: str | os.PathLike[str] | None = None,
        start_timeout: float = 120.0,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if workers < 1:
            raise ValueError("a cluster needs at least one worker")
        self.workers = workers
        self.worker_cores = worker_cores
        self.worker_memory = worker_memory
        self.daemon_memory = daemon_memory
        self.start_timeout = start_timeout
        self.host = host
        self.spark_home = spark_home()
        self._own_dir = base_dir is None
        self.base_dir = Path(base_dir) if base_dir is not None else Path(tempfile.mkdtemp(prefix="sparkfolio-cluster-"))
        self.conf_dir = self.base_dir / "conf"
        self._extra_env = dict(env or {})
        self._daemons: list[_Daemon] = []
        self.master_port = 0
        self.webui_port = 0
        self._atexit_registered = False

    # -- addresses -------------------------------------------------------------------------
    @property
    def master_url(self) -> str:
        """``spark://127.0.0.1:<port>``, what ``spark-submit --master`` takes."""
        return f"spark://{self.host}:{self.master_port}"

    @property
    def webui_url(self) -> str:
        """The master's web UI; ``<webui_url>/json/`` is its machine-readable state."""
        return f"http://{self.host}:{self.webui_port}"

    # -- lifecycle -------------------------------------------------------------------------
    def start(self, attempts: int = 3) -> "StandaloneCluster":
        """Start the master and the workers and wait until every worker is registered and ALIVE.

        A port taken between choosing and binding it makes the daemon exit at once (port retries
        are off, so the cluster is always where we say it is); that attempt is torn down and the
        cluster restarted on fresh ports, ``attempts`` times at most.

        Raises
        ------
        ClusterError
            The cluster did not come up; the message holds the failing daemon's log tail.
        """
        if self._daemons:
            raise ClusterError("cluster already started")
        self._check_java()
        self.conf_dir.mkdir(parents=True, exist_ok=True)
        if not self._atexit_registered:
            atexit.register(self.stop)
            self._atexit_registered = True
        last: ClusterError | None = None
        for attempt in range(1, attempts + 1):
            try:
                self._start_once(attempt)
                return self
            except ClusterError as exc:
                last = exc
                self._kill_all()
                if not isinstance(exc, _PortTaken) or attempt == attempts:
                    break
                log.warning("cluster start attempt %d failed (%s); retrying on fresh ports", attempt, exc)
        assert last is not None
        raise last

    def _start_once(self, attempt: int) -> None:
        ports = free_ports(2 + 2 * self.workers, self.host)
        self.master_port, self.webui_port = ports[0], ports[1]
        started = time.monotonic()
        self._launch("master", MASTER_CLASS, [
            "--host", self.host, "--port", str(self.master_port), "--webui-port", str(self.webui_port),
        ], attempt)
        # Workers retry registering until the master listens, so they need only its RPC port open,
        # not its UI: their JVMs start while the master's finishes starting.
        self._wait_for_port(self.master_port, "the master's RPC port", started)
        for i in range(self.workers):
            work_dir = self.base_dir / f"worker-{i}"
            work_dir.mkdir(parents=True, exist_ok=True)
            self._launch(f"worker-{i}", WORKER_CLASS, [
                "--host", self.host, "--port", str(ports[2 + 2 * i]), "--webui-port", str(ports[3 + 2 * i]),
                "--cores", str(self.worker_cores), "--memory", self.worker_memory,
                "--work-dir", str(work_dir), self.master_url,
            ], attempt)
        self._wait(lambda s: len(_alive(s.get("workers", []))) >= self.workers,
                   f"{self.workers} workers to register", started)
        log.info("standalone cluster up in %.1f s: %s (UI %s), %d workers x %d cores x %s",
                 time.monotonic() - started, self.master_url, self.webui_url,
                 self.workers, self.worker_cores, self.worker_memory)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop every daemon (SIGTERM to its process group, SIGKILL after ``timeout``) and reap it.

        Safe to call more than once; the temporary base folder is removed.
        """
        if self._daemons:
            self._kill_all(timeout)
            log.info("standalone cluster %s stopped", self.master_url)
        if self._own_dir and self.base_dir.exists():
            shutil.rmtree(self.base_dir, ignore_errors=True)
        if self._atexit_registered:
            atexit.unregister(self.stop)
            self._atexit_registered = False

    def __enter__(self) -> "StandaloneCluster":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- state -----------------------------------------------------------------------------
    def state(self, timeout: float = 5.0) -> dict[str, Any]:
        """The master's JSON state (workers, active and completed applications).

        Raises
        ------
        ClusterError
            The master did not answer within ``timeout`` seconds.
        """
        try:
            with _NO_PROXY.open(f"{self.webui_url}/json/", timeout=timeout) as resp:
                return json.loads(resp.read().decode("utf-8"))
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise ClusterError(f"master UI {self.webui_url}/json/ did not answer: {exc}") from exc

    def alive_workers(self) -> list[dict[str, Any]]:
        """The workers the master currently sees as ALIVE."""
        return _alive(self.state().get("workers", []))

    @property
    def processes(self) -> list[tuple[str, int]]:
        """``(name, pid)`` of every running daemon; each pid is also its process group id."""
        return [(d.name, d.process.pid) for d in self._daemons]

    def completed_apps(self) -> list[dict[str, Any]]:
        """Applications that ran on this cluster and finished (name, cores, state...)."""
        return list(self.state().get("completedapps", []))

    # -- submitting ------------------------------------------------------------------------
    def submit_command(
        self,
        app: str,
        app_args: Sequence[str] = (),
        *,
        py_files: Sequence[str] = (),
        archives: Sequence[str] = (),
        conf: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
    ) -> list[str]:
        """The ``spark-submit`` command line that runs ``app`` on this cluster in client mode.

        The driver binds and advertises loopback only and runs without its web UI (no port to
        collide with); ``conf`` adds or overrides ``--conf`` settings.
        """
        settings = {
            "spark.driver.host": self.host,
            "spark.driver.bindAddress": self.host,
            "spark.ui.enabled": "false",
            **(conf or {}),
        }
        cmd = [str(self.spark_home / "bin" / "spark-submit"), "--master", self.master_url, "--deploy-mode", "client"]
        if py_files:
            cmd += ["--py-files", ",".join(py_files)]
        if archives:
            cmd += ["--archives", ",".join(archives)]
        for key, value in settings.items():
            cmd += ["--conf", f"{key}={value}"]
        return [*cmd, *extra, app, *app_args]

    def submit(
        self,
        app: str,
        app_args: Sequence[str] = (),
        *,
        py_files: Sequence[str] = (),
        archives: Sequence[str] = (),
        conf: Mapping[str, str] | None = None,
        extra: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        cwd: str | os.PathLike[str] | None = None,
        timeout: float = 300.0,
    ) -> subprocess.CompletedProcess:
        """Run ``spark-submit`` for ``app`` on this cluster and wait for it; output is captured.

        ``env`` is added to this process's environment (``PYSPARK_PYTHON``, ``PYTHONPATH``...).
        The cluster's empty ``SPARK_CONF_DIR`` keeps a user's ``spark-defaults.conf`` out.

        Raises
        ------
        ClusterError
            spark-submit ran longer than ``timeout`` seconds (it is killed with its children).
        """
        cmd = self.submit_command(app, app_args, py_files=py_files, archives=archives, conf=conf, extra=extra)
        full_env = {**self._daemon_env(), **(env or {})}
        log.info("submitting %s to %s", app, self.master_url)
        proc = subprocess.Popen(cmd, env=full_env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            stop_process_group(proc, 5.0)
            out, err = proc.communicate()
            raise ClusterError(f"spark-submit {app} did not finish in {timeout:.0f} s; stderr tail:\n"
                               + _tail_text(err, 40)) from None
        return subprocess.CompletedProcess(cmd, proc.returncode, out, err)

    # -- logs ------------------------------------------------------------------------------
    def logs(self, lines: int = 40) -> str:
        """The last ``lines`` lines of every daemon's log (for failure messages)."""
        parts = []
        for d in self._daemons:
            parts.append(f"--- {d.name} ({d.log_path}) ---\n{_tail_file(d.log_path, lines)}")
        return "\n".join(parts)

    # -- internals -------------------------------------------------------------------------
    def _daemon_env(self) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "SPARK_HOME": str(self.spark_home),
            # An empty conf dir: no spark-defaults.conf / spark-env.sh of the machine leaks in.
            "SPARK_CONF_DIR": str(self.conf_dir),
            "SPARK_LOCAL_IP": self.host,
            "SPARK_LOCAL_HOSTNAME": self.host,
            "SPARK_DAEMON_MEMORY": self.daemon_memory,
            "SPARK_DAEMON_JAVA_OPTS": " ".join([
                # Fail instead of silently moving to port+1, so master_url/webui_url stay true.
                "-Dspark.port.maxRetries=0",
                # No REST submission server: it wants the fixed port 6066 and client mode needs none.
                "-Dspark.master.rest.enabled=false",
                # The daemons only schedule: start fast (C1 JIT, serial GC) rather than run fast.
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
            ]),
        })
        env.update(self._extra_env)
        return env

    def _launch(self, name: str, main_class: str, args: list[str], attempt: int) -> None:
        log_path = self.base_dir / f"{name}.{attempt}.log"
        cmd = [str(self.spark_home / "bin" / "spark-class"), main_class, *args]
        with open(log_path, "wb") as log_file:
            # Own process group: stopping it also ends the executors and Python workers it forks.
            proc = subprocess.Popen(cmd, env=self._daemon_env(), stdout=log_file, stderr=subprocess.STDOUT,
                                    stdin=subprocess.DEVNULL, start_new_session=True)
        self._daemons.append(_Daemon(name, proc, log_path))
        log.debug("started %s (pid %d): %s", name, proc.pid, " ".join(cmd))

    def _wait(self, ready: Any, what: str, started: float, poll_master: bool = True) -> None:
        """Poll until ``ready(master JSON state)`` holds; fail fast if a daemon died."""
        deadline = started + self.start_timeout
        last_error = ""
        while True:
            for d in self._daemons:
                code = _exit_code(d.process)
                if code is not None:
                    tail = _tail_file(d.log_path, 30)
                    taken = "BindException" in tail or "Address already in use" in tail
                    raise (_PortTaken if taken else ClusterError)(
                        f"{d.name} exited with code {code} while waiting for {what}"
                        f"{' (port already in use)' if taken else ''}; log {d.log_path}:\n{tail}")
            try:
                if ready(self.state(timeout=2.0) if poll_master else {}):
                    return
            except ClusterError as exc:
                last_error = str(exc)
            if time.monotonic() > deadline:
                raise ClusterError(f"timed out after {self.start_timeout:.0f} s waiting for {what} "
                                   f"({last_error or 'master answered, not ready'}); logs:\n{self.logs(20)}")
            time.sleep(0.5)

    def _wait_for_port(self, port: int, what: str, started: float) -> None:
        """Wait until something accepts TCP connections on ``port``; fail fast if a daemon died."""
        def listening(_: Any) -> bool:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.settimeout(1.0)
                return s.connect_ex((self.host, port)) == 0
        self._wait(listening, what, started, poll_master=False)

    def _kill_all(self, timeout: float = 20.0) -> None:
        # Workers first, so they do not log the master's disappearance as an error, then the master.
        for d in reversed(self._daemons):
            stop_process_group(d.process, timeout)
        self._daemons.clear()

    def _check_java(self) -> None:
        if java_binary() is None:
            raise DependencyError("Java 17+ not found: install openjdk-17-jre-headless or set JAVA_HOME")


def _alive(workers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [w for w in workers if w.get("state") == "ALIVE"]


def stop_process_group(proc: subprocess.Popen, timeout: float) -> None:
    """SIGTERM the process group ``proc`` leads, SIGKILL what is left after ``timeout`` s, reap ``proc``.

    For processes started with ``start_new_session=True``: their children (a worker's executors,
    an executor's Python workers) are in the same group and end with them.

    ``proc`` is reaped only at the end: until then its pid (the group id) cannot be reused, so
    the signals can only reach processes this module started.
    """
    if proc.returncode is not None:  # already reaped: its group id is no longer ours to signal
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while _exit_code(proc) is None and time.monotonic() < deadline:
        time.sleep(0.1)
    if _exit_code(proc) is None:
        log.warning("pid %d ignored SIGTERM for %.1f s; killing its process group", proc.pid, timeout)
    # Children (executors, Python daemons) may outlive the leader: end the whole group.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _exit_code(proc: subprocess.Popen) -> int | None:
    """``proc``'s exit code if it has exited, without reaping it (its pid stays reserved)."""
    if proc.returncode is not None:
        return proc.returncode
    try:
        info = os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return proc.poll()
    if info is None:
        return None
    return info.si_status


def _tail_file(path: Path, lines: int) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return "(no log)"
    return _tail_text(text, lines)


def _tail_text(text: str | None, lines: int) -> str:
    return "\n".join((text or "").splitlines()[-lines:])
