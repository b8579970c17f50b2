"""Run every benchmark and rewrite its tables and plots: ``python -m benchmarks``.

    python -m benchmarks                      # all of them, into benchmarks/results/ (~13 min on
                                              # 2 CPU cores); run on a quiet machine
    python -m benchmarks --only speedup       # some of them
    python -m benchmarks --quick --results D  # every script on a tiny budget, into D: checks the
                                              # pipeline (a test does this); figures meaningless

On a machine with the real data and a GPU, ``python -m benchmarks.cifar10_gpu`` trains, calibrates
and measures the full-width cifar10 profile's table in one run.

Each script runs in its own process (a fresh torch, its own thread settings), one after the
other so that no two measure at once; the run stops at the first script that fails.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.common import REPO, RESULTS

# Steps in the order they run: script and its arguments (each also gets --results).
STEPS = {
    "offline_lesson": ["offline_lesson.py"],
    "results_table": ["results_table.py"],
    "speedup": ["speedup.py"],
    # The lab's full-width VGG (random weights: latency does not depend on them) on this CPU.
    "speedup_full_width": ["speedup.py", "--profile", "cifar10"],
    "accuracy_vs_sparsity": ["accuracy_vs_sparsity.py"],
    "grading_throughput": ["grading_throughput.py"],
}
# Extra arguments of --quick: a few repeats, small batches, two sparsities, a small grading
# batch. With PRUNEKIT_BUDGET=smoke every training and fine-tuning is one epoch.
QUICK_ARGS = {
    "offline_lesson": [],
    "results_table": ["--repeats", "2", "--batches", "1", "4"],
    "speedup": ["--repeats", "2", "--batches", "1", "4"],
    "speedup_full_width": ["--repeats", "2", "--batches", "1"],
    "accuracy_vs_sparsity": ["--scan", "0.5", "0.9", "--uniform", "0.5", "0.9"],
    "grading_throughput": ["--copies", "1", "--workers", "2", "--timeout", "10"],
}


def command(step: str, args: argparse.Namespace) -> list[str]:
    """The command line that runs ``step`` for this invocation."""
    script, *arguments = STEPS[step]
    line = [sys.executable, str(REPO / "benchmarks" / script), *arguments,
            "--results", str(args.results)]
    return line + (QUICK_ARGS[step] if args.quick else [])


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(STEPS), default=list(STEPS))
    parser.add_argument("--quick", action="store_true",
                        help="tiny budget (PRUNEKIT_BUDGET=smoke, few repeats): checks that "
                             "everything runs; the figures mean nothing")
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    env = dict(os.environ)
    if args.quick:
        env["PRUNEKIT_BUDGET"] = "smoke"
    for step in (s for s in STEPS if s in args.only):
        print(f"=== {step}: {' '.join(command(step, args)[1:])}", flush=True)
        started = time.perf_counter()
        completed = subprocess.run(command(step, args), env=env, cwd=REPO)
        print(f"=== {step}: exit {completed.returncode} after "
              f"{time.perf_counter() - started:.0f} s", flush=True)
        if completed.returncode != 0:
            return completed.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
