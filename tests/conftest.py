"""Shared fixtures of the kit's tests."""
from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The real CIFAR-10 arrays that offline machines keep beside the project (never committed).
SHARED_CIFAR10 = REPO_ROOT.parent / "shared" / "data" / "cifar10" / "cifar10.npz"


@pytest.fixture
def shared_cifar10() -> Path:
    """Path of the real CIFAR-10 array file; skips (saying why) where it is absent."""
    if not SHARED_CIFAR10.is_file():
        pytest.skip(f"real CIFAR-10 arrays not found at {SHARED_CIFAR10}; cifar10-profile test skipped")
    return SHARED_CIFAR10
