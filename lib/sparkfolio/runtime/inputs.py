"""Listing job inputs through Hadoop's FileSystem API (local disk, HDFS, object stores alike).

Only names and sizes reach the driver; the bytes are read by the executors.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from sparkfolio.runtime.errors import InputError


@dataclass(frozen=True)
class InputFile:
    """One input file: its fully qualified URI and its size in bytes."""

    path: str
    size: int

    @property
    def name(self) -> str:
        """The file's base name."""
        return self.path.rstrip("/").rsplit("/", 1)[-1]


def qualify(path: str) -> str:
    """A local path as an absolute ``file:`` URI; URIs are returned unchanged."""
    if "://" in path or path.startswith("file:"):
        return path
    return "file://" + os.path.abspath(path)


def list_input_files(spark: Any, path: str, recursive: bool = True) -> list[InputFile]:
    """Expand a file, a folder (recursively) or a glob into the files it names, sorted by path.

    Hidden files and folders (``.x``, ``_x``, as Spark itself treats them) are skipped.

    Raises
    ------
    InputError
        Nothing exists at ``path`` or the glob matches nothing.
    """
    jvm = spark._jvm
    hpath = jvm.org.apache.hadoop.fs.Path(qualify(path))
    fs = hpath.getFileSystem(spark._jsc.hadoopConfiguration())
    statuses = fs.globStatus(hpath)
    if statuses is None or len(statuses) == 0:
        raise InputError(f"input not found: {path}")
    found: list[InputFile] = []
    for st in statuses:
        _walk(fs, st, recursive, found)
    return sorted(found, key=lambda f: f.path)


def _walk(fs: Any, status: Any, recursive: bool, out: list[InputFile]) -> None:
    name = status.getPath().getName()
    if name.startswith((".", "_")):
        return
    if status.isDirectory():
        if not recursive:
            return
        for child in fs.listStatus(status.getPath()):
            _walk(fs, child, recursive, out)
    else:
        out.append(InputFile(status.getPath().toString(), int(status.getLen())))


def local_path(uri: str) -> str:
    """The local file-system path of a ``file:`` URI (other URIs are returned unchanged)."""
    if uri.startswith("file://"):
        return uri[len("file://"):]
    if uri.startswith("file:"):
        return uri[len("file:"):]
    return uri
