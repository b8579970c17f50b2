"""Measured CPU speedup against MAC reduction: channel pruning versus fine-grained pruning.

Run: ``python benchmarks/speedup.py [--profile offline|cifar10] [--batches ...] [--repeats 30]
[--channels-last]`` (batches default to 1 32 256 offline, 1 8 cifar10). Writes
``benchmarks/results/speedup_<profile>.md`` and ``speedup_<profile>.png``.

For channel prune ratios 0.1-0.7 (sorted, then pruned, as in the lab) it measures the paired,
interleaved latency of the dense and the pruned model (median of per-model medians, with the
interquartile range of the per-round ratios) beside two bounds: the MAC reduction, which a
perfectly compute-bound network would reach, and the activation reduction (how many fewer values
every layer writes), which is all a memory-bound network gets: pruning a fraction r of the
channels removes about 1 - (1 - r)^2 of the MACs but only r of the activations. Fine-grained
sparsity zeroes weights but keeps dense tensors, so its MACs and latency do not change: the
table shows it. Weights are the profile's base checkpoint; where there is none (the cifar10
profile on a machine that never trained it), random weights of the profile's width: latency
does not depend on the values.

A second table ("what limits the speedup") measures the 0.3 model under each combination of
torch threads, batch size, memory layout (NCHW or channels_last) and BatchNorm folded into the
convs or not, beside a model whose kept channel counts are rounded to multiples of 8: it shows
which of them brings the measured speedup near the MAC reduction. ``--no-limits`` skips it.
"""
from __future__ import annotations

import argparse
import copy
import sys
from pathlib import Path

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402
from torch.nn.utils.fusion import fuse_conv_bn_eval  # noqa: E402

REPO = Path(__file__).resolve().parents[1]

from autograder.manifest import base_checkpoint_path  # noqa: E402
from benchmarks.common import (add_results_argument, base_model, latency_batches,  # noqa: E402
                               machine_line, results_dir, uniform_fine_grained)
from prunekit.measure import compare_latency, count_macs  # noqa: E402
from prunekit.model import VGG, conv_channels_of  # noqa: E402
from prunekit.profiles import get_profile  # noqa: E402
from solutions import apply_channel_sorting, channel_prune  # noqa: E402

CHANNEL_RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
LIMITS_RATIO = 0.3  # the lab's channel prune ratio
SPEEDUP_BATCHES = {"offline": (1, 32, 256)}  # one more than the profile's default
FINE_GRAINED_SPARSITIES = (0.5, 0.7, 0.9)


def fold_batchnorm(model: torch.nn.Module) -> torch.nn.Module:
    """An eval-mode copy of a VGG with every BatchNorm folded into the conv before it (the BN
    becomes an Identity): what an inference runtime does, and one fewer pass over memory per
    layer. Outputs equal the original's up to float rounding."""
    folded = copy.deepcopy(model).eval()
    layers = dict(folded.backbone.named_children())
    for name, layer in layers.items():
        if isinstance(layer, torch.nn.Conv2d):
            bn_name = name.replace("conv", "bn")
            setattr(folded.backbone, name, fuse_conv_bn_eval(layer, layers[bn_name]))
            setattr(folded.backbone, bn_name, torch.nn.Identity())
    return folded


def rounded_to_multiple(channels, multiple: int = 8) -> list[int]:
    """Channel counts rounded to the nearest multiple of ``multiple`` (at least ``multiple``)."""
    return [max(multiple, multiple * round(c / multiple)) for c in channels]


def latency_model(profile) -> tuple[torch.nn.Module, str]:
    """The dense model to time and where its weights come from: the base checkpoint when one
    exists (never trains one), else random weights of the profile's width."""
    if base_checkpoint_path(profile.name).is_file():
        return base_model(profile), "the base checkpoint"
    torch.manual_seed(0)
    return VGG(width=profile.width).eval(), "random (no base checkpoint on this machine)"


def activation_count(model: torch.nn.Module, image_size: int = 32) -> int:
    """Values written per image by every layer of the backbone (conv, BN, ReLU, pool outputs):
    the memory traffic that does not shrink with the square of the channel counts."""
    written = []
    hooks = [layer.register_forward_hook(lambda _m, _i, out: written.append(out.numel()))
             for layer in model.backbone]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(1, 3, image_size, image_size))
    finally:
        for hook in hooks:
            hook.remove()
    return sum(written)


