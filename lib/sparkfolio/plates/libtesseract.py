"""Tesseract in-process, through libtesseract's C API (ctypes): the model loads once per process.

The command line (:func:`sparkfolio.plates.tesseract.ocr_line` with ``api="cli"``) starts a
process and loads the ``kor`` model for every image: 72.5 ms of the 176.8 ms a real plate crop
took, against 15-16 ms for the recognition itself in a loaded engine. An executor's Python
worker reads many images, so :func:`engine` keeps one loaded :class:`TesseractEngine` per process
and language, and every image after the first pays only for recognition.

``libtesseract.so.5`` comes with Debian's ``tesseract-ocr`` (package ``libtesseract5``); nothing
is compiled. Tesseract parallelises parts of recognition with OpenMP, and inside a Spark task
those threads only fight the other tasks for the cores: on 2 cores a line took 345-609 ms with
them, 17-25 ms without. The OpenMP runtime reads its thread limit once, when it is loaded, so
:func:`load_library` sets ``OMP_THREAD_LIMIT=1`` while loading it, and refuses (so callers fall
back to the command line, which gets the limit in its environment) when the system's
``libgomp`` was already loaded without ``OMP_THREAD_LIMIT=1``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import logging
import os
import threading
import time

import numpy as np

from sparkfolio.plates.tesseract import TesseractResult, parse_tsv

log = logging.getLogger(__name__)

#: File names tried, newest first (5.x is what Debian 12 and Ubuntu 22.04+ ship).
LIBRARY_NAMES = ("libtesseract.so.5", "libtesseract.so.4")


class LibraryUnavailable(RuntimeError):
    """libtesseract cannot be used in this process (not installed, or OpenMP already set up)."""


def _gomp_loaded() -> bool:
    """Whether the system's OpenMP runtime (``libgomp.so.1``, not a wheel's vendored copy) is mapped."""
    try:
        with open("/proc/self/maps", encoding="ascii", errors="replace") as fh:
            return any(line.rstrip().endswith("/libgomp.so.1") or "/libgomp.so.1." in line for line in fh)
    except OSError:
        return False


@functools.lru_cache(maxsize=1)
def load_library() -> ctypes.CDLL:
    """libtesseract with the C API's argument types declared; OpenMP limited to one thread.

    Raises
    ------
    LibraryUnavailable
        No libtesseract 4/5 is installed, or the system's OpenMP runtime was loaded earlier in
        this process with more than one thread allowed (its limit can no longer be changed).
    """
    previous = os.environ.get("OMP_THREAD_LIMIT")
    if previous != "1" and _gomp_loaded():
        raise LibraryUnavailable("libgomp is already loaded without OMP_THREAD_LIMIT=1; set it to 1 in the "
                                 "environment, or use the command line (tesseract_api: cli)")
    names = list(LIBRARY_NAMES)
    found = ctypes.util.find_library("tesseract")
    if found and found not in names:
        names.append(found)
    lib = None
    # libgomp reads the limit once, when libtesseract pulls it in; the process's environment is
    # restored right after, so nothing else started later (torch, child processes) inherits it.
    os.environ["OMP_THREAD_LIMIT"] = "1"
    try:
        for name in names:
            try:
                lib = ctypes.CDLL(name)
                break
            except OSError:
                continue
    finally:
        if previous is None:
            del os.environ["OMP_THREAD_LIMIT"]
        else:
            os.environ["OMP_THREAD_LIMIT"] = previous
    if lib is None:
        raise LibraryUnavailable(f"none of {', '.join(names)} could be loaded (Debian's tesseract-ocr brings it, "
                                 f"as libtesseract5)")
    p, c, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int
    for name, res, args in (
        ("TessVersion", c, []),
        ("TessBaseAPICreate", p, []),
        ("TessBaseAPIDelete", None, [p]),
        ("TessBaseAPIInit3", i, [p, c, c]),
        ("TessBaseAPISetPageSegMode", None, [p, i]),
        ("TessBaseAPISetVariable", i, [p, c, c]),
        ("TessBaseAPISetImage", None, [p, p, i, i, i, i]),
        ("TessBaseAPISetSourceResolution", None, [p, i]),
        ("TessBaseAPIRecognize", i, [p, p]),
        ("TessBaseAPIGetTsvText", p, [p, i]),
        ("TessBaseAPIClear", None, [p]),
        ("TessDeleteText", None, [p]),
        ("TessMonitorCreate", p, []),
        ("TessMonitorDelete", None, [p]),
        ("TessMonitorSetDeadlineMSecs", None, [p, i]),
    ):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = res, args
    return lib


class TesseractEngine:
    """One loaded Tesseract model; :meth:`read_line` recognises one image with it.

    Calls from several threads take turns (a lock): one model serves one recognition at a
    time. Spark's Python workers run one task at a time, and each has its own engine.
    """

    def __init__(self, lang: str = "kor", datapath: str | None = None) -> None:
        """Load ``lang``'s model (``datapath``: the tessdata folder, else Tesseract's default).

        Raises
        ------
        LibraryUnavailable
            libtesseract cannot be loaded (see :func:`load_library`).
        ValueError
            Tesseract has no data for ``lang``.
        """
        self.lang = lang
        self._lib = load_library()
        self.version = self._lib.TessVersion().decode()
        self._lock = threading.Lock()
        self._api = self._lib.TessBaseAPICreate()
        if self._lib.TessBaseAPIInit3(self._api, datapath.encode() if datapath else None, lang.encode()) != 0:
            self.close()
            raise ValueError(f"Tesseract {self.version} has no {lang!r} language data")

    def read_line(self, img: np.ndarray, psm: int = 7, whitelist: str | None = None,
                  timeout_s: float = 30.0, dpi: int = 70) -> TesseractResult:
        """Recognise a grayscale uint8 image; the same text and confidence as the command line.

        ``dpi`` is what the command line assumes for an image without a resolution (70); a
        recognition running past ``timeout_s`` is cancelled and reads as nothing, as a command
        line killed at its timeout does.
        """
        if self._api is None:
            raise ValueError("the Tesseract engine is closed")
        if img.dtype != np.uint8 or img.ndim != 2:
            raise ValueError(f"expected a 2-D uint8 image, got {img.dtype} {img.shape}")
        img = np.ascontiguousarray(img)
        lib, api = self._lib, self._api
        with self._lock:
            # Set every time: a variable set once stays set for the following images.
            lib.TessBaseAPISetVariable(api, b"tessedit_char_whitelist", (whitelist or "").encode())
            lib.TessBaseAPISetPageSegMode(api, psm)
            lib.TessBaseAPISetImage(api, img.ctypes.data, img.shape[1], img.shape[0], 1, img.strides[0])
            lib.TessBaseAPISetSourceResolution(api, dpi)
            monitor = lib.TessMonitorCreate()
            try:
                lib.TessMonitorSetDeadlineMSecs(monitor, max(1, int(timeout_s * 1000)))
                started = time.perf_counter()
                failed = lib.TessBaseAPIRecognize(api, monitor) != 0
                if failed or time.perf_counter() - started >= timeout_s:
                    return TesseractResult("", -1.0)
                text = lib.TessBaseAPIGetTsvText(api, 0)
                try:
                    tsv = ctypes.string_at(text).decode("utf-8", errors="replace") if text else ""
                finally:
                    if text:
                        lib.TessDeleteText(text)
            finally:
                lib.TessMonitorDelete(monitor)
                lib.TessBaseAPIClear(api)
        # GetTsvText gives the rows without the header line the command line prints first.
        return parse_tsv("header\n" + tsv)

    def close(self) -> None:
        """Free the model (also done for the process's engines at exit)."""
        if self._api is not None:
            self._lib.TessBaseAPIDelete(self._api)
            self._api = None


@functools.lru_cache(maxsize=4)
def engine(lang: str = "kor") -> TesseractEngine:
    """The process's engine for ``lang``, loaded on first use (then reused by every task).

    Raises
    ------
    LibraryUnavailable, ValueError
        As :class:`TesseractEngine`.
    """
    import atexit

    eng = TesseractEngine(lang)
    # Freed before the interpreter exits; else Tesseract's object cache warns of leaks.
    atexit.register(eng.close)
    log.info("Tesseract %s loaded in-process (%s)", eng.version, lang)
    return eng
