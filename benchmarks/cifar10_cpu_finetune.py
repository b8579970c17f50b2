"""How much fine-tuning do the pruned cifar10-cpu models need? Accuracy recovered per epoch.

Measures, for the reference fine-grained model (the master's ``sparsity_dict``,
``solutions/choices.py``; masks re-applied after every step) and the reference channel-pruned
model (ratio 0.3 after channel sorting), both cut from the shipped ``cifar10-cpu`` base
checkpoint: the test accuracy before fine-tuning and after fine-tuning with each named
fine-tuning recipe below for 1 or more epochs of the 50,000 real training images (the lab's crop
+ flip, the profile's batch size), with the wall-clock and CPU seconds it took. The chosen recipe
and its epochs live in ``prunekit/profiles.py`` (``cifar10-cpu``'s ``finetune``); the notebook
fine-tunes both models, so their epochs decide most of its time.

Hardware of the committed results: an Intel Xeon virtual machine, 2 cores, no GPU, torch 2.14.1,
shared with another developer's test runs (each log line records the torch threads, the CPU
seconds and the load average it ran under).

Run (about 6 minutes per fine-grained epoch and 3.5 per channel-pruned epoch on 2 idle cores):

    python benchmarks/cifar10_cpu_finetune.py --recipes cosine-0.01 cosine-0.02 --epochs 1
    python benchmarks/cifar10_cpu_finetune.py --table

Every run appends one JSON line to ``benchmarks/results/logs/cifar10_cpu_finetune.jsonl``;
``--table`` turns the log into ``benchmarks/results/cifar10_cpu_finetune.md``.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from dataclasses import asdict, replace
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

import torch  # noqa: E402

from autograder.manifest import base_checkpoint_path  # noqa: E402
from benchmarks.common import RESULTS, log_table_head, machine_line, read_jsonl  # noqa: E402
from prunekit.checkpoint import load_checkpoint  # noqa: E402
from prunekit.data import make_loaders  # noqa: E402
from prunekit.profiles import Recipe, get_profile  # noqa: E402
from prunekit.runtime import seed_everything  # noqa: E402
from prunekit.train import evaluate, fine_tune  # noqa: E402
from solutions import FineGrainedPruner, apply_channel_sorting, channel_prune  # noqa: E402
from solutions.choices import CHANNEL_PRUNE_RATIO, SPARSITY_DICT  # noqa: E402

PROFILE = "cifar10-cpu"
LOG = RESULTS / "logs" / "cifar10_cpu_finetune.jsonl"
TABLE = RESULTS / "cifar10_cpu_finetune.md"

# name -> Recipe fields except epochs (SGD, Nesterov momentum 0.9, weight decay 5e-4).
RECIPES: dict[str, dict] = {
    "cosine-0.01": dict(lr=0.01, schedule="cosine"),
    "cosine-0.02": dict(lr=0.02, schedule="cosine"),
    "cosine-0.05": dict(lr=0.05, schedule="cosine"),
    "cosine-0.02-ls": dict(lr=0.02, schedule="cosine", label_smoothing=0.1),
}


def pruned_models(dense) -> dict:
    """name -> (pruned copy of ``dense``, per-step callbacks that keep it pruned)."""
    finegrained = copy.deepcopy(dense)
    pruner = FineGrainedPruner(finegrained, SPARSITY_DICT)
    channel = channel_prune(apply_channel_sorting(dense), CHANNEL_PRUNE_RATIO)
    return {"finegrained": (finegrained, [lambda: pruner.apply(finegrained)]),
            "channel_pruned": (channel, [])}


def run_one(which: str, name: str, epochs: int) -> dict:
    """Prune the base model (``which``: finegrained or channel_pruned), fine-tune it with recipe
    ``name`` for ``epochs`` epochs; returns the log record (seconds, percent)."""
    profile = get_profile(PROFILE)
    dense, _ = load_checkpoint(base_checkpoint_path(PROFILE), profile)
    train_loader, test_loader = make_loaders(profile)
    seed_everything(profile.seed)
    model, callbacks = pruned_models(dense)[which]
    before = evaluate(model, test_loader, device="cpu")
    recipe = replace(Recipe(epochs=epochs, **RECIPES[name]), momentum=0.9, weight_decay=5e-4)
    load_before = os.getloadavg()[0]
    wall, cpu = time.perf_counter(), time.process_time()
    fine_tune(model, train_loader, recipe, callbacks=callbacks, device="cpu", progress=False)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    after = evaluate(model, test_loader, device="cpu")
    return {"model": which, "recipe": name, "epochs": epochs, "batch_size": profile.batch_size,
            "accuracy_before": round(before, 2), "accuracy_after": round(after, 2),
            "dense_accuracy": round(evaluate(dense, test_loader, device="cpu"), 2),
            "finetune_wall_s": round(wall, 1), "finetune_cpu_s": round(cpu, 1),
            "threads": torch.get_num_threads(), "load_before": round(load_before, 2),
            "load_after": round(os.getloadavg()[0], 2), "recipe_fields": asdict(recipe),
            "machine": machine_line(), "date": time.strftime("%Y-%m-%d %H:%M")}


def table_markdown(records: list[dict]) -> str:
    lines = log_table_head(
        "Fine-tuning the pruned cifar10-cpu models", "cifar10_cpu_finetune",
        "Reference fine-grained model (`solutions/choices.py` sparsity_dict, masks re-applied "
        "after every step) and channel-pruned model (0.3, sorted) from the shipped base "
        "checkpoint; all 50,000 real training images per epoch with the lab's crop + flip; SGD, "
        "Nesterov momentum 0.9, weight decay 5e-4, cosine decay from the peak learning rate, no "
        "warm-up; accuracy on all 10,000 test images.",
        ("model", "recipe", "epochs", "dense", "before FT", "after FT", "gap to dense",
         "FT wall s (CPU s)", "threads", "load before"))
    for r in sorted(records, key=lambda r: (r["model"], r["recipe"], r["epochs"])):
        lines.append(f"| {r['model']} | {r['recipe']} | {r['epochs']} | {r['dense_accuracy']:.2f}% "
                     f"| {r['accuracy_before']:.2f}% | {r['accuracy_after']:.2f}% | "
                     f"{r['dense_accuracy'] - r['accuracy_after']:.2f} | "
                     f"{r['finetune_wall_s']:.0f} ({r['finetune_cpu_s']:.0f}) | {r['threads']} | "
                     f"{r['load_before']} |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", nargs="+", default=["channel_pruned", "finegrained"],
                        choices=["channel_pruned", "finegrained"])
    parser.add_argument("--recipes", nargs="+", default=[], help=f"of {', '.join(RECIPES)}")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    parser.add_argument("--table", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for which in args.models if args.recipes else []:
        for name in args.recipes:
            record = run_one(which, name, args.epochs)
            LOG.parent.mkdir(parents=True, exist_ok=True)
            with open(LOG, "a") as handle:
                handle.write(json.dumps(record) + "\n")
            print(f"{which} {name} x{args.epochs}: {record['accuracy_before']:.2f}% -> "
                  f"{record['accuracy_after']:.2f}% in {record['finetune_wall_s']:.0f} s", flush=True)
    TABLE.write_text(table_markdown(read_jsonl(LOG)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
