"""The JVM class-data-sharing archive: its key, the option a session gets, and a JVM that maps it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sparkfolio.runtime import jvmcds

REPO = Path(__file__).resolve().parents[2]


def _runtime(root: Path, jars: dict[str, bytes]) -> tuple[Path, Path]:
    """A Java-like tree (bin/java, lib/modules) and a jars folder, as real files."""
    (root / "jdk" / "bin").mkdir(parents=True, exist_ok=True)
    (root / "jdk" / "lib").mkdir(exist_ok=True)
    (root / "jdk" / "bin" / "java").write_bytes(b"java")
    (root / "jdk" / "lib" / "modules").write_bytes(b"modules")
    (root / "jars").mkdir(exist_ok=True)
    for name, data in jars.items():
        (root / "jars" / name).write_bytes(data)
    return root / "jdk" / "bin" / "java", root / "jars"


def test_key_changes_with_the_jars_and_the_runtime_only(tmp_path):
    java, jars = _runtime(tmp_path, {"spark-core.jar": b"a" * 10, "spark-sql.jar": b"b" * 20})
    key = jvmcds.archive_key(java, jars)
    assert len(key) == 16 and key == jvmcds.archive_key(java, jars)
    (jars / "notes.txt").write_text("not a jar")
    assert jvmcds.archive_key(java, jars) == key
    (jars / "spark-sql.jar").write_bytes(b"b" * 21)  # another Spark build
    grown = jvmcds.archive_key(java, jars)
    assert grown != key
    (jars / "extra.jar").write_bytes(b"c")
    assert jvmcds.archive_key(java, jars) not in {key, grown}
    other_java, _ = _runtime(tmp_path / "other", {})
    assert jvmcds.archive_key(other_java, jars) != jvmcds.archive_key(java, jars)
    before = jvmcds.archive_key(java, jars)
    (java.parent.parent / "lib" / "modules").write_bytes(b"another runtime update")
    assert jvmcds.archive_key(java, jars) != before


def test_prune_keeps_other_live_checkouts_archives(tmp_path):
    """Checkouts sharing the cache keep one archive each; stale and orphaned ones go."""
    live_home, gone_home = tmp_path / "venv-a" / "pyspark", tmp_path / "venv-b" / "pyspark"
    live_home.mkdir(parents=True)
    cache = tmp_path / "cache"
    cache.mkdir()
    mine, other, gone = jvmcds.home_tag(tmp_path / "mine"), jvmcds.home_tag(live_home), jvmcds.home_tag(gone_home)
    (cache / f"spark-classes-{other}.home").write_text(f"{live_home}\n")
    (cache / f"spark-classes-{gone}.home").write_text(f"{gone_home}\n")
    names = {
        "keep": f"spark-classes-{mine}-aaaa.jsa",
        "superseded": f"spark-classes-{mine}-bbbb.jsa",
        "other live checkout": f"spark-classes-{other}-cccc.jsa",
        "removed checkout": f"spark-classes-{gone}-dddd.jsa",
        "no note": "spark-classes-0badc0de-eeee.jsa",
        "unversioned name": "spark-classes-c2cbfa4b8669a6bb.jsa",
    }
    for name in names.values():
        (cache / name).write_bytes(b"archive")
    removed = jvmcds.prune(cache / names["keep"])
    assert sorted(p.name for p in removed) == sorted(
        names[k] for k in ("superseded", "removed checkout", "no note", "unversioned name"))
    assert sorted(p.name for p in cache.iterdir()) == sorted(
        [names["keep"], names["other live checkout"], f"spark-classes-{other}.home"])


def test_archive_name_carries_the_spark_install(tmp_path, monkeypatch):
    from sparkfolio.runtime.cluster import spark_home

    monkeypatch.setenv("SPARKFOLIO_CACHE", str(tmp_path))
    parts = jvmcds.archive_path().stem.split("-")
    assert parts[:2] == ["spark", "classes"] and parts[2] == jvmcds.home_tag(spark_home()) and len(parts[3]) == 16


def test_options_name_the_archive_only_when_it_is_built(tmp_path, monkeypatch):
    monkeypatch.setenv("SPARKFOLIO_CACHE", str(tmp_path))
    monkeypatch.delenv("SPARKFOLIO_JVM_ARCHIVE", raising=False)
    path = jvmcds.archive_path()
    assert path is not None and path.parent == tmp_path and path.name.startswith("spark-classes-")
    assert jvmcds.with_archive("-XX:TieredStopAtLevel=1") == "-XX:TieredStopAtLevel=1"
    assert jvmcds.with_archive(None) is None
    path.write_bytes(b"archive")
    mapped = f"-XX:SharedArchiveFile={path} -Xlog:cds=off -Xlog:cds+dynamic=off"
    assert jvmcds.with_archive("-XX:TieredStopAtLevel=1") == f"-XX:TieredStopAtLevel=1 {mapped}"
    assert jvmcds.with_archive(None) == mapped
    monkeypatch.setenv("SPARKFOLIO_JVM_ARCHIVE", "off")
    assert jvmcds.with_archive("-Xss4m") == "-Xss4m"


_PROBE = """
import json, sys
from sparkfolio.runtime.session import build_session
spark = build_session("jvmcds-probe", "local[1]", "local", {"spark.driver.extraJavaOptions": "-Xss4m"})
jvm = spark.sparkContext._jvm
pid = jvm.ProcessHandle.current().pid()
maps = open(f"/proc/{pid}/maps").read()
args = list(jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
print(json.dumps({"mapped": sys.argv[1] in maps, "args": args}))
"""


@pytest.mark.parametrize("switch", ["on", "off"])
def test_a_session_started_by_sparkfolio_maps_the_archive(switch):
    """The real thing: the driver JVM that build_session starts has the archive in its memory map
    (the JVM drops an archive it cannot use without a word, so the option alone proves nothing)."""
    path = jvmcds.archive_path()
    if path is None or not path.is_file():
        pytest.skip(f"no JVM class archive at {path} (scripts/setup.sh builds it)")
    env = {**os.environ, "SPARKFOLIO_JVM_ARCHIVE": switch, "PYTHONPATH": str(REPO / "lib"),
           "SPARKFOLIO_SPARK_LOG_LEVEL": "ERROR"}
    env.pop("PYSPARK_GATEWAY_PORT", None)
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(path)], capture_output=True, text=True, env=env,
                          cwd=REPO, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    seen = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "-Xss4m" in seen["args"]  # the job's own options are kept
    assert seen["mapped"] is (switch == "on")
    assert (f"-XX:SharedArchiveFile={path}" in seen["args"]) is (switch == "on")


def test_java_binary_prefers_java_home_then_path(tmp_path, monkeypatch):
    """The java the archive is keyed on is the one Spark runs (runtime.cluster.java_binary)."""
    from sparkfolio.runtime.cluster import java_binary

    java, _ = _runtime(tmp_path, {})
    java.chmod(0o755)
    monkeypatch.setenv("JAVA_HOME", str(java.parent.parent))
    assert java_binary() == java.resolve()
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "missing"))
    monkeypatch.setenv("PATH", str(java.parent))
    assert java_binary() == java.resolve()  # found on PATH instead
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    assert java_binary() is None
    monkeypatch.setenv("SPARKFOLIO_CACHE", str(tmp_path / "cache"))
    assert jvmcds.archive_path() is None and jvmcds.with_archive("-Xss4m") == "-Xss4m"
