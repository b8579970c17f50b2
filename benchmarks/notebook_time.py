"""How long does the student notebook take, solved, on a profile? The whole of it, cell by cell.

Measures the wall-clock time of executing the solved student notebook top to bottom, the way a
student runs it (``jupyter nbconvert --execute``, a fresh kernel, torch's default threads), on a
profile and budget, with the per-cell times nbclient records; the shipped base checkpoint is put
beside it (no base training in the measured time). This is what chooses the ``cifar10-cpu``
width: the widest VGG whose notebook stays within 20 minutes on 2 CPU cores at the full budget.

It runs the notebook once per training path (``--precisions``, default float32 then bfloat16:
the values of ``$PRUNEKIT_CPU_PRECISION``) and puts them side by side; on a CPU without bfloat16
units the bfloat16 run is emulated and slower, which the table then shows.

Run (about 1.5 hours for cifar10-cpu's two runs on 2 idle cores; needs the real images for it,
found as everywhere through ``$PRUNEKIT_DATA`` or ``data/cifar10.npz``):

    python benchmarks/notebook_time.py --profile cifar10-cpu            # full budget
    python benchmarks/notebook_time.py --profile offline --budget smoke # a quick check

Writes ``benchmarks/results/notebook_time_<profile>.md`` (total, the slowest cells, the machine
and its load), keeps the executed notebooks under ``benchmarks/results/logs/`` and the last run's
pictures under ``benchmarks/results/figures/`` (``notebook_<profile>_<cell id>.png``).
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

import nbformat  # noqa: E402

from assignment.build import build  # noqa: E402
from autograder.manifest import base_checkpoint_path, grader_data_root  # noqa: E402
from benchmarks.common import add_results_argument, machine_line, results_dir  # noqa: E402
from prunekit.data.cifar10 import ARRAY_FILE  # noqa: E402
from prunekit.profiles import apply_budget, get_profile  # noqa: E402
from prunekit.runtime import BFLOAT16_CPU_FLAGS, cpu_flags  # noqa: E402
from assignment.notebooks import code_cells, error_outputs, fill_answers, read  # noqa: E402

SLOWEST_CELLS = 8   # cells listed in the table


def prepare(folder: Path, profile_name: str) -> Path:
    """Build the lab (no self-test) into ``folder``, fill every answer with the master's
    solution, put the profile's base checkpoint and data beside the notebook; returns the
    student folder."""
    built = build(folder / "student_template", folder / "autograder", run_self_test=False)
    student = built.student_dir
    solved = read(built.autograder_dir / "pruning_lab.ipynb")
    nbformat.write(fill_answers(read(student / "pruning_lab.ipynb"), solved),
                   str(student / "pruning_lab.ipynb"))
    checkpoint = base_checkpoint_path(profile_name)
    shutil.copy2(checkpoint, student / "checkpoints" / checkpoint.name)
    if get_profile(profile_name).dataset == "cifar10":
        (student / "data").mkdir(exist_ok=True)
        (student / "data" / ARRAY_FILE).symlink_to((grader_data_root() / ARRAY_FILE).resolve())
    return student


def execute(student: Path, profile_name: str, budget: str, precision: str) -> tuple[float, Path]:
    """Run the notebook with nbconvert in ``student``, training in ``precision`` (the value of
    ``$PRUNEKIT_CPU_PRECISION``); (wall seconds, executed notebook)."""
    env = {**os.environ, "PRUNEKIT_PROFILE": profile_name, "PRUNEKIT_BUDGET": budget,
           "PRUNEKIT_CPU_PRECISION": precision}
    env.pop("PRUNEKIT_DATA", None)  # the notebook finds ./data beside it, as a student's does
    output = f"executed-{precision}.ipynb"
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
                    "--ExecutePreprocessor.timeout=3600", "--output", output,
                    "pruning_lab.ipynb"], cwd=student, env=env, check=True, capture_output=True)
    return time.perf_counter() - start, student / output


def cell_seconds(nb) -> list[tuple[float, str, str]]:
    """(seconds, cell id, first line) of every executed code cell, from nbclient's timing."""
    rows = []
    for cell in code_cells(nb):
        timing = cell.get("metadata", {}).get("execution", {})
        begin, end = timing.get("iopub.execute_input"), timing.get("shell.execute_reply")
        if begin and end:
            seconds = (datetime.fromisoformat(end.rstrip("Z")) -
                       datetime.fromisoformat(begin.rstrip("Z"))).total_seconds()
            first = cell.source.strip().splitlines()[0] if cell.source.strip() else ""
            rows.append((seconds, cell.get("id", "?"), first[:70]))
    return rows


