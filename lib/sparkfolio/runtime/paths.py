"""Where the project's own files are: the conf/ folder, the shared real data sets, the local cache."""

from __future__ import annotations

import os
from pathlib import Path

# lib/sparkfolio/runtime/paths.py -> the repository root is three folders up.
_REPO_ROOT = Path(__file__).resolve().parents[3]


def repo_root() -> Path:
    """The source checkout this package was imported from (meaningful for editable installs only)."""
    return _REPO_ROOT


def conf_dir() -> Path | None:
    """The folder holding ``<job>.yaml`` and ``spark/<profile>.yaml``.

    ``SPARKFOLIO_CONF`` wins; then ``./conf`` in the working directory; then the checkout's
    ``conf/``. ``None`` when none exists (a zipped library on a cluster): jobs then run on the
    defaults coded in their config dataclasses, which the YAML files mirror.
    """
    candidates = []
    if os.environ.get("SPARKFOLIO_CONF"):
        candidates.append(Path(os.environ["SPARKFOLIO_CONF"]))
    candidates += [Path.cwd() / "conf", _REPO_ROOT / "conf"]
    for c in candidates:
        if c.is_dir():
            return c
    return None


def cache_dir() -> Path:
    """This machine's cache of derived files (``SPARKFOLIO_CACHE``, default ``~/.cache/sparkfolio``).

    Everything in it can be rebuilt from the project and its inputs; readers treat a missing or
    unreadable entry as absent.
    """
    return Path(os.environ.get("SPARKFOLIO_CACHE") or Path.home() / ".cache" / "sparkfolio")


def data_dir() -> Path:
    """The folder of small real data sets (``SPARKFOLIO_DATA``, default ``../shared/datasets``)."""
    env = os.environ.get("SPARKFOLIO_DATA")
    if env:
        return Path(env)
    return (_REPO_ROOT / ".." / "shared" / "datasets").resolve()
