"""Measured CPU speedup against MAC reduction: channel pruning versus fine-grained pruning.

Run: ``python benchmarks/speedup.py [--profile offline] [--batches 1 64] [--repeats 30]``.
Writes ``benchmarks/results/speedup_<profile>.md`` and ``speedup_<profile>.png``.

For channel prune ratios 0.1-0.7 (sorted, then pruned, as in the lab) it measures the paired,
interleaved latency of the dense and the pruned model (median of per-model medians, with the
interquartile range of the per-round ratios) beside the MAC reduction, which is the limit a
perfectly compute-bound kernel would reach. Fine-grained sparsity zeroes weights but keeps dense
tensors, so its MACs and latency do not change: the table shows it. Weights are the profile's
base checkpoint when present, else random (latency does not depend on the values).
"""
from __future__ import annotations

import argparse
import copy
import platform
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from prunekit.checkpoint import default_checkpoint_path, load_checkpoint  # noqa: E402
from prunekit.measure import compare_latency, count_macs  # noqa: E402
from prunekit.model import VGG, conv_channels_of  # noqa: E402
from prunekit.profiles import get_profile  # noqa: E402
from prunekit.sensitivity import prunable_weights  # noqa: E402
from solutions import apply_channel_sorting, channel_prune, fine_grained_prune  # noqa: E402

CHANNEL_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
FINE_GRAINED_SPARSITIES = (0.5, 0.7, 0.9)
RESULTS = REPO / "benchmarks" / "results"


def base_model(profile) -> torch.nn.Module:
    """The profile's base checkpoint, or a random VGG of its width when none is on disk."""
    path = default_checkpoint_path(profile)
    for candidate in (path, REPO / "assignment" / "checkpoints" / path.name):
        if candidate.is_file():
            return load_checkpoint(candidate, profile)[0]
    return VGG(width=profile.width).eval()


def fine_grained(model, sparsity):
    pruned = copy.deepcopy(model)
    with torch.no_grad():
        for weight in prunable_weights(pruned).values():
            fine_grained_prune(weight, sparsity)
    return pruned


def row(label, dense, pruned, batches, repeats, channels_last):
    """One table row: MAC reduction and paired speedup per batch size."""
    reduction = count_macs(dense) / count_macs(pruned)
    cells = {"model": label, "channels": conv_channels_of(pruned), "mac_reduction": reduction}
    for batch in batches:
        inputs = torch.rand(batch, 3, 32, 32)
        a, b = dense, pruned
        if channels_last:
            inputs = inputs.contiguous(memory_format=torch.channels_last)
            a, b = (copy.deepcopy(m).to(memory_format=torch.channels_last) for m in (dense, pruned))
        paired = compare_latency(a, b, inputs, warmup=5, repeats=repeats)
        cells[batch] = (paired.speedup, paired.ratio_q25, paired.ratio_q75, paired.median_a_s)
    return cells


def table(rows, batches) -> str:
    head = "| model | conv channels | MAC reduction | " + " | ".join(
        f"speedup b={b} (IQR) | % of MAC limit b={b}" for b in batches) + " |"
    lines = [head, "|" + "---|" * (3 + 2 * len(batches))]
    for r in rows:
        cells = [r["model"], str(r["channels"]), f"{r['mac_reduction']:.2f}x"]
        for b in batches:
            speedup, q25, q75, _ = r[b]
            cells += [f"{speedup:.2f}x ({q25:.2f}-{q75:.2f})",
                      f"{100 * (speedup - 1) / max(1e-9, r['mac_reduction'] - 1):.0f}%"
                      if r["mac_reduction"] > 1.001 else "-"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot(rows, batches, path: Path) -> None:
    channel_rows = [r for r in rows if r["model"].startswith("channel")]
    ratios = [float(r["model"].split()[-1]) for r in channel_rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(ratios, [r["mac_reduction"] for r in channel_rows], "k--", label="MAC reduction (limit)")
    for b in batches:
        ax.plot(ratios, [r[b][0] for r in channel_rows], "o-", label=f"measured speedup, batch {b}")
    ax.set_xlabel("channel prune ratio")
    ax.set_ylabel("x faster than dense")
    ax.set_title("Channel pruning: measured CPU speedup vs MAC reduction")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--batches", type=int, nargs="+", default=[1, 64])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--channels-last", action="store_true")
    args = parser.parse_args()
    torch.manual_seed(0)
    profile = get_profile(args.profile)
    dense = base_model(profile)
    sorted_model = apply_channel_sorting(dense)
    rows = [row(f"channel {r}", dense, channel_prune(sorted_model, r).eval(), args.batches,
                args.repeats, args.channels_last) for r in CHANNEL_RATIOS]
    rows += [row(f"fine-grained {s}", dense, fine_grained(dense, s).eval(), args.batches,
                 args.repeats, args.channels_last) for s in FINE_GRAINED_SPARSITIES]
    layout = "channels_last" if args.channels_last else "contiguous (NCHW)"
    text = (f"# Speedup vs MAC reduction ({profile.name} profile)\n\n"
            f"Machine: {platform.machine()}, {torch.get_num_threads()} torch threads, "
            f"torch {torch.__version__}, layout {layout}. Paired interleaved runs, "
            f"{args.repeats} rounds per batch size; speedup = median dense / median pruned.\n\n"
            + table(rows, args.batches) + "\n")
    RESULTS.mkdir(parents=True, exist_ok=True)
    suffix = "_cl" if args.channels_last else ""
    (RESULTS / f"speedup_{profile.name}{suffix}.md").write_text(text)
    plot(rows, args.batches, RESULTS / f"speedup_{profile.name}{suffix}.png")
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
