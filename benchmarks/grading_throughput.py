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
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from autograder.core import batch  # noqa: E402
from autograder.frontends import course  # noqa: E402
from autograder.frontends.examples import make_examples  # noqa: E402
from benchmarks.common import add_results_argument, machine_line, results_dir  # noqa: E402

# Stages of autograder.core.grade's timings, in the order they run, with what each covers.
STAGE_LABELS = {
    "load": "reading the submission (zip, notebook, model files)",
    "plan": "building the hidden checks' inputs",
    "sandbox": "sandbox run: isolation set-up, student process, loading its results",
    "sandbox_startup": "- of which the student process's Python + torch start-up",
    "sandbox_cells": "- of which executing the notebook's cells",
    "sandbox_probes": "- of which calling the student's functions on the checks' inputs",
    "models": "loading the submitted model files",
    "accuracy": "accuracy of the submitted models (hidden test split)",
    "latency": "latency measurement (paired against the reference)",
    "checks": "judging every other check",
}


def build_batch(folder: Path, copies: int) -> list[batch.Submission]:
    """Copies of every example zip under distinct names in ``folder``."""
    for example in make_examples():
        for copy_index in range(copies):
            shutil.copy(example.zip_path, folder / f"{example.name}-{copy_index}.zip")
    return batch.discover([folder])


def stage_medians(results) -> dict[str, float]:
    """Median seconds of each grading stage over the submissions that completed (not the time
    outs, which spend the limit in the sandbox)."""
    finished = [r for r in results if r.status == "graded"] or results
    stages = [s for s in STAGE_LABELS if any(s in r.timings_s for r in finished)]
    return {stage: statistics.median(r.timings_s.get(stage, 0.0) for r in finished)
            for stage in stages}


def run(submissions, workers: int, timeout: float, out: Path) -> dict:
    grader = batch.CoreGrader("offline", timeout_s=timeout)
    batch_run = course.grade_class(submissions, grader, out, workers=workers, redo=True,
                                   progress=False)
    results = batch_run.results
    totals = [r.timings_s.get("total", 0.0) for r in results]
    return {"workers": workers, "batch_s": batch_run.seconds, "count": len(results),
            "median_s": statistics.median(totals), "stages": stage_medians(results),
            "graded_median_s": statistics.median(
                r.timings_s.get("total", 0.0) for r in results if r.status == "graded"),
            "peak_bytes": max(r.peak_memory_bytes for r in results),
            "statuses": sorted({r.status for r in results})}


def markdown(runs, timeout) -> str:
    lines = ["# Grading throughput (offline profile)", "",
             f"Machine: {machine_line()}. Per-submission timeout {timeout:g} s (the "
             "infinite-loop examples spend it all). The batch: every example submission "
             "(`python -m autograder examples`) copied under new ids.", "",
             "| workers | submissions | batch wall time | submissions per minute | median s per "
             "submission (all / graded ones) | peak memory of one grading (grader + student "
             "process) | statuses |", "|---|---|---|---|---|---|---|"]
    for r in runs:
        lines.append(f"| {r['workers']} | {r['count']} | {r['batch_s']:.0f} s | "
                     f"{60 * r['count'] / r['batch_s']:.1f} | {r['median_s']:.1f} s / "
                     f"{r['graded_median_s']:.1f} s | {r['peak_bytes'] / 2**30:.2f} GiB | "
                     f"{', '.join(r['statuses'])} |")
    lines += ["", "Where the time goes: median seconds per fully graded submission, per stage "
              "(the student process's own parts are as it reported them):", "",
              "| stage | " + " | ".join(f"{r['workers']} worker(s)" for r in runs) + " |",
              "|---|" + "---|" * len(runs)]
    for stage, label in STAGE_LABELS.items():
        if stage in runs[0]["stages"]:
            lines.append(f"| {label} | " + " | ".join(
                f"{r['stages'].get(stage, 0.0):.2f}" for r in runs) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    add_results_argument(parser)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        (scratch / "submissions").mkdir()
        submissions = build_batch(scratch / "submissions", args.copies)
        runs = [run(submissions, workers, args.timeout, scratch / f"out-{workers}")
                for workers in args.workers]
    text = markdown(runs, args.timeout)
    (results_dir(args) / "grading_throughput.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
