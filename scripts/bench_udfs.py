"""Benchmark of the UDF-heavy Spark jobs against the plain single-process loop they replace.

Usage::

    .venv/bin/python scripts/bench_udfs.py [--quick] [--only plates,gtzan] [--sets scenes] [--images 96] [--clips 100]
        [--copies K] [--rounds N] [--skip-one-core] [--json FILE]

For each data set, three runs, each in its own fresh process (a fresh JVM for Spark):

* ``serial``   -- the original projects' loop: ``sparkfolio.plates.serial.process_files`` (or
  ``sparkfolio.gtzan.serial.process_files``) over the same files, one after another, one thread;
* ``local[1]`` -- the Spark job (``plates-ocr`` / ``gtzan-features``) on one core;
* ``local[2]`` -- the same job on two cores;
* ``2 loops``  -- two serial loops side by side, each over every other file: what this machine's
  two cores give with no Spark at all, the ceiling any 2-core speed-up is measured against.

Data sets: ``scenes`` (plates-generate output: synthetic plates in 640x480 scenes), ``crops`` (the
real plate crops, when present) and ``clips`` (the real GTZAN clips, else gtzan-generate output).
Spark times are the jobs' own ``metrics.json`` wall times: the whole job, from its start (after
the session's start-up) to its metrics, so the listing, the UDF stage, the output writes and the
summaries all count. The per-file work is the serial loop's: the sum of its per-file times, the
same function on the same files with nothing else running beside it. Two overheads are measured
against that work. The **UDF overhead** is what the cores spent in the UDF stage beyond it,
``(cores * stage - serial work) / serial work``, with the stage timed from Spark's event log (first
task's launch to last task's end): Arrow transfers, the Python workers, task start-up, an
unevenly loaded last task, and per-file time lost to the JVM's threads competing with the workers
for the cores. The **job overhead** is the same over the whole job, ``(cores * wall - serial work)
/ serial work``: it adds what the job does once whatever its size (planning, the labels'
broadcast, the output writes, the metrics), during which the cores are mostly idle.
The Spark job's own per-file time (measured inside the UDF) is shown beside it as ``udf work``:
above the serial work it means the files themselves ran slower inside the job.

``--copies K`` benchmarks K copies of every file (hard links in ``c1/`` .. ``cK/``), so a job's
fixed costs (planning, task start-up, the output writes) weigh as they would on a real input of
thousands of files rather than a hundred.

Each run also records the CPU seconds of its process tree (``cpu_s``, JVM start-up included) and
the 1-minute load average before it, because on a shared machine wall times mean little.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
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


def _tree_cpu(root: int, seen: dict[int, float]) -> None:
    """Record in ``seen`` the CPU seconds so far of ``root`` and every process below it (Linux /proc).

    Per process: its own time plus that of the children it has reaped (tesseract runs); the JVM is
    never reaped by the job's Python, so it must be read while it lives.
    """
    tick = os.sysconf("SC_CLK_TCK")
    parent: dict[int, int] = {}
    cpu: dict[int, float] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as fh:
                fields = fh.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parent[int(entry)] = int(fields[1])
        cpu[int(entry)] = sum(int(x) for x in fields[11:15]) / tick
    tree, grew = {root}, True
    while grew:
        grew = False
        for pid, ppid in parent.items():
            if ppid in tree and pid not in tree:
                tree.add(pid)
                grew = True
    for pid in tree:
        seen[pid] = max(seen.get(pid, 0.0), cpu.get(pid, 0.0))


def _measured(cmd: list[str], env: dict[str, str] | None = None) -> tuple[subprocess.CompletedProcess, dict]:
    """Run ``cmd``; also its tree's CPU seconds (sampled every 0.2 s) and the load average before it."""
    import threading

    load = os.getloadavg()[0]
    seen: dict[int, float] = {}
    proc = subprocess.Popen(cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env or ENV)
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            _tree_cpu(proc.pid, seen)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    done.set()
    sampler.join()
    if proc.returncode != 0:
        sys.stderr.write(out[-3000:] + err[-3000:])
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}")
    result = subprocess.CompletedProcess(cmd, proc.returncode, out, err)
    return result, {"cpu_s": round(sum(seen.values()), 2), "load_before": round(load, 2)}


# --- children: one measurement each, JSON on the last stdout line -----------------------------------------------------

