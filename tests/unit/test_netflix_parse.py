"""Unit tests of the Netflix text parsing: vectorised blocks, byte-range splits, titles, file names."""

from __future__ import annotations

import io
from datetime import date

import numpy as np
import pytest

from sparkfolio.netflix import parse
from sparkfolio.netflix.files import classify, layout_of
from sparkfolio.netflix.ingest_job import first_line_numbers
from sparkfolio.netflix.parse import (BAD_DATE, BAD_HEADER, BEFORE_HEADER, EMPTY_LINE, FIELD_COUNT, NO_MOVIE,
                                      NON_NUMERIC, RATING_RANGE, UNDER_BAD_HEADER, parse_block)
from sparkfolio.netflix.splits import header_before
from sparkfolio.netflix.titles import parse_titles_block
from sparkfolio.runtime.byteranges import first_line_start, owned_chunks, plan_splits, stream_chunks
from tests.conftest import shared_data


def _day(text: str) -> int:
    return (date.fromisoformat(text) - date(1970, 1, 1)).days


MESSY = (
    b"5,3,2005-01-01\n"          # 1  data before any header
    b"1:\n"                      # 2
    b"10,4,2005-09-06\r\n"       # 3  good (CRLF)
    b"11,5,2004-02-29\n"         # 4  good (leap day)
    b"12,6,2005-01-01\n"         # 5  rating outside 1-5
    b"13,0,2005-01-01\n"         # 6  rating outside 1-5
    b"x4,3,2005-01-01\n"         # 7  non-numeric customer
    b"15,a,2005-01-01\n"         # 8  non-numeric rating
    b"16,3,2005-02-29\n"         # 9  bad date (not a leap year)
    b"17,3,2005-13-01\n"         # 10 bad date
    b"18,3,05-01-01\n"           # 11 bad date
    b"19,3\n"                    # 12 wrong field count
    b"20,3,2005-01-01,x\n"       # 13 wrong field count
    b"\n"                        # 14 empty line
    b"1234567890,3,2005-01-01\n"  # 15 non-numeric (too long for an id)
    b"2:\r\n"                    # 16
    b"21,1,1999-11-11\n"         # 17 good
    b"3a:\n"                     # 18 bad header
    b"22,2,2005-12-31\n"         # 19 data under a bad header
    b"4:\n"                      # 20
    b"23,2,2005-12-31"           # 21 good, no final newline
)


def test_parse_block_rows_and_every_reject_reason() -> None:
    p = parse_block(MESSY, "ratings", NO_MOVIE)
    assert p.n_lines == 21 and p.n_headers == 4 and p.last_movie == 4
    assert p.movie.tolist() == [1, 1, 2, 4]
    assert p.customer.tolist() == [10, 11, 21, 23]
    assert p.rating.tolist() == [4, 5, 1, 2]
    assert p.day.tolist() == [_day("2005-09-06"), _day("2004-02-29"), _day("1999-11-11"), _day("2005-12-31")]
    assert p.movie.dtype == np.int32 and p.customer.dtype == np.int32 and p.rating.dtype == np.int8
    expected = {0: BEFORE_HEADER, 4: RATING_RANGE, 5: RATING_RANGE, 6: NON_NUMERIC, 7: NON_NUMERIC, 8: BAD_DATE,
                9: BAD_DATE, 10: BAD_DATE, 11: FIELD_COUNT, 12: FIELD_COUNT, 13: EMPTY_LINE, 14: NON_NUMERIC,
                17: BAD_HEADER, 18: UNDER_BAD_HEADER}
    assert dict(zip(p.reject_line.tolist(), p.reject_code.tolist())) == expected


