"""The plain single-process loop over image files, the way the original notebook ran.

Same per-image work as the Spark job (:func:`sparkfolio.plates.pipeline.read_image`), no Spark:
the baseline `scripts/bench_udfs.py` measures the job against, and a handy way to read a few
images from a notebook.
"""

from __future__ import annotations

import logging

import pandas as pd

from sparkfolio.plates.pipeline import RESULT_FIELDS, OcrSettings, prepare, read_image

log = logging.getLogger(__name__)


def process_files(paths: list[str], settings: OcrSettings | None = None, *, one_thread: bool = True,
                  ) -> pd.DataFrame:
    """Read the plate in each image file, one after the other; one result row per path.

    A file that cannot be opened gets a row with ``error`` set, like an undecodable image.
    ``one_thread`` keeps OpenCV and BLAS to one thread, as each Spark task is, so the loop
    really uses one core (``file:`` URIs are accepted as well as local paths).
    """
    from tqdm import tqdm

    from sparkfolio.plates.udf import single_threaded
    from sparkfolio.runtime.inputs import local_path

    if one_thread:
        single_threaded()
    settings = settings or OcrSettings()
    bank = prepare(settings)
    rows = []
    for path in tqdm(paths, desc="plates", unit="img", disable=len(paths) < 50):
        try:
            with open(local_path(path), "rb") as fh:
                data = fh.read()
        except OSError as exc:
            rows.append({**dict.fromkeys((n for n, _ in RESULT_FIELDS), None), "path": path, "valid": False,
                         "seconds": 0.0, "error": f"cannot read file: {exc.strerror or exc}"})
            continue
        rows.append(read_image(path, data, settings, bank).as_dict())
    return pd.DataFrame(rows, columns=[n for n, _ in RESULT_FIELDS])
