"""A class-data-sharing archive of Spark's classes, so the driver JVMs sparkfolio starts come up faster.

Every job that starts its own JVM (the ``sparkfolio`` CLI, ``python jobs/...``, the tests, the
notebooks) loads and verifies some 20,000 classes from Spark's jars before its first query
answers; on a 2-core machine that is several seconds of a core each time. Java 17's dynamic
AppCDS keeps those classes, already parsed and verified, in one memory-mapped archive: measured
on the 2-core development VM, a session plus its first query took 14.7 s without it and 8.5 s
with it (medians of 6, ``scripts/bench_jvm_archive.py``, docs/bench/jvm_archive.md).

``python -m sparkfolio.runtime.jvmcds`` (run by ``scripts/setup.sh``) builds the archive once, by
running a small workload of the kinds the jobs run (file sources, joins, aggregations, pandas
UDFs, Parquet, MLlib) in a JVM started with ``-XX:ArchiveClassesAtExit``. Its name holds a hash
of the Spark installation's folder (checkouts sharing the cache keep one archive each) and a hash
of what the archive is only valid for: the Java runtime and the exact Spark jars. A session whose
JVM does not match finds no archive of that name and starts as before; the JVM itself also checks
and falls back to a plain start. Under ``spark-submit`` the JVM is already running, so nothing
applies (pass ``--driver-java-options=-XX:SharedArchiveFile=...`` by hand there).
``SPARKFOLIO_JVM_ARCHIVE=off`` turns it off.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sparkfolio.runtime.paths import cache_dir

log = logging.getLogger(__name__)

#: The Spark setting the archive option is added to.
DRIVER_JAVA_OPTIONS = "spark.driver.extraJavaOptions"
#: The JVM's own messages about an archive it cannot use are silenced: it then starts as without one.
QUIET = "-Xlog:cds=off -Xlog:cds+dynamic=off"
#: Bump when the workload below changes, so archives are rebuilt.
WORKLOAD_VERSION = 1


def enabled() -> bool:
    """False when ``SPARKFOLIO_JVM_ARCHIVE`` is ``off`` (or ``0``/``false``)."""
    return os.environ.get("SPARKFOLIO_JVM_ARCHIVE", "on").strip().lower() not in {"off", "0", "false", "no"}


def archive_key(java: Path, jars: Path) -> str:
    """A hash of everything the archive is valid for: the Java runtime and Spark's jars (name, size, time).

    The JVM refuses an archive made with another runtime or class path; keying the file name on
    them means a session never even offers it one.
    """
    h = hashlib.sha256(f"v{WORKLOAD_VERSION}|{java}".encode())
    modules = java.parent.parent / "lib" / "modules"  # the runtime's own class image
    for f in [java, modules, *sorted(jars.glob("*.jar"))]:
        if f.exists():
            st = f.stat()
            h.update(f"|{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def home_tag(home: Path) -> str:
    """A short hash of a Spark installation's folder: archives of one install share it."""
    return hashlib.sha256(str(home.resolve()).encode()).hexdigest()[:8]


def archive_path() -> Path | None:
    """Where the archive for this machine's Java and Spark lives (``None`` when Java is not found).

    ``spark-classes-<install>-<key>.jsa``: several checkouts (each with its own virtual
    environment, so its own Spark jars) share one cache folder, and each keeps its own archive.
    """
    from sparkfolio.runtime.cluster import java_binary, spark_home

    java = java_binary()
    if java is None:
        return None
    home = spark_home()
    return cache_dir() / f"spark-classes-{home_tag(home)}-{archive_key(java, home / 'jars')}.jsa"


def _home_note(folder: Path, tag: str) -> Path:
    return folder / f"spark-classes-{tag}.home"


