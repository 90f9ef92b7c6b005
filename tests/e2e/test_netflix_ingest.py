"""End-to-end runs of ``netflix-ingest``: real files, messy/compressed inputs, quality gate, generated data."""

from __future__ import annotations

import bz2
import gzip
import json
import random
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from pyspark.testing import assertDataFrameEqual

from tests.conftest import shared_data

RATINGS_DDL = "movie_id int, customer_id int, rating byte, date date"
REJECTS_DDL = "file string, line long, raw string, reason string"


def _read(spark, out: Path, table: str):
    return spark.read.parquet(str(out / table))


# --- the real files ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def real_output(tmp_path_factory, spark):
    """One ingest of the real movie file, titles and probe head, cut into many small splits."""
    mv = shared_data("netflix/mv_0002043.txt")
    titles = shared_data("netflix/movie_titles.txt")
    probe = shared_data("netflix/probe_head.txt")
    folder = tmp_path_factory.mktemp("real_in")
    (folder / "training_set").mkdir()
    shutil.copy(mv, folder / "training_set" / "mv_0002043.txt")
    shutil.copy(titles, folder / "movie_titles.txt")
    shutil.copy(probe, folder / "probe.txt")
    (folder / "README").write_text("not data\n")
    out = tmp_path_factory.mktemp("real_out") / "ingest"
    from sparkfolio.cli import run_job

    code = run_job("netflix-ingest", ["--input", str(folder), "--output", str(out), "--set", "split_size_mb=0.08",
                                      "--set", "read_chunk_mb=0.02"])
    assert code == 0
    return out, mv


def test_real_movie_file_every_row(spark, real_output) -> None:
    out, mv = real_output
    lines = mv.read_text().splitlines()
    assert lines[0] == "2043:" and len(lines) == 7872
    expected = [(2043, int(c), int(r), date.fromisoformat(d)) for c, r, d in (ln.split(",") for ln in lines[1:])]
    ratings = _read(spark, out, "ratings")
    assert ratings.schema.simpleString() == "struct<movie_id:int,customer_id:int,rating:tinyint,date:date>"
    # Every row, exactly (a plain sorted comparison: cheaper than building a second DataFrame).
    assert sorted(tuple(r) for r in ratings.collect()) == sorted(expected)
    assert expected[0] == (2043, 716091, 2, date(2003, 10, 2))
    assert expected[-1] == (2043, 1272199, 5, date(2005, 12, 7))


def test_real_titles_with_commas_null_years_and_latin1(spark, real_output) -> None:
    out, _ = real_output
    movies = _read(spark, out, "movies")
    assert movies.schema.simpleString() == "struct<movie_id:int,year:int,title:string>"
    assert movies.count() == 17770
    rows = {r.movie_id: (r.year, r.title) for r in movies.where("movie_id in (1, 394, 6483, 17770)").collect()}
    assert rows == {1: (2003, "Dinosaur Planet"), 394: (1916, "20,000 Leagues Under the Sea"),
                    6483: (2001, "Smokey Joe's Café"), 17770: (2003, "Alien Hunter")}
    nulls = sorted(r.movie_id for r in movies.where("year is null").collect())
    assert nulls == [4388, 4794, 7241, 10782, 15918, 16678, 17667]
    assert movies.where("title like '%,%'").count() == 336


def test_real_probe_head(spark, real_output) -> None:
    out, _ = real_output
    expected, movie = [], None
    for line in shared_data("netflix/probe_head.txt").read_text().splitlines():
        if line.endswith(":"):
            movie = int(line[:-1])
        else:
            expected.append((movie, int(line)))
    assert len(expected) == 1373 - 38 and expected[0] == (1, 30878) and len({m for m, _ in expected}) == 38
    probe = _read(spark, out, "probe")
    assert probe.schema.simpleString() == "struct<movie_id:int,customer_id:int>"
    assert sorted(tuple(r) for r in probe.collect()) == sorted(expected)


def test_real_metrics(spark, real_output) -> None:
    out, _ = real_output
    m = json.loads((out / "metrics.json").read_text())
    assert (m["lines"], m["ratings"], m["titles"], m["probe"], m["rejects"]) == (7872 + 17770 + 1373, 7871, 17770, 1335, 0)
    assert (m["movies"], m["customers"], m["headers"]) == (1, 7871, 1 + 38)
    assert m["files_ignored"] == ["README"] and m["n_files_read"] == 3
    assert {f["file"]: f["splits"] > 1 for f in m["files_read"]} == {
        "training_set/mv_0002043.txt": True, "movie_titles.txt": True, "probe.txt": False}
    assert _read(spark, out, "rejects").count() == 0
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "movies", "probe", "ratings",
                                                     "ratings_by_month.png", "ratings_by_value.png", "rejects"]


