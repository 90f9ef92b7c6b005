"""Measuring the real plates' distributions and dependencies, for the synthetic generator.

``measure_profile`` turns a canonical pandas frame of real plates into a plain dict:

* the specification catalogue (spec -> country, steel kind, frequency);
* the rolling method given the steel kind; HSB, furnace and row frequencies;
* per steel kind a Gaussian copula of the continuous columns -- each column's quantiles plus the
  correlation of their normal scores -- which keeps the marginals and the dependencies (thicker
  plates: lower furnace temperatures, longer soaking, fewer descaling passes...);
* the descaling passes given steel kind and thickness band;
* the sensor dropouts (rolling temperature recorded as 0), the gaps between plates, the shifts.

The generator reproduces the real file from this dict; ``real_profile.PROFILE`` is this function's
output on the 1,000-plate file, checked against it by the tests.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats as st

# Continuous columns modelled by the copula; fur_pre_time = total - heating - soaking time.
COPULA_COLUMNS: tuple[str, ...] = (
    "pt_thick", "pt_width", "pt_length", "fur_heat_temp", "fur_heat_time", "fur_soak_temp",
    "fur_soak_time", "fur_pre_time", "rolling_temp",
)
QUANTILES = 40


def measure_profile(df: pd.DataFrame) -> dict[str, Any]:
    """The generator's profile of canonical plates ``df`` (lower-variant columns, typed).

    ``df`` needs ``scale``/``hsb`` as 0/1, numbered categories as ints and ``rolling_date`` as
    datetimes. Plates with a recorded rolling temperature of 0 count as sensor dropouts and are
    left out of the copula.
    """
    d = df.copy()
    n = len(d)
    specs = (d.groupby("spec_long").agg(country=("spec_country", "first"), steel_kind=("steel_kind", "first"),
                                          count=("plate_no", "size")).reset_index().sort_values("spec_long"))
    t = d[d["steel_kind"] == "T"]
    methods = sorted(d["rolling_method"].unique())
    tmcp = next((m for m in methods if m.upper().startswith("TMCP")), methods[-1])
    cr = next((m for m in methods if m != tmcp), methods[0])
    dropout = d["rolling_temp"] <= 0
    live = d[~dropout].copy()
    live["fur_pre_time"] = live["fur_total_time"] - live["fur_heat_time"] - live["fur_soak_time"]
    probs = np.linspace(0, 1, QUANTILES + 1)
    copula: dict[str, Any] = {}
    for kind, g in live.groupby("steel_kind"):
        cols = list(COPULA_COLUMNS)
        q = {c: [float(v) for v in np.quantile(g[c].astype(float), probs)] for c in cols}
        z = np.column_stack([st.norm.ppf(st.rankdata(g[c], method="average") / (len(g) + 1)) for c in cols])
        corr = np.corrcoef(z, rowvar=False)
        copula[str(kind)] = {"rows": int(len(g)), "columns": cols, "quantiles": q,
                             "corr": [[round(float(v), 4) for v in row] for row in corr]}
    edges = [float(v) for v in np.quantile(d["pt_thick"].astype(float), [0.25, 0.5, 0.75])]
    band = np.searchsorted(edges, d["pt_thick"].astype(float), side="right")
    desc: dict[str, Any] = {}
    for kind in sorted(d["steel_kind"].unique()):
        per_band = {}
        for b in range(len(edges) + 1):
            sel = d[(d["steel_kind"] == kind) & (band == b)]["descaling_count"].astype(int)
            if len(sel) == 0:
                sel = d[d["steel_kind"] == kind]["descaling_count"].astype(int)
            vc = sel.value_counts().sort_index()
            per_band[str(b)] = {str(k): round(float(v) / len(sel), 4) for k, v in vc.items()}
        desc[str(kind)] = per_band
    times = pd.to_datetime(d["rolling_date"]).sort_values()
    gaps = times.diff().dt.total_seconds().dropna()
    return {
        "rows": int(n),
        "defect_rate": round(float(d["scale"].mean()), 4),
        "specs": [{"spec": r.spec_long, "country": r.country, "steel_kind": r.steel_kind, "count": int(r.count)}
                  for r in specs.itertuples()],
        "rolling_method": {"cr": cr, "tmcp": tmcp,
                           "tmcp_given_t": round(float((t["rolling_method"] == tmcp).mean()) if len(t) else 0.0, 4)},
        "hsb_not_applied": round(float((d["hsb"] == 0).mean()), 4),
        "fur_no": _shares(d["fur_no"]),
        "fur_input_row": _shares(d["fur_input_row"]),
        "copula": copula,
        "descaling": {"thick_edges": edges, "shares": desc},
        "sensor_dropout": round(float(dropout.mean()), 4),
        "gap_seconds": [int(gaps.min()), int(gaps.max())] if len(gaps) else [600, 600],
        "start": times.iloc[0].strftime("%Y-%m-%d %H:%M:%S"),
        "shift": {"first_hour": 7, "hours": 12, "per_rotation": 8},
        "quantile_probs": QUANTILES,
    }


def _shares(s: pd.Series) -> dict[str, float]:
    vc = s.astype(int).value_counts().sort_index()
    return {str(k): round(float(v) / len(s), 4) for k, v in vc.items()}


def read_real_csv(path: str, encoding: str = "cp949") -> pd.DataFrame:
    """The lower-variant real file as canonical typed pandas (for measuring the profile)."""
    d = pd.read_csv(path, encoding=encoding)
    d["scale"] = d["scale"].map({"양품": 0, "불량": 1})
    d["hsb"] = d["hsb"].map({"적용": 1, "미적용": 0})
    for c in ("fur_no", "fur_input_row", "work_group"):
        d[c] = d[c].astype(str).str.extract(r"^(\d+)")[0].astype(int)
    d["rolling_date"] = pd.to_datetime(d["rolling_date"], format="%d%b%Y:%H:%M:%S")
    return d