def prune(keep: Path) -> list[Path]:
    """Delete the archives in ``keep``'s folder that can never be used again; returns them.

    Those are the other archives of ``keep``'s Spark install (made for a former Java or Spark
    version), archives of installs whose folder no longer exists (a removed checkout; each
    install's folder is noted beside its archives when built), and archives named the
    unversioned way of the first releases. Archives of other live installs are kept.
    """
    tag = keep.name.split("-")[2]
    removed: list[Path] = []
    for old in sorted(keep.parent.glob("spark-classes-*.jsa")):
        parts = old.stem.split("-")
        if old == keep:
            continue
        if len(parts) == 4:
            note = _home_note(keep.parent, parts[2])
            home = note.read_text(encoding="utf-8").strip() if note.is_file() else ""
            if parts[2] != tag and home and Path(home).is_dir():
                continue  # another checkout's archive, still in use
        old.unlink(missing_ok=True)
        removed.append(old)
    for note in keep.parent.glob("spark-classes-*.home"):
        if not any(keep.parent.glob(f"{note.stem}-*.jsa")):
            note.unlink(missing_ok=True)
    return removed


def with_archive(java_options: str | None) -> str | None:
    """``java_options`` plus the option that maps the archive, when one is built for this Java and Spark.

    Returns ``java_options`` unchanged when the archive is off, missing or stale (a missing one is
    logged, with how to build it).
    """
    if not enabled():
        return java_options
    try:
        path = archive_path()
    except Exception as exc:  # no Spark found: the session start will say so
        log.debug("no JVM class archive: %s", exc)
        return java_options
    if path is None or not path.is_file():
        log.info("no JVM class archive for this Java and Spark (build it with: python -m sparkfolio.runtime.jvmcds)")
        return java_options
    return " ".join(o for o in (java_options, f"-XX:SharedArchiveFile={path}", QUIET) if o)


def _workload(spark, scratch: Path) -> None:
    """Queries of the kinds the jobs run, so their classes are loaded before the JVM exits."""
    import pandas as pd
    from pyspark.ml.classification import DecisionTreeClassifier, LogisticRegression
    from pyspark.ml.feature import StandardScaler, VectorAssembler
    from pyspark.ml.recommendation import ALS
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    (scratch / "files").mkdir()
    for i in range(4):
        (scratch / "files" / f"f{i}.bin").write_bytes(bytes(range(i + 1)))
    (scratch / "t.csv").write_text("a,b,c\n1,x,2.5\n2,y,3.5\n3,x,\n", encoding="utf-8")
    (scratch / "t.txt").write_text("1,2,3\n", encoding="utf-8")
    csv = spark.read.option("header", True).option("inferSchema", True).csv(str(scratch / "t.csv"))
    text = spark.read.text(str(scratch / "t.txt"))
    files = (spark.read.format("binaryFile").option("recursiveFileLookup", True)
             .option("pathGlobFilter", "*.bin").load(str(scratch / "files")))
    pdf = pd.DataFrame({"k": [i % 3 for i in range(60)], "u": [i % 7 for i in range(60)],
                        "m": [i % 5 for i in range(60)], "r": [float(i % 5 + 1) for i in range(60)]})
    df = spark.createDataFrame(pdf)
    w = Window.partitionBy("k").orderBy(F.desc("r"))
    agg = (df.groupBy("k").agg(F.count("*").alias("n"), F.avg("r").alias("mean"),
                               F.percentile_approx("r", [0.5, 0.9]).alias("q"), F.collect_list("m").alias("ms"))
           .join(F.broadcast(csv.withColumnRenamed("a", "k")), "k", "left")
           .join(df.withColumn("rank", F.row_number().over(w)).where("rank <= 2"), "k"))
    agg.write.parquet(str(scratch / "agg"))
    back = spark.read.parquet(str(scratch / "agg"))
    back.orderBy("k").toPandas()
    list(back.repartition(2).sortWithinPartitions("k").toLocalIterator())
    text.select(F.split("value", ",").alias("v")).collect()

    def plus_one(s):
        return s + 1.0

    # Real types, not this module's postponed (string) annotations, which pandas_udf cannot resolve here.
    plus_one.__annotations__ = {"s": pd.Series, "return": pd.Series}
    plus_one = F.pandas_udf(plus_one, "double")

    def sizes(batches):
        for b in batches:
            yield pd.DataFrame({"path": b["path"], "n": b["content"].map(len)})

    df.select(plus_one("r")).collect()
    files.select("path", "content").mapInPandas(sizes, "path string, n long").collect()
    df.groupBy("k").applyInPandas(lambda p: p.head(1), df.schema).collect()
    als = ALS(userCol="u", itemCol="m", ratingCol="r", rank=2, maxIter=2, seed=1).fit(df)
    als.recommendForAllUsers(2).collect()
    feats = VectorAssembler(inputCols=["u", "m"], outputCol="x").transform(df.withColumn("y", (F.col("k") > 0).cast("double")))
    StandardScaler(inputCol="x", outputCol="z").fit(feats).transform(feats).collect()
    LogisticRegression(featuresCol="x", labelCol="y", maxIter=3).fit(feats)
    DecisionTreeClassifier(featuresCol="x", labelCol="y", maxDepth=2).fit(feats)


