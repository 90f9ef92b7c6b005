"""Recognising Netflix Prize files by their standard names, in either published layout.

Kaggle: ``combined_data_1.txt`` .. ``combined_data_4.txt``, ``movie_titles.csv``, ``probe.txt``,
``qualifying.txt``. Original archive (once ``training_set.tar`` is extracted):
``training_set/mv_0000001.txt`` .., ``movie_titles.txt``, ``probe.txt``, ``qualifying.txt``.
Each may carry a ``.gz`` or ``.bz2`` suffix. Anything else (README, rmse.pl, .tar) is ignored.
"""

from __future__ import annotations

import re

from sparkfolio.runtime.byteranges import COMPRESSED_SUFFIX as _SUFFIX

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("ratings", re.compile(r"^combined_data_\d+\.txt$")),
    ("ratings", re.compile(r"^mv_\d+\.txt$")),
    ("titles", re.compile(r"^movie_titles\.(csv|txt)$")),
    ("probe", re.compile(r"^probe\.txt$")),
    ("qualifying", re.compile(r"^qualifying\.txt$")),
)


def classify(name: str) -> tuple[str, str | None] | None:
    """``(kind, compression)`` of a file's base name, or ``None`` for a file that is not ours.

    Kinds are ``ratings`` (both layouts), ``titles``, ``probe`` and ``qualifying``;
    compression is ``"gz"``, ``"bz2"`` or ``None``.
    """
    compression = None
    m = _SUFFIX.search(name)
    if m:
        compression = m.group(1).lower()
        name = name[: m.start()]
    for kind, pattern in _PATTERNS:
        if pattern.match(name):
            return kind, compression
    return None


def layout_of(name: str) -> str | None:
    """``"kaggle"`` for ``combined_data_*``, ``"training_set"`` for ``mv_*``, else ``None``."""
    base = _SUFFIX.sub("", name)
    if base.startswith("combined_data_"):
        return "kaggle"
    if base.startswith("mv_"):
        return "training_set"
    return None