def test_probe_and_qualifying_layouts() -> None:
    probe = parse_block(b"7:\n30878\r\n2647871\n1,2\n8:\n5\n", "probe", NO_MOVIE)
    assert probe.movie.tolist() == [7, 7, 8] and probe.customer.tolist() == [30878, 2647871, 5]
    assert probe.reject_line.tolist() == [3] and probe.reject_code.tolist() == [FIELD_COUNT]
    qual = parse_block(b"9:\n42,2005-12-01\n43,2005-12-32\n", "qualifying", NO_MOVIE)
    assert qual.customer.tolist() == [42] and qual.day.tolist() == [_day("2005-12-01")]
    assert qual.reject_code.tolist() == [BAD_DATE]


def test_carried_movie_state_applies_before_the_first_header() -> None:
    p = parse_block(b"10,4,2005-09-06\n11,5,2005-09-07\n", "ratings", 2043)
    assert p.movie.tolist() == [2043, 2043] and p.last_movie == 2043 and p.n_headers == 0


@pytest.mark.parametrize("text,ok,value", [
    (b"0", True, 0), (b"7", True, 7), (b"2649429", True, 2649429), (b"999999999", True, 999999999),
    (b"", False, 0), (b"1234567890", False, 0), (b"-5", False, 0), (b"+5", False, 0), (b" 5", False, 0), (b"5x", False, 0),
])
def test_parse_uint_fields(text: bytes, ok: bool, value: int) -> None:
    buf = b"xx" + text + b"yy"
    a = np.frombuffer(buf, np.uint8)
    values, valid = parse.parse_uint(parse._padded(a), np.array([2]), np.array([2 + len(text)]))
    assert valid.tolist() == [ok] and values.tolist() == [value]


@pytest.mark.parametrize("text,ok", [
    ("2000-02-29", True), ("1900-02-28", True), ("2099-12-31", True), ("1900-02-29", False),
    ("2005-04-31", False), ("2005-00-10", False), ("2005-01-00", False), ("2005/01/01", False),
    ("1899-12-31", False), ("20050101xx", False),
])
def test_parse_dates_checks_the_calendar(text: str, ok: bool) -> None:
    a = np.frombuffer(text.encode(), np.uint8)
    days, _, valid = parse.parse_dates(parse._padded(a), np.array([0]), np.array([len(text)]))
    assert valid.tolist() == [ok]
    if ok:
        assert days.tolist() == [_day(text)]


def _parse_by_splits(data: bytes, split_bytes: int, chunk_bytes: int) -> tuple[list, list]:
    """Parse ``data`` the way the ingest tasks do: byte-range splits, header scan, chunked reads."""
    f = io.BytesIO(data)
    rows: list[tuple] = []
    rejects: list[tuple] = []
    splits = plan_splits([("mem", len(data), "ratings", None)], split_bytes)
    line_counts: dict[int, int] = {}
    per_split: dict[int, list] = {}
    for s in splits:
        begin = first_line_start(f, s.start)
        movie = header_before(f, begin) if begin is not None and 0 < begin < s.end else NO_MOVIE
        lines = 0
        found = []
        for chunk in owned_chunks(f, begin, s.end, chunk_bytes):
            p = parse_block(chunk, "ratings", movie)
            movie = p.last_movie
            rows += list(zip(p.movie.tolist(), p.customer.tolist(), p.rating.tolist(), p.day.tolist()))
            found += [(lines + i, c) for i, c in zip(p.reject_line.tolist(), p.reject_code.tolist())]
            lines += p.n_lines
        line_counts[s.split_id] = lines
        per_split[s.split_id] = found
    first = first_line_numbers(splits, line_counts)
    for s in splits:
        rejects += [(first[s.split_id] + i, c) for i, c in per_split[s.split_id]]
    return rows, rejects


@pytest.mark.parametrize("split_bytes,chunk_bytes", [(1, 1024), (3, 1024), (7, 5), (16, 16), (50, 9), (10_000, 10_000)])
def test_any_split_size_gives_the_whole_file_result(split_bytes: int, chunk_bytes: int) -> None:
    whole = parse_block(MESSY, "ratings", NO_MOVIE)
    expected_rows = list(zip(whole.movie.tolist(), whole.customer.tolist(), whole.rating.tolist(), whole.day.tolist()))
    expected_rejects = [(i + 1, c) for i, c in zip(whole.reject_line.tolist(), whole.reject_code.tolist())]
    rows, rejects = _parse_by_splits(MESSY, split_bytes, chunk_bytes)
    assert rows == expected_rows
    assert rejects == expected_rejects


