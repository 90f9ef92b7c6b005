"""Cleaning the FIFA 19 text columns: typed values, rejects with reasons, quality counts, header checks."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import replace

import pytest
import pyarrow as pa
from pyspark.testing import assertDataFrameEqual

from sparkfolio.fifa import parsers, schema, source
from sparkfolio.fifa.report_job import write_players_and_rejects
from sparkfolio.runtime.errors import ConfigError, InputError
from sparkfolio.runtime.output import JobOutput

HEADER = ",".join(schema.KAGGLE_COLUMNS)


def _row(**over: str) -> list[str]:
    """One Kaggle row (Messi's, from the real file) with some fields replaced."""
    base = dict(zip(schema.KAGGLE_COLUMNS, [""] * 89))
    base.update({"": "0", "ID": "158023", "Name": "L. Messi", "Age": "31", "Nationality": "Argentina",
                 "Overall": "94", "Potential": "94", "Club": "FC Barcelona", "Value": "€110.5M", "Wage": "€565K",
                 "Special": "2202", "Preferred Foot": "Left", "International Reputation": "5", "Weak Foot": "4",
                 "Skill Moves": "4", "Work Rate": "Medium/ Medium", "Body Type": "Messi", "Real Face": "Yes",
                 "Position": "RF", "Jersey Number": "10", "Joined": "Jul 1, 2004", "Contract Valid Until": "2021",
                 "Height": "5'7", "Weight": "159lbs", "Release Clause": "€226.5M"})
    base.update({p: "88+2" for p in schema.POSITION_RATING_COLUMNS})
    base.update({s: "80" for s in schema.SKILL_COLUMNS})
    base.update(over)
    return [base[c] for c in schema.KAGGLE_COLUMNS]


def _csv(tmp_path, rows: list[list[str]], name: str = "data.csv") -> str:
    def q(v: str) -> str:
        return '"' + v.replace('"', '""') + '"' if ("," in v or '"' in v) else v
    path = tmp_path / name
    path.write_text(HEADER + "\n" + "\n".join(",".join(q(v) for v in r) for r in rows) + "\n", encoding="utf-8-sig")
    return str(path)


def players_pass(spark, path: str, out: str, split_size_mb: float | None = None, multi_line: bool = False):
    """fifa-report's players pass over ``path``: the written ``players`` and ``rejects`` and the quality summary.

    ``split_size_mb=None`` reads each file in one split.
    """
    csv_input = source.plan_input(spark, path, "UTF-8", multi_line, split_size_mb or 64.0)
    if split_size_mb is None:
        last = {s.file_index: s for s in csv_input.splits}  # the last split of a file ends at its size
        whole = [replace(s, split_id=i, start=0) for i, s in enumerate(last.values())]
        csv_input = replace(csv_input, splits=whole, split_bytes=max(s.end for s in whole))
    with JobOutput(spark, out) as o:
        quality = write_players_and_rejects(spark, o, csv_input, "UTF-8", multi_line)
    return spark.read.parquet(f"{out}/players"), spark.read.parquet(f"{out}/rejects"), quality


@pytest.fixture(scope="module")
def passed(spark, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("fifa_clean")
    rows = [
        _row(),
        _row(**{"": "1", "ID": "20801", "Name": 'C. "CR7" Ronaldo', "Value": "€1.2B", "Height": "6'2",
                "Joined": "Feb 30, 2019", "Contract Valid Until": "Jun 30, 2019", "Work Rate": "High/ Low",
                "Position": "LCB", "Crossing": "101", "Club": "", "Loaned From": "Juventus"}),
        _row(**{"": "2", "ID": "3", "Overall": "N/A"}),
        _row(**{"": "3", "ID": "4", "Name": ""}),
        _row(**{"": "4", "ID": "5", "Position": "", "Value": "€0", "Wage": "€0", "Release Clause": "",
                **{p: "" for p in schema.POSITION_RATING_COLUMNS}}),
        # The index column is optional: "6.0" is the whole number 6, "7b" a reject that keeps the row.
        _row(**{"": "6.0", "ID": "7"}),
        _row(**{"": "7b", "ID": "8"}),
    ]
    path = _csv(tmp, rows)
    with open(path, "a", encoding="utf-8") as f:
        f.write("5,6,too,few,fields\n")
    return players_pass(spark, path, str(tmp / "out"))


def test_players_are_typed_and_bad_values_nulled(passed) -> None:
    players, _, _ = passed
    got = players.select(
        "row_index", "player_id", "name", "overall", "club", "value_eur", "wage_eur", "release_clause_eur",
        "work_rate_attack", "work_rate_defence", "real_face", "position", "position_group", "joined", "contract_until",
        "height_cm", "weight_kg", "rating_ls", "position_rating_bonus", "crossing", "loaned_from")
    expected = [
        (0, 158023, "L. Messi", 94, "FC Barcelona", 110_500_000, 565_000, 226_500_000, "Medium", "Medium", True, "RF",
         "FWD", dt.date(2004, 7, 1), 2021, 170.2, 72.1, 88, 2, 80, None),
        (1, 20801, 'C. "CR7" Ronaldo', 94, None, None, 565_000, 226_500_000, "High", "Low", True, "LCB", "DEF", None,
         2019, 188.0, 72.1, 88, 2, None, "Juventus"),
        (4, 5, "L. Messi", 94, "FC Barcelona", 0, 0, None, "Medium", "Medium", True, None, None, dt.date(2004, 7, 1),
         2021, 170.2, 72.1, None, None, 80, None),
        (6, 7, "L. Messi", 94, "FC Barcelona", 110_500_000, 565_000, 226_500_000, "Medium", "Medium", True, "RF",
         "FWD", dt.date(2004, 7, 1), 2021, 170.2, 72.1, 88, 2, 80, None),
        (None, 8, "L. Messi", 94, "FC Barcelona", 110_500_000, 565_000, 226_500_000, "Medium", "Medium", True, "RF",
         "FWD", dt.date(2004, 7, 1), 2021, 170.2, 72.1, 88, 2, 80, None),
    ]
    assertDataFrameEqual(got, got.sparkSession.createDataFrame(expected, got.schema), checkRowOrder=False, atol=1e-9)


def test_rejects_name_column_value_and_reason(passed) -> None:
    _, rejects, _ = passed
    # The file's URI as Spark's _metadata.file_path gives it.
    assert [re.fullmatch(r"file:/\S+/fifa_clean\d*/data\.csv", r[0]) is not None
            for r in rejects.select("source_file").distinct().collect()] == [True]
    got = rejects.drop("source_file")
    expected = [
        (1, 20801, 'C. "CR7" Ronaldo', "Value", "€1.2B", "not a euro amount like €110.5M, €565K or €0", False),
        (1, 20801, 'C. "CR7" Ronaldo', "Joined", "Feb 30, 2019", "not a date like 'Jul 1, 2004'", False),
        (1, 20801, 'C. "CR7" Ronaldo', "Crossing", "101", "not a rating 0-100", False),
        (2, 3, "L. Messi", "Overall", "N/A", "not a rating 0-100", True),
        (3, 4, None, "Name", None, "missing key value", True),
        (5, 6, "too", "(line)", "5,6,too,few,fields", "malformed CSV line: its field count differs from the header", True),
        (None, 8, "L. Messi", "(index)", "7b", "not a whole-number row index", False),
    ]
    assertDataFrameEqual(got, got.sparkSession.createDataFrame(expected, got.schema), checkRowOrder=False)


def test_quality_summary_counts(passed) -> None:
    _, _, q = passed
    assert (q["rows_read"], q["rows_dropped"], q["rows_kept"], q["values_rejected"]) == (8, 3, 5, 7)
    assert q["rows_with_rejects"] == 5
    assert q["missing_by_column"]["Club"] == 1 and q["missing_by_column"]["Position"] == 1
    assert q["missing_by_column"]["LS"] == 1  # row 4; a malformed line's fields are not counted
    assert q["rejects_by_column"]["Overall"] == {"not a rating 0-100": 1}
    assert q["rejects_by_column"]["(index)"] == {"not a whole-number row index": 1}
    assert q["drop_reasons"] == {
        "(line)": {"malformed CSV line: its field count differs from the header": 1},
        "Name": {"missing key value": 1}, "Overall": {"not a rating 0-100": 1}}
    assert set(q["rejects_by_column"]) == {"Value", "Joined", "Crossing", "Overall", "Name", "(line)", "(index)"}


def test_header_checks_name_the_column_and_the_layout() -> None:
    header = [c for c in schema.KAGGLE_COLUMNS if c != "Overall"]
    with pytest.raises(InputError, match=r"required column 'Overall' is missing; expected the Kaggle FIFA 19"):
        source.check_header(header, "x.csv")
    with pytest.raises(InputError, match=r"FIFA 20-22 players_XX.csv layout"):
        source.check_header(["sofifa_id", "short_name", "overall"], "p.csv")
    with pytest.raises(InputError, match="encoding"):
        source.check_header(["ID", "Na\ufffdme"], "x.csv")
    assert source.normalise_header(["\ufeff", "ID"]) == ["", "ID"]
    assert source.normalise_header(["_c0", "ID"]) == ["", "ID"]


def test_unknown_encoding_and_empty_input(spark, tmp_path) -> None:
    with pytest.raises(ConfigError, match="'utf-99' is not a known text encoding"):
        source.check_encoding("utf-99")
    with pytest.raises(ConfigError, match="'rot13' is not a known text encoding"):
        source.check_encoding("rot13")  # a codec, but not one of bytes and text
    with pytest.raises(ConfigError, match="'UTF-16' does not write line breaks, commas and quotes as ASCII bytes"):
        source.check_encoding("UTF-16")
    assert source.check_encoding("cp1252") == "cp1252"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="the input is empty"):
        source.plan_input(spark, str(empty))
    blank_first = tmp_path / "blank_first.csv"
    blank_first.write_text("\n" + HEADER + "\n", encoding="utf-8")
    with pytest.raises(InputError, match="no header line found"):
        source.plan_input(spark, str(blank_first))


# Each parser on the values it must take and the near misses it must refuse.
PARSER_CASES = [
    (parsers.parse_int(0, 100),
     {"5": 5, "05": 5, "5.0": 5, "5.00": 5, "100": 100, "0": 0, "-0": 0, "+5": None, "5.5": None, "5.": None,
      "1e2": None, "101": None, "-1": None, "2147483648": None, "5d": None, "٥": None}),
    (parsers.parse_long_id,
     {"158023": 158023, "007": 7, "-5": None, "+5": None, "5.0": None, "1" * 19: None, "12a": None}),
    (parsers.parse_long_index,
     {"12": 12, "12.0": 12, "-3": -3, "-3.00": -3, "+3": None, "3.5": None, "7b": None}),
    (parsers.parse_money,
     {"€110.5M": 110_500_000, "€565K": 565_000, "€0": 0, "€ 1.5 m": 1_500_000, "€7k": 7_000, "€0.5": 1,
      "€1.2B": None, "110.5M": None, "€M": None, "€1.M": None, "€.5M": None, "€1,5M": None}),
    (parsers.parse_height,
     {"5'7": 170.2, "6'11\"": 210.8, "5' 10": 177.8, "4'6": None, "5'12": None, "57": None, "8'0": None,
      "5'": None}),
    (parsers.parse_weight,
     {"159lbs": 72.1, "159 lbs": 72.1, "159.5lbs": 72.3, "9lbs": None, "159": None, "159kg": None, "lbs": None}),
    (parsers.parse_date,
     {"Jul 1, 2004": dt.date(2004, 7, 1), "Feb 29, 2016": dt.date(2016, 2, 29), "Dec 31, 2099": dt.date(2099, 12, 31),
      "Feb 30, 2019": None, "Feb 29, 2019": None, "Jul 0, 2004": None, "Jul 1, 1949": None, "jul 1, 2004": None,
      "Jul 1 2004": None, "2004-07-01": None}),
    (parsers.parse_contract_year,
     {"2021": 2021, "Jun 30, 2019": 2019, "1949": None, "20211": None, "Jun 30 2019": None, "21": None}),
    (parsers.parse_choice({"Yes": True, "No": False}, pa.bool_()),
     {"Yes": True, "no": False, "YES": True, "Y": None}),
    (parsers.parse_position, {"ST": "ST", "lcb": "LCB", "XX": None, "S T": None}),
    (parsers.parse_text, {"Messi": "Messi", "Mess\ufffdi": None}),
    (parsers.parse_position_rating,
     {"88+2": {"base": 88, "bonus": 2}, "5+0": {"base": 5, "bonus": 0}, "100+9": {"base": 100, "bonus": 9},
      "101+1": None, "88+": None, "88++": None, "88+2+1": None, "88+12": None, "+2": None, "-8+2": None, "88": None,
      "8 8+2": None}),
    (parsers.parse_work_rate,
     {"High/ Medium": {"attack": "High", "defence": "Medium"}, "Low/Low": {"attack": "Low", "defence": "Low"},
      "High /  Low": {"attack": "High", "defence": "Low"}, "High/": None, "Medium": None, "High/Medium/Low": None}),
]


@pytest.mark.parametrize("parse,cases", PARSER_CASES, ids=[getattr(c[0], "__qualname__", "?") for c in PARSER_CASES])
def test_parsers_take_the_format_and_refuse_near_misses(parse, cases) -> None:
    texts = list(cases) + [None]
    got = parse(pa.array(texts, pa.string())).to_pylist()
    assert dict(zip(texts, got)) == {**cases, None: None}


def test_position_groups_and_empty_text() -> None:
    assert parsers.position_group(pa.array(["GK", "LCB", "CAM", "ST", None])).to_pylist() == [
        "GK", "DEF", "MID", "FWD", None]
    trimmed = parsers.trim_spaces(pa.array([" a ", "  ", "", None, "\tb"]))
    assert parsers.empty_as_null(trimmed).to_pylist() == ["a", None, None, None, "\tb"]
