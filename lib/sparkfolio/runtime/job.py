"""The job contract: every job is a config dataclass plus ``run(ctx) -> dict`` in the library.

``jobs/<name>.py`` and the ``sparkfolio`` CLI both end in :func:`sparkfolio.cli.run_job`, which
parses the shared flags, loads the config, builds the session and turns user errors into one line.
"""

from __future__ import annotations

import importlib
import logging
import sys
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class JobSpec:
    """What the CLI needs to know about a job before importing it.

    ``runner`` and ``config`` are ``"module:attribute"`` strings so ``sparkfolio --help`` does not
    import every workload (and its heavy dependencies).
    """

    name: str
    summary: str
    runner: str
    config: str
    needs_input: bool = True

    def load_runner(self) -> Any:
        """Import and return the job's ``run(ctx)`` function."""
        return _load(self.runner)

    def load_config_class(self) -> type:
        """Import and return the job's config dataclass."""
        return _load(self.config)


@dataclass
class JobContext:
    """Everything a job's ``run`` receives: the session, its typed config and the two paths."""

    spark: Any
    config: Any
    input: str | None
    output: str
    job: str
    log: logging.Logger = field(default_factory=lambda: logging.getLogger("sparkfolio.job"))

    def report(self, text: str) -> None:
        """Show ``text`` to the person running the job (stdout), apart from the log stream."""
        sys.stdout.write(text.rstrip("\n") + "\n")
        sys.stdout.flush()


def _load(ref: str) -> Any:
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)
