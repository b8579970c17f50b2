"""Process-wide set-up shared by training, evaluation and grading: seeding and device choice."""
from __future__ import annotations

import contextlib
import functools
import os
import random
from pathlib import Path

import numpy as np
import torch


def seed_everything(seed: int) -> None:
    """Seed Python's ``random``, NumPy and torch (CPU and all CUDA devices).

    Side effect: also asks cuDNN for deterministic kernels, so a re-run on the same machine gives
    the same numbers (at some cost in GPU speed).
    """
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    torch.backends.cudnn.deterministic = True
    torch.backends.cudnn.benchmark = False


def pick_device(preferred: str | None = None) -> torch.device:
    """The device to compute on: ``preferred`` if given (or ``$PRUNEKIT_DEVICE``), else CUDA, then
    Apple's MPS, then the CPU."""
    name = preferred or os.environ.get("PRUNEKIT_DEVICE")
    if name:
        return torch.device(name)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


# CPU flags of native bfloat16 arithmetic (Linux's /proc/cpuinfo names): AVX-512 BF16 (Cooper
# Lake, Zen 4 and later) and AMX (Sapphire Rapids and later). Without them oneDNN emulates
# bfloat16 and training gets slower, not faster, so those CPUs (most laptops) keep float32.
BFLOAT16_CPU_FLAGS: frozenset[str] = frozenset({"avx512_bf16", "amx_bf16"})
CPU_PRECISIONS: tuple[str, ...] = ("auto", "float32", "bfloat16")  # $PRUNEKIT_CPU_PRECISION


@functools.lru_cache(maxsize=None)
def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags as Linux lists them; empty where there is no such file (macOS,
    Windows: those keep float32)."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() in ("flags", "Features"):
            return frozenset(value.split())
    return frozenset()


def cpu_trains_in_bfloat16() -> bool:
    """Whether training on the CPU runs its forward pass in bfloat16 autocast (channels-last):
    ``$PRUNEKIT_CPU_PRECISION`` when it says ``float32`` or ``bfloat16``, else (``auto``, the
    default) where the CPU has native bfloat16 units (:data:`BFLOAT16_CPU_FLAGS`). On one such
    CPU a half-width VGG training step took 2.5x less time than in float32
    (benchmarks/results/notebook_time_*.md measures the notebook on both paths).

    Raises:
        ValueError: ``$PRUNEKIT_CPU_PRECISION`` names none of :data:`CPU_PRECISIONS`.
    """
    choice = os.environ.get("PRUNEKIT_CPU_PRECISION") or "auto"
    if choice not in CPU_PRECISIONS:
        raise ValueError(f"PRUNEKIT_CPU_PRECISION={choice!r}; known values: "
                         f"{', '.join(CPU_PRECISIONS)}")
    if choice != "auto":
        return choice == "bfloat16"
    return bool(cpu_flags() & BFLOAT16_CPU_FLAGS)


def trains_in_bfloat16(device: torch.device) -> bool:
    """Whether training on ``device`` runs in bfloat16 autocast with channels-last weights: on
    CUDA always (tensor cores), on the CPU per :func:`cpu_trains_in_bfloat16`, elsewhere (MPS)
    never. Evaluation and grading always run in float32, so scores do not depend on it."""
    if device.type == "cuda":
        return True
    return device.type == "cpu" and cpu_trains_in_bfloat16()


def mixed_precision(device: torch.device):
    """The context to run training's forward pass in: bfloat16 autocast where
    :func:`trains_in_bfloat16` (bfloat16 keeps float32's range, so no loss scaling is needed),
    else nothing (float32)."""
    if trains_in_bfloat16(device):
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def training_precision(device: torch.device) -> str:
    """One line saying how training computes on ``device``, for the notebook to print."""
    if trains_in_bfloat16(device):
        why = "" if device.type == "cuda" else " (this CPU has bfloat16 units)"
        return f"training in bfloat16 autocast, channels-last{why}; evaluation in float32"
    return "training and evaluation in float32"
