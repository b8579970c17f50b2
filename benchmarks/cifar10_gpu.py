"""The full-width ``cifar10`` profile on a GPU, in one run: train the base checkpoint, calibrate
the grading thresholds and measure the lab's results table.

Run (a CUDA GPU, CIFAR-10 in ``$PRUNEKIT_DATA``, default ``./data``: torchvision's
``cifar-10-batches-py/`` or a ``cifar10.npz``; ``--download`` fetches it with torchvision):

    python -m benchmarks.cifar10_gpu [--retrain] [--download] [--results DIR]
    python -m benchmarks.cifar10_gpu --quick --results DIR   # checks the path, on any machine

Budget (the ``cifar10`` profile, ``prunekit/profiles.py``): the dense VGG (width 1.0, 9.2 M
parameters, 606 M MACs per image) trains 15 epochs of 50,000 images at batch 128; the
calibration fine-tunes the two reference models 2 epochs each and evaluates every model on the
10,000 test images; the table then times the models on the CPU (batch 1 and 8, 30 rounds).
That is 0.95 M training images in all. It has not run on a GPU yet (no session had one): the
script prints the time of every stage, and writes them with the figures to
``<results>/logs/cifar10_gpu.json``, so the first run on a GPU measures the budget. On a CPU with
bfloat16 units it runs too (about 3.5 minutes per epoch on 2 idle cores of an Intel Xeon with
AMX: 536 ms a step at batch 128, against 1,856 ms in float32), and
with a base checkpoint already in place (``python -m prunekit train-base --profile cifar10``,
resumable) it calibrates and measures only.

What keeps the accelerator busy: the training split lives on the GPU as uint8 and is augmented
there in whole batches (``prunekit.data.resident``), the forward pass runs in bfloat16
(``prunekit.runtime.mixed_precision``) and the model in channels-last layout. The same code runs
on a CPU, only slowly. ``--quick`` runs every stage on the smoke budget (one epoch each, at most
5,000 / 2,000 images) with a few latency rounds and keeps its checkpoint and calibration in
``--results``: ``tests/benchmarks/test_cifar10_gpu.py`` runs it on the CPU on 128 random
images to check the path, not the figures.

Side effects: writes the base checkpoint (``autograder.manifest.base_checkpoint_path``; with
``--quick`` ``<results>/checkpoints/``), ``autograder/checks/calibration/cifar10.json`` (keeps
its salt and split seed if it exists; with ``--quick`` ``<results>/calibration-cifar10.json``),
the reference models' cache (``.cache/``), and the table, plot and log into ``--results``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import asdict

import torch

from autograder.frontends.calibrate import calibrate
from autograder.manifest import base_checkpoint_path, grader_data_root
from benchmarks.common import add_results_argument, machine_line, results_dir
from benchmarks.results_table import write_results_table
from prunekit.base import train_base
from prunekit.data import load_datasets
from prunekit.data.cifar10 import DataUnavailableError
from prunekit.profiles import get_profile

PROFILE = "cifar10"
TABLE_REPEATS = 30  # latency rounds of the results table
QUICK_REPEATS = 3   # latency rounds of the calibration and the table under --quick


def budget_lines(profile, repeats: int) -> list[str]:
    """What the run will do, in epochs and images, before it starts (``repeats``: latency
    rounds of the table)."""
    train_images = len(load_datasets(profile, grader_data_root())[0])
    return [f"profile {profile.name}: VGG width {profile.width}, batch {profile.batch_size}",
            f"base training: {profile.train.epochs} epochs x {train_images:,} images "
            f"({profile.train.schedule}, peak lr {profile.train.lr})",
            f"calibration: 2 reference models x {profile.finetune.epochs} fine-tuning epochs, "
            "then every model evaluated on the test split and timed on the CPU",
            f"results table: accuracy before/after fine-tuning, CPU latency ({repeats} rounds)"]


def stage(name: str, timings: dict, work):
    """Run ``work()``, print and record its wall-clock seconds under ``name``."""
    print(f"== {name}", flush=True)
    start = time.perf_counter()
    result = work()
    timings[name] = round(time.perf_counter() - start, 1)
    print(f"   {name}: {timings[name]:.0f} s", flush=True)
    return result


def base_stage(profile, path, retrain: bool) -> dict:
    """Train the base checkpoint into ``path`` (data held on the device, mixed precision)
    unless one exists there and ``retrain`` is off; the figures of the checkpoint used."""
    from prunekit.checkpoint import load_checkpoint

    if retrain or not path.is_file():
        run = train_base(profile, path, grader_data_root(), resident=True)
        print(f"   trained: {run.accuracy:.2f}% test accuracy, saved to {path}")
    _, meta = load_checkpoint(path, profile)
    return {"path": str(path), "accuracy": meta["accuracy"],
            "train_seconds": meta.get("train_seconds"), "device": meta.get("device")}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cifar10_gpu",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--retrain", action="store_true",
                        help="train the base checkpoint even if one exists")
    parser.add_argument("--download", action="store_true",
                        help="download CIFAR-10 with torchvision into $PRUNEKIT_DATA first")
    parser.add_argument("--quick", action="store_true",
                        help="the smoke budget and a few latency rounds; checkpoint and "
                             "calibration go into --results (checks the path; figures mean "
                             "nothing)")
    add_results_argument(parser)
    return parser.parse_args()


def run_stages(profile, args: argparse.Namespace, results, repeats: int) -> dict:
    """Base checkpoint, calibration and results table, timed; what the log records."""
    timings: dict[str, float] = {}
    checkpoint, calibration = base_checkpoint_path(profile.name), None
    if args.quick:
        checkpoint = results / "checkpoints" / checkpoint.name
        calibration = results / f"calibration-{profile.name}.json"
    base = stage("base checkpoint", timings,
                 lambda: base_stage(profile, checkpoint, args.retrain or args.quick))
    summary = stage("calibration", timings, lambda: calibrate(
        profile.name, calibration, latency_repeats=repeats if args.quick else None))
    stage("results table", timings, lambda: write_results_table(
        profile.name, [1] if args.quick else None, repeats, results))
    return {"machine": machine_line(), "recipe": asdict(profile.train),
            "stage_seconds": timings, "base": base, "calibration": summary}


def main() -> int:
    args = parse_args()
    results = results_dir(args)
    if args.quick:  # before the profile is read: the budget and the checkpoint folder
        os.environ["PRUNEKIT_BUDGET"] = "smoke"
        os.environ["PRUNEKIT_CHECKPOINTS"] = str(results / "checkpoints")
    profile = get_profile(PROFILE)
    repeats = QUICK_REPEATS if args.quick else TABLE_REPEATS
    try:
        if args.download:
            load_datasets(profile, grader_data_root(), download=True)
        plan = budget_lines(profile, repeats)
    except DataUnavailableError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not torch.cuda.is_available():
        print("note: no CUDA GPU here; this runs on the CPU (about an hour per 15 epochs on 2 "
              "cores with bfloat16 units, several hours without them)", flush=True)
    print("\n".join(plan), flush=True)
    log = {"budget": plan, **run_stages(profile, args, results, repeats)}
    (results / "logs").mkdir(exist_ok=True)
    (results / "logs" / "cifar10_gpu.json").write_text(json.dumps(log, indent=2) + "\n")
    print(json.dumps(log, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
