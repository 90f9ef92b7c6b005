"""``netflix-generate`` end to end: both layouts, exact formats, determinism, consistency of the sets."""

from __future__ import annotations

import collections
import datetime as dt
import json
import re
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

RATINGS = 5000
SEED = 3


def _blocks(data: bytes, fields: int) -> list[tuple[int, list[list[str]]]]:
    """A plain reference reader of the ``M:`` block format: [(movie, [fields of each line])]."""
    out: list[tuple[int, list[list[str]]]] = []
    for line in data.decode("ascii").split("\n")[:-1]:  # every file ends with a newline
        if line.endswith(":"):
            out.append((int(line[:-1]), []))
        else:
            parts = line.split(",")
            assert len(parts) == fields, line
            out[-1][1].append(parts)
    return out


@pytest.fixture(scope="module")
def kaggle(spark, tmp_path_factory) -> Path:
    from sparkfolio.cli import run_job

    out = tmp_path_factory.mktemp("gen") / "kaggle"
    assert run_job("netflix-generate", ["--output", str(out), "--set", f"ratings={RATINGS}", "--set", f"seed={SEED}"]) == 0
    return out


def test_kaggle_layout_files_are_exact_and_consistent(kaggle: Path):
    names = sorted(p.name for p in kaggle.iterdir())
    assert names == ["combined_data_1.txt", "combined_data_2.txt", "combined_data_3.txt", "combined_data_4.txt",
                     "metrics.json", "movie_titles.csv", "probe.txt", "qualifying.txt"]
    metrics = json.loads((kaggle / "metrics.json").read_text())
    line = re.compile(rb"^[1-9][0-9]*,[1-5],\d{4}-\d{2}-\d{2}$")
    movies: list[int] = []
    pairs: set[tuple[int, int]] = set()
    ratings = collections.Counter()
    days = []
    for k in range(1, 5):
        data = (kaggle / f"combined_data_{k}.txt").read_bytes()
        assert data.startswith(f"{movies[-1] + 1 if movies else 1}:\n".encode())  # files continue the movie ids
        for raw in data.split(b"\n")[:-1]:
            assert raw.endswith(b":") or line.match(raw), raw
        for movie, rows in _blocks(data, 3):
            movies.append(movie)
            for cust, rating, day in rows:
                pairs.add((movie, int(cust)))
                ratings[rating] += 1
                days.append(dt.date.fromisoformat(day))
    n = metrics["movies_in_catalogue"]
    assert movies == list(range(1, n + 1))
    assert sum(ratings.values()) == len(pairs) == metrics["ratings"] == RATINGS  # no pair twice
    assert {str(k): v for k, v in sorted(ratings.items())} == metrics["rating_counts"]
    assert len({c for _, c in pairs}) == metrics["customers"] == metrics["customers_in_model"]
    assert max(c for _, c in pairs) == metrics["max_customer_id"] == 2_649_429
    assert dt.date(1999, 11, 11) <= min(days) and max(days) <= dt.date(2005, 12, 31)
    assert str(min(days)) == metrics["first_date"] and str(max(days)) == metrics["last_date"]

    probe = [(m, int(r[0])) for m, rows in _blocks((kaggle / "probe.txt").read_bytes(), 1) for r in rows]
    assert len(probe) == metrics["probe"] > 0 and set(probe) <= pairs
    qual = [(m, int(r[0])) for m, rows in _blocks((kaggle / "qualifying.txt").read_bytes(), 2) for r in rows]
    assert len(qual) == metrics["qualifying"] > 0 and not set(qual) & pairs

    titles = (kaggle / "movie_titles.csv").read_bytes().decode("latin-1").split("\n")[:-1]
    assert [int(t.split(",", 1)[0]) for t in titles] == list(range(1, n + 1))
    assert sum(t.split(",")[1] == "NULL" for t in titles) == metrics["null_years"] >= 1
    assert any(len(t.split(",")) > 3 for t in titles)  # titles with commas
    assert metrics["files"]["combined_data_1.txt"] == (kaggle / "combined_data_1.txt").stat().st_size


def test_output_does_not_depend_on_how_the_work_is_split(run_job, kaggle: Path, tmp_path: Path):
    out = tmp_path / "chunked"
    assert run_job("netflix-generate", "--output", str(out), "--set", f"ratings={RATINGS}", "--set", f"seed={SEED}",
                   "--set", "chunk_ratings=400") == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["tasks"] > 8
    for name in ("combined_data_1.txt", "combined_data_4.txt", "probe.txt", "qualifying.txt", "movie_titles.csv"):
        assert (out / name).read_bytes() == (kaggle / name).read_bytes(), name


def test_training_set_layout_holds_the_same_blocks(run_job, kaggle: Path, tmp_path: Path):
    out = tmp_path / "original"
    assert run_job("netflix-generate", "--output", str(out), "--set", f"ratings={RATINGS}", "--set", f"seed={SEED}",
                   "--set", "layout=training_set", "--set", "line_ending=crlf", "--set", "chunk_ratings=1500") == 0
    metrics = json.loads((kaggle / "metrics.json").read_text())
    n = metrics["movies_in_catalogue"]
    files = sorted((out / "training_set").iterdir())
    assert [p.name for p in files] == [f"mv_{m:07d}.txt" for m in range(1, n + 1)]
    assert files[0].read_bytes().startswith(b"1:\r\n")
    joined = b"".join(p.read_bytes() for p in files).replace(b"\r\n", b"\n")
    assert joined == b"".join((kaggle / f"combined_data_{k}.txt").read_bytes() for k in range(1, 5))
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "movie_titles.txt", "probe.txt",
                                                     "qualifying.txt", "training_set"]
    assert (out / "movie_titles.txt").read_bytes().replace(b"\r\n", b"\n") == (kaggle / "movie_titles.csv").read_bytes()
    assert (out / "probe.txt").read_bytes().replace(b"\r\n", b"\n") == (kaggle / "probe.txt").read_bytes()


def test_bad_settings_are_one_line_errors(run_job, tmp_path: Path, capsys):
    assert run_job("netflix-generate", "--output", str(tmp_path / "x"), "--set", "ratings=0") == 2
    assert "ratings must be at least 1" in capsys.readouterr().err
    assert run_job("netflix-generate", "--output", str(tmp_path / "x"), "--set", "ratings=1000",
                   "--set", "movies=3", "--set", "customers=5") == 2
    assert "do not fit" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
