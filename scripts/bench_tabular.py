"""Benchmark the tabular jobs (fifa-report, scale-defects) against their single-process pandas versions.

For each workload: generate the smallest size once (kept under --work-dir and reused by later
runs). For FIFA each larger size is that many copies of it (hard links to the generated files, so
10 million rows cost no extra disk and every size has the same value distribution: the issue's
"1x, 10x and 100x generated copies"); scale plates are generated at each size (see WORKLOADS). Then time the Spark job as a user runs it (``python jobs/<job>.py --master local[N]`` in a
fresh process, JVM start included) and the pandas reference (``run_pandas`` in a fresh process,
its peak memory recorded). Prints a Markdown table and appends one JSON line per measurement to
``<work-dir>/results.jsonl``.

Usage:
    .venv/bin/python scripts/bench_tabular.py --quick            # 20k and 200k rows
    .venv/bin/python scripts/bench_tabular.py                    # 100k, 1M, 10M rows
    .venv/bin/python scripts/bench_tabular.py --workloads fifa --sizes 100000 1000000
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PY = sys.executable

WORKLOADS = {
    # name: (generate job, report job, generated sub-folder, pandas module, extra report settings, copies)
    # FIFA sizes are copies of the smallest (generating 10M rows of 89 text columns takes longer than
    # the benchmark itself). Scale sizes are generated each: copies would repeat plate numbers, which
    # scale-defects rejects as duplicates. Its pandas reference computes the statistics only, so the
    # Spark job runs without its models here (same work on both sides).
    "fifa": ("fifa-generate", "fifa-report", "players", "sparkfolio.fifa.pandas_reference", [], True),
    "scale": ("scale-generate", "scale-defects", "plates", "sparkfolio.scale.pandas_reference",
              ["--set", "models=[]", "--set", "logit=false"], False),
}


def _job_script(job: str) -> str:
    return str(REPO / "jobs" / f"{job.replace('-', '_')}.py")


def _run(cmd: list[str], log: Path, timeout: float | None) -> tuple[int, float]:
    """Run ``cmd`` with its output in ``log``; returns the exit code and wall seconds."""
    start = time.perf_counter()
    with open(log, "w") as f:
        try:
            rc = subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, cwd=REPO, timeout=timeout).returncode
        except subprocess.TimeoutExpired:
            rc = 124
    return rc, time.perf_counter() - start


def _generate(workload: str, rows: int, work: Path, master: str) -> Path:
    gen_job, _, sub, _, _, _ = WORKLOADS[workload]
    out = work / f"{workload}_{rows}"
    data = out / sub
    marker = out / "metrics.json"
    if marker.exists():
        meta = json.loads(marker.read_text())
        if int(meta.get("rows", meta.get("config", {}).get("rows", -1))) == rows:
            print(f"  reusing {data}", flush=True)
            return data
    shutil.rmtree(out, ignore_errors=True)
    print(f"  generating {rows:,} {workload} rows -> {out}", flush=True)
    rc, wall = _run([PY, _job_script(gen_job), "--master", master, "--output", str(out), "--set", f"rows={rows}"],
                       work / f"{workload}_{rows}_generate.log", None)
    if rc != 0:
        raise RuntimeError(f"{gen_job} failed (exit {rc}); see {work / f'{workload}_{rows}_generate.log'}")
    print(f"  generated in {wall:.0f} s", flush=True)
    return data


def _copies(workload: str, base: Path, base_rows: int, rows: int, work: Path) -> Path:
    """A folder holding ``rows // base_rows`` hard-linked copies of every file of ``base``."""
    if rows % base_rows:
        raise SystemExit(f"{rows:,} rows is not a whole number of copies of the {base_rows:,}-row base")
    n = rows // base_rows
    out = work / f"{workload}_{rows}_copies"
    files = sorted(p for p in base.rglob("*") if p.is_file() and not p.name.startswith((".", "_")))
    if out.exists() and len(list(out.iterdir())) == n * len(files):
        print(f"  reusing {out} ({n} copies of {base_rows:,} rows)", flush=True)
        return out
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    for k in range(n):
        for f in files:
            os.link(f, out / f"copy{k:04d}_{f.name}")
    print(f"  {out}: {n} copies of {base_rows:,} rows ({n * len(files)} hard links)", flush=True)
    return out


def _size_mb(path: Path) -> float:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6


