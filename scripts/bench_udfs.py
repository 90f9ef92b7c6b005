"""Benchmark of the UDF-heavy Spark jobs against the plain single-process loop they replace.

Usage::

    .venv/bin/python scripts/bench_udfs.py [--quick] [--only plates,gtzan] [--images 96] [--clips 100]

For each data set, three runs, each in its own fresh process (a fresh JVM for Spark):

* ``serial``   -- the original projects' loop: ``sparkfolio.plates.serial.process_files`` (or
  ``sparkfolio.gtzan.serial.process_files``) over the same files, one after another, one thread;
* ``local[1]`` -- the Spark job (``plates-ocr`` / ``gtzan-features``) on one core;
* ``local[2]`` -- the same job on two cores.

Data sets: ``scenes`` (plates-generate output: synthetic plates in 640x480 scenes), ``crops`` (the
real plate crops, when present) and ``clips`` (the real GTZAN clips, else gtzan-generate output).
Spark times are the jobs' own ``metrics.json`` wall times (listing to the written table, without
the JVM start-up); the per-file work is the time measured inside the UDF around each file. The UDF
overhead is what the cores spent beyond that work: ``(cores * wall - work) / work``.
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
ENV = {**os.environ, "PYTHONPATH": str(REPO / "lib") + os.pathsep + str(REPO),
       "SPARKFOLIO_SPARK_LOG_LEVEL": "ERROR", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def _run(cmd: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, env=ENV)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-3000:] + proc.stderr[-3000:])
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    return proc


# --- children: one measurement each, JSON on the last stdout line -----------------------------------------------------

SERIAL_CHILD = r"""
import json, sys, time
from pathlib import Path
kind, folder = sys.argv[1], Path(sys.argv[2])
exts = {"plates": (".jpg", ".jpeg", ".png"), "gtzan": (".wav", ".au")}[kind]
paths = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in exts)
if kind == "plates":
    from sparkfolio.plates.serial import process_files
    from sparkfolio.plates.pipeline import OcrSettings, prepare
    prepare(OcrSettings())  # checks and template loading happen before the clock, as in the job's driver
    t = time.perf_counter(); df = process_files(paths); wall = time.perf_counter() - t
    work = float(df["seconds"].sum()); ok = int(df["error"].isna().sum())
else:
    from sparkfolio.gtzan.serial import process_files
    t = time.perf_counter(); df = process_files(paths); wall = time.perf_counter() - t
    work = float(df["work_s"].sum()); ok = int((df["status"] == "ok").sum()) if "status" in df else len(df)
