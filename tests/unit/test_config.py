"""Config loading: YAML over dataclass defaults, --set overrides, clear errors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import pytest

from sparkfolio.runtime.config import apply_override, job_spark_settings, load_config
from sparkfolio.runtime.errors import ConfigError


@dataclass
class Grid:
    rank: list[int] = field(default_factory=lambda: [8, 16])
    reg: float = 0.1


@dataclass
class Cfg:
    name: str = "x"
    iterations: int = 10
    fraction: float = 0.5
    enabled: bool = True
    customer_id: int | None = None
    split: Literal["random", "probe"] = "random"
    grid: Grid = field(default_factory=Grid)


def test_defaults_when_no_file():
    assert load_config(Cfg) == Cfg()


def test_yaml_then_overrides(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("iterations: 3\ngrid:\n  reg: 0.5\n")
    cfg = load_config(Cfg, path, ["fraction=0.25", "grid.rank=[2, 4]", "customer_id=42", "split=probe"])
    assert cfg == Cfg(iterations=3, fraction=0.25, customer_id=42, split="probe", grid=Grid(rank=[2, 4], reg=0.5))


def test_int_is_accepted_for_float_and_text_keeps_what_was_typed():
    cfg = apply_override(Cfg(), "fraction", "1")
    assert cfg.fraction == 1.0 and isinstance(cfg.fraction, float)
    # A title that YAML would read as a number or a bool stays the text the user typed.
    assert apply_override(Cfg(), "name", "1984").name == "1984"
    assert apply_override(Cfg(), "name", "yes").name == "yes"
    assert apply_override(Cfg(), "customer_id", "null").customer_id is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("nope=1", "unknown key 'nope'"),
        ("iterations=ten", "expected an integer"),
        ("enabled=maybe", "expected true or false"),
        ("split=sideways", "is not one of 'random', 'probe'"),
        ("grid.depth=3", "unknown key 'depth'"),
        ("iterations", "expected key=value"),
        ("name.sub=1", "has no sub-keys"),
    ],
)
def test_bad_overrides_are_one_line_errors(override, message):
    with pytest.raises(ConfigError) as err:
        load_config(Cfg, None, [override])
    assert message in str(err.value)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("iterations: [1,\n", "is not valid YAML"),
        ("- a\n- b\n", "must hold a mapping"),
        ("unknown: 1\n", "unknown key 'unknown'"),
        ("grid: 3\n", "'grid' must be a mapping"),
    ],
)
def test_bad_files(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_config(Cfg, path)
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_missing_file_names_it(tmp_path):
    with pytest.raises(ConfigError, match="config file not found: .*absent.yaml"):
        load_config(Cfg, tmp_path / "absent.yaml")


def test_empty_file_is_defaults(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert load_config(Cfg, path) == Cfg()


def test_spark_section_holds_the_jobs_spark_settings_not_config_keys(tmp_path):
    path = tmp_path / "c.yaml"
    path.write_text("iterations: 3\nspark:\n  spark.driver.extraJavaOptions: -XX:TieredStopAtLevel=1\n"
                    "  spark.sql.shuffle.partitions: 4\n  spark.ui.enabled: false\n")
    assert load_config(Cfg, path) == Cfg(iterations=3)
    assert job_spark_settings(path) == {"spark.driver.extraJavaOptions": "-XX:TieredStopAtLevel=1",
                                        "spark.sql.shuffle.partitions": "4", "spark.ui.enabled": "false"}
    assert job_spark_settings(None) == {}
    path.write_text("iterations: 3\n")
    assert job_spark_settings(path) == {}


@pytest.mark.parametrize("text, message", [
    ("spark: [a, b]\n", "'spark' must be a mapping of Spark settings, not list"),
    ("spark:\n  driver.memory: 2g\n", "Spark setting 'driver.memory' must start with 'spark.'"),
    ("spark:\n  spark.x:\n    y: 1\n", "Spark setting spark.x must be a plain value, not dict"),
])
def test_bad_spark_sections(tmp_path, text, message):
    path = tmp_path / "c.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        job_spark_settings(path)
    assert str(err.value) == f"{path}: {message}"
