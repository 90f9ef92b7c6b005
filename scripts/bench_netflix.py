"""Benchmark of Netflix Prize ingest against the usual ways to load ``combined_data_N.txt``.

Usage::

    .venv/bin/python scripts/bench_netflix.py [--ratings 24000000] [--quick] [--sizes 6000000,24000000] [--als]

On generated data in the Kaggle format (one ``combined_data_1.txt``; 24M ratings are about the
size of the real first file), each method runs in its own fresh process so its peak memory is its
own, and is timed without the JVM start-up:

* ``ingest``    -- ``sparkfolio netflix-ingest`` (byte-range splits, vectorised parse, Parquet);
* ``spark_csv`` -- Spark's CSV reader writing the same bytes to Parquet (headers not handled);
* ``pyarrow``   -- pyarrow's multi-threaded CSV reader + Parquet writer in one process (the floor);
* ``kernel``    -- the popular Kaggle kernel: ``pd.read_csv(..., usecols=[0, 1])`` then movie ids
  filled from the NaN-rating header rows with ``np.append`` in a loop.

Spark runs on ``local[2]`` (the 2-core development machine). Peak memory is the high-water RSS of
the driver JVM (which also hosts the local executors), the driver Python process and the largest
Python worker; for the single-process methods, of the process. ``--als`` also runs
``netflix-als`` on the ingested ratings and reports its seconds per ALS iteration and the time to
recommend for all customers.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable
REAL_FILE1 = (24_053_764, 4_499)  # ratings and movies of the real combined_data_1.txt
METHODS = ("ingest", "spark_csv", "pyarrow", "kernel")


# --- memory --------------------------------------------------------------------------------------------------------

def _hwm_mb(pid: int) -> float:
    """Peak resident set (VmHWM) of a live process, in MiB (0 when unreadable)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                ppid = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry))
    out, todo = [], [pid]
    while todo:
        for c in children.get(todo.pop(), []):
            out.append(c)
            todo.append(c)
    return out


def _self_peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --- the methods (each runs in a child process) ------------------------------------------------------------------

def _spark():
    sys.path.insert(0, str(REPO / "lib"))
    os.environ.setdefault("SPARKFOLIO_SPARK_LOG_LEVEL", "ERROR")
    from sparkfolio.runtime.session import build_session

    spark = build_session("bench-netflix", master="local[2]", profile="local")
    spark.range(10).count()  # JVM up and warm before the clock starts
    return spark


def _spark_memory(spark) -> dict[str, float]:
    jvm_pid = int(spark._jvm.java.lang.ProcessHandle.current().pid())
    workers = [_hwm_mb(p) for p in _descendants(jvm_pid)]
    return {"driver_jvm_mb": _hwm_mb(jvm_pid), "driver_python_mb": _self_peak_mb(),
            "python_worker_max_mb": max(workers, default=0.0)}


def child_ingest(path: str, work: str, split_size_mb: float) -> dict:
    spark = _spark()
    from sparkfolio.cli import run_job

    out = os.path.join(work, "ingest")
    t0 = time.perf_counter()
    code = run_job("netflix-ingest", ["--input", path, "--output", out, "--set", f"split_size_mb={split_size_mb}"])
    seconds = time.perf_counter() - t0
    if code != 0:
        raise SystemExit(f"ingest failed with exit code {code}")
    metrics = json.loads(Path(out, "metrics.json").read_text())
    return {"seconds": seconds, "rows": metrics["ratings"], "stages": metrics["seconds"], **_spark_memory(spark)}


def child_spark_csv(path: str, work: str) -> dict:
    spark = _spark()
    out = os.path.join(work, "spark_csv")
    t0 = time.perf_counter()
    df = spark.read.schema("customer_id int, rating byte, date date").csv(path)
    df.write.mode("overwrite").parquet(out)
    seconds = time.perf_counter() - t0
    rows = spark.read.parquet(out).where("rating is not null").count()
    return {"seconds": seconds, "rows": rows, **_spark_memory(spark)}