def _dump(target: Path) -> None:
    """Run the workload in a JVM that writes its loaded classes to ``target`` when it exits."""
    from pyspark import SparkContext

    from sparkfolio.runtime.session import build_session

    os.environ["SPARKFOLIO_JVM_ARCHIVE"] = "off"  # this JVM makes the archive, it cannot also map it
    spark = build_session("sparkfolio-jvm-archive", "local[2]", "local",
                          {DRIVER_JAVA_OPTIONS: f"-XX:ArchiveClassesAtExit={target} {QUIET}"})
    with tempfile.TemporaryDirectory(prefix="sparkfolio-jvmcds-") as scratch:
        _workload(spark, Path(scratch))
    spark.stop()
    # The JVM exits (and writes the archive) when its stdin closes; wait for it.
    gateway = SparkContext._gateway
    gateway.shutdown()
    gateway.proc.stdin.close()
    gateway.proc.wait(timeout=300)


def build(force: bool = False) -> Path:
    """Build the archive for this machine's Java and Spark unless it exists; returns its path.

    The JVM writes to a temporary name in a child process; the archive appears under its final
    name only once complete (rename), so concurrent sessions never map half a file.
    """
    path = archive_path()
    if path is None:
        raise RuntimeError("Java not found: install Java 17 first")
    if path.is_file() and not force:
        log.info("JVM class archive present: %s", path)
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.stem}.{os.getpid()}.tmp")
    started = time.perf_counter()
    try:
        proc = subprocess.run([sys.executable, "-m", "sparkfolio.runtime.jvmcds", "--dump-to", str(tmp)],
                              capture_output=True, text=True, timeout=900)
        if proc.returncode != 0 or not tmp.is_file() or tmp.stat().st_size == 0:
            raise RuntimeError(f"building the JVM class archive failed (exit {proc.returncode}): "
                               f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    from sparkfolio.runtime.cluster import spark_home

    home = spark_home()
    _home_note(path.parent, home_tag(home)).write_text(f"{home.resolve()}\n", encoding="utf-8")
    for old in prune(path):
        log.info("removed a JVM class archive that can no longer be used: %s", old)
    log.info("JVM class archive built in %.0f s: %s (%.0f MB)", time.perf_counter() - started, path,
             path.stat().st_size / 1e6)
    return path


def main(argv: list[str] | None = None) -> int:
    """Build (or with ``--force`` rebuild) the archive; print its path."""
    parser = argparse.ArgumentParser(prog="python -m sparkfolio.runtime.jvmcds", description=__doc__.split("\n")[0])
    parser.add_argument("--force", action="store_true", help="rebuild even when an archive exists")
    parser.add_argument("--dump-to", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        datefmt="%H:%M:%S")
    if args.dump_to:
        _dump(Path(args.dump_to))
        return 0
    path = build(force=args.force)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
