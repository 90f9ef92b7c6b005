"""Atomic job outputs: everything is staged in a hidden folder beside ``--output`` and renamed in.

A job's output folder holds Parquet tables in named sub-folders, ``metrics.json`` and plots.
Nothing is written to the final path until the job has finished: a failed run leaves the previous
output (or none) untouched, never a half-written one. Paths go through Hadoop's FileSystem API, so
the same code publishes to a local disk, HDFS or an object store the cluster is configured for.
A run that was killed cannot remove its staging folder; the next run of the same output removes
those older than a day (:data:`STALE_AFTER_S`).
"""

from __future__ import annotations

import json
import logging
import math
import os
import tempfile
import threading
import time
import uuid
from datetime import date, datetime
from typing import Any

log = logging.getLogger(__name__)

#: A staging or set-aside folder older than this is left over from a killed run and removed.
STALE_AFTER_S = 24 * 3600


class JobOutput:
    """Stage a job's outputs and publish them all at once.

    Use as a context manager: on normal exit the staged folder replaces ``path``; on an
    exception it is deleted and the exception propagates.

    Parameters
    ----------
    spark:
        The active SparkSession (its Hadoop configuration resolves the file system).
    path:
        The final output folder (any Hadoop-supported URI or a local path).
    """

    def __init__(self, spark: Any, path: str) -> None:
        self._spark = spark
        jvm = spark._jvm
        self._Path = jvm.org.apache.hadoop.fs.Path
        final = self._Path(_qualify(path))
        self._fs = final.getFileSystem(spark._jsc.hadoopConfiguration())
        self.final = self._fs.makeQualified(final)
        # Hadoop's local file system adds a `.name.crc` sidecar to every file it writes; the small
        # files we write ourselves (metrics.json, plots) go through the raw file system instead.
        checksummed = jvm.java.lang.Class.forName("org.apache.hadoop.fs.ChecksumFileSystem")
        self._files_fs = self._fs.getRawFileSystem() if checksummed.isInstance(self._fs) else self._fs
        parent = self.final.getParent()
        self._remove_stale(parent)
        token = uuid.uuid4().hex[:12]
        self._staging = self._Path(parent, f".{self.final.getName()}._staging-{token}")
        self._fs.mkdirs(self._staging)
        self._committed = False
        self._keep: set[str] | None = None
        self._scratch: set[str] = set()

    def _remove_stale(self, parent: Any) -> None:
        """Delete staging and set-aside folders of this output left by runs killed over a day ago.

        A run that is killed (SIGKILL, a lost driver) cannot clean up its hidden
        ``.NAME._staging-*`` folder; nothing ever reads one, but they pile up. Younger ones are
        kept: they may belong to a run still in progress.
        """
        name = self.final.getName()
        cutoff_ms = (time.time() - STALE_AFTER_S) * 1000
        for pattern in (f".{name}._staging-*", f".{name}._old-*"):
            for status in self._fs.globStatus(self._Path(parent, pattern)) or []:
                if status.getModificationTime() < cutoff_ms:
                    log.warning("removing %s, left by a run that did not finish", status.getPath().toString())
                    self._fs.delete(status.getPath(), True)

    # -- where things go -------------------------------------------------------------------
    @property
    def uri(self) -> str:
        """The final output folder as a qualified URI."""
        return self.final.toString()

    def path(self, name: str) -> str:
        """The staged location of ``name`` (a table folder or a file) inside the output."""
        return self._Path(self._staging, name).toString()

    def scratch_path(self, name: str) -> str:
        """A staged location for intermediate data (e.g. parsed rows read back by later steps), never published.

        It lives beside the outputs, on the same file system and under the same clean-up: deleted
        when the output is published, and with the rest of the staging folder when the job fails.
        """
        entry = f"_scratch_{name}"
        self._scratch.add(entry)
        return self.path(entry)

    def final_path(self, name: str) -> str:
        """Where ``name`` will be once the output is published."""
        return self._Path(self.final, name).toString()

    # -- writers ---------------------------------------------------------------------------
    def write_table(self, name: str, df: Any, partition_by: list[str] | None = None) -> str:
        """Write ``df`` as the Parquet table ``name``; returns its staged path."""
        target = self.path(name)
        writer = df.write.mode("overwrite")
        if partition_by:
            writer = writer.partitionBy(*partition_by)
        writer.parquet(target)
        log.info("wrote table %s", name)
        return target

    def write_bytes(self, name: str, data: bytes) -> None:
        """Write a small file (JSON, HTML, DOT...) into the output."""
        stream = self._files_fs.create(self._Path(self._staging, name), True)
        try:
            stream.write(bytearray(data))
        finally:
            stream.close()

    def write_text(self, name: str, text: str) -> None:
        """Write a UTF-8 text file into the output."""
        self.write_bytes(name, text.encode("utf-8"))

    def write_json(self, name: str, obj: Any) -> None:
        """Write ``obj`` as pretty, key-sorted JSON (numpy and date values converted)."""
        self.write_text(name, to_json(obj))

    def write_local_file(self, name: str, local_path: str) -> None:
        """Copy a file made on the driver's disk (a plot, a model file) into the output."""
        self._files_fs.copyFromLocalFile(False, True, self._Path("file://" + os.path.abspath(local_path)),
                                   self._Path(self._staging, name))

    def write_figure(self, name: str, fig: Any, dpi: int = 110) -> None:
        """Save a matplotlib figure as PNG into the output and close it."""
        import matplotlib.pyplot as plt

        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, os.path.basename(name))
            fig.savefig(local, dpi=dpi, bbox_inches="tight")
            self.write_local_file(name, local)
        plt.close(fig)

    def exists(self, name: str) -> bool:
        """Whether ``name`` was already staged."""
        return bool(self._fs.exists(self._Path(self._staging, name)))

    # -- publishing ------------------------------------------------------------------------
    def keep_only(self, names: list[str]) -> None:
        """On commit, publish only these entries (a failed quality check keeps rejects and metrics)."""
        self._keep = set(names)

    def commit(self) -> str:
        """Replace the final folder with the staged one; returns the final URI."""
        if self._committed:
            return self.uri
        for entry in self._scratch:
            self._fs.delete(self._Path(self._staging, entry), True)
        if self._keep is not None:
            for status in self._fs.listStatus(self._staging):
                if status.getPath().getName() not in self._keep:
                    self._fs.delete(status.getPath(), True)
        old = None
        if self._fs.exists(self.final):
            old = self._Path(self.final.getParent(), f".{self.final.getName()}._old-{uuid.uuid4().hex[:12]}")
            if not self._fs.rename(self.final, old):
                raise OSError(f"cannot move the previous output {self.uri} aside")
        if not self._fs.rename(self._staging, self.final):
            if old is not None:
                self._fs.rename(old, self.final)
            raise OSError(f"cannot publish the output to {self.uri}")
        if old is not None:
            self._fs.delete(old, True)
        self._committed = True
        log.info("output published at %s", self.uri)
        return self.uri

    def abort(self) -> None:
        """Delete the staged folder (the final output is left as it was)."""
        if not self._committed:
            self._fs.delete(self._staging, True)

    def __enter__(self) -> "JobOutput":
        return self

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if exc_type is None:
            self.commit()
        elif self._keep is not None:
            # A deliberate partial publish (e.g. rejects of a failed quality check).
            self.commit()
        else:
            self.abort()


