"""Every registered job is complete: entry point, config defaults mirrored by conf/, runner."""

from __future__ import annotations

import dataclasses
import importlib.util

import pytest

from sparkfolio.registry import JOBS, job_spec
from sparkfolio.runtime.config import SPARK_KEY, config_to_dict, job_spark_settings, load_config, read_yaml_mapping
from tests.conftest import REPO


def _implemented(spec):
    module = spec.runner.partition(":")[0]
    return importlib.util.find_spec(module) is not None


IMPLEMENTED = [j for j in JOBS if _implemented(j)]


def test_job_names_resolve_with_either_spelling():
    assert job_spec("netflix_ingest") is job_spec("netflix-ingest") is not None
    assert job_spec("nope") is None


@pytest.mark.parametrize("spec", JOBS, ids=lambda s: s.name)
def test_every_job_has_a_thin_spark_submit_entry_point(spec):
    path = REPO / "jobs" / f"{spec.name.replace('-', '_')}.py"
    text = path.read_text()
    assert f'run_job("{spec.name}", argv)' in text
    assert "def main(argv" in text


@pytest.mark.parametrize("spec", IMPLEMENTED, ids=lambda s: s.name)
def test_conf_yaml_mirrors_the_config_defaults(spec):
    cls = spec.load_config_class()
    assert dataclasses.is_dataclass(cls)
    assert callable(spec.load_runner())
    path = REPO / "conf" / f"{spec.name.replace('-', '_')}.yaml"
    assert path.exists(), f"{path} missing"
    # Same keys, same values: the YAML file is the documented default, never a second truth
    # (its reserved ``spark`` section holds the job's Spark settings, not config keys).
    data = read_yaml_mapping(path)
    data.pop(SPARK_KEY, None)
    assert data == config_to_dict(cls())
    assert load_config(cls, path) == cls()
    assert all(key.startswith("spark.") for key in job_spark_settings(path))