def child_pyarrow(path: str, work: str) -> dict:
    import pyarrow as pa
    import pyarrow.csv as pcsv
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    table = pcsv.read_csv(
        path,
        read_options=pcsv.ReadOptions(column_names=["customer_id", "rating", "date"]),
        parse_options=pcsv.ParseOptions(invalid_row_handler=lambda row: "skip"),  # the `M:` header lines
        convert_options=pcsv.ConvertOptions(column_types={"customer_id": pa.int32(), "rating": pa.int8(),
                                                          "date": pa.date32()}),
    )
    pq.write_table(table, os.path.join(work, "pyarrow.parquet"))
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": table.num_rows, "process_mb": _self_peak_mb()}


def child_kernel(path: str, work: str) -> dict:
    """The well-known Kaggle kernel's loading code, as published (quadratic np.append included)."""
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    df = pd.read_csv(path, header=None, names=["Cust_Id", "Rating"], usecols=[0, 1])
    df["Rating"] = df["Rating"].astype(float)
    df_nan = pd.DataFrame(pd.isnull(df.Rating))
    df_nan = df_nan[df_nan["Rating"] == True]  # noqa: E712 - as in the kernel
    df_nan = df_nan.reset_index()
    movie_np = []
    movie_id = 1
    for i, j in zip(df_nan["index"][1:], df_nan["index"][:-1]):
        temp = np.full((1, i - j - 1), movie_id)
        movie_np = np.append(movie_np, temp)
        movie_id += 1
    last_record = np.full((1, len(df) - df_nan.iloc[-1, 0] - 1), movie_id)
    movie_np = np.append(movie_np, last_record)
    df = df[pd.notnull(df["Rating"])]
    df["Movie_Id"] = movie_np.astype(int)
    df["Cust_Id"] = df["Cust_Id"].astype(int)
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "rows": len(df), "process_mb": _self_peak_mb()}


def child_als(ingest_out: str, work: str) -> dict:
    out = os.path.join(work, "als")
    t0 = time.perf_counter()
    proc = subprocess.run([PY, "-m", "sparkfolio.cli", "netflix-als", "--input", ingest_out, "--output", out,
                           "--master", "local[2]"], cwd=REPO, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"netflix-als failed:\n{proc.stderr[-3000:]}")
    metrics = json.loads(Path(out, "metrics.json").read_text())
    stages = metrics["timings_seconds"]
    return {"seconds": time.perf_counter() - t0, "als_seconds_per_iteration": metrics["als_fit_seconds_per_iteration"],
            "recommend_seconds": stages["recommend"], "stages": stages}


# --- orchestration -------------------------------------------------------------------------------------------------

def generate(ratings: int, data_dir: Path) -> Path:
    """Generated ``combined_data_1.txt`` with ``ratings`` ratings (cached in ``data_dir``)."""
    target = data_dir / f"netflix-{ratings}"
    path = target / "combined_data_1.txt"
    if (target / "metrics.json").exists() and path.exists():
        return path
    movies = max(10, round(ratings * REAL_FILE1[1] / REAL_FILE1[0]))  # the real file's ratings per movie
    print(f"generating {ratings:,} ratings of {movies:,} movies into {target} ...", flush=True)
    cmd = [PY, "-m", "sparkfolio.cli", "netflix-generate", "--output", str(target), "--master", "local[2]",
           "--set", f"ratings={ratings}", "--set", "files=1", "--set", f"movies={movies}",
           "--set", "probe_fraction=0", "--set", "qualifying_fraction=0", "--log-level", "WARNING"]
    subprocess.run(cmd, cwd=REPO, check=True)
    return path