def row(label, dense, pruned, batches, repeats, channels_last):
    """One table row: MAC and activation reductions, and paired speedup per batch size."""
    reduction = count_macs(dense) / count_macs(pruned)
    cells = {"model": label, "channels": conv_channels_of(pruned), "mac_reduction": reduction,
             "activation_reduction": activation_count(dense) / activation_count(pruned)}
    variants = _variants({"dense": dense, "pruned": pruned}, channels_last, folded=False)
    for batch in batches:
        paired = compare_latency(variants["dense"], variants["pruned"],
                                 _inputs(batch, channels_last), warmup=5, repeats=repeats)
        cells[batch] = (paired.speedup, paired.ratio_q25, paired.ratio_q75, paired.median_a_s)
    return cells


def table(rows, batches) -> str:
    head = "| model | conv channels | MAC reduction | activation reduction | " + " | ".join(
        f"speedup b={b} (IQR) | % of MAC limit b={b}" for b in batches) + " |"
    lines = [head, "|" + "---|" * (4 + 2 * len(batches))]
    for r in rows:
        cells = [r["model"], str(r["channels"]), f"{r['mac_reduction']:.2f}x",
                 f"{r['activation_reduction']:.2f}x"]
        for b in batches:
            speedup, q25, q75, _ = r[b]
            cells += [f"{speedup:.2f}x ({q25:.2f}-{q75:.2f})",
                      _percent_of_limit(speedup, r["mac_reduction"])]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def limits_rows(dense, pruned, repeats, batches) -> list[dict]:
    """Paired speedups of ``pruned`` and of its multiple-of-8 twin over ``dense`` under every
    combination of threads, layout, BN folding and batch size (restores the thread count)."""
    twin = VGG(conv_channels=rounded_to_multiple(conv_channels_of(pruned)[:-1])
               + conv_channels_of(pruned)[-1:]).eval()
    models = {"dense": dense, "pruned": pruned, "twin": twin}
    limits = {name: count_macs(dense) / count_macs(m) for name, m in models.items()}
    floors = {name: activation_count(dense) / activation_count(m) for name, m in models.items()}
    threads_before = torch.get_num_threads()
    rows = []
    try:
        for threads in sorted({1, threads_before}):
            torch.set_num_threads(threads)
            for channels_last in (False, True):
                for folded in (False, True):
                    variants = _variants(models, channels_last, folded)
                    for batch in batches:
                        inputs = _inputs(batch, channels_last)
                        cells = {"threads": threads, "batch": batch, "folded": folded,
                                 "layout": "channels_last" if channels_last else "NCHW",
                                 "limits": limits, "floors": floors,
                                 "twin_channels": conv_channels_of(twin)}
                        for name in ("pruned", "twin"):
                            cells[name] = compare_latency(variants["dense"], variants[name], inputs,
                                                          warmup=3, repeats=repeats)
                        rows.append(cells)
    finally:
        torch.set_num_threads(threads_before)
    return rows


def _variants(models, channels_last, folded):
    """The models as measured in one configuration (copies; the originals are not changed)."""
    variants = {}
    for name, model in models.items():
        model = fold_batchnorm(model) if folded else copy.deepcopy(model).eval()
        variants[name] = model.to(memory_format=torch.channels_last) if channels_last else model
    return variants


def _inputs(batch: int, channels_last: bool) -> torch.Tensor:
    """A random CIFAR-shaped batch in the layout being measured."""
    inputs = torch.rand(batch, 3, 32, 32)
    return inputs.contiguous(memory_format=torch.channels_last) if channels_last else inputs


def _percent_of_limit(speedup: float, limit: float) -> str:
    """How much of the possible gain was realised: (speedup - 1) / (MAC reduction - 1); "-"
    when there is no reduction (fine-grained models keep every MAC)."""
    return f"{100 * (speedup - 1) / (limit - 1):.0f}%" if limit > 1.001 else "-"


