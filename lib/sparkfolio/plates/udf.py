"""The executor side of `plates-ocr`: ``mapInPandas`` functions over batches of image files.

Both functions use the iterator form: the per-partition set-up (loading Tesseract's model and
the glyph bank, both kept for the worker's later tasks; pinning native libraries to one thread)
runs once per partition, then every batch of ``binaryFile`` rows streams through. They capture only plain values.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, Callable, Iterator

from sparkfolio.plates.pipeline import RESULT_FIELDS, OcrSettings

RESULT_SCHEMA = ", ".join(f"{name} {kind}" for name, kind in RESULT_FIELDS)
ANNOTATED_SCHEMA = "path string, png binary"


def single_threaded() -> None:
    """Keep OpenCV and BLAS to one thread: Spark already runs one task per core.

    Threads inside a task would only compete with the other tasks for the same cores.
    threadpoolctl is used when installed (it ships with scikit-learn); without it BLAS keeps
    the thread count it started with (set ``OPENBLAS_NUM_THREADS=1`` in the executor env).
    """
    import cv2

    cv2.setNumThreads(1)
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(1)


def ocr_batches(settings: OcrSettings) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """A ``mapInPandas`` function reading the plate in every ``(path, content)`` row.

    The closure holds the settings as a plain dict (rebuilt into :class:`OcrSettings` on the
    executor), so what Spark pickles for every task does not depend on the class's own pickling.
    """
    plain = asdict(settings)

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from sparkfolio.plates.pipeline import OcrSettings as Settings
        from sparkfolio.plates.pipeline import prepare, read_image

        single_threaded()
        opts = Settings(**plain)
        bank = prepare(opts)
        columns = [name for name, _ in RESULT_FIELDS]
        # Nullable pandas types, so a missing box stays null instead of becoming NaN floats.
        dtypes = {name: {"int": "Int32", "double": "Float64", "boolean": "boolean", "string": "string"}[kind]
                  for name, kind in RESULT_FIELDS}
        for pdf in batches:
            rows = [read_image(path, content, opts, bank).as_dict()
                    for path, content in zip(pdf["path"], pdf["content"])]
            yield pd.DataFrame(rows, columns=columns).astype(dtypes)

    return run


def annotate_batches(font_dir: str) -> Callable[[Iterator[Any]], Iterator[Any]]:
    """A ``mapInPandas`` function drawing each row's plate box and text on its image (PNG)."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pandas as pd

        from sparkfolio.plates.annotate import annotate

        for pdf in batches:
            out = []
            for rec in pdf.to_dict("records"):
                png = annotate(rec["content"], rec, font_dir)
                out.append((rec["path"], png))
            yield pd.DataFrame(out, columns=["path", "png"])

    return run
