"""Accuracy against sparsity: the per-layer sensitivity scan, and uniform fine-grained pruning
with and without fine-tuning.

Run: ``python benchmarks/accuracy_vs_sparsity.py [--profile offline]``.
Writes ``benchmarks/results/sensitivity_<profile>.png``, ``uniform_<profile>.png`` and
``accuracy_vs_sparsity_<profile>.md`` (``sensitivity_cifar10-cpu.png`` there is a link into
``assignment/figures/``: the student notebook shows that scan beside the student's own). Uses the reference ``fine_grained_prune`` and the
profile's base checkpoint and fine-tuning recipe (pruned weights kept at zero during
fine-tuning by re-applying the masks after every step).
"""
from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import matplotlib
matplotlib.use("Agg")

REPO = Path(__file__).resolve().parents[1]

from benchmarks.common import add_results_argument, base_model, machine_line, results_dir  # noqa: E402
from prunekit.data import make_loaders, make_scan_loader  # noqa: E402
from prunekit.plots import plot_accuracy_vs_sparsity, plot_sensitivity  # noqa: E402
from prunekit.profiles import get_profile  # noqa: E402
from prunekit.runtime import seed_everything  # noqa: E402
from prunekit.sensitivity import prunable_weights, sensitivity_scan  # noqa: E402
from prunekit.train import evaluate, fine_tune  # noqa: E402
from solutions import FineGrainedPruner, fine_grained_prune  # noqa: E402

SCAN_SPARSITIES = (0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
UNIFORM_SPARSITIES = (0.5, 0.6, 0.7, 0.8, 0.9, 0.95)


def uniform_curves(model, profile, train_loader, test_loader, sparsities):
    """Accuracy (percent) at each uniform sparsity, before and after fine-tuning."""
    before, after = [], []
    for sparsity in sparsities:
        pruned = copy.deepcopy(model)
        pruner = FineGrainedPruner(pruned, {name: sparsity for name in prunable_weights(pruned)})
        before.append(evaluate(pruned, test_loader))
        fine_tune(pruned, train_loader, profile.finetune, callbacks=[lambda: pruner.apply(pruned)],
                  progress=False)
        after.append(evaluate(pruned, test_loader))
    return before, after


def grid_note(args) -> str:
    """A sentence naming a grid smaller than the defaults (" " + sentence), else ""."""
    scan, uniform = tuple(args.scan), tuple(args.uniform)
    if scan == SCAN_SPARSITIES and uniform == UNIFORM_SPARSITIES:
        return ""
    return (f" Reduced grid: scan {', '.join(f'{s:g}' for s in scan)} and uniform "
            f"{', '.join(f'{s:g}' for s in uniform)} (the defaults: scan "
            f"{', '.join(f'{s:g}' for s in SCAN_SPARSITIES)}, uniform "
            f"{', '.join(f'{s:g}' for s in UNIFORM_SPARSITIES)}).")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--scan", type=float, nargs="+", default=list(SCAN_SPARSITIES),
                        help="sparsities of the per-layer sensitivity scan")
    parser.add_argument("--uniform", type=float, nargs="+", default=list(UNIFORM_SPARSITIES),
                        help="uniform sparsities, each fine-tuned once")
    add_results_argument(parser)
    args = parser.parse_args()
    profile = get_profile(args.profile)
    seed_everything(profile.seed)
    model = base_model(profile)
    train_loader, test_loader = make_loaders(profile)
    # The scan evaluates on the profile's fixed scan subset, as the notebook does (the whole
    # test set where the profile sets none); the uniform curves on the whole test set.
    scan_loader = make_scan_loader(profile, test_loader.dataset)
    start = time.perf_counter()
    scan = sensitivity_scan(model, lambda m: evaluate(m, scan_loader), fine_grained_prune,
                            args.scan, progress=False)
    before_dense = evaluate(model, test_loader)
    before, after = uniform_curves(model, profile, train_loader, test_loader, args.uniform)
    results = results_dir(args)
    plot_sensitivity(scan).savefig(results / f"sensitivity_{profile.name}.png", dpi=110)
    plot_accuracy_vs_sparsity({"uniform, no fine-tuning": (args.uniform, before),
                               "uniform, fine-tuned": (args.uniform, after)},
                              dense_accuracy=before_dense
                              ).savefig(results / f"uniform_{profile.name}.png", dpi=110)
    lines = [f"# Accuracy vs sparsity ({profile.name} profile)", "",
             f"Machine: {machine_line()}.", "",
             f"Dense accuracy {before_dense:.2f}% on the {len(test_loader.dataset):,} test images"
             f" ({scan.dense_accuracy:.2f}% on the scan's {len(scan_loader.dataset):,}). "
             f"Fine-tuning: {profile.finetune.epochs} epochs per point. Took "
             f"{time.perf_counter() - start:.0f} s.{grid_note(args)}", "",
             f"Per-layer sensitivity (accuracy % on the scan's {len(scan_loader.dataset):,} test "
             "images, one layer pruned at a time):", "",
             "| layer | " + " | ".join(f"{s:.1f}" for s in args.scan) + " |",
             "|---|" + "---|" * len(args.scan)]
    lines += [f"| {name} | " + " | ".join(f"{a:.1f}" for a in accs) + " |"
              for name, accs in scan.accuracies.items()]
    lines += ["", "Uniform sparsity on every layer (accuracy %):", "",
              "| sparsity | no fine-tuning | fine-tuned |", "|---|---|---|"]
    lines += [f"| {s:.2f} | {b:.1f} | {a:.1f} |" for s, b, a in zip(args.uniform, before, after)]
    text = "\n".join(lines) + "\n"
    (results / f"accuracy_vs_sparsity_{profile.name}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
