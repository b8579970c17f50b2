"""Does the offline data set make a real pruning lesson? Measures the figures the kit promises.

Run: ``python benchmarks/offline_lesson.py [--checkpoint PATH]`` (default: the shipped base
checkpoint; trains one first if it is missing). Prints a table and writes
``benchmarks/results/offline_lesson.md``.

Targets (issue: kit foundation):
- dense accuracy between 90 and 99 percent;
- uniform fine-grained sparsity 0.9 without fine-tuning costs at least 10 points;
- at sparsity 0.8, the most and least sensitive layers differ by at least 5 points;
- uniform channel pruning at 0.3 costs at least 5 points before fine-tuning, and a CPU
  fine-tune of at most 2 minutes brings it within 2 points of dense.
Uses the reference solutions (instructor side), never a student's code.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from autograder.manifest import base_checkpoint_path  # noqa: E402
from benchmarks.common import add_results_argument, machine_line, results_dir, uniform_fine_grained  # noqa: E402
from prunekit.checkpoint import load_checkpoint  # noqa: E402
from prunekit.data import make_loaders  # noqa: E402
from prunekit.profiles import get_profile  # noqa: E402
from prunekit.runtime import seed_everything  # noqa: E402
from prunekit.sensitivity import sensitivity_scan  # noqa: E402
from prunekit.train import evaluate, fine_tune  # noqa: E402
from solutions import apply_channel_sorting, channel_prune, fine_grained_prune  # noqa: E402


def measure(model, profile, train_loader, test_loader) -> list[tuple[str, str, str, bool]]:
    """Rows of (figure, measured, target, met)."""
    dense = evaluate(model, test_loader)
    rows = [("dense accuracy", f"{dense:.2f}%", "90-99%", 90 <= dense <= 99)]
    sparse = evaluate(uniform_fine_grained(model, 0.9), test_loader)
    rows.append(("uniform fine-grained 0.9, no fine-tune: drop", f"{dense - sparse:.2f} pts",
                 ">= 10 pts", dense - sparse >= 10))
    scan = sensitivity_scan(model, lambda m: evaluate(m, test_loader), fine_grained_prune,
                            [0.8], progress=False)
    at_08 = {name: accs[0] for name, accs in scan.accuracies.items()}
    spread = max(at_08.values()) - min(at_08.values())
    detail = ", ".join(f"{n.split('.')[-2]} {a:.1f}" for n, a in at_08.items())
    rows.append(("layer sensitivity at 0.8: max - min", f"{spread:.2f} pts ({detail})",
                 ">= 5 pts", spread >= 5))
    unsorted = evaluate(channel_prune(model, 0.3), test_loader)
    rows.append(("channel prune 0.3 without sorting: drop", f"{dense - unsorted:.2f} pts", "(info)", True))
    pruned = channel_prune(apply_channel_sorting(model), 0.3)
    before = evaluate(pruned, test_loader)
    rows.append(("channel prune 0.3 sorted, before fine-tune: drop", f"{dense - before:.2f} pts",
                 ">= 5 pts", dense - before >= 5))
    start = time.perf_counter()
    fine_tune(pruned, train_loader, profile.finetune, progress=False)
    seconds = time.perf_counter() - start
    after = evaluate(pruned, test_loader)
    rows.append(("channel prune 0.3 after fine-tune: gap to dense", f"{dense - after:.2f} pts",
                 "<= 2 pts", dense - after <= 2))
    rows.append(("fine-tune time", f"{seconds:.0f} s", "<= 120 s", seconds <= 120))
    return rows


def write_table(rows, meta: dict) -> str:
    lines = ["# Offline profile: the pruning lesson in numbers", "",
             f"Machine: {machine_line()}. Base checkpoint: width {meta['width']}, seed {meta['seed']}, "
             f"trained in {meta.get('train_seconds', '?')} s.", "",
             "| figure | measured | target | met |", "|---|---|---|---|"]
    lines += [f"| {name} | {value} | {target} | {'yes' if ok else 'NO'} |"
              for name, value, target, ok in rows]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, default=None)
    add_results_argument(parser)
    args = parser.parse_args()
    profile = get_profile("offline")
    path = args.checkpoint or base_checkpoint_path(profile.name)
    if not path.is_file():
        from prunekit.base import train_base
        train_base(profile, path)
    model, meta = load_checkpoint(path, profile)
    seed_everything(profile.seed)
    train_loader, test_loader = make_loaders(profile)
    table = write_table(measure(model, profile, train_loader, test_loader), meta)
    (results_dir(args) / "offline_lesson.md").write_text(table)
    print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
