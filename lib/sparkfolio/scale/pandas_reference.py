"""A single-process pandas implementation of the ``scale-defects`` aggregations, for benchmarks.

``run_pandas(path)`` reads the same CSV (either variant, CP949 or UTF-8), applies the same checks
with the default ``DefectsConfig`` and computes the same tables as the Spark job -- defect rates per
category, numeric statistics by defect status, binned rates, chi-square tests and findings --
through the same ``findings.summarise``. Its numbers equal the job's ``metrics.json`` (the tests
check this), so a benchmark compares like with like.

Differences, all outside what the benchmark data exercises: a line with too many fields is
skipped by pandas' C parser instead of being rejected, and which of two rows with the same plate
number *and* the same rolling date is kept may differ.
"""

from __future__ import annotations

import glob
import logging
import os
import time
from typing import Any

import numpy as np
import pandas as pd

from sparkfolio.runtime.errors import InputError
from sparkfolio.scale import aggregate as A
from sparkfolio.scale import findings as FN
from sparkfolio.scale import schema
from sparkfolio.scale import source as SRC

log = logging.getLogger(__name__)

PY_DATETIME = {"ddMMMyyyy:HH:mm:ss": "%d%b%Y:%H:%M:%S"}


def _files(path: str) -> list[str]:
    if os.path.isdir(path):
        found = sorted(p for p in glob.glob(os.path.join(path, "**", "*"), recursive=True)
                       if os.path.isfile(p) and not os.path.basename(p).startswith((".", "_")))
    else:
        found = sorted(glob.glob(path))
    csvs = [p for p in found if p.lower().endswith((".csv", ".csv.gz", ".csv.bz2"))]
    files = csvs or found
    if not files:
        raise InputError(f"input not found: {path}")
    return files


def _numbered(s: pd.Series) -> pd.Series:
    suffixes = "|".join(schema.NUMBERED_SUFFIXES)
    return pd.to_numeric(s.str.extract(rf"^(\d+)(?:\.0+)?\s*(?:{suffixes})?$", expand=False), errors="coerce")


