"""Cleaning the FIFA 19 text columns with Spark built-ins: typed values, rejects with reasons, header checks."""

from __future__ import annotations

import datetime as dt

import pytest
from pyspark.testing import assertDataFrameEqual

from sparkfolio.fifa import clean, schema, source
from sparkfolio.runtime.errors import ConfigError, InputError

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


@pytest.fixture(scope="module")
def parsed(spark, tmp_path_factory):
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
    raw, header = source.read_players_csv(spark, path)
    return clean.parse_players(raw, header).cache()


def test_players_are_typed_and_bad_values_nulled(parsed) -> None:
    got = clean.players(parsed).select(
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
    assertDataFrameEqual(got, parsed.sparkSession.createDataFrame(expected, got.schema), checkRowOrder=False, atol=1e-9)


def test_rejects_name_column_value_and_reason(parsed) -> None:
    got = clean.rejects(parsed).drop("source_file")
    expected = [
        (1, 20801, 'C. "CR7" Ronaldo', "Value", "€1.2B", "not a euro amount like €110.5M, €565K or €0", False),
        (1, 20801, 'C. "CR7" Ronaldo', "Joined", "Feb 30, 2019", "not a date like 'Jul 1, 2004'", False),
        (1, 20801, 'C. "CR7" Ronaldo', "Crossing", "101", "not a rating 0-100", False),
        (2, 3, "L. Messi", "Overall", "N/A", "not a rating 0-100", True),
        (3, 4, None, "Name", None, "missing key value", True),
        (5, 6, "too", "(line)", "5,6,too,few,fields", "malformed CSV line: its field count differs from the header", True),
        (None, 8, "L. Messi", "(index)", "7b", "not a whole-number row index", False),
    ]
    assertDataFrameEqual(got, parsed.sparkSession.createDataFrame(expected, got.schema), checkRowOrder=False)


def test_quality_summary_counts(parsed) -> None:
    q = clean.quality_summary(parsed)
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
        source.check_encoding(spark, "utf-99")
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(InputError, match="the input is empty"):
        source.read_players_csv(spark, str(empty))