def test_plan_splits_covers_every_byte_once_and_keeps_compressed_files_whole() -> None:
    splits = plan_splits([("a", 100, "ratings", None), ("b.gz", 100, "ratings", "gz"), ("c", 0, "probe", None)], 30)
    a = [(s.start, s.end) for s in splits if s.path == "a"]
    assert a == [(0, 25), (25, 50), (50, 75), (75, 100)]
    assert [(s.start, s.end) for s in splits if s.path != "a"] == [(0, 100), (0, 0)]
    assert [s.split_id for s in splits] == list(range(6))


def test_stream_chunks_cut_at_line_ends() -> None:
    chunks = list(stream_chunks(io.BytesIO(b"1:\n10,4,2005-09-06\n11,5,2005-09-07"), 5))
    assert b"".join(chunks) == b"1:\n10,4,2005-09-06\n11,5,2005-09-07"
    assert all(c.endswith(b"\n") for c in chunks[:-1])


def test_titles_with_commas_null_years_latin1_and_rejects() -> None:
    text = ("1,2003,Dinosaur Planet\r\n394,1916,20,000 Leagues Under the Sea\n4388,NULL,Ancient Civilizations: Rome\n"
            "6483,2001,Smokey Joe's Café\nx1,2001,Bad\n7,19x5,Bad year\n8,2001\n\n").encode("latin-1")
    t = parse_titles_block(text, "latin-1")
    assert t.movie_id == [1, 394, 4388, 6483]
    assert t.year == [2003, 1916, None, 2001]
    assert t.title == ["Dinosaur Planet", "20,000 Leagues Under the Sea", "Ancient Civilizations: Rome", "Smokey Joe's Café"]
    assert list(zip(t.reject_line, t.reject_code)) == [(4, NON_NUMERIC), (5, parse.BAD_YEAR), (6, FIELD_COUNT), (7, EMPTY_LINE)]
    assert t.n_lines == 8


@pytest.mark.parametrize("name,expected", [
    ("combined_data_1.txt", ("ratings", None)), ("combined_data_4.txt.gz", ("ratings", "gz")),
    ("mv_0000001.txt", ("ratings", None)), ("mv_0017770.txt.bz2", ("ratings", "bz2")),
    ("movie_titles.csv", ("titles", None)), ("movie_titles.txt", ("titles", None)),
    ("probe.txt", ("probe", None)), ("qualifying.txt.GZ", ("qualifying", "gz")),
    ("README", None), ("training_set.tar", None), ("rmse.pl", None), ("probe_head.txt", None), ("combined_data.txt", None),
])
def test_standard_file_names(name: str, expected: tuple | None) -> None:
    assert classify(name) == expected


def test_layout_of() -> None:
    assert layout_of("combined_data_2.txt.bz2") == "kaggle"
    assert layout_of("mv_0002043.txt") == "training_set"
    assert layout_of("probe.txt") is None


