"""How much parallel CPU throughput this machine really has: one busy process against N side by side.

Usage::

    .venv/bin/python scripts/bench_cores.py [--processes 2] [--repeat 3]

Every speed-up target of the project ("at least 1.7x the serial loop on 2 cores", "faster than
single-process pandas on the same 2 cores") assumes the cores run side by side at full speed.
A virtual machine can show two CPUs that share one physical core's time. This script runs a
fixed CPU-bound task (SHA-256 of 200 MB in memory, then a pure-Python loop) alone, then in N
processes at once, and prints the throughput of N against one: about N on real cores, about 1
where the CPUs share one core.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

TASKS = {
    "sha256": "import hashlib; d = b'x' * 200_000_000\nfor _ in range(5): hashlib.sha256(d).digest()",
    "python_loop": "s = 0\nfor i in range(20_000_000): s += i * i",
}


def timed_batch(code: str, processes: int) -> float:
    """Wall seconds for ``processes`` fresh interpreters running ``code`` at the same time."""
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(processes)]
    for p in procs:
        if p.wait() != 0:
            raise SystemExit(f"the benchmark task failed (exit {p.returncode})")
    return time.perf_counter() - started


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--processes", type=int, default=os.cpu_count() or 2, help="processes side by side")
    ap.add_argument("--repeat", type=int, default=3, help="measurements of each kind (the best is kept)")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args(argv)
    print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, "
          f"load average before {os.getloadavg()[0]:.1f}", flush=True)
    results = {}
    for name, code in TASKS.items():
        one = min(timed_batch(code, 1) for _ in range(args.repeat))
        many = min(timed_batch(code, args.processes) for _ in range(args.repeat))
        speedup = args.processes * one / many
        results[name] = {"one_s": round(one, 3), "side_by_side_s": round(many, 3), "processes": args.processes,
                         "throughput_vs_one": round(speedup, 2)}
        print(f"{name:<12} one process {one:6.2f} s; {args.processes} side by side {many:6.2f} s "
              f"-> {speedup:.2f}x the throughput of one", flush=True)
    print(f"load average after {os.getloadavg()[0]:.1f}")
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
