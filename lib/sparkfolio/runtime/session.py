"""SparkSession creation: profile settings from ``conf/spark/<profile>.yaml``, master left to the caller.

Jobs never hard-code a master. Under ``spark-submit`` the master (and any ``--conf``) is already
set and wins over the profile; the ``sparkfolio`` CLI passes ``--master`` (default ``local[*]``).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from typing import Any

from sparkfolio.runtime.config import read_yaml_mapping
from sparkfolio.runtime.errors import ConfigError, DependencyError
from sparkfolio.runtime.jvmcds import DRIVER_JAVA_OPTIONS, with_archive
from sparkfolio.runtime.paths import conf_dir

log = logging.getLogger(__name__)


def profile_settings(profile: str | None) -> dict[str, str]:
    """The Spark settings of a named profile (``local``, ``cluster``...), as strings."""
    if not profile:
        return {}
    folder = conf_dir()
    if folder is None:
        log.warning("no conf/ folder found; Spark profile %r not applied", profile)
        return {}
    path = folder / "spark" / f"{profile}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in (folder / "spark").glob("*.yaml"))
        raise ConfigError(f"unknown Spark profile {profile!r}: no {path} (known: {', '.join(known)})")
    return {str(k): _spark_value(v) for k, v in read_yaml_mapping(path).items()}


def build_session(
    app_name: str,
    master: str | None = None,
    profile: str | None = None,
    settings: dict[str, Any] | None = None,
) -> Any:
    """Return the active SparkSession, creating it with the profile's settings if none exists.

    Settings already present (from ``spark-submit --conf`` or ``spark-defaults.conf``) win over
    the profile, so a cluster operator's choices are never overridden by the project.
    """
    from pyspark import SparkConf, SparkContext
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    wanted = {**profile_settings(profile), **{k: _spark_value(v) for k, v in (settings or {}).items()}}
    if os.environ.get("PYSPARK_GATEWAY_PORT"):
        # Under spark-submit the JVM already runs with the submitted settings; read them first so
        # the profile only fills gaps and the master is never touched.
        SparkContext._ensure_initialized()
        conf = SparkConf()
    else:
        _check_java()
        # Executors must run the same interpreter as the driver when we start Spark ourselves.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        conf = SparkConf()
        # Plain `python jobs/x.py` without spark-submit or --master: run locally.
        conf.setMaster(master or "local[*]")
    for key, value in wanted.items():
        if not conf.contains(key):
            conf.set(key, value)
    if SparkContext._gateway is None and not os.environ.get("PYSPARK_GATEWAY_PORT"):
        # This process is about to start the driver JVM: map the class archive when one is built.
        options = with_archive(conf.get(DRIVER_JAVA_OPTIONS, None))
        if options:
            conf.set(DRIVER_JAVA_OPTIONS, options)
    conf.setAppName(app_name)
    spark = SparkSession.builder.config(conf=conf).getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("SPARKFOLIO_SPARK_LOG_LEVEL", "WARN"))
    log.info("Spark %s, master %s, app %s", spark.version, spark.sparkContext.master, app_name)
    return spark


def submitted_master() -> str | None:
    """The master spark-submit was given, or ``None`` outside spark-submit (before a session exists)."""
    if not os.environ.get("PYSPARK_GATEWAY_PORT"):
        return None
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()
    return SparkConf().get("spark.master", None)


def _spark_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _check_java() -> None:
    """Fail with an install hint, not a py4j stack, when no Java runtime is reachable."""
    from sparkfolio.runtime.cluster import java_binary

    if java_binary() is None:
        raise DependencyError("Java 17+ not found: install openjdk-17-jre-headless or set JAVA_HOME (make setup does it)")


def executor_cores(spark: Any) -> int:
    """Cores that run tasks: N of ``local[N]`` (all CPUs for ``local[*]``), else executors x cores.

    ``defaultParallelism`` is not it: profiles set it for shuffles, not to the core count.
    """
    sc = spark.sparkContext
    master = sc.master
    m = re.match(r"local(?:-cluster)?\[(\*|\d+)", master)
    if master == "local":
        return 1
    if m:
        return (os.cpu_count() or 1) if m.group(1) == "*" else int(m.group(1))
    per_executor = int(sc.getConf().get("spark.executor.cores", "1"))
    executors = max(1, int(sc._jsc.sc().getExecutorIds().size()))
    return per_executor * executors
