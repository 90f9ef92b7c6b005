"""Synthetic steel plates following a measured profile, block by block (pure numpy/pandas).

A block is a fixed range of plate numbers with its own random stream seeded by ``(seed, block)``,
so the output depends only on the seed and the block size -- not on how many Spark tasks run the
blocks or in which order. Defects follow rules measured on the real file (see ``DefectModel``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
from scipy import special




@dataclass(frozen=True)
class DefectModel:
    """How a plate's process settings turn into a scale-defect probability.

    Each risk adds an independent chance of a defect: ``p = 1 - (1 - base) * prod(1 - p_i)``.
    Temperature risks rise as a logistic curve of width ``*_width`` around the limit (a width of 0
    is a hard step: above the limit the risk is ``*_probability``). The defaults are what the real
    file shows: every plate without HSB, with an odd number of descaling passes, rolled above
    1000 °C or soaked above 1175 °C is defective, and no other plate is.
    """

    base_probability: float = 0.0
    hsb_not_applied_probability: float = 1.0
    odd_descaling_probability: float = 1.0
    rolling_temp_limit: float = 1000.0
    rolling_temp_probability: float = 1.0
    rolling_temp_width: float = 0.0
    soak_temp_limit: float = 1175.0
    soak_temp_probability: float = 1.0
    soak_temp_width: float = 0.0


def defect_probability(m: DefectModel, hsb: np.ndarray, descaling: np.ndarray, rolling_temp: np.ndarray,
                       soak_temp: np.ndarray) -> np.ndarray:
    """Per-plate defect probability under ``m`` (arrays of equal length; hsb 1 = applied)."""
    keep = np.full(len(hsb), 1.0 - m.base_probability)
    keep *= 1.0 - m.hsb_not_applied_probability * (np.asarray(hsb) == 0)
    keep *= 1.0 - m.odd_descaling_probability * (np.asarray(descaling) % 2 == 1)
    keep *= 1.0 - m.rolling_temp_probability * _risk(np.asarray(rolling_temp, float), m.rolling_temp_limit,
                                                     m.rolling_temp_width)
    keep *= 1.0 - m.soak_temp_probability * _risk(np.asarray(soak_temp, float), m.soak_temp_limit, m.soak_temp_width)
    return 1.0 - keep


def _risk(x: np.ndarray, limit: float, width: float) -> np.ndarray:
    if width <= 0:
        return (x > limit).astype(float)
    return special.expit((x - limit) / width)


def _cholesky(corr: list[list[float]]) -> np.ndarray:
    """A Cholesky factor of a (rounded, hence maybe slightly indefinite) correlation matrix."""
    c = np.asarray(corr, float)
    w, v = np.linalg.eigh((c + c.T) / 2)
    c = (v * np.clip(w, 1e-6, None)) @ v.T
    d = np.sqrt(np.diag(c))
    return np.linalg.cholesky(c / np.outer(d, d))


def generate_block(profile: dict[str, Any], model: DefectModel, seed: int, block: int, block_rows: int,
                   total_rows: int, hsb_not_applied: float | None = None,
                   sensor_dropout: float | None = None) -> pd.DataFrame:
    """Plates ``block * block_rows`` up to ``min((block + 1) * block_rows, total_rows)`` as canonical,
    typed columns (the lower variant's names; ``scale``/``hsb`` as 0/1, numbered categories as ints).

    ``hsb_not_applied`` and ``sensor_dropout`` override the profile's shares when given.
    """
    first = block * block_rows
    n = max(0, min(block_rows, total_rows - first))
    rng = np.random.default_rng([int(seed), int(block)])
    specs = profile["specs"]
    weights = np.array([s["count"] for s in specs], float)
    pick = rng.choice(len(specs), size=n, p=weights / weights.sum())
    spec = np.array([s["spec"] for s in specs], dtype=object)[pick]
    country = np.array([s["country"] for s in specs], dtype=object)[pick]
    kind = np.array([s["steel_kind"] for s in specs], dtype=object)[pick]
    rm = profile["rolling_method"]
    method = np.where((kind == "T") & (rng.random(n) < rm["tmcp_given_t"]), rm["tmcp"], rm["cr"]).astype(object)

    cont: dict[str, np.ndarray] = {}
    for k, cop in sorted(profile["copula"].items()):
        idx = np.flatnonzero(kind == k)
        cols = cop["columns"]
        z = rng.standard_normal((len(idx), len(cols))) @ _cholesky(cop["corr"]).T
        u = special.ndtr(z)
        probs = np.linspace(0, 1, len(cop["quantiles"][cols[0]]))
        for j, c in enumerate(cols):
            cont.setdefault(c, np.zeros(n))[idx] = np.interp(u[:, j], probs, cop["quantiles"][c])
    for c in ("pt_thick", "fur_heat_temp", "fur_heat_time", "fur_soak_temp", "fur_soak_time", "fur_pre_time",
              "rolling_temp"):
        cont[c] = np.rint(cont[c])
    cont["pt_width"] = np.rint(cont["pt_width"] / 100) * 100
    cont["pt_length"] = np.rint(cont["pt_length"] / 100) * 100

    desc = profile["descaling"]
    band = np.searchsorted(desc["thick_edges"], cont["pt_thick"], side="right")
    descaling = np.zeros(n, dtype=np.int64)
    draw = rng.random(n)
    for k, per_band in desc["shares"].items():
        for b, shares in per_band.items():
            sel = np.flatnonzero((kind == k) & (band == int(b)))
            values = np.array([int(v) for v in shares], dtype=np.int64)
            cum = np.cumsum([shares[v] for v in shares])
            descaling[sel] = values[np.minimum(np.searchsorted(cum / cum[-1], draw[sel], side="right"), len(values) - 1)]

    p_off = profile["hsb_not_applied"] if hsb_not_applied is None else hsb_not_applied
    hsb = (rng.random(n) >= p_off).astype(np.int64)
    fur_no = _draw_shares(rng, profile["fur_no"], n)
    fur_row = _draw_shares(rng, profile["fur_input_row"], n)

    p = defect_probability(model, hsb, descaling, cont["rolling_temp"], cont["fur_soak_temp"])
    scale = (rng.random(n) < p).astype(np.int64)
    # A dropout records 0 °C after the fact: the plate's real temperature decided its defect.
    p_drop = profile["sensor_dropout"] if sensor_dropout is None else sensor_dropout
    rolling_recorded = np.where(rng.random(n) < p_drop, 0.0, cont["rolling_temp"])

    g_lo, g_hi = profile["gap_seconds"]
    mean_gap = (g_lo + g_hi) / 2.0
    gaps = rng.integers(g_lo, g_hi + 1, size=n).astype(float)
    # Every block spans exactly n average gaps (its last gap leads to the next block's first plate),
    # so blocks made by different tasks line up in time without overlapping.
    if n:
        gaps *= n * mean_gap / gaps.sum()
    start = datetime.strptime(profile["start"], "%Y-%m-%d %H:%M:%S")
    seconds = first * mean_gap + np.concatenate([[0.0], np.cumsum(gaps)[:-1]]) if n else np.zeros(0)
    times = pd.to_datetime(start) + pd.to_timedelta(np.floor(seconds), unit="s")
    crew = _crew(times, start, profile["shift"])
    return pd.DataFrame({
        "plate_no": "PLT_" + pd.Series(np.arange(first + 1001, first + n + 1001)).astype(str),
        "rolling_date": times,
        "scale": scale,
        "spec_long": spec,
        "spec_country": country,
        "steel_kind": kind,
        "pt_thick": cont["pt_thick"].astype(np.int64),
        "pt_width": cont["pt_width"].astype(np.int64),
        "pt_length": cont["pt_length"].astype(np.int64),
        "hsb": hsb,
        "fur_no": fur_no,
        "fur_input_row": fur_row,
        "fur_heat_temp": cont["fur_heat_temp"].astype(np.int64),
        "fur_heat_time": cont["fur_heat_time"].astype(np.int64),
        "fur_soak_temp": cont["fur_soak_temp"].astype(np.int64),
        "fur_soak_time": cont["fur_soak_time"].astype(np.int64),
        "fur_total_time": (cont["fur_heat_time"] + cont["fur_soak_time"] + cont["fur_pre_time"]).astype(np.int64),
        "fur_ex_temp": cont["fur_soak_temp"].astype(np.int64),
        "rolling_method": method,
        "rolling_temp": rolling_recorded.astype(np.int64),
        "descaling_count": descaling,
        "work_group": crew,
    })


def _draw_shares(rng: np.random.Generator, shares: dict[str, float], n: int) -> np.ndarray:
    values = np.array([int(k) for k in shares], dtype=np.int64)
    p = np.array(list(shares.values()), float)
    return values[rng.choice(len(values), size=n, p=p / p.sum())]


def _crew(times: pd.DatetimeIndex, start: datetime, shift: dict[str, int]) -> np.ndarray:
    """Crew 1-4 on 12-hour shifts: crews 1 (day) and 2 (night) for a rotation, then 3 and 4."""
    origin = datetime(start.year, start.month, start.day, shift["first_hour"])
    if start < origin:
        origin -= timedelta(days=1)
    hours = (times - pd.Timestamp(origin)) / pd.Timedelta(hours=1)
    s = np.floor(np.asarray(hours, float) / shift["hours"]).astype(np.int64)
    return 1 + 2 * ((s // shift["per_rotation"]) % 2) + (s % 2)


def blocks_needed(rows: int, block_rows: int) -> int:
    """How many blocks hold ``rows`` plates."""
    return max(1, math.ceil(rows / block_rows)) if rows > 0 else 0
