"""Benchmark of the JVM class archive (``sparkfolio.runtime.jvmcds``): session start and first query.

Usage::

    .venv/bin/python scripts/bench_jvm_archive.py [--rounds 5] [--json FILE]

Each round starts two fresh Python processes one after the other, one with the archive
(``SPARKFOLIO_JVM_ARCHIVE=on``) and one without (``off``), alternating which goes first so a
machine that slows down or speeds up during the run hurts both alike. Each process times
``build_session`` (``local[2]``, the local profile: the JVM's start, Spark's context and session)
and then a first query (a CSV read with a header and a grouped count, collected), the part of
every job that pays for loading Spark SQL's classes. Medians are printed; the archive must have
been built (``python -m sparkfolio.runtime.jvmcds``, which ``scripts/setup.sh`` runs).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

_PROBE = """
import json, sys, time
started = time.perf_counter()
from sparkfolio.runtime.session import build_session
spark = build_session("bench-jvm-archive", "local[2]", "local")
session = time.perf_counter() - started
df = spark.read.option("header", True).csv(sys.argv[1])
df.groupBy("genre").count().collect()
print(json.dumps({"session_s": session, "first_query_s": time.perf_counter() - started - session}))
"""


def _once(switch: str, csv: Path) -> dict[str, float]:
    env = {**os.environ, "SPARKFOLIO_JVM_ARCHIVE": switch, "PYTHONPATH": str(REPO / "lib"),
           "SPARKFOLIO_SPARK_LOG_LEVEL": "ERROR"}
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _PROBE, str(csv)], capture_output=True, text=True, env=env, cwd=REPO)
    if proc.returncode != 0:
        raise SystemExit(proc.stderr[-3000:])
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    res["process_s"] = time.perf_counter() - started
    return res


def main(argv: list[str] | None = None) -> int:
    """Run the rounds, print medians (and optionally write every run as JSON)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", help="write every run here")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO / "lib"))
    from sparkfolio.runtime.jvmcds import archive_path

    path = archive_path()
    if path is None or not path.is_file():
        raise SystemExit(f"no archive at {path}: build it with python -m sparkfolio.runtime.jvmcds")
    print(f"{platform.node()}: {os.cpu_count()} CPUs, archive {path.name} ({path.stat().st_size / 1e6:.0f} MB), "
          f"{args.rounds} rounds, load {os.getloadavg()[0]:.1f}", flush=True)
    runs: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "t.csv"
        csv.write_text("genre,clip\n" + "".join(f"g{i % 10},c{i}\n" for i in range(1000)), encoding="utf-8")
        for r in range(args.rounds):
            for switch in (("on", "off") if r % 2 == 0 else ("off", "on")):
                runs[switch].append(_once(switch, csv))
                last = runs[switch][-1]
                print(f"round {r + 1} {switch:>3}: session {last['session_s']:.2f} s, first query "
                      f"{last['first_query_s']:.2f} s, process {last['process_s']:.2f} s", flush=True)
    print(f"\n{'archive':<8} {'session s':>10} {'first query s':>14} {'both s':>8} {'process s':>10}  (medians)")
    for switch in ("off", "on"):
        med = {k: statistics.median(x[k] for x in runs[switch]) for k in ("session_s", "first_query_s", "process_s")}
        both = statistics.median(x["session_s"] + x["first_query_s"] for x in runs[switch])
        print(f"{switch:<8} {med['session_s']:>10.2f} {med['first_query_s']:>14.2f} {both:>8.2f} {med['process_s']:>10.2f}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
