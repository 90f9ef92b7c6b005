"""Reading the FIFA CSV in the players pass: byte-range splits, malformed lines as Spark reads them, encodings."""

from __future__ import annotations

import gzip

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from sparkfolio.fifa import schema, source
from sparkfolio.fifa.generate import generate_chunk
from tests.conftest import shared_data
from tests.unit.test_fifa_clean import HEADER, _row, players_pass


def _line(values: list) -> str:
    def q(v) -> str:
        if v is None or v != v:
            return ""
        v = str(v)
        return '"' + v.replace('"', '""') + '"' if any(c in v for c in ',"\r\n') else v
    return ",".join(q(v) for v in values)


def _messy_files(folder) -> tuple[str, list[str]]:
    """Two generated files (2% bad values) with malformed, blank and odd lines among the rows, and the malformed lines."""
    folder.mkdir()
    malformed = []
    for k in range(2):
        lines = [_line(list(r)) for r in generate_chunk(k, k * 1500, 1500, 7, 54, 0.02, 0.0026).itertuples(index=False)]
        odd = ["5,6,too,few,fields", lines[3] + ",extra,fields", '99,12345,"unterminated name,25,x', "", "   ",
               lines[11] + "\r", '100,"",' + "," * 86, "101,\t77 ,Tab Name" + "," * 86]
        malformed += odd[:3]
        body = lines[:700] + odd + lines[700:]
        (folder / f"part-{k}.csv").write_text("\ufeff" + HEADER + "\n" + "\n".join(body) + "\n", encoding="utf-8")
    return str(folder), malformed


def _table(folder) -> pa.Table:
    """A written table, its rows in a fixed order (tasks write their parts in any order)."""
    table = pq.read_table(str(folder))
    return table.sort_by([(c, "ascending") for c in table.column_names])


@pytest.mark.parametrize("data", ["real", "generated"])
def test_tiny_splits_give_the_same_tables_as_one_split(spark, tmp_path, data) -> None:
    path, malformed = (str(shared_data("fifa19/data.csv")), []) if data == "real" else _messy_files(tmp_path / "in")
    tiny = 0.5 if data == "real" else 0.05
    assert len(source.plan_input(spark, path, split_size_mb=tiny).splits) >= 15
    players, rejects, quality = players_pass(spark, path, str(tmp_path / "one"))
    _, _, quality_tiny = players_pass(spark, path, str(tmp_path / "tiny"), split_size_mb=tiny)
    for table in ("players", "rejects"):
        one, split = _table(tmp_path / "one" / table), _table(tmp_path / "tiny" / table)
        assert split.equals(one), table
    assert quality_tiny == quality
    if data == "real":
        assert (quality["rows_read"], quality["values_rejected"], players.count()) == (18207, 0, 18207)
    else:
        # 3,000 players and 8 odd lines; the blank and the blank-looking line are skipped, as Spark skips them.
        assert quality["rows_read"] == 3000 + 2 * 6
        assert _table(tmp_path / "one" / "players").num_rows == players.count() > 2900
        lines = rejects.filter("column = '(line)'").collect()
        assert sorted(r["raw_value"] for r in lines) == sorted(malformed) and len(malformed) == 6
        assert sorted(r["row_index"] for r in lines) == [3, 5, 5, 99, 99, 1503]


def test_block_rows_read_each_line_as_spark_does() -> None:
    block = (b'1,2,3\n4,5\n6,7,8,9\n"x,""y""",q,"unterminated\n\n  \t\n10,"ok",z\r\n  11 ,12,"",\n'
             b',,\n')
    got = [(list(zip(*[c.to_pylist() for c in cols])), corrupt.to_pylist()) for cols, corrupt in source.block_rows(block, 3, "UTF-8")]
    rows = [r for cols, _ in got for r in cols]
    corrupt = [c for _, cs in got for c in cs]
    assert list(zip(rows, corrupt)) == [
        (("1", "2", "3"), None), (("4", "5", None), "4,5"), (("6", "7", "8"), "6,7,8,9"),
        (('x,"y"', "q", "unterminated"), None), (("10", "ok", "z"), None),
        (("  11 ", "12", None), '  11 ,12,"",'), ((None, None, None), None)]


def test_block_rows_fast_path_and_encodings() -> None:
    (cols, corrupt), (bad_cols, bad) = source.block_rows(b'1,"a ""b"", c",\n4,5\n7,,9\n', 3, "UTF-8")
    assert [c.to_pylist() for c in cols] == [["1", "7"], ['a "b", c', None], [None, "9"]]
    assert corrupt.null_count == 2 and bad.to_pylist() == ["4,5"]
    assert [c.to_pylist() for c in bad_cols] == [["4"], ["5"], [None]]
    # Bytes that are not UTF-8 become U+FFFD (the cleaning rejects such text); other encodings are decoded.
    [(cols, _)] = source.block_rows(b"1,M\xfcller,\xff\n", 3, "UTF-8")
    assert [c.to_pylist() for c in cols] == [["1"], ["M\ufffdller"], ["\ufffd"]]
    [(cols, _)] = source.block_rows("1,Müller,€5M\n".encode("cp1252"), 3, "cp1252")
    assert [c.to_pylist() for c in cols] == [["1"], ["Müller"], ["€5M"]]
    # A line longer than the pieces pyarrow parses is read whole.
    long = "x" * (3 << 20)
    [(cols, _)] = source.block_rows(f"1,{long},3\n4,5,6\n".encode(), 3, "UTF-8")
    assert cols[1].to_pylist() == [long, "5"]


def test_stream_rows_keep_line_breaks_inside_quotes() -> None:
    blocks = [b'1,"two\nlines",3\n', b'4,"a\r\nb"\n', b"   \n7,8,9"]
    got = list(source.stream_rows(iter(blocks), 3, "UTF-8", 1 << 20))
    rows = [(r, c) for cols, corrupt in got for r, c in zip(zip(*[x.to_pylist() for x in cols]), corrupt.to_pylist())]
    # In multi-line mode Spark keeps a line of spaces as a malformed record.
    assert rows == [(("1", "two\nlines", "3"), None), (("7", "8", "9"), None),
                    (("4", "a\r\nb", None), '4,"a\r\nb"'), (("   ", None, None), "   ")]


def test_multi_line_and_compressed_files(spark, tmp_path) -> None:
    rows = [_row(**{"": "0", "ID": "1", "Name": "Two\nLines"}), _row(**{"": "1", "ID": "2"})]
    text = HEADER + "\n" + "\n".join(_line(r) for r in rows) + "\n"
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.csv").write_text("\ufeff" + text, encoding="utf-8")
    with gzip.open(folder / "b.csv.gz", "wt", encoding="utf-8") as f:
        f.write(text.replace("Two\nLines", "Zipped"))
    plan = source.plan_input(spark, str(folder), multi_line=True, split_size_mb=0.001)
    assert [(s.start, s.compression) for s in plan.splits] == [(0, None), (0, "gz")]
    players, rejects, quality = players_pass(spark, str(folder), str(tmp_path / "out"), multi_line=True)
    assert sorted(r["name"] for r in players.collect()) == ["L. Messi", "L. Messi", "Two\nLines", "Zipped"]
    assert (quality["rows_read"], rejects.count()) == (4, 0)
    assert plan.header == schema.KAGGLE_COLUMNS
    # Without multi_line a compressed file is still one split, streamed from its start.
    players, _, quality = players_pass(spark, str(folder / "b.csv.gz"), str(tmp_path / "gz"), split_size_mb=0.001)
    assert sorted(r["name"] for r in players.collect()) == ["L. Messi", "Zipped"] and quality["rows_read"] == 2