def canonicalize_chunk(raw: pd.DataFrame, present: list[str], cfg: Any, source: str) -> tuple[pd.DataFrame, pd.Series]:
    """Typed canonical columns of a chunk of string rows and the reasons (``""`` when valid).

    Mirrors ``parse.canonicalize``: the same checks in the same order give the same reasons.
    """
    reasons: list[pd.Series] = []
    typed: dict[str, pd.Series] = {}
    fmt = PY_DATETIME.get(cfg.timestamp_format, cfg.timestamp_format)
    for c in present:
        s = raw[c].str.strip()
        blank = s.isna() | (s == "")
        if c in schema.NUMERIC:
            v = pd.to_numeric(s, errors="coerce")
            typed[c] = v
            r = np.where(blank, f"{c}: missing value", np.where(v.isna(), f"{c}: not a number '" + s.fillna("") + "'", ""))
            reasons.append(pd.Series(r, index=raw.index))
            if c in cfg.valid_ranges:
                lo, hi = (float(x) for x in cfg.valid_ranges[c])
                out = v.notna() & ((v < lo) | (v > hi))
                reasons.append(pd.Series(np.where(out, f"{c}: outside [{lo:g}, {hi:g}] (" + s.fillna("") + ")", ""),
                                         index=raw.index))
            if c in schema.WHOLE_NUMBERS:
                frac = v.notna() & (v != np.floor(v))
                reasons.append(pd.Series(np.where(frac, f"{c}: not a whole number (" + s.fillna("") + ")", ""),
                                         index=raw.index))
        elif c in schema.MAPPED_LABELS:
            v = s.map(cfg.labels.get(c, {}))
            typed[c] = v
            reasons.append(pd.Series(np.where(blank, f"{c}: missing value",
                                              np.where(v.isna(), f"{c}: unknown label '" + s.fillna("") + "'", "")),
                                     index=raw.index))
        elif c in schema.NUMBERED_CATEGORICAL:
            v = _numbered(s.fillna(""))
            typed[c] = v
            reasons.append(pd.Series(np.where(blank, f"{c}: missing value",
                                              np.where(v.isna(), f"{c}: unknown label '" + s.fillna("") + "'", "")),
                                     index=raw.index))
        elif c == schema.TIMESTAMP:
            v = pd.to_datetime(s, format=fmt, errors="coerce")
            typed[c] = v
            reasons.append(pd.Series(np.where(blank, f"{c}: missing value",
                                              np.where(v.isna(), f"{c}: cannot parse '" + s.fillna("") + "' as "
                                                       + cfg.timestamp_format, "")), index=raw.index))
        else:
            v = s
            major = s.str[:1].str.upper()
            if c == "steel_kind" and cfg.steel_kind_major_class:
                v = major
            v = v.where(~blank, None)
            # Few distinct values: categories keep ten million plates in a few hundred MB.
            typed[c] = v if c == schema.ID else v.astype("category")
            why = np.where(blank, f"{c}: missing value", "")
            classes = getattr(cfg, "steel_kind_classes", None)
            if c == "steel_kind" and classes:
                unknown = ~blank & ~major.isin([k.upper() for k in classes])
                why = np.where(unknown, f"{c}: unknown class '" + s.fillna("") + f"' (known: {', '.join(classes)})", why)
            reasons.append(pd.Series(why, index=raw.index))
    joined = pd.Series([""] * len(raw), index=raw.index, dtype=object)
    for r in reasons:
        has = r != ""
        joined = np.where(has & (joined != ""), joined + "; " + r, np.where(has, r, joined))
        joined = pd.Series(joined, index=raw.index, dtype=object)
    df = pd.DataFrame(typed)
    df["_source"] = source
    return df, joined


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate chunks, unioning the categories of categorical columns (plain concat would
    fall back to Python objects when the chunks saw different levels)."""
    if len(parts) == 1:
        return parts[0].reset_index(drop=True)
    out = {}
    for c in parts[0].columns:
        if isinstance(parts[0][c].dtype, pd.CategoricalDtype):
            out[c] = pd.Series(pd.api.types.union_categoricals([p[c] for p in parts]), name=c)
        else:
            out[c] = pd.concat([p[c] for p in parts], ignore_index=True)
    return pd.DataFrame(out)


def run_pandas(input_path: str) -> dict[str, Any]:
    """The ``scale-defects`` aggregations of the CSV file(s) at ``input_path`` with pandas alone.

    Returns a dict with ``rows``, ``defect_rate``, ``category_rates``, ``numeric_by_status``,
    ``binned_rates``, ``chi_square``, ``findings``, ``recommendations`` (the same records as the
    job's metrics.json) and ``seconds`` (read/parse and aggregate times).
    """
    from sparkfolio.scale.defects_job import DefectsConfig

    cfg = DefectsConfig()
    t0 = time.perf_counter()
    files = _files(input_path)
    variants = {"lower": cfg.columns.lower, "upper": cfg.columns.upper}
    with open(files[0], "rb") as fh:
        head = fh.read(cfg.head_bytes)
    encoding = SRC.detect_encoding(head, files[0])
    header = SRC.header_of(head, encoding, files[0])
    _, columns = SRC.choose_variant(header, variants, "auto", files[0])
    present = list(columns)
    parts: list[pd.DataFrame] = []
    reasons: list[pd.Series] = []
    for path in files:
        reader = pd.read_csv(path, encoding=encoding.replace("-sig", "-sig"), dtype=str, keep_default_na=False,
                             usecols=[columns[c] for c in present], chunksize=1_000_000, on_bad_lines="skip")
        for chunk in reader:
            chunk = chunk.rename(columns={v: k for k, v in columns.items()})
            typed, why = canonicalize_chunk(chunk, present, cfg, path)
            parts.append(typed)
            reasons.append(why)
    df = _concat(parts)
    why = pd.concat(reasons, ignore_index=True)
    valid = (why == "").to_numpy()
    if cfg.reject_duplicates:
        order = df[valid].sort_values([schema.TIMESTAMP, "_source"], kind="stable") if schema.TIMESTAMP in present \
            else df[valid]
        dup_idx = order.index[order[schema.ID].duplicated(keep="first")]
        why.loc[dup_idx] = np.where(why.loc[dup_idx] == "", f"{schema.ID}: duplicate",
                                    why.loc[dup_idx] + f"; {schema.ID}: duplicate")
        valid = (why == "").to_numpy()
    rows, bad = len(df), int((~valid).sum())
    plates = df[valid]
    t1 = time.perf_counter()

    cats = [c for c in cfg.categorical_columns if c in present]
    nums = [c for c in cfg.numeric_columns if c in present]
    y = plates[schema.LABEL].astype(np.int64)
    cat_rows = []
    for c in cats:
        lv = _level_text(plates[c])
        g = pd.DataFrame({"level": lv, "y": y}).groupby("level", sort=True)["y"].agg(["size", "sum"])
        cat_rows += [{"column": c, "level": k, "n": int(r["size"]), "defects": int(r["sum"])} for k, r in g.iterrows()]
    cat_counts = pd.DataFrame(cat_rows, columns=["column", "level", "n", "defects"])
    mom_rows = []
    for c in nums:
        g = plates[c].astype(float).groupby(y).agg(["size", "mean", "var", "min", "max"])
        for status, r in g.iterrows():
            mom_rows.append({"column": c, "status": int(status), "n": int(r["size"]), "mean": r["mean"],
                             "var": r["var"], "min": r["min"], "max": r["max"]})
    moments = pd.DataFrame(mom_rows, columns=["column", "status", "n", "mean", "var", "min", "max"])
    widths = A.bin_widths(nums, cfg.bin_widths, moments, cfg.auto_bins)
    bin_rows = []
    for c, w in widths.items():
        b = np.floor(plates[c].astype(float) / w) * w
        g = pd.DataFrame({"b": b, "y": y}).groupby("b", sort=True)["y"].agg(["size", "sum"])
        bin_rows += [{"column": c, "bin_low": float(k), "width": float(w), "n": int(r["size"]), "defects": int(r["sum"])}
                     for k, r in g.iterrows()]
    bin_counts = pd.DataFrame(bin_rows, columns=["column", "bin_low", "width", "n", "defects"])
    corr = plates[nums].astype(float).corr()
    dups = A.duplicate_columns(corr)
    summary = FN.summarise(cat_counts, moments, bin_counts, cfg.alpha, cfg.min_group_size, cfg.min_effect,
                           cfg.max_recommendations, dups)
    t2 = time.perf_counter()
    n, k = len(plates), int(y.sum())
    from sparkfolio.scale.stats import wilson

    lo, hi = wilson(k, n)
    return {
        "rows": {"read": rows, "valid": rows - bad, "rejected": bad, "reject_fraction": bad / rows if rows else 0.0},
        "defect_rate": {"plates": n, "defects": k, "rate": k / n if n else float("nan"), "ci_low": lo, "ci_high": hi},
        "category_rates": summary.category_rates.to_dict("records"),
        "numeric_by_status": summary.numeric_by_status.to_dict("records"),
        "binned_rates": summary.binned_rates.to_dict("records"),
        "chi_square": summary.chi_square.to_dict("records"),
        "findings": summary.findings.to_dict("records"),
        "recommendations": summary.recommendations,
        "bin_widths": widths,
        "duplicate_columns": dups,
        "encoding": encoding,
        "seconds": {"read_parse": round(t1 - t0, 2), "aggregate": round(t2 - t1, 2), "total": round(t2 - t0, 2)},
    }


def _level_text(s: pd.Series) -> pd.Series:
    """Level text as the Spark job writes it: whole numbers without ``.0``."""
    if s.dtype.kind == "f":
        return s.map(lambda v: str(int(v)) if float(v).is_integer() else repr(float(v)))
    return s.astype(str)