def to_json(obj: Any) -> str:
    """JSON text for metrics: numpy scalars and arrays, dates and NaN handled (NaN becomes null)."""
    return json.dumps(_plain(obj), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _plain(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_plain(v) for v in obj]
    if isinstance(obj, (datetime, date)):
        return obj.isoformat()
    if hasattr(obj, "tolist"):  # numpy scalars and arrays
        return _plain(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def _qualify(path: str) -> str:
    """Local paths become absolute ``file:`` URIs so a relative ``--output`` works under any cwd."""
    if "://" in path or path.startswith("file:"):
        return path
    return "file://" + os.path.abspath(path)


def load_plotting_in_background() -> threading.Thread:
    """Start importing matplotlib (headless) on a daemon thread; join it before drawing.

    A job's driver waits idle while the executors work; matplotlib's import (0.4-0.6 s here)
    then costs that idle time instead of time after the work. Only imports run on the thread,
    so the figures themselves are drawn on the caller's thread as before. A failed import is
    left to the caller's own import to report.
    """

    def load() -> None:
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot  # noqa: F401
        except Exception:  # noqa: BLE001 - reported by the caller's own import
            log.debug("matplotlib did not load in the background", exc_info=True)

    thread = threading.Thread(target=load, name="load-matplotlib", daemon=True)
    thread.start()
    return thread