def limits_table(rows) -> str:
    limits = rows[0]["limits"]
    lines = [f"| threads | batch | layout | BN folded | speedup {LIMITS_RATIO} (IQR) | % of "
             f"{limits['pruned']:.2f}x limit | speedup, channels x8 (IQR) | % of "
             f"{limits['twin']:.2f}x limit | dense median (ms) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        pruned, twin = r["pruned"], r["twin"]
        lines.append(
            f"| {r['threads']} | {r['batch']} | {r['layout']} | {'yes' if r['folded'] else 'no'} | "
            f"{pruned.speedup:.2f}x ({pruned.ratio_q25:.2f}-{pruned.ratio_q75:.2f}) | "
            f"{_percent_of_limit(pruned.speedup, limits['pruned'])} | "
            f"{twin.speedup:.2f}x ({twin.ratio_q25:.2f}-{twin.ratio_q75:.2f}) | "
            f"{_percent_of_limit(twin.speedup, limits['twin'])} | {pruned.median_a_s * 1000:.2f} |")
    return "\n".join(lines)


def plot(rows, batches, path: Path, profile_name: str) -> None:
    """Two panels: channel pruning (speedup per batch size against the MAC and activation
    reductions) and fine-grained sparsity (speedup against its MAC reduction, which is none)."""
    fig, (channel_ax, fine_ax) = plt.subplots(1, 2, figsize=(11, 4))
    for ax, kind, xlabel in ((channel_ax, "channel", "channel prune ratio"),
                             (fine_ax, "fine-grained", "fine-grained sparsity")):
        kind_rows = [r for r in rows if r["model"].startswith(kind)]
        xs = [float(r["model"].split()[-1]) for r in kind_rows]
        ax.plot(xs, [r["mac_reduction"] for r in kind_rows], "k--", label="MAC reduction (limit)")
        ax.plot(xs, [r["activation_reduction"] for r in kind_rows], "k:",
                label="activation reduction (memory-bound)")
        for b in batches:
            ax.plot(xs, [r[b][0] for r in kind_rows], "o-", label=f"measured speedup, batch {b}")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("x faster than dense")
        ax.grid(alpha=0.3)
    channel_ax.set_title(f"Channel pruning ({profile_name} profile, CPU)")
    fine_ax.set_title("Fine-grained pruning: dense kernels, no speedup")
    fine_ax.set_ylim(0, 2)
    channel_ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="offline")
    parser.add_argument("--batches", type=int, nargs="+", default=None,
                        help="batch sizes (default: 1 32 256 offline, 1 8 cifar10)")
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--channels-last", action="store_true")
    add_results_argument(parser)
    parser.add_argument("--no-limits", action="store_true",
                        help="skip the table of what limits the speedup at ratio 0.3")
    parser.add_argument("--limits-batches", type=int, nargs="+", default=None,
                        help="batch sizes of that table (default: as --batches)")
    args = parser.parse_args()
    torch.manual_seed(0)
    profile = get_profile(args.profile)
    args.batches = args.batches or list(SPEEDUP_BATCHES.get(profile.name, latency_batches(profile)))
    args.limits_batches = args.limits_batches or args.batches
    dense, weights = latency_model(profile)
    sorted_model = apply_channel_sorting(dense)
    rows = [row(f"channel {r}", dense, channel_prune(sorted_model, r).eval(), args.batches,
                args.repeats, args.channels_last) for r in CHANNEL_RATIOS]
    rows += [row(f"fine-grained {s}", dense, uniform_fine_grained(dense, s).eval(), args.batches,
                 args.repeats, args.channels_last) for s in FINE_GRAINED_SPARSITIES]
    layout = "channels_last" if args.channels_last else "contiguous (NCHW)"
    text = (f"# Speedup vs MAC reduction ({profile.name} profile)\n\n"
            f"Machine: {machine_line()}; layout {layout}. Weights: {weights}. Paired "
            f"interleaved runs, {args.repeats} rounds per batch size; speedup = median dense / "
            "median pruned; % of MAC limit = (speedup - 1) / (MAC reduction - 1).\n\n"
            + table(rows, args.batches) + "\n")
    if not args.no_limits:
        pruned = channel_prune(sorted_model, LIMITS_RATIO).eval()
        twin_rows = limits_rows(dense, pruned, args.repeats, args.limits_batches)
        text += (f"\n## What limits the speedup at ratio {LIMITS_RATIO}\n\n"
                 f"Channel-pruned {LIMITS_RATIO} model {conv_channels_of(pruned)} and a twin with "
                 f"the kept counts rounded to multiples of 8 {twin_rows[0]['twin_channels']} "
                 "(random weights: latency does not depend on them), each paired against the "
                 "dense model in the same configuration. Activation reductions (the "
                 f"memory-bound floor): {twin_rows[0]['floors']['pruned']:.2f}x and "
                 f"{twin_rows[0]['floors']['twin']:.2f}x.\n\n" + limits_table(twin_rows) + "\n")
    results = results_dir(args)
    suffix = "_cl" if args.channels_last else ""
    (results / f"speedup_{profile.name}{suffix}.md").write_text(text)
    plot(rows, args.batches, results / f"speedup_{profile.name}{suffix}.png", profile.name)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
