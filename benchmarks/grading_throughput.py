"""Grading throughput of the hardened grader: seconds per submission, batch time with 1 and 2
workers, where the time goes, and peak memory.

Run: ``python benchmarks/grading_throughput.py [--copies 3] [--timeout 30]``.
Writes ``benchmarks/results/grading_throughput.md``.

The batch is the generated example submissions (``python -m autograder examples``: solved,
blank, typical bugs, a syntax error, ``sys.exit()`` and an infinite loop), each copied
``--copies`` times under new ids (a new id means a new per-submission seed, so no copy is a
cache hit). The same batch is graded with 1 and then 2 workers, each into a fresh folder.
"""
from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from autograder import batch, cli  # noqa: E402
from autograder.examples import make_examples  # noqa: E402

RESULTS = REPO / "benchmarks" / "results"


def build_batch(folder: Path, copies: int) -> list[batch.Submission]:
    """Copies of every example zip under distinct names in ``folder``."""
    for example in make_examples():
        for copy_index in range(copies):
            shutil.copy(example.path, folder / f"{example.name}-{copy_index}.zip")
    return batch.discover([folder])


def stage_medians(results) -> dict[str, float]:
    """Median seconds of each grading stage over the graded submissions."""
    stages = sorted({stage for r in results for stage in r.timings_s})
    return {stage: statistics.median(r.timings_s.get(stage, 0.0) for r in results) for stage in stages}


def run(submissions, workers: int, timeout: float, out: Path) -> dict:
    grader = cli._core_grader("offline", timeout)
    batch_run = cli.grade_batch(submissions, grader, out, workers=workers, redo=True, progress=False)
    results = batch_run.results
    totals = [sum(r.timings_s.values()) for r in results]
    return {"workers": workers, "batch_s": batch_run.seconds, "count": len(results),
            "median_s": statistics.median(totals), "stages": stage_medians(results),
            "peak_bytes": max(r.peak_memory_bytes for r in results),
            "statuses": sorted({r.status for r in results})}


def markdown(runs, timeout) -> str:
    lines = ["# Grading throughput (offline profile)", "",
             f"Machine: {platform.machine()}, 2 cores. Per-submission timeout {timeout:g} s "
             "(the infinite-loop examples spend it all).", "",
             "| workers | submissions | batch wall time | median s per submission | peak memory of one "
             "grading (grader + student process) | statuses |", "|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['workers']} | {r['count']} | {r['batch_s']:.0f} s | {r['median_s']:.1f} s | "
                     f"{r['peak_bytes'] / 2**30:.2f} GiB | {', '.join(r['statuses'])} |")
    lines += ["", "Where the time goes (median seconds per submission, 1 worker):", "",
              "| stage | seconds |", "|---|---|"]
    lines += [f"| {stage} | {seconds:.2f} |" for stage, seconds in runs[0]["stages"].items()]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        (scratch / "submissions").mkdir()
        submissions = build_batch(scratch / "submissions", args.copies)
        runs = [run(submissions, workers, args.timeout, scratch / f"out-{workers}") for workers in (1, 2)]
    text = markdown(runs, args.timeout)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "grading_throughput.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
