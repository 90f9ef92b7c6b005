"""Label text as plain pandas functions: the bodies of the labelling ``pandas_udf`` of ``accuracy``.

Kept apart from ``accuracy`` (which builds DataFrame expressions) so that a Python worker
unpickling these UDFs imports pandas and ``formats`` only, not ``pyspark.sql``'s DataFrame API:
that import cost 1.3 s of the workers' CPU in a 96-image local[2] run (py-spy).
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote

import pandas as pd


def nfc_series(s: pd.Series) -> pd.Series:
    """NFC-normalised, stripped strings (nulls kept): labels typed on any OS compare equal."""
    return s.map(lambda v: None if v is None or v is pd.NA else unicodedata.normalize("NFC", str(v)).strip())


def name_label_series(s: pd.Series) -> pd.Series:
    """The plate text in each path's file name (URL-decoded, as Hadoop paths escape), or null."""
    from sparkfolio.plates.formats import label_from_name

    return s.map(lambda p: None if p is None or p is pd.NA else label_from_name(unquote(str(p))))