# --- messy, compressed, CRLF input with known truth ---------------------------------------------------------------

_BAD_LINES = [("x12,3,2005-01-01", "non-numeric field"), ("12,7,2005-01-01", "rating outside 1-5"),
              ("12,3,2005-02-30", "bad date"), ("12,3", "wrong field count"), ("12,,2005-01-01", "non-numeric field")]


def _write_messy(folder: Path, seed: int = 7) -> tuple[list[tuple], list[tuple]]:
    """Three rating files (plain CRLF, gzip, bzip2) and qualifying.txt, with rejects at known lines."""
    rnd = random.Random(seed)
    rows: list[tuple] = []
    rejects: list[tuple] = []
    movie = 0
    for name, newline, opener in (("combined_data_1.txt", "\r\n", open), ("combined_data_2.txt.gz", "\n", gzip.open),
                                  ("combined_data_3.txt.bz2", "\n", bz2.open)):
        lines = []
        if name.startswith("combined_data_1"):
            lines.append("5,3,2005-01-01")  # before any header
            rejects.append((name, 1, "5,3,2005-01-01", "data before any header"))
        for _ in range(12):
            movie += 1
            lines.append(f"{movie}:")
            for _ in range(rnd.randint(1, 60)):
                if rnd.random() < 0.03:
                    raw, reason = _BAD_LINES[rnd.randrange(len(_BAD_LINES))]
                    lines.append(raw)
                    rejects.append((name, len(lines), raw, reason))
                    continue
                cust, rating = rnd.randint(1, 2_649_429), rnd.randint(1, 5)
                day = date(1999, 11, 11) + timedelta(days=rnd.randint(0, 2242))
                lines.append(f"{cust},{rating},{day.isoformat()}")
                rows.append((movie, cust, rating, day))
        with opener(folder / name, "wb") as f:
            f.write((newline.join(lines) + newline).encode())
    (folder / "qualifying.txt").write_bytes(b"1:\n17,2005-12-01\n18,2005-12-02\n2:\n19,2005-11-30\n")
    (folder / "movie_titles.csv").write_bytes("1,2003,Café, The\n2,NULL,Two\n".encode("latin-1"))
    return rows, rejects


@pytest.fixture(scope="module")
def messy_input(tmp_path_factory):
    folder = tmp_path_factory.mktemp("messy_in")
    rows, rejects = _write_messy(folder)
    return folder, rows, rejects


def test_messy_input_across_tiny_splits(spark, run_job, messy_input, tmp_path) -> None:
    folder, rows, rejects = messy_input
    out = tmp_path / "out"
    assert run_job("netflix-ingest", "--input", str(folder), "--output", str(out), "--set", "split_size_mb=0.0015",
                   "--set", "max_reject_fraction=1.0", "--set", "plots=false") == 0
    assertDataFrameEqual(_read(spark, out, "ratings"), spark.createDataFrame(rows, RATINGS_DDL))
    assertDataFrameEqual(_read(spark, out, "rejects"), spark.createDataFrame(rejects, REJECTS_DDL))
    assertDataFrameEqual(_read(spark, out, "qualifying"), spark.createDataFrame(
        [(1, 17, date(2005, 12, 1)), (1, 18, date(2005, 12, 2)), (2, 19, date(2005, 11, 30))],
        "movie_id int, customer_id int, date date"))
    assertDataFrameEqual(_read(spark, out, "movies"), spark.createDataFrame(
        [(1, 2003, "Café, The"), (2, None, "Two")], "movie_id int, year int, title string"))
    m = json.loads((out / "metrics.json").read_text())
    assert m["ratings"] == len(rows) and m["rejects"] == len(rejects) and m["movies"] == 36
    assert m["customers"] == len({r[1] for r in rows})
    by_reason: dict[str, int] = {}
    for *_, reason in rejects:
        by_reason[reason] = by_reason.get(reason, 0) + 1
    assert m["rejects_by_reason"] == by_reason
    plain = next(f for f in m["files_read"] if f["file"] == "combined_data_1.txt")
    assert plain["splits"] > 3
    assert {f["file"]: f["splits"] for f in m["files_read"] if f["compression"]} == {
        "combined_data_2.txt.gz": 1, "combined_data_3.txt.bz2": 1}


