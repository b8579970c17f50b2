"""The lab's results table for a profile: dense, fine-grained and channel-pruned models.

Run: ``python benchmarks/results_table.py [--profile offline] [--repeats 30]``.
Writes ``benchmarks/results/results_table_<profile>.md`` and ``results_models_<profile>.png``.

Models: the profile's dense base checkpoint; the reference fine-grained model (the master's
``sparsity_dict``, ``solutions/choices.py``) and channel-pruned model (ratio 0.3 after channel
sorting), each fine-tuned with the profile's recipe (the calibration's cached models,
``autograder.frontends.calibrate.reference_models``). Accuracy before fine-tuning is measured by pruning the
dense model again without fine-tuning. Latency: paired, interleaved runs against the dense model
(median of each, speedup = ratio of medians, with the interquartile range of per-round ratios),
on the CPU at batch 1 and at a larger batch.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

from autograder.frontends.calibrate import compute_device, reference_models  # noqa: E402
from benchmarks.common import add_results_argument, latency_batches, machine_line, results_dir  # noqa: E402
from prunekit.data import make_loaders  # noqa: E402
from prunekit.measure import bits_to_mib, compare_latency, count_macs, count_parameters, model_size_bits  # noqa: E402
from prunekit.plots import plot_model_comparison  # noqa: E402
from prunekit.profiles import get_profile  # noqa: E402
from prunekit.train import evaluate  # noqa: E402
from solutions import FineGrainedPruner, apply_channel_sorting, channel_prune  # noqa: E402
from solutions.choices import CHANNEL_PRUNE_RATIO, SPARSITY_DICT  # noqa: E402


def before_fine_tuning(dense):
    """The two pruned models straight after pruning (no fine-tuning)."""
    finegrained = copy.deepcopy(dense)
    FineGrainedPruner(finegrained, SPARSITY_DICT)
    return finegrained, channel_prune(apply_channel_sorting(dense), CHANNEL_PRUNE_RATIO)


def describe(name, model, dense, accuracy_before, accuracy_after, batches, repeats):
    """One row: accuracy (percent), size (MiB of non-zero fp32 weights), parameters, MACs and
    paired CPU speedups against ``dense`` per batch size."""
    row = {"name": name, "accuracy_before": accuracy_before, "accuracy_after": accuracy_after,
           "params": count_parameters(model, count_nonzero_only=True),
           "size_mib": bits_to_mib(model_size_bits(model, count_nonzero_only=True)),
           "macs": count_macs(model)}
    for batch in batches:
        inputs = torch.rand(batch, 3, 32, 32)
        paired = compare_latency(dense, model, inputs, warmup=5, repeats=repeats)
        row[batch] = paired
    row["latency_ms"] = row[batches[0]].median_b_s * 1000
    return row


def markdown(rows, batches, profile) -> str:
    dense = rows[0]
    head = ("| model | accuracy before FT | accuracy after FT | size (MiB) | parameters | MACs | "
            + " | ".join(f"latency b={b}, dense / this (ms) | speedup b={b} (IQR)" for b in batches)
            + " |")
    lines = [f"# Results table ({profile} profile)", "",
             f"Machine: {machine_line()}. Size counts non-zero fp32 parameters; MACs by torch.utils.flop_counter (conv + linear); "
             "latency = median of paired interleaved runs against the dense model, both "
             "medians from the same rounds (the dense row against itself shows the noise "
             "floor).", "", head,
             "|" + "---|" * (6 + 2 * len(batches))]
    for r in rows:
        cells = [r["name"], f"{r['accuracy_before']:.2f}%", f"{r['accuracy_after']:.2f}%",
                 f"{r['size_mib']:.3f} ({dense['size_mib'] / r['size_mib']:.1f}x smaller)",
                 f"{r['params']:,}", f"{r['macs'] / 1e6:.2f} M ({dense['macs'] / r['macs']:.2f}x fewer)"]
        for b in batches:
            p = r[b]
            cells += [f"{p.median_a_s * 1000:.2f} / {p.median_b_s * 1000:.2f}",
                      f"{p.speedup:.2f}x ({p.ratio_q25:.2f}-{p.ratio_q75:.2f})"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# The lab's own figures (MIT 6.5940 Lab 1: the full-width VGG on real CIFAR-10, trained on a GPU),
# printed beside a real-data profile's table; the speedup is the lab's CPU measurement.
LAB_FIGURES = {"dense": 92.95, "finegrained": 92.8, "finegrained_size": "23%", "channel": 92.2,
               "channel_macs": "2.0x fewer", "speedup": "1.6-1.7x"}


def lab_comparison(rows, batches) -> str:
    """A markdown table of this run's rows beside :data:`LAB_FIGURES` (real-data profiles)."""
    dense, finegrained, channel = rows
    speedups = " / ".join(f"{channel[b].speedup:.2f}x (b={b})" for b in batches)
    lab = LAB_FIGURES
    lines = ["", "## Beside the lab's full-width figures", "",
             "| figure | the lab (full width, GPU-trained) | this profile | gap (points) |",
             "|---|---|---|---|",
             f"| dense accuracy | {lab['dense']:.2f}% | {dense['accuracy_after']:.2f}% | "
             f"{lab['dense'] - dense['accuracy_after']:.2f} |",
             f"| fine-grained: size / accuracy after FT | {lab['finegrained_size']} / "
             f"{lab['finegrained']:.1f}% | {finegrained['params'] / dense['params']:.1%} / "
             f"{finegrained['accuracy_after']:.2f}% | "
             f"{lab['finegrained'] - finegrained['accuracy_after']:.2f} |",
             f"| channel-pruned 0.3: accuracy after FT | {lab['channel']:.1f}% | "
             f"{channel['accuracy_after']:.2f}% | {lab['channel'] - channel['accuracy_after']:.2f} |",
             f"| channel-pruned 0.3: MACs | {lab['channel_macs']} | "
             f"{dense['macs'] / channel['macs']:.2f}x fewer | |",
             f"| channel-pruned 0.3: CPU speedup | {lab['speedup']} | {speedups} | |"]
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--batches", type=int, nargs="+", default=None,
                        help="CPU latency batch sizes (default: 1 256 offline, 1 8 cifar10, "
                             "1 64 cifar10-cpu)")
    parser.add_argument("--repeats", type=int, default=30)
    add_results_argument(parser)
    args = parser.parse_args()
    torch.manual_seed(0)
    profile = get_profile(args.profile)
    args.batches = args.batches or list(latency_batches(profile))
    models = reference_models(profile.name)
    _, test_loader = make_loaders(profile)
    dense = models["dense"].eval()
    finegrained_raw, channel_raw = before_fine_tuning(dense)
    device = compute_device(profile)

    def accuracy(model):
        """Top-1 percent on the test split, computed on ``device``; the model stays on the CPU."""
        percent = evaluate(model, test_loader, device=device)
        model.cpu()
        return percent

    dense_accuracy = accuracy(dense)
    rows = [describe("dense", dense, dense, dense_accuracy, dense_accuracy, args.batches, args.repeats),
            describe("fine-grained (reference sparsity_dict)", models["finegrained"], dense,
                     accuracy(finegrained_raw), accuracy(models["finegrained"]), args.batches,
                     args.repeats),
            describe(f"channel-pruned {CHANNEL_PRUNE_RATIO} (sorted)", models["channel_pruned"], dense,
                     accuracy(channel_raw), accuracy(models["channel_pruned"]), args.batches,
                     args.repeats)]
    text = markdown(rows, args.batches, profile.name)
    if profile.dataset == "cifar10":
        text += lab_comparison(rows, args.batches)
    results = results_dir(args)
    (results / f"results_table_{profile.name}.md").write_text(text)
    plot_model_comparison([{"name": r["name"].split(" (")[0], "size_mib": r["size_mib"],
                            "macs": r["macs"], "latency_ms": r["latency_ms"]} for r in rows]
                          ).savefig(results / f"results_models_{profile.name}.png", dpi=110)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