def run_child(method: str, path: Path, work: Path, args: argparse.Namespace) -> dict:
    cmd = [PY, __file__, "--child", method, "--file", str(path), "--work", str(work),
           "--split-size-mb", str(args.split_size_mb)]
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "lib") + os.pathsep + str(REPO)})
    if proc.returncode != 0:
        raise SystemExit(f"{method} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def bench_size(ratings: int, args: argparse.Namespace) -> dict:
    path = generate(ratings, Path(args.data_dir))
    size_mb = path.stat().st_size / 1e6
    results: dict[str, dict] = {}
    for method in METHODS:
        if method in args.skip:
            continue
        work = Path(args.data_dir) / f"work-{ratings}-{method}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        print(f"  {method} on {size_mb:,.0f} MB ...", flush=True)
        results[method] = run_child(method, path, work, args)
        if method != "ingest":
            shutil.rmtree(work, ignore_errors=True)
    if args.als and "ingest" in results:
        print("  netflix-als on the ingested ratings ...", flush=True)
        results["als"] = child_als(str(Path(args.data_dir) / f"work-{ratings}-ingest" / "ingest"),
                                   str(Path(args.data_dir) / f"work-{ratings}-als"))
    return {"ratings": ratings, "file_mb": size_mb, "results": results}


def _mem(r: dict) -> str:
    if "process_mb" in r:
        return f"process {r['process_mb']:,.0f}"
    return (f"JVM {r['driver_jvm_mb']:,.0f} / py {r['driver_python_mb']:,.0f} / "
            f"worker {r['python_worker_max_mb']:,.0f}")


def report(runs: list[dict]) -> str:
    lines = []
    for run in runs:
        res = run["results"]
        floor = res.get("pyarrow", {}).get("seconds")
        spark_csv = res.get("spark_csv", {}).get("seconds")
        lines.append(f"\n{run['ratings']:,} ratings, combined_data_1.txt {run['file_mb']:,.0f} MB, local[2]")
        lines.append(f"{'method':<10} {'seconds':>8} {'rows/s':>12} {'MB/s':>7} {'x floor':>8} {'peak MiB':>40}")
        for name in METHODS:
            if name not in res:
                continue
            r = res[name]
            ratio = f"{r['seconds'] / floor:.2f}" if floor else "-"
            lines.append(f"{name:<10} {r['seconds']:>8.2f} {r['rows'] / r['seconds']:>12,.0f} "
                         f"{run['file_mb'] / r['seconds']:>7.1f} {ratio:>8} {_mem(r):>40}")
        if "ingest" in res and spark_csv:
            lines.append(f"ingest is {spark_csv / res['ingest']['seconds']:.2f}x faster than Spark CSV->Parquet; "
                         f"stages {res['ingest']['stages']}")
        if "als" in res:
            a = res["als"]
            lines.append(f"netflix-als: {a['als_seconds_per_iteration']} s per ALS iteration, "
                         f"recommend for all customers {a['recommend_seconds']} s (whole job {a['seconds']:.0f} s)")
    if len(runs) > 1 and all("ingest" in r["results"] for r in runs):
        a, b = runs[0], runs[-1]
        ta, tb = a["results"]["ingest"]["seconds"], b["results"]["ingest"]["seconds"]
        lines.append(f"\nlinearity: {b['ratings'] / a['ratings']:.1f}x the rows took {tb / ta:.2f}x the time; "
                     f"driver python peak {a['results']['ingest']['driver_python_mb']:,.0f} -> "
                     f"{b['results']['ingest']['driver_python_mb']:,.0f} MiB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ratings", type=int, default=24_000_000, help="ratings in the generated file")
    parser.add_argument("--sizes", default=None, help="comma-separated sizes to run (linearity), overrides --ratings")
    parser.add_argument("--quick", action="store_true", help="3,000,000 ratings")
    parser.add_argument("--skip", default="", help="comma-separated methods to leave out (e.g. kernel)")
    parser.add_argument("--als", action="store_true", help="also time netflix-als on the ingested ratings")
    parser.add_argument("--split-size-mb", type=float, default=64.0)
    parser.add_argument("--data-dir", default="/tmp/sparkfolio-bench", help="generated data and scratch outputs")
    parser.add_argument("--json", default=None, help="also write the raw results to this file")
    parser.add_argument("--child", choices=[*METHODS], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    parser.add_argument("--work", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        fn = {"ingest": lambda: child_ingest(args.file, args.work, args.split_size_mb),
              "spark_csv": lambda: child_spark_csv(args.file, args.work),
              "pyarrow": lambda: child_pyarrow(args.file, args.work),
              "kernel": lambda: child_kernel(args.file, args.work)}[args.child]
        print(json.dumps(fn()))
        return 0
    args.skip = {s for s in args.skip.split(",") if s}
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else [3_000_000 if args.quick else args.ratings]
    print(f"bench_netflix: sizes {sizes}, machine {os.cpu_count()} cores, "
          f"{os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB")
    runs = [bench_size(n, args) for n in sizes]
    text = report(runs)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