def test_real_movie_file_parses_exactly() -> None:
    data = shared_data("netflix/mv_0002043.txt").read_bytes()
    p = parse_block(data, "ratings", NO_MOVIE)
    assert p.n_lines == 7872 and p.n_headers == 1 and p.reject_line.size == 0
    assert p.movie.size == 7871 and set(p.movie.tolist()) == {2043}
    assert (p.customer[0], p.rating[0], p.day[0]) == (716091, 2, _day("2003-10-02"))
    assert (p.customer[-1], p.rating[-1], p.day[-1]) == (1272199, 5, _day("2005-12-07"))
    # Same result through 64 byte-range splits read in small chunks.
    rows, rejects = _parse_by_splits(data, len(data) // 64 + 1, 4096)
    assert rejects == []
    assert rows == list(zip(p.movie.tolist(), p.customer.tolist(), p.rating.tolist(), p.day.tolist()))


def test_split_size_gives_every_core_work_but_respects_small_settings() -> None:
    from sparkfolio.runtime.byteranges import split_size

    mb = 1024 * 1024
    assert split_size(64.0, 62 * mb, 8) == -(-62 * mb // 8)   # one 62 MB file -> 8 splits on 8 cores
    assert split_size(64.0, 2000 * mb, 8) == 64 * mb          # big inputs: the configured size
    assert split_size(64.0, 3 * mb, 8) == 1 * mb              # never below 1 MiB on its own
    assert split_size(0.01, 3 * mb, 8) == int(0.01 * mb)      # tests force tiny splits


def test_recognise_names_relative_to_the_input_folder_and_rejects_mixed_layouts() -> None:
    from sparkfolio.netflix.ingest_job import recognise
    from sparkfolio.runtime.errors import InputError
    from sparkfolio.runtime.inputs import InputFile

    files = [InputFile("file:/data/nf/training_set/mv_0000001.txt", 10), InputFile("file:/data/nf/README", 5),
             InputFile("file:/data/nf/movie_titles.txt.bz2", 7), InputFile("file:/data/nf/probe.txt", 3)]
    chosen, ignored = recognise(files, "/data/nf")
    assert [(name, kind, comp) for _, name, kind, comp in chosen] == [
        ("training_set/mv_0000001.txt", "ratings", None), ("movie_titles.txt.bz2", "titles", "bz2"),
        ("probe.txt", "probe", None)]
    assert ignored == ["README"]
    chosen, _ = recognise(files[:1], "/data/nf/training_set/mv_*.txt")  # a glob: base names
    assert [name for _, name, _, _ in chosen] == ["mv_0000001.txt"]
    with pytest.raises(InputError, match="both combined_data"):
        recognise(files + [InputFile("file:///data/nf/combined_data_1.txt", 9)], "/data/nf")


def test_customer_bitmaps_count_the_union_exactly() -> None:
    from sparkfolio.netflix.bitmaps import MAX_BITMAP_ID, IdSet, union_count

    rng = np.random.default_rng(1)
    parts = [rng.integers(1, 2_649_430, size=n) for n in (5000, 20, 70000)]
    sets = []
    for ids in parts:
        s = IdSet()
        for piece in np.array_split(ids, 3):  # grows as larger ids arrive
            s.add(piece)
        sets.append(s.encode())
    assert union_count(sets) == len(np.unique(np.concatenate(parts)))
    assert union_count([]) == 0
    big = IdSet()
    big.add(np.array([5, MAX_BITMAP_ID + 1]))
    assert big.encode() is None


def test_conf_yaml_mirrors_the_config_defaults() -> None:
    from sparkfolio.netflix.ingest_job import IngestConfig
    from sparkfolio.runtime.config import load_config
    from tests.conftest import REPO

    assert load_config(IngestConfig, REPO / "conf" / "netflix_ingest.yaml") == IngestConfig()


def test_pack_splits_groups_small_files_and_keeps_big_splits_alone() -> None:
    from sparkfolio.runtime.byteranges import pack_splits

    small = [("mv_%d" % i, 1000, "ratings", None) for i in range(10)]
    splits = plan_splits([("big", 10_000, "ratings", None), *small], 6400)
    bins = pack_splits(splits, 6400)  # open cost 100 bytes per split
    # 5,100 + 1,100 fits 6,400; five 1,100-byte files do, six do not.
    assert [[s.path for s in b] for b in bins] == [["big"], ["big", "mv_0"], ["mv_1", "mv_2", "mv_3", "mv_4", "mv_5"],
                                                    ["mv_6", "mv_7", "mv_8", "mv_9"]]
    assert [s.split_id for b in bins for s in b] == list(range(12))
