"""What hostile submissions cost the grader itself: peak memory and time of one grading.

Run: ``python -m benchmarks.grader_resource_attacks [--results DIR] [--kit PATH --label L]``.
Writes ``grader_resource_attacks.md`` (and a raw JSON log) in the results folder.

Each submission is graded by the hardened grader (``autograder.core.grade.grade_submission``, offline
profile) in a fresh Python process, which then reports its own peak resident set (the grader's
process only; the student's sandbox is bounded by its own limits) and the grading's wall time:

- ``honest``: the solved example submission with the reference model files;
- ``huge_width``: the blank notebook with model files whose classifier claims a million classes
  (the weight a stride-0 view of one number, so the zip is a few KB; the convs are honest, so
  the width checks of the convs do not catch it);
- ``decoy_notebooks``: 64 notebooks of 20 MiB each (compressing to ~1.8 MB), none of them the
  lab's;
- ``big_result``: a notebook whose get_sparsity returns a list of 1.5 million numbers (a 12 MB
  pickle in the result file).

``--kit PATH`` grades with the kit checked out at PATH (e.g. a ``git worktree`` of an older
commit) using this script's submissions, so that two versions are measured side by side.
"""
from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WIDE_CLASSES = 1_000_000
DECOYS, DECOY_BYTES = 64, 19 * 2**20  # just under the per-notebook cap
BIG_RESULT_VALUES = 1_500_000

GRADE_ONE = """
import json, sys, time
from pathlib import Path
from autograder.core.grade import GradingConfig, grade_submission
config = GradingConfig.for_profile("offline", timeout_s=60)
started = time.perf_counter()
result = grade_submission(Path(sys.argv[1]), config, Path(sys.argv[2]))
print(json.dumps({"seconds": time.perf_counter() - started, "status": result.status,
                  "grader_bytes": result.memory_bytes.get("grader", 0),
                  "reason": result.reason[:200], "total": result.total}))
"""


def notebook_json(sources: list[str]) -> bytes:
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nbformat.writes(notebook).encode()


def zip_of(path: Path, entries: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return path


def wide_model_file() -> bytes:
    """The offline VGG's state dict with a classifier of WIDE_CLASSES classes (stride-0 views of
    one value: tiny on disk)."""
    import torch

    from prunekit.model import VGG
    from prunekit.profiles import get_profile

    state = VGG(width=get_profile("offline").width).state_dict()
    features = state["classifier.weight"].shape[1]
    state["classifier.weight"] = torch.zeros(1).expand(WIDE_CLASSES, features)
    state["classifier.bias"] = torch.zeros(1).expand(WIDE_CLASSES)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    return buffer.getvalue()


def make_submissions(folder: Path) -> dict[str, Path]:
    from autograder.frontends.examples import make_examples

    examples = {e.zip_path.stem: e.zip_path for e in make_examples(folder / "examples",
                                                                   "offline")}
    blank = notebook_json(["x = 1\n"])
    wide = wide_model_file()
    decoy = b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "pad": "' + \
        b" " * DECOY_BYTES + b'"}'
    big = notebook_json([f"def get_sparsity(tensor):\n    return list(range({BIG_RESULT_VALUES}))\n"])
    return {
        "honest": examples["solved"],
        "huge_width": zip_of(folder / "huge_width.zip", {"pruning_lab.ipynb": blank,
                                                         "finegrained.pt": wide,
                                                         "channel_pruned.pt": wide}),
        "decoy_notebooks": zip_of(folder / "decoy_notebooks.zip", {
            f"decoy-{i}.ipynb": decoy for i in range(DECOYS)}),
        "big_result": zip_of(folder / "big_result.zip", {"pruning_lab.ipynb": big}),
    }


def grade_in_fresh_process(kit: Path, submission: Path, workdir: Path) -> dict:
    done = subprocess.run([sys.executable, "-c", GRADE_ONE, str(submission), str(workdir)],
                          cwd=kit, capture_output=True, text=True, timeout=900)
    try:
        return json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return {"seconds": float("nan"), "status": f"failed: {done.stderr[-300:]}",
                "grader_bytes": 0, "reason": "", "total": 0}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=REPO / "benchmarks" / "results")
    parser.add_argument("--kit", type=Path, default=REPO, help="the kit that grades")
    parser.add_argument("--label", default="this version")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="resource-attacks-") as scratch:
        submissions = make_submissions(Path(scratch))
        rows = {name: dict(grade_in_fresh_process(args.kit.resolve(), path,
                                                  Path(scratch) / f"work-{name}"),
                           zip_bytes=path.stat().st_size)
                for name, path in submissions.items()}
    args.results.mkdir(parents=True, exist_ok=True)
    log = args.results / "logs" / f"grader_resource_attacks-{args.label.replace(' ', '_')}.json"
    log.parent.mkdir(parents=True, exist_ok=True)
    log.write_text(json.dumps(rows, indent=1) + "\n")
    lines = [f"| submission | zip | grader peak | grading time | status | ({args.label})",
             "|---|---|---|---|---|"]
    for name, row in rows.items():
        lines.append(f"| `{name}` | {row['zip_bytes'] / 1024:.0f} KiB | "
                     f"{row['grader_bytes'] / 2**20:.0f} MiB | {row['seconds']:.1f} s | "
                     f"{row['status']} |")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
