"""Tesseract through its command line: one process per image, no Python binding needed.

The ``tesseract`` binary and its ``kor`` traineddata come from the OS packages
(``tesseract-ocr tesseract-ocr-kor``), installed on every executor. Images go in through stdin
as PNG and TSV comes back on stdout, so nothing touches the executor's disk.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from sparkfolio.runtime.errors import DependencyError

INSTALL_HINT = "install tesseract-ocr tesseract-ocr-kor (apt-get install tesseract-ocr tesseract-ocr-kor)"


@dataclass(frozen=True)
class TesseractResult:
    """Text Tesseract read, and its mean word confidence (0..100, -1 when it read nothing)."""

    text: str
    confidence: float


@functools.lru_cache(maxsize=8)
def check_tesseract(cmd: str = "tesseract", lang: str = "kor") -> str:
    """The Tesseract version line, after checking the binary and the language data exist.

    Raises
    ------
    DependencyError
        The binary is not on the PATH, does not run, or lacks the language.
    """
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
             whitelist: str | None = None, timeout_s: float = 30.0) -> TesseractResult:
    """Run Tesseract on one image (grayscale, dark text on light) and parse its TSV output.

    ``psm`` 7 treats the image as a single text line, 6 as a block (two-row plates). The
    process is limited to one OpenMP thread: Spark already runs one task per core, and
    Tesseract's own threads would only fight over them.

    Raises
    ------
    DependencyError
        The binary disappeared or cannot run.
    """
    import cv2

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
