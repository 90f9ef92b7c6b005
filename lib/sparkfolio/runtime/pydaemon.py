"""Spark's Python worker daemon, importing pyspark from its installed bytecode instead of ``pyspark.zip``.

Spark starts its Python workers with ``PYTHONPATH`` beginning with ``$SPARK_HOME/python/lib/
pyspark.zip`` and the py4j source zip. Those zips hold only ``.py`` files, and Python cannot
write bytecode caches into a zip, so every worker process compiles every pyspark module it
imports from source: the daemon at start-up, then each forked worker again for
``pyspark.worker`` and the serializers it pulls in (the daemon imports the worker module only
after the fork). On the 2-core development VM that compiling, plus re-reading the zips'
directories in ``importlib.invalidate_caches()``, was about 5 s of CPU per job run (py-spy over
a ``netflix-ingest`` run), time the tasks' real work waits for.

When the same pyspark (and py4j) is installed as a normal package on the worker's path, as it
is in the project's virtual environment and in the ``venv-pack`` archive for clusters, this
daemon drops the zips from ``sys.path`` before anything imports pyspark, so the installed,
byte-compiled package is used. Otherwise (a version mismatch, nothing installed) the path is
left as it was and Spark behaves exactly as with its own daemon. Enabled by
``spark.python.daemon.module: sparkfolio.runtime.pydaemon`` in ``conf/spark/local.yaml``.

This module must stay importable without pyspark already imported: it only uses the standard
library until :func:`main` hands over to ``pyspark.daemon.manager``.
"""

from __future__ import annotations

import importlib.machinery
import os
import sys
import zipfile

#: The packages Spark puts on the worker path as source zips.
ZIPPED_PACKAGES = ("pyspark", "py4j")


def _zip_version_text(zip_path: str, package: str) -> str | None:
    """The text of ``package/version.py`` inside ``zip_path``, or None when absent or unreadable."""
    try:
        with zipfile.ZipFile(zip_path) as z:
            return z.read(f"{package}/version.py").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile, UnicodeDecodeError):
        return None


def _installed_version_text(package: str, path: list[str]) -> str | None:
    """The text of ``package/version.py`` where ``path`` (no zips) would import ``package`` from."""
    spec = importlib.machinery.PathFinder.find_spec(package, path)
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        try:
            with open(os.path.join(folder, "version.py"), encoding="utf-8") as f:
                return f.read()
        except OSError:
            continue
    return None


def without_redundant_zips(path: list[str]) -> list[str]:
    """``path`` without the pyspark/py4j source zips whose exact version is also installed on it.

    A zip is dropped only when the same package is importable from a non-zip entry of ``path``
    and both ``version.py`` files are identical, so the code that runs is the same code.
    """
    plain = [p for p in path if not p.endswith(".zip")]
    drop: set[str] = set()
    for entry in path:
        if not entry.endswith(".zip"):
            continue
        for package in ZIPPED_PACKAGES:
            zipped = _zip_version_text(entry, package)
            if zipped is not None and zipped == _installed_version_text(package, plain):
                drop.add(entry)
    return [p for p in path if p not in drop]


def main() -> None:
    """Trim the path, then run Spark's own daemon loop (it forks the workers)."""
    sys.path[:] = without_redundant_zips(sys.path)
    from pyspark.daemon import manager

    manager()


if __name__ == "__main__":
    main()
