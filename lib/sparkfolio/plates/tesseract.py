"""Tesseract for one text line: in-process through libtesseract, or through its command line.

The binary, its library and the ``kor`` traineddata come from the OS packages
(``tesseract-ocr tesseract-ocr-kor``), installed on every executor. ``api`` picks how it runs:

* ``library`` -- libtesseract's C API (:mod:`sparkfolio.plates.libtesseract`): the model loads
  once per process, then each image costs only its recognition (15-16 ms a plate's glyphs,
  against 60-70 ms with a process per image);
* ``cli`` -- one ``tesseract`` process per image: the image goes in through stdin as PNG and
  TSV comes back on stdout, so nothing touches the executor's disk;
* ``auto`` (default) -- the library where it loads, else the command line.

Both give the same text and confidence (tests/unit/test_plates_tesseract.py).
"""

from __future__ import annotations

import functools
import logging
import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

import numpy as np

from sparkfolio.runtime.errors import DependencyError

log = logging.getLogger(__name__)

#: The ways of running Tesseract (see the module docstring).
API_CHOICES = ("auto", "library", "cli")

INSTALL_HINT = "install tesseract-ocr tesseract-ocr-kor (apt-get install tesseract-ocr tesseract-ocr-kor)"


@dataclass(frozen=True)
class TesseractResult:
    """Text Tesseract read, and its mean word confidence (0..100, -1 when it read nothing)."""

    text: str
    confidence: float


def _check_api(api: str) -> None:
    if api not in API_CHOICES:
        raise ValueError(f"tesseract api must be one of {', '.join(API_CHOICES)}, got {api!r}")


@functools.lru_cache(maxsize=8)
def library_engine(lang: str, api: str = "auto") -> Any:
    """The process's in-process engine for ``lang`` under ``api``; None where the CLI is to be used.

    Decided once per process (cached): under ``auto`` without a usable library, every image
    goes to the command line without retrying the load or repeating the warning.

    Raises
    ------
    DependencyError
        ``api`` is ``library`` and libtesseract cannot be loaded, or (any api) the library
        loads but has no data for ``lang``.
    """
    _check_api(api)
    if api == "cli":
        return None
    from sparkfolio.plates.libtesseract import LibraryUnavailable, engine

    try:
        return engine(lang)
    except LibraryUnavailable as exc:
        if api == "library":
            raise DependencyError(f"libtesseract cannot be used: {exc}") from None
        log.warning("libtesseract cannot be used (%s); running the tesseract command per image", exc)
        return None
    except ValueError as exc:
        raise DependencyError(f"{exc}: {INSTALL_HINT}") from None


@functools.lru_cache(maxsize=8)
def check_tesseract(cmd: str = "tesseract", lang: str = "kor", api: str = "auto") -> str:
    """What will run Tesseract, after checking it and its language data exist.

    For the library, ``"libtesseract <version>"`` (the model is loaded here, once per process);
    for the command line, its version line.

    Raises
    ------
    DependencyError
        The library (``api`` library) or the binary (``api`` cli, or auto without the library)
        is missing or does not run, or lacks the language.
    """
    eng = library_engine(lang, api)
    if eng is not None:
        return f"libtesseract {eng.version}"
    path = shutil.which(cmd)
    if path is None:
        raise DependencyError(f"Tesseract not found ({cmd!r} is not on the PATH): {INSTALL_HINT}")
    try:
        version = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
        langs = subprocess.run([path, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DependencyError(f"Tesseract at {path} does not run ({exc}): {INSTALL_HINT}") from None
    available = {ln.strip() for ln in (langs.stdout + langs.stderr).splitlines()[1:] if ln.strip()}
    for needed in lang.split("+"):
        if needed not in available:
            raise DependencyError(
                f"Tesseract has no {needed!r} language data (has: {', '.join(sorted(available)) or 'none'}): "
                f"{INSTALL_HINT}")
    first = (version.stdout or version.stderr).splitlines()
    return first[0].strip() if first else "tesseract"


def ocr_line(img: np.ndarray, cmd: str = "tesseract", lang: str = "kor", psm: int = 7,
             whitelist: str | None = None, timeout_s: float = 30.0, api: str = "auto") -> TesseractResult:
    """Run Tesseract on one image (grayscale uint8, dark text on light): its words and confidence.

    ``psm`` 7 treats the image as a single text line, 6 as a block (two-row plates). Either way
    Tesseract is limited to one OpenMP thread: Spark already runs one task per core, and
    Tesseract's own threads would only fight over them.

    Raises
    ------
    DependencyError
        What ``api`` names cannot run (see :func:`check_tesseract`).
    """
    import cv2

    eng = library_engine(lang, api)
    if eng is not None:
        return eng.read_line(img, psm=psm, whitelist=whitelist, timeout_s=timeout_s)

    ok, png = cv2.imencode(".png", img)
    if not ok:
        raise ValueError("cannot encode the image for Tesseract")
    args = [cmd, "stdin", "stdout", "-l", lang, "--psm", str(psm)]
    if whitelist:
        args += ["-c", f"tessedit_char_whitelist={whitelist}"]
    args.append("tsv")
    env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
    try:
        proc = subprocess.run(args, input=png.tobytes(), capture_output=True, timeout=timeout_s, env=env)
    except FileNotFoundError:
        raise DependencyError(f"Tesseract not found ({cmd!r}): {INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        return TesseractResult("", -1.0)
    return parse_tsv(proc.stdout.decode("utf-8", errors="replace"))


def parse_tsv(tsv: str) -> TesseractResult:
    """Words (level 5 rows) of Tesseract's TSV output joined, with their mean confidence."""
    words: list[str] = []
    confs: list[float] = []
    for line in tsv.splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) < 12 or parts[0] != "5":
            continue
        text = parts[11].strip()
        if not text:
            continue
        words.append(text)
        try:
            confs.append(float(parts[10]))
        except ValueError:
            pass
    return TesseractResult("".join(words), float(np.mean(confs)) if confs else -1.0)
