"""Logging set-up for jobs: one format, library loggers under ``sparkfolio``, py4j kept quiet."""

from __future__ import annotations

import logging
import sys


class _CurrentStderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time (pytest and notebooks swap it)."""

    @property  # type: ignore[override]
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:  # the base class assigns it once; the current one is used
        pass


def setup_logging(level: str = "INFO") -> None:
    """Configure the root logger once for a job run (idempotent)."""
    numeric = getattr(logging, level.upper(), None)
    if not isinstance(numeric, int):
        numeric = logging.INFO
    root = logging.getLogger()
    if not any(getattr(h, "_sparkfolio", False) for h in root.handlers):
        handler = _CurrentStderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S"))
        handler._sparkfolio = True  # type: ignore[attr-defined]
        root.addHandler(handler)
    root.setLevel(numeric)
    # py4j logs every gateway call at INFO/DEBUG; it drowns the job's own messages.
    logging.getLogger("py4j").setLevel(logging.WARNING)
