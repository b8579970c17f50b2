"""Process-wide set-up shared by training, evaluation and grading: seeding and device choice."""
from __future__ import annotations

import contextlib
import os
import random

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


def mixed_precision(device: torch.device):
    """The context to run training's forward pass in: bfloat16 autocast on a CUDA device (about
    twice the throughput on tensor cores; bfloat16 keeps float32's range, so no loss scaling is
    needed), nothing elsewhere (the CPU and MPS train in float32, as evaluation always does)."""
    if device.type == "cuda":
        return torch.autocast(device_type="cuda", dtype=torch.bfloat16)
    return contextlib.nullcontext()