SERIAL_CHILD = r"""
import json, sys, time
from pathlib import Path
kind, folder = sys.argv[1], Path(sys.argv[2])
shard, shards = (int(v) for v in sys.argv[3].split("/")) if len(sys.argv) > 3 else (0, 1)
exts = {"plates": (".jpg", ".jpeg", ".png"), "gtzan": (".wav", ".au")}[kind]
paths = sorted(str(p) for p in folder.rglob("*") if p.suffix.lower() in exts)[shard::shards]
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
    proc, extra = _measured([PY, "-c", SERIAL_CHILD, kind, str(folder)])
    return {**json.loads(proc.stdout.strip().splitlines()[-1]), **extra}


def serial_side_by_side(kind: str, folder: Path, loops: int = 2) -> dict:
    """``loops`` plain loops at once, each over every ``loops``-th file: the machine's own multi-core ceiling."""
    import threading

    results: list[dict] = [{} for _ in range(loops)]

    def one(i: int) -> None:
        proc, extra = _measured([PY, "-c", SERIAL_CHILD, kind, str(folder), f"{i}/{loops}"])
        results[i] = {**json.loads(proc.stdout.strip().splitlines()[-1]), **extra}

    load = os.getloadavg()[0]
    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(i,)) for i in range(loops)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = time.perf_counter() - started
    if any(not r for r in results):
        raise SystemExit(f"a side-by-side serial loop over {folder} failed")
    return {"files": sum(r["files"] for r in results), "wall_s": max(r["wall_s"] for r in results),
            "work_s": sum(r["work_s"] for r in results), "process_s": total,
            "cpu_s": round(sum(r["cpu_s"] for r in results), 2), "load_before": round(load, 2)}


def _with_event_log(folder: Path) -> dict[str, str]:
    """ENV plus spark-submit arguments that make the job's JVM write Spark's event log into ``folder``."""
    submit = ENV.get("PYSPARK_SUBMIT_ARGS", "pyspark-shell").rsplit("pyspark-shell", 1)[0]
    conf = {"spark.eventLog.enabled": "true", "spark.eventLog.dir": folder.as_uri(), "spark.eventLog.compress": "false"}
    return {**ENV, "PYSPARK_SUBMIT_ARGS": submit + " ".join(f"--conf {k}={v}" for k, v in conf.items()) + " pyspark-shell"}


def udf_stage(events: Path) -> dict[str, float]:
    """The UDF stage of a job from its event log: the stage whose tasks took longest in total.

    ``udf_stage_s`` runs from its first task's launch to its last task's end (so a last task
    running alone counts), ``udf_task_s`` is the sum of its tasks' times.
    """
    tasks: dict[int, list[tuple[int, int]]] = {}
    for f in events.rglob("*"):
        if not f.is_file() or f.name.startswith((".", "appstatus")):
            continue
        with open(f, encoding="utf-8") as fh:
            for line in fh:
                if '"SparkListenerTaskEnd"' not in line:
                    continue
                e = json.loads(line)
                info = e["Task Info"]
                tasks.setdefault(e["Stage ID"], []).append((info["Launch Time"], info["Finish Time"]))
    if not tasks:
        raise SystemExit(f"no Spark event log under {events}")
    times = max(tasks.values(), key=lambda ts: sum(end - start for start, end in ts))
    return {"udf_stage_s": (max(end for _, end in times) - min(start for start, _ in times)) / 1000,
            "udf_task_s": sum(end - start for start, end in times) / 1000, "udf_tasks": len(times)}


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
    events = out.with_name(f"{out.name}-events")
    shutil.rmtree(events, ignore_errors=True)
    events.mkdir(parents=True)
    started = time.perf_counter()
    _, extra = _measured(cmd, _with_event_log(events))
    total = time.perf_counter() - started
    extra.update(udf_stage(events))
    shutil.rmtree(events, ignore_errors=True)
    m = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    if kind == "plates":
        t = m["timing"]
        res = {"files": m["images"]["total"], "wall_s": t["wall_s"], "work_s": t["work_s"],
               "cores": t["cores"], "accuracy": m["accuracy"]["all"]}
    else:
        res = {"files": m["audio_files"], "wall_s": m["elapsed_s"], "work_s": m["work_seconds"],
               "cores": int(master.strip("local[]"))}
    res.update(process_s=total, **extra)
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