def test_too_many_rejects_publishes_only_rejects_and_metrics(spark, run_job, messy_input, tmp_path) -> None:
    folder, _, rejects = messy_input
    out = tmp_path / "out"
    # A glob input: only the rating files, which hold all the rejects.
    assert run_job("netflix-ingest", "--input", str(folder / "combined_data_*"), "--output", str(out),
                   "--set", "max_reject_fraction=0.001", "--set", "split_size_mb=0.01") == 4
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "rejects"]
    assertDataFrameEqual(_read(spark, out, "rejects"), spark.createDataFrame(rejects, REJECTS_DDL))


def test_empty_or_unrecognised_input_is_an_input_error(run_job, tmp_path, capsys) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "README").write_text("hello\n")
    assert run_job("netflix-ingest", "--input", str(folder), "--output", str(tmp_path / "out")) == 2
    assert f"no Netflix Prize data in {folder}" in capsys.readouterr().err
    (folder / "combined_data_1.txt").write_bytes(b"")
    assert run_job("netflix-ingest", "--input", str(folder), "--output", str(tmp_path / "out")) == 2
    assert "only empty files" in capsys.readouterr().err
    assert run_job("netflix-ingest", "--input", str(folder), "--output", str(tmp_path / "out"),
                   "--set", "split_size_mb=0") == 2
    assert "split_size_mb must be positive" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


# --- generated data round trip ------------------------------------------------------------------------------------

def test_generated_training_set_layout_round_trip(spark, run_job, tmp_path) -> None:
    """The original layout (one small file per movie, packed many to a task) through ingest."""
    gen = tmp_path / "gen"
    assert run_job("netflix-generate", "--output", str(gen), "--set", "ratings=20000", "--set", "seed=3",
                   "--set", "layout=training_set") == 0
    out = tmp_path / "ingest"
    assert run_job("netflix-ingest", "--input", str(gen), "--output", str(out), "--set", "split_size_mb=0.05",
                   "--set", "plots=false") == 0
    g = json.loads((gen / "metrics.json").read_text())
    m = json.loads((out / "metrics.json").read_text())
    assert m["rejects"] == 0 and m["ratings"] == 20000 == g["ratings"]
    assert (m["movies"], m["customers"], m["titles"]) == (g["movies"], g["customers"], g["movies"])
    assert m["rating_counts"] == g["rating_counts"] and (m["probe"], m["qualifying"]) == (g["probe"], g["qualifying"])
    assert (m["first_date"], m["last_date"]) == (g["first_date"], g["last_date"])
    assert m["files_ignored"] == ["metrics.json"]
    mv_files = [f for f in m["files_read"] if f["file"].startswith("training_set/mv_")]
    assert len(mv_files) == g["movies"]
    parts = list((out / "ratings").glob("part-*.parquet"))
    assert 1 < len(parts) < len(mv_files) / 4  # small files share tasks (and part files)
    ratings = _read(spark, out, "ratings")
    probe = _read(spark, out, "probe")
    qualifying = _read(spark, out, "qualifying")
    assert probe.count() > 0 and qualifying.count() > 0
    # probe pairs are training pairs; qualifying pairs are not; no pair is rated twice.
    assert probe.join(ratings, ["movie_id", "customer_id"], "left_anti").count() == 0
    assert qualifying.join(ratings, ["movie_id", "customer_id"], "left_semi").count() == 0
    assert ratings.select("movie_id", "customer_id").distinct().count() == 20000


def test_distinct_customers_fall_back_to_spark_beyond_the_bitmap_range(spark, tmp_path) -> None:
    from sparkfolio.netflix.bitmaps import MAX_BITMAP_ID
    from sparkfolio.netflix.ingest_job import count_customers
    from sparkfolio.runtime.byteranges import Split

    path = str(tmp_path / "ratings")
    rows = [(1, 7, 3, date(2005, 1, 1)), (1, MAX_BITMAP_ID + 5, 4, date(2005, 1, 2)), (2, 7, 5, date(2005, 1, 3))]
    spark.createDataFrame(rows, RATINGS_DDL).write.parquet(path)
    splits = [Split(0, 0, "f", "ratings", None, 0, 10)]
    assert count_customers(spark, path, splits, {0: {"rows": 3, "customers": None}}) == 2