def save_figures(nb, folder: Path, prefix: str) -> list[Path]:
    """Write every picture the executed notebook drew to ``folder`` as
    ``<prefix>_<cell id>[_<n>].png``; returns the paths (the plots a student sees, kept as files)."""
    import base64

    written = []
    for cell in code_cells(nb):
        images = [o["data"]["image/png"] for o in cell.get("outputs", [])
                  if "image/png" in o.get("data", {})]
        for index, image in enumerate(images):
            suffix = f"_{index + 1}" if len(images) > 1 else ""
            path = folder / f"{prefix}_{cell.get('id', 'cell')}{suffix}.png"
            path.write_bytes(base64.b64decode(image))
            written.append(path)
    return written


def markdown(profile_name: str, budget: str, runs: dict, load: tuple) -> str:
    """The results page: one column per precision (``runs``: precision -> (total seconds, cell
    rows, errors)), the slowest cells of the first as rows."""
    profile = apply_budget(get_profile(profile_name), budget)
    threads = os.environ.get("OMP_NUM_THREADS") or "torch's default"
    names = list(runs)
    flags = ", ".join(sorted(cpu_flags() & BFLOAT16_CPU_FLAGS)) or "none"
    lines = [f"# Student notebook time ({profile_name} profile, {budget} budget)", "",
             f"Generated by `python benchmarks/notebook_time.py --profile {profile_name} --budget "
             f"{budget}` on {time.strftime('%Y-%m-%d')}. Machine: {machine_line()}; bfloat16 "
             f"units: {flags}; the notebook's kernel ran with OMP_NUM_THREADS={threads}; load "
             f"average before / after: {load[0]:.2f} / {load[1]:.2f}. The runs alternate on the "
             f"same machine, each in a fresh kernel; `PRUNEKIT_CPU_PRECISION` picks the path "
             f"(training and fine-tuning only: evaluation is float32 on both).", "",
             f"Profile: VGG width {profile.width}, fine-tuning {profile.finetune.epochs} epoch(s) "
             f"per pruned model, scan of {len(profile.scan_sparsities)} sparsities on "
             f"{profile.scan_eval_size or 'all'} test images. The shipped base checkpoint is "
             f"loaded (no base training).", "",
             "| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names),
             "| **whole notebook (nbconvert, fresh kernel)** | "
             + " | ".join(f"**{runs[n][0]:.0f} s = {runs[n][0] / 60:.1f} min**" for n in names)
             + " |",
             "| errors | " + " | ".join(str(len(runs[n][2])) for n in names) + " |"]
    by_cell = {n: {cell_id: seconds for seconds, cell_id, _ in runs[n][1]} for n in names}
    for seconds, cell_id, first in sorted(runs[names[0]][1], reverse=True)[:SLOWEST_CELLS]:
        lines.append(f"| {cell_id} (`{first}`) | "
                     + " | ".join(f"{by_cell[n].get(cell_id, float('nan')):.1f}" for n in names)
                     + " |")
    if len(names) == 2:
        first, second = (runs[n][0] for n in names)
        lines += ["", f"Whole notebook, {names[0]} / {names[1]}: {first / second:.2f}x."]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="cifar10-cpu")
    parser.add_argument("--budget", default="full", choices=["full", "smoke"])
    parser.add_argument("--precisions", default="float32,bfloat16",
                        help="training paths to run, in order (values of $PRUNEKIT_CPU_PRECISION)")
    add_results_argument(parser)
    args = parser.parse_args()
    results = results_dir(args)
    logs = results / "logs"
    logs.mkdir(exist_ok=True)
    runs = {}
    with tempfile.TemporaryDirectory(prefix="notebook-time-") as tmp:
        student = prepare(Path(tmp), args.profile)
        load_before = os.getloadavg()[0]
        for precision in args.precisions.split(","):
            total, executed = execute(student, args.profile, args.budget, precision)
            nb = read(executed)
            runs[precision] = (total, cell_seconds(nb), error_outputs(nb))
            shutil.copy2(executed, logs / f"notebook_time_{args.profile}_{args.budget}_"
                                          f"{precision}.ipynb")
        load = (load_before, os.getloadavg()[0])
    text = markdown(args.profile, args.budget, runs, load)
    suffix = "" if args.budget == "full" else f"_{args.budget}"
    (results / "figures").mkdir(exist_ok=True)
    figures = save_figures(nb, results / "figures", f"notebook_{args.profile}{suffix}")
    text += "\nThe last run's pictures: " + ", ".join(
        f"[{path.stem}](figures/{path.name})" for path in figures) + "\n"
    (results / f"notebook_time_{args.profile}{suffix}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