print(json.dumps({"files": len(paths), "ok": ok, "wall_s": wall, "work_s": work}))
"""


def serial(kind: str, folder: Path) -> dict:
    """The plain loop over the files of ``folder``, in a fresh process."""
    return json.loads(_run([PY, "-c", SERIAL_CHILD, kind, str(folder)]).stdout.strip().splitlines()[-1])


def spark_job(kind: str, folder: Path, master: str, work: Path, labels: Path | None) -> dict:
    """The Spark job on ``master``, in a fresh process; its own metrics.json timings."""
    out = work / f"{kind}-{folder.name}-{master.replace('[', '').replace(']', '')}"
    if kind == "plates":
        cmd = [PY, "jobs/plates_ocr.py", "--master", master, "--input", str(folder), "--output", str(out),
               "--set", "annotate=0", "--log-level", "WARNING"]
        if labels is not None:
            cmd += ["--set", f"labels={labels}"]
    else:
        cmd = [PY, "jobs/gtzan_features.py", "--master", master, "--input", str(folder), "--output", str(out),
               "--set", "plots_per_genre=0", "--log-level", "WARNING"]
    started = time.perf_counter()
    _run(cmd)
    total = time.perf_counter() - started
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    if kind == "plates":
        t = m["timing"]
        res = {"files": m["images"]["total"], "wall_s": t["wall_s"], "work_s": t["work_s"],
               "cores": t["cores"], "accuracy": m["accuracy"]["all"]}
    else:
        res = {"files": m["audio_files"], "wall_s": m["elapsed_s"], "work_s": m["work_seconds"],
               "cores": int(master.strip("local[]"))}
    res["process_s"] = total
    shutil.rmtree(out, ignore_errors=True)
    return res


# --- data -----------------------------------------------------------------------------------------------------------------

def data_sets(args: argparse.Namespace, work: Path) -> list[tuple[str, str, Path, Path | None]]:
    """(kind, name, folder, labels) for every data set benchmarked."""
    sets: list[tuple[str, str, Path, Path | None]] = []
    shared = Path(os.environ.get("SPARKFOLIO_DATA", REPO.parent / "shared" / "datasets"))
    if "plates" in args.only:
        scenes = work / "scenes"
        if not (scenes / "labels.csv").exists():
            _run([PY, "jobs/plates_generate.py", "--master", "local[2]", "--output", str(scenes),
                  "--set", f"count={args.images}", "--set", "seed=2024", "--log-level", "WARNING"])
        sets.append(("plates", "scenes", scenes / "images", scenes / "labels.csv"))
        crops = shared / "korean_plate_crops"
        if crops.exists():
            folder = work / "crops"
            if not folder.exists():
                folder.mkdir(parents=True)
                for p in sorted((crops / "images").glob("*.jpg"))[: args.crops]:
                    shutil.copy(p, folder / p.name)
            sets.append(("plates", "crops", folder, crops / "labels.csv"))
    if "gtzan" in args.only:
        clips = shared / "gtzan" / "trimmed_clips"
        folder = work / "clips"
        if not folder.exists():
            if clips.exists():
                folder.mkdir(parents=True)
                for p in sorted(clips.glob("*.wav"))[: args.clips]:
                    shutil.copy(p, folder / p.name)
            else:
                per_genre = max(1, args.clips // 10)
                _run([PY, "jobs/gtzan_generate.py", "--master", "local[2]", "--output", str(work / "gen_clips"),
                      "--set", f"clips_per_genre={per_genre}", "--log-level", "WARNING"])
                shutil.copytree(work / "gen_clips", folder)
        sets.append(("gtzan", "clips", folder, None))
    return sets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data sets (24 scenes, 32 crops, 20 clips)")
    ap.add_argument("--only", default="plates,gtzan", help="comma-separated: plates, gtzan")
    ap.add_argument("--images", type=int, default=96, help="generated scenes")
    ap.add_argument("--crops", type=int, default=128, help="real plate crops used (at most 128)")
    ap.add_argument("--clips", type=int, default=100, help="audio clips used")
    ap.add_argument("--work", default="/tmp/sparkfolio-bench-udfs", help="scratch folder")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    if args.quick:
        args.images, args.crops, args.clips = 24, 32, 20
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    work = Path(args.work) / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"load average before: {os.getloadavg()[0]:.1f}", flush=True)
    results = []
    for kind, name, folder, labels in data_sets(args, work):
        row = {"kind": kind, "set": name}
        row["serial"] = serial(kind, folder)
        print(f"{name}: serial {row['serial']['wall_s']:.1f} s", flush=True)
        for master in ("local[1]", "local[2]"):
            row[master] = spark_job(kind, folder, master, work, labels)
            print(f"{name}: {master} {row[master]['wall_s']:.1f} s", flush=True)
        results.append(row)
    unit = {"plates": "images", "gtzan": "clips"}
    print()
    print(f"{'set':<8} {'files':>5} {'serial s':>9} {'serial/s':>9} {'local[1] s':>10} {'local[2] s':>10} "
          f"{'local[2]/s':>10} {'vs serial':>9} {'1->2 cores':>10} {'overhead':>9}")
    for r in results:
        s, one, two = r["serial"], r["local[1]"], r["local[2]"]
        n = two["files"]
        overhead = (two["cores"] * two["wall_s"] - two["work_s"]) / two["work_s"] if two["work_s"] else float("nan")
        r["summary"] = {"unit": unit[r["kind"]], "files": n, "serial_per_s": n / s["wall_s"],
                        "local2_per_s": n / two["wall_s"], "speedup_vs_serial": s["wall_s"] / two["wall_s"],
                        "scaling_1_to_2": one["wall_s"] / two["wall_s"], "udf_overhead": overhead}
        print(f"{r['set']:<8} {n:>5} {s['wall_s']:>9.1f} {n / s['wall_s']:>9.2f} {one['wall_s']:>10.1f} "
              f"{two['wall_s']:>10.1f} {n / two['wall_s']:>10.2f} {s['wall_s'] / two['wall_s']:>8.2f}x "
              f"{one['wall_s'] / two['wall_s']:>9.2f}x {overhead:>8.1%}")
    for r in results:
        if r["kind"] == "plates" and "accuracy" in r["local[2]"]:
            print(f"{r['set']}: accuracy {json.dumps(r['local[2]']['accuracy'], ensure_ascii=False)}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
