"""What every benchmark script shares: where results go, the machine line, the base model."""
from __future__ import annotations

import argparse
import copy
import os
import platform
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
# CPU latency batch sizes per profile: batch 1 and a larger one. The narrow offline model needs
# a large batch to be compute-bound; the full-width model (cifar10) takes ~20 ms per image on a
# CPU core, so a small one suffices; cifar10-cpu (width 0.5) is timed at batch 1 and 64, as the
# issue's table asks.
LATENCY_BATCHES = {"offline": (1, 256), "cifar10": (1, 8), "cifar10-cpu": (1, 64)}


def add_results_argument(parser: argparse.ArgumentParser) -> None:
    """``--results DIR``: where the script writes its tables and plots (default: the committed
    ``benchmarks/results/``; tests point it at a scratch folder)."""
    parser.add_argument("--results", type=Path, default=RESULTS,
                        help="folder for the tables and plots (default: benchmarks/results)")


def results_dir(args: argparse.Namespace) -> Path:
    """The results folder of ``args``, created if missing."""
    args.results.mkdir(parents=True, exist_ok=True)
    return args.results


def latency_batches(profile) -> tuple[int, ...]:
    """The CPU latency batch sizes of ``profile`` (see LATENCY_BATCHES; default 1 and 32)."""
    return LATENCY_BATCHES.get(profile.name, (1, 32))


def cpu_name() -> str:
    """The CPU's model name from /proc/cpuinfo (Linux), else what ``platform`` knows."""
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine_line() -> str:
    """One sentence naming the machine a figure was measured on: CPU model, cores visible to
    this process, torch threads, torch version, and the GPU when one is used."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    text = (f"{cpu_name()} ({platform.machine()}), {cores} cores, {torch.get_num_threads()} torch "
            f"threads, torch {torch.__version__}, Python {platform.python_version()}")
    if torch.cuda.is_available():
        text += f", GPU {torch.cuda.get_device_name(0)}"
    return text


def base_model(profile) -> torch.nn.Module:
    """The profile's dense base model in eval mode on the CPU (the shipped checkpoint; trained
    and saved first when there is none, as the calibration does)."""
    from autograder.core.references import load_base_model

    return load_base_model(profile)[0]


def uniform_fine_grained(model: torch.nn.Module, sparsity: float) -> torch.nn.Module:
    """A copy of ``model`` with every conv/linear weight pruned to ``sparsity`` (fraction of
    zeros) by the reference ``fine_grained_prune``; the original is not changed."""
    from prunekit.sensitivity import prunable_weights
    from solutions import fine_grained_prune

    pruned = copy.deepcopy(model)
    with torch.no_grad():
        for weight in prunable_weights(pruned).values():
            fine_grained_prune(weight, sparsity)
    return pruned
