"""Which training recipe gets a narrow VGG furthest on real CIFAR-10 on a CPU? Side by side.

Measures, for each named recipe below: the wall-clock and CPU seconds of training a VGG of the
given width on all 50,000 real training images for a short budget (default 2 epochs) through the
kit's own data and training code (``prunekit.data``, ``prunekit.train.train``, the lab's random
crop + flip), and its top-1 accuracy on the 10,000 real test images. The recipes differ in
label smoothing, learning-rate schedule (warm-up + cosine, or one-cycle) and batch size (with the
peak learning rate scaled with it); everything else (SGD + Nesterov momentum 0.9, weight decay
5e-4, seed 0, channels-last layout) is the same. The chosen recipe lives in
``prunekit/profiles.py`` (profile ``cifar10-cpu``); this file only compares.

Hardware of the committed results: an Intel Xeon virtual machine, 2 cores, no GPU, torch 2.14.1,
shared with another developer's test runs (each log line records the CPU, the torch threads, the
CPU seconds and the load average it ran under; only a run that started at load ~1 timed idle
cores).

Run (about 3 minutes per recipe at width 0.25 and 2 epochs on 2 idle cores):

    python benchmarks/cifar10_cpu_recipes.py --recipes all --width 0.25 --epochs 2
    python benchmarks/cifar10_cpu_recipes.py --table     # rewrite the markdown from the log

Every run appends one JSON line to ``benchmarks/results/logs/cifar10_cpu_recipes.jsonl`` (the raw
log); ``--table`` turns the log into ``benchmarks/results/cifar10_cpu_recipes.md``. Needs the real
images: ``data/cifar10.npz`` (or ``$PRUNEKIT_DATA``), see ``prunekit/data/cifar10.py``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

import torch  # noqa: E402

from benchmarks.common import RESULTS, log_table_head, machine_line, read_jsonl  # noqa: E402
from prunekit.data import load_datasets, make_loader  # noqa: E402
from prunekit.model import VGG  # noqa: E402
from prunekit.profiles import Recipe, get_profile  # noqa: E402
from prunekit.runtime import seed_everything  # noqa: E402
from prunekit.train import evaluate, train  # noqa: E402

LOG = RESULTS / "logs" / "cifar10_cpu_recipes.jsonl"
TABLE = RESULTS / "cifar10_cpu_recipes.md"

# name -> (batch size, Recipe fields except epochs/warm-up, warm-up as a fraction of the run).
# Peak learning rates scale linearly with the batch size (0.1 per 128 images).
RECIPES: dict[str, tuple[int, dict, float]] = {
    "cosine-128":        (128, dict(lr=0.1, schedule="cosine"), 0.1),
    "cosine-128-ls":     (128, dict(lr=0.1, schedule="cosine", label_smoothing=0.1), 0.1),
    "onecycle-128-ls":   (128, dict(lr=0.1, schedule="onecycle", label_smoothing=0.1), 0.25),
    "cosine-256-ls":     (256, dict(lr=0.2, schedule="cosine", label_smoothing=0.1), 0.1),
    "onecycle-256":      (256, dict(lr=0.2, schedule="onecycle"), 0.25),
    "onecycle-256-ls":   (256, dict(lr=0.2, schedule="onecycle", label_smoothing=0.1), 0.25),
    "onecycle-512-ls":   (512, dict(lr=0.4, schedule="onecycle", label_smoothing=0.1), 0.25),
}
COMMON = dict(momentum=0.9, weight_decay=5e-4)


def recipe_of(name: str, epochs: int) -> tuple[int, Recipe]:
    """(batch size, Recipe) of the named recipe for a run of ``epochs`` epochs."""
    batch_size, fields, warmup_fraction = RECIPES[name]
    return batch_size, Recipe(epochs=epochs, warmup_epochs=warmup_fraction * epochs,
                              **COMMON, **fields)


def run_one(name: str, width: float, epochs: int, seed: int = 0) -> dict:
    """Train a fresh VGG(width) with recipe ``name`` for ``epochs`` epochs on the real training
    set and evaluate it on the real test set; returns the log record (seconds, percent)."""
    batch_size, recipe = recipe_of(name, epochs)
    train_set, test_set = load_datasets(get_profile("cifar10"))   # the lab's crop + flip
    seed_everything(seed)
    model = VGG(width=width).to(memory_format=torch.channels_last)
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    losses = train(model, make_loader(train_set, batch_size, shuffle=True, seed=seed), recipe,
                   device="cpu", progress=False, desc=name)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    accuracy = evaluate(model, make_loader(test_set, 500, shuffle=False), device="cpu")
    return {"recipe": name, "width": width, "epochs": epochs, "batch_size": batch_size,
            "train_images": len(train_set), "test_accuracy": round(accuracy, 2),
            "train_wall_s": round(wall, 1), "train_cpu_s": round(cpu, 1),
            "threads": torch.get_num_threads(), "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2), "epoch_losses": [round(x, 4) for x in losses],
            "recipe_fields": asdict(recipe), "seed": seed, "machine": machine_line(),
            "date": time.strftime("%Y-%m-%d %H:%M")}


def table_markdown(records: list[dict]) -> str:
    """The markdown table of the log: one row per run, grouped by width and epochs."""
    lines = log_table_head(
        "Training recipes on real CIFAR-10 on a CPU", "cifar10_cpu_recipes",
        "All 50,000 training images per epoch with the lab's random crop (padding 4) + "
        "horizontal flip; SGD, Nesterov momentum 0.9, weight decay 5e-4, seed 0; accuracy on all "
        "10,000 test images. Peak learning rate 0.1 per 128 images; warm-up 10% of the run for "
        "cosine, 25% for one-cycle. Time is the training wall clock (CPU seconds beside it) with "
        "the torch threads and the load average of the machine before the run.",
        ("width", "epochs", "recipe", "batch", "label smoothing", "schedule", "test accuracy",
         "train wall s (CPU s)", "threads", "load before"))
    for r in sorted(records, key=lambda r: (r["width"], r["epochs"])):
        f = r["recipe_fields"]
        lines.append(f"| {r['width']} | {r['epochs']} | {r['recipe']} | {r['batch_size']} | "
                     f"{f['label_smoothing']} | {f['schedule']} | {r['test_accuracy']:.2f}% | "
                     f"{r['train_wall_s']:.0f} ({r['train_cpu_s']:.0f}) | {r['threads']} | "
                     f"{r['load_before']} |")
    machines = sorted({r["machine"] for r in records})
    lines += ["", "Machines: " + "; ".join(machines) if machines else ""]
    lines += base_run_lines()
    return "\n".join(lines) + "\n"


def base_run_lines(path: Path = REPO / "assignment" / "checkpoints" / "vgg-cifar10-cpu.pt") -> list[str]:
    """A paragraph on the chosen recipe's full run: the shipped checkpoint's metadata (written by
    ``python -m prunekit train-base --profile cifar10-cpu``), or nothing when it is absent."""
    if not path.is_file():
        return []
    meta = torch.load(path, map_location="cpu", weights_only=True)["meta"]
    recipe = meta.get("train_recipe", {})
    return ["", "## The chosen recipe at full budget (the shipped base checkpoint)", "",
            f"`python -m prunekit --threads {meta.get('torch_threads', '?')} train-base --profile "
            f"cifar10-cpu`: width {meta['width']}, batch {meta.get('batch_size', '?')}, "
            f"{recipe.get('epochs', '?')} epochs, {recipe.get('schedule', '?')} schedule, peak "
            f"learning rate {recipe.get('lr', '?')}, label smoothing "
            f"{recipe.get('label_smoothing', '?')}: **{meta['accuracy']:.2f}%** test accuracy "
            f"after {meta['train_seconds']:.0f} s wall clock ({meta.get('train_cpu_seconds', 0):.0f}"
            f" CPU s) with {meta.get('torch_threads', '?')} torch thread(s). Training losses per "
            f"epoch: {', '.join(f'{x:.3f}' for x in meta.get('epoch_losses', []))}."]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipes", nargs="+", default=[],
                        help=f"recipe names or 'all' ({', '.join(RECIPES)})")
    parser.add_argument("--width", type=float, default=0.25)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--table", action="store_true", help="rewrite the markdown from the log")
    parser.add_argument("--log", type=Path, default=LOG)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    names = list(RECIPES) if args.recipes == ["all"] else args.recipes
    for name in names:
        record = run_one(name, args.width, args.epochs)
        args.log.parent.mkdir(parents=True, exist_ok=True)
        with open(args.log, "a") as handle:
            handle.write(json.dumps(record) + "\n")
        print(f"{name}: {record['test_accuracy']:.2f}% after {record['train_wall_s']:.0f} s "
              f"({record['threads']} threads)", flush=True)
    if args.table or names:
        TABLE.write_text(table_markdown(read_jsonl(args.log)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
