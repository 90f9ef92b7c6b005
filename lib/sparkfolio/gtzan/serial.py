"""The plain single-process loop over audio files, the way the original notebook ran.

Same decoding and the same feature functions as the Spark job's UDF (``analysis.analyse``), one file
after another, so ``scripts/bench_udfs.py`` compares the distribution itself and nothing else.
"""

from __future__ import annotations

import logging
import os
from typing import Sequence

import pandas as pd

from sparkfolio.gtzan.analysis import ERROR, analyse, empty_record
from sparkfolio.gtzan.audio import file_name, genre_from_path, read_file
from sparkfolio.gtzan.features import FeatureParams

log = logging.getLogger(__name__)


def process_files(paths: Sequence[str], params: FeatureParams | None = None, *, one_thread: bool = True,
                  progress: bool = False) -> pd.DataFrame:
    """Analyse local audio files one by one: one row per file, like the job's UDF output.

    Parameters
    ----------
    paths:
        Local file paths (or ``file:`` URIs).
    params:
        Feature settings; the job's defaults when omitted.
    one_thread:
        Limit BLAS/OpenMP to one thread, as each Spark task is, so "serial" really means one core.
    progress:
        Show a tqdm progress bar.

    Returns
    -------
    pandas.DataFrame
        Columns ``path, file_name, genre``, the record fields of :func:`analysis.analyse`
        (``status``, ``error``, the 57 summary features, ``segments`` with each segment's MFCC
        matrix, ``work_s``...), without the plot columns.
    """
    fp = params or FeatureParams()
    if one_thread:
        from sparkfolio.gtzan.analysis import worker_setup

        worker_setup()
    rows = []
    iterator: Sequence[str] = paths
    if progress:
        from tqdm import tqdm

        iterator = tqdm(paths, desc="clips", unit="clip")
    for path in iterator:
        local = path[len("file://"):] if path.startswith("file://") else path[len("file:"):] if path.startswith("file:") else path
        try:
            rec = analyse(read_file(local), local, fp, plot=False)
        except OSError as exc:
            rec = empty_record(local, 0)
            rec.update(status=ERROR, error=f"cannot read file: {exc.strerror or exc}")
        rec.pop("waveform_png")
        rec.pop("melspec_png")
        rec["file_name"] = file_name(local)
        rec["genre"] = genre_from_path(os.path.abspath(local))
        rows.append(rec)
    df = pd.DataFrame(rows)
    if df.empty:
        return df
    first = ["path", "file_name", "genre"]
    return df[first + [c for c in df.columns if c not in first]]
