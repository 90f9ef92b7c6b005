"""The synthetic FIFA 19 generator: format, determinism and injected bad values (pure pandas)."""

from __future__ import annotations

import re

import numpy as np

from sparkfolio.fifa import schema
from sparkfolio.fifa.generate import CORRUPTIONS, club_name, format_money, generate_chunk


def test_format_money_like_kaggle() -> None:
    got = format_money(np.array([110_500_000, 1_000_000, 1_100_000, 565_000, 1000, 0, 950]))
    assert got.tolist() == ["€110.5M", "€1M", "€1.1M", "€565K", "€1K", "€0", "€950"]


def test_club_names_are_unique() -> None:
    names = club_name(np.arange(20000))
    assert len(set(names.tolist())) == 20000


def test_chunk_has_kaggle_columns_and_formats() -> None:
    frame = generate_chunk(3, 3000, 2000, seed=7, n_clubs=100)
    assert list(frame.columns) == schema.KAGGLE_COLUMNS
    assert frame[""].tolist() == [str(i) for i in range(3000, 5000)]
    assert frame["ID"].is_unique
    checks = {"Value": schema.MONEY_RE, "Wage": schema.MONEY_RE, "Release Clause": schema.MONEY_RE,
              "Height": schema.HEIGHT_RE, "Weight": schema.WEIGHT_RE, "Joined": schema.DATE_RE,
              "Contract Valid Until": schema.CONTRACT_RE, "Work Rate": schema.WORK_RATE_RE, "LS": schema.POSITION_RATING_RE}
    for col, pattern in checks.items():
        present = frame[col].dropna()
        assert len(present) > 0, col
        bad = [v for v in present if not re.match(pattern, v)]
        assert bad == [], (col, bad[:3])
    assert set(frame["Position"].dropna()) <= set(schema.POSITION_GROUPS)
    gk = frame["Position"] == "GK"
    assert frame.loc[gk, schema.POSITION_RATING_COLUMNS].isna().all().all()
    # Loaned players have no Joined date and a lender; the others have no lender.
    loaned = frame["Loaned From"].notna()
    assert 0 < loaned.mean() < 0.15 and frame.loc[loaned, "Joined"].isna().all()


def test_same_seed_same_rows_other_chunk_other_rows() -> None:
    a = generate_chunk(5, 0, 300, seed=1, n_clubs=50)
    b = generate_chunk(5, 0, 300, seed=1, n_clubs=50)
    c = generate_chunk(6, 0, 300, seed=1, n_clubs=50)
    assert a.equals(b)
    assert not a["Name"].equals(c["Name"])


def test_england_rated_below_spain_as_in_the_real_data() -> None:
    frame = generate_chunk(0, 0, 20000, seed=19, n_clubs=700)
    overall = frame["Overall"].astype(int)
    eng = overall[frame["Nationality"] == "England"].mean()
    esp = overall[frame["Nationality"] == "Spain"].mean()
    assert 4.0 < esp - eng < 8.5


def test_bad_values_come_from_the_corruption_list() -> None:
    clean = generate_chunk(0, 0, 3000, seed=2, n_clubs=100)
    dirty = generate_chunk(0, 0, 3000, seed=2, n_clubs=100, bad_value_fraction=0.05)
    changed = (clean.fillna("<NA>") != dirty.fillna("<NA>"))
    rows, cols = np.nonzero(changed.to_numpy())
    cells = [(dirty.columns[c], dirty.iat[r, c]) for r, c in zip(rows, cols)]
    assert 100 < len(cells) < 200
    assert set(cells) <= set(CORRUPTIONS)