def labels_of_copies(labels: Path, folder: Path, copies: int, target: Path) -> Path:
    """A labels CSV for the copies made by :func:`with_copies`: each label once per ``cK/`` folder.

    plates-ocr matches a label whose path is a suffix of the image's path, so the original's
    paths (relative to the data set, e.g. ``images/plate_000001.jpg``) match no copy.
    """
    import csv

    with open(labels, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    root = folder.name + "/"
    with open(target, "w", encoding="utf-8", newline="") as fh:
        out = csv.DictWriter(fh, fieldnames=list(rows[0]) if rows else ["path", "text"])
        out.writeheader()
        for k in range(1, copies + 1):
            for r in rows:
                inside = r["path"][len(root):] if r["path"].startswith(root) else r["path"]
                out.writerow({**r, "path": f"c{k}/{inside}"})
    return target


def with_copies(folder: Path, copies: int, work: Path, name: str) -> Path:
    """``folder``'s files ``copies`` times over, hard-linked into ``c1/`` .. ``cK/`` (same names inside each)."""
    if copies <= 1:
        return folder
    target = work / f"{name}-x{copies}"
    if not target.exists():
        tmp = work / f".{name}-x{copies}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        files = [p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() != ".csv"]
        for k in range(1, copies + 1):
            for p in files:
                dest = tmp / f"c{k}" / p.relative_to(folder)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.link(p, dest)
        tmp.rename(target)
    return target


UNITS = {"plates": "images", "gtzan": "clips"}


def summarise(one: dict, unit: str) -> dict:
    """Throughputs, speed-ups and the two overheads of one round's measurements."""
    s, two, pair = one["serial"], one["local[2]"], one["2 loops"]
    single = one.get("local[1]", {"wall_s": float("nan")})
    n = two["files"]
    work = s["work_s"]  # the serial loop's per-file time: the work itself, nothing beside it
    cores = two["cores"]
    return {"unit": unit, "files": n, "serial_per_s": n / s["wall_s"],
            "local2_per_s": n / two["wall_s"], "speedup_vs_serial": s["wall_s"] / two["wall_s"],
            "scaling_1_to_2": single["wall_s"] / two["wall_s"],
            "udf_overhead": (cores * two["udf_stage_s"] - work) / work if work else float("nan"),
            "job_overhead": (cores * two["wall_s"] - work) / work if work else float("nan"),
            "fixed_s": two["wall_s"] - two["udf_stage_s"],
            "udf_stage_s": two["udf_stage_s"], "udf_task_s": two["udf_task_s"],
            "work_s": work, "udf_work_s": two["work_s"], "two_loops_work_s": pair["work_s"],
            "two_loops_speedup": s["wall_s"] / pair["wall_s"]}


def medians(rounds: list[dict]) -> dict:
    """Every run's numbers, and the summary, as the median over ``rounds`` (the one round itself when alone).

    Ratios are medians of each round's own ratio, not ratios of medians: a round's runs follow
    each other within minutes, so the machine's slower and faster spells (which moved the same
    serial loop by up to 27 % between runs) cancel within a round more than across rounds.
    """
    import statistics

    def med(dicts: list[dict]) -> dict:
        out = dict(dicts[0])
        for key, value in dicts[0].items():
            if isinstance(value, bool):
                continue
            if isinstance(value, int):  # counts stay whole numbers
                out[key] = statistics.median_low(d[key] for d in dicts)
            elif isinstance(value, float):
                out[key] = statistics.median(d[key] for d in dicts)
        return out

    return {key: med([r[key] for r in rounds]) for key in rounds[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small data sets (24 scenes, 32 crops, 20 clips)")
    ap.add_argument("--only", default="plates,gtzan", help="comma-separated: plates, gtzan")
    ap.add_argument("--sets", default="", help="comma-separated subset of: scenes, crops, clips (default all of --only)")
    ap.add_argument("--images", type=int, default=96, help="generated scenes")
    ap.add_argument("--crops", type=int, default=128, help="real plate crops used (at most 128)")
    ap.add_argument("--clips", type=int, default=100, help="audio clips used")
    ap.add_argument("--skip-one-core", action="store_true",
                    help="leave out the local[1] runs (no 1 -> 2 cores scaling; saves about half the Spark time)")
    ap.add_argument("--copies", type=int, default=1, help="benchmark K copies of every file (amortises fixed costs)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="measure every set this many times over (serial, 2 loops, Spark in turn) and report medians")
    ap.add_argument("--work", default="/tmp/sparkfolio-bench-udfs", help="scratch folder")
    ap.add_argument("--json", help="also write the results here")
    ap.add_argument("--driver-java-options", default="",
                    help="JVM options of the Spark runs' driver, e.g. --driver-java-options=-XX:TieredStopAtLevel=1 (JIT threads "
                         "compete with the Python workers for the cores)")
    args = ap.parse_args()
    if args.driver_java_options:
        # pyspark starts the JVM with spark-submit and these arguments (the session's conf comes too late).
        ENV["PYSPARK_SUBMIT_ARGS"] = f"--driver-java-options {shlex.quote(args.driver_java_options)} pyspark-shell"
    if args.quick:
        args.images, args.crops, args.clips = 24, 32, 20
    args.only = [s.strip() for s in args.only.split(",") if s.strip()]
    args.sets = [s.strip() for s in args.sets.split(",") if s.strip()]
    work = Path(args.work) / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, python {platform.python_version()}, "
          f"load average before: {os.getloadavg()[0]:.1f}"
          + (f", driver JVM options: {args.driver_java_options}" if args.driver_java_options else ""), flush=True)
    results = []
    for kind, name, folder, labels in data_sets(args, work):
        if args.sets and name not in args.sets:
            continue
        copied = with_copies(folder, args.copies, work, name)
        if labels is not None and copied != folder:
            labels = labels_of_copies(labels, folder, args.copies, copied.with_name(f"{copied.name}-labels.csv"))
        folder = copied
        rounds = []
        for k in range(1, args.rounds + 1):
            tag = f"{name}" + (f" round {k}" if args.rounds > 1 else "")
            one = {"serial": serial(kind, folder)}
            print(f"{tag}: serial {one['serial']['wall_s']:.1f} s", flush=True)
            one["2 loops"] = serial_side_by_side(kind, folder)
            print(f"{tag}: 2 loops side by side {one['2 loops']['wall_s']:.1f} s", flush=True)
            for master in (("local[2]",) if args.skip_one_core else ("local[1]", "local[2]")):
                one[master] = spark_job(kind, folder, master, work, labels)
                print(f"{tag}: {master} {one[master]['wall_s']:.1f} s", flush=True)
            one["summary"] = summarise(one, UNITS[kind])
            rounds.append(one)
        row = {"kind": kind, "set": name, "copies": args.copies, **medians(rounds)}
        if args.rounds > 1:
            row["rounds"] = rounds
        results.append(row)
    print()
    if args.rounds > 1:
        print(f"Each figure below is the median over {args.rounds} rounds (each round: serial, 2 loops, Spark, in "
              f"that order); ratios and overheads are medians of each round's own.")
        for r in results:
            print(f"{r['set']}: vs serial by round " + " ".join(f"{x['summary']['speedup_vs_serial']:.2f}x" for x in r["rounds"])
                  + "; UDF overhead by round " + " ".join(f"{x['summary']['udf_overhead']:.1%}" for x in r["rounds"])
                  + "; 2 loops by round " + " ".join(f"{x['summary']['two_loops_speedup']:.2f}x" for x in r["rounds"]))
        print()
    print(f"{'set':<8} {'files':>5} {'serial s':>9} {'serial/s':>9} {'local[1] s':>10} {'local[2] s':>10} "
          f"{'local[2]/s':>10} {'vs serial':>9} {'1->2 cores':>10} {'2 loops':>8}")
    for r in results:
        s, two, t = r["serial"], r["local[2]"], r["summary"]
        one = r.get("local[1]", {"wall_s": float("nan")})
        n = t["files"]
        print(f"{r['set']:<8} {n:>5} {s['wall_s']:>9.1f} {t['serial_per_s']:>9.2f} {one['wall_s']:>10.1f} "
              f"{two['wall_s']:>10.1f} {t['local2_per_s']:>10.2f} {t['speedup_vs_serial']:>8.2f}x "
              f"{t['scaling_1_to_2']:>9.2f}x {t['two_loops_speedup']:>7.2f}x")
    print()
    print("Where local[2]'s time went: the UDF stage (first task's start to last task's end, from Spark's event log),")
    print("the rest of the job (planning, broadcasts, writes, metrics), and the overheads against the serial work:")
    print(f"{'set':<8} {'job s':>7} {'UDF stage s':>11} {'rest s':>7} {'tasks':>5} {'task s':>7} {'serial work s':>13} "
          f"{'udf work s':>10} {'UDF overhead':>12} {'job overhead':>12}")
    for r in results:
        t, two = r["summary"], r["local[2]"]
        print(f"{r['set']:<8} {two['wall_s']:>7.1f} {t['udf_stage_s']:>11.1f} {t['fixed_s']:>7.1f} {two['udf_tasks']:>5} "
              f"{t['udf_task_s']:>7.1f} {t['work_s']:>13.1f} {t['udf_work_s']:>10.1f} {t['udf_overhead']:>11.1%} "
              f"{t['job_overhead']:>11.1%}")
    print()
    print("CPU seconds of each run's process tree (JVM start included) and the load average before it:")
    for r in results:
        print(f"{r['set']:<8} " + "  ".join(f"{k} {r[k]['cpu_s']:.1f} s (load {r[k]['load_before']:.1f})"
                                           for k in ("serial", "2 loops", "local[1]", "local[2]") if k in r))
    for r in results:
        if r["kind"] == "plates" and "accuracy" in r["local[2]"]:
            print(f"{r['set']}: accuracy {json.dumps(r['local[2]']['accuracy'], ensure_ascii=False)}")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    if args.json:
        for r in results:
            r["driver_java_options"] = args.driver_java_options
        Path(args.json).write_text(json.dumps(results, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