def main(argv: list[str] | None = None) -> int:
    """Parse the options, run the measurements, print the table."""
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="small sizes (20k, 200k rows) for a fast check")
    ap.add_argument("--sizes", type=int, nargs="+", help="row counts to run (default 100k 1M 10M)")
    ap.add_argument("--workloads", nargs="+", default=list(WORKLOADS), choices=list(WORKLOADS))
    ap.add_argument("--master", default="local[2]", help="Spark master for the jobs (default local[2])")
    ap.add_argument("--work-dir", default=os.environ.get("SPARKFOLIO_BENCH_DIR", "/tmp/sparkfolio_bench"),
                    help="where generated data and outputs are kept (reused across runs)")
    ap.add_argument("--base-rows", type=int, default=None,
                    help="rows generated once; larger sizes are hard-linked copies of it (default: the smallest size)")
    ap.add_argument("--skip-pandas", action="store_true", help="time only the Spark jobs")
    ap.add_argument("--pandas-timeout", type=float, default=3600, help="seconds before a pandas run is stopped")
    ap.add_argument("--spark-timeout", type=float, default=7200, help="seconds before a Spark job is stopped")
    args = ap.parse_args(argv)
    sizes = args.sizes or ([20_000, 200_000] if args.quick else [100_000, 1_000_000, 10_000_000])
    work = Path(args.work_dir)
    work.mkdir(parents=True, exist_ok=True)
    results_file = work / "results.jsonl"
    machine = f"{os.cpu_count()} cores, {os.sysconf('SC_PAGE_SIZE') * os.sysconf('SC_PHYS_PAGES') / 2**30:.0f} GiB, {platform.platform()}"
    print(f"machine: {machine}\nmaster: {args.master}\nwork dir: {work}\n", flush=True)

    rows_out = []
    for workload in args.workloads:
        gen_job, report_job, _, pandas_module, extra, copies = WORKLOADS[workload]
        try:
            __import__(pandas_module)
        except ImportError as exc:
            print(f"{workload}: skipped ({exc})")
            continue
        base_rows = args.base_rows or min(sizes)
        base = _generate(workload, base_rows, work, args.master)
        for rows in sizes:
            print(f"{workload} {rows:,} rows", flush=True)
            if rows == base_rows:
                data = base
            elif copies:
                data = _copies(workload, base, base_rows, rows, work)
            else:
                data = _generate(workload, rows, work, args.master)
            out = work / f"{workload}_{rows}_report"
            rc, spark_s = _run([PY, _job_script(report_job), "--master", args.master, "--input", str(data),
                                   "--output", str(out), *extra], work / f"{workload}_{rows}_report.log",
                                args.spark_timeout)
            print(f"  {report_job}: exit {rc}, {spark_s:.1f} s", flush=True)
            pandas_s, pandas_rc, pandas_mb = None, None, -1
            if not args.skip_pandas:
                code = (f"import resource, sys; from {pandas_module} import run_pandas; r = run_pandas(sys.argv[1]); "
                        "print({k: v for k, v in r.items() if isinstance(v, (int, float))}); "
                        "print('PEAK_MIB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)")
                log = work / f"{workload}_{rows}_pandas.log"
                pandas_rc, pandas_s = _run([PY, "-c", code, str(data)], log, args.pandas_timeout)
                peaks = [ln.split()[1] for ln in log.read_text().splitlines() if ln.startswith("PEAK_MIB ")]
                pandas_mb = int(peaks[-1]) if peaks else -1
                print(f"  pandas: exit {pandas_rc}, {pandas_s:.1f} s, peak {pandas_mb} MiB", flush=True)
            record = {"workload": workload, "rows": rows, "input_mb": round(_size_mb(data), 1), "spark_job": report_job,
                      "spark_exit": rc, "spark_s": round(spark_s, 1), "pandas_exit": pandas_rc,
                      "pandas_s": None if pandas_s is None else round(pandas_s, 1), "pandas_peak_mib": pandas_mb,
                      "master": args.master, "machine": machine, "when": time.strftime("%Y-%m-%d %H:%M:%S")}
            with open(results_file, "a") as f:
                f.write(json.dumps(record) + "\n")
            rows_out.append(record)

    print("\n| workload | rows | input MB | Spark job s | pandas s | pandas peak MiB | Spark/pandas |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for r in rows_out:
        ok_s = r["spark_exit"] == 0
        ok_p = r["pandas_exit"] == 0
        ratio = f"{r['spark_s'] / r['pandas_s']:.2f}" if ok_s and ok_p and r["pandas_s"] else "-"
        spark_cell = f"{r['spark_s']:.1f}" if ok_s else f"failed ({r['spark_exit']})"
        pandas_cell = "-" if r["pandas_exit"] is None else (f"{r['pandas_s']:.1f}" if ok_p else f"failed ({r['pandas_exit']})")
        print(f"| {r['workload']} | {r['rows']:,} | {r['input_mb']:,.0f} | {spark_cell} | {pandas_cell} | "
              f"{r['pandas_peak_mib'] if r['pandas_peak_mib'] >= 0 else '-'} | {ratio} |")
    for workload in {r["workload"] for r in rows_out}:
        pts = [(r["rows"], r["spark_s"]) for r in rows_out if r["workload"] == workload and r["spark_exit"] == 0]
        for (n1, t1), (n2, t2) in zip(pts, pts[1:]):
            print(f"{workload}: rows x{n2 / n1:.0f} -> Spark time x{t2 / t1:.2f}")
    print(f"\nresults appended to {results_file}")
    return 0 if all(r["spark_exit"] == 0 for r in rows_out) else 1


if __name__ == "__main__":
    sys.exit(main())
