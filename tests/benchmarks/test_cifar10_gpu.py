"""The full-width cifar10 profile's GPU script (``python -m benchmarks.cifar10_gpu``) on the CPU
on a tiny budget: it checks the code path (base training on resident data, calibration, results
table, log), not the figures."""
from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from benchmarks.common import REPO
from prunekit.checkpoint import load_checkpoint
from prunekit.data.cifar10 import ARRAY_FILE
from tests.prunekit.test_data_cifar10 import CLASSES


def write_tiny_cifar10(root, num_train: int = 128, num_test: int = 64) -> None:
    """Random images in the array file's layout: enough to run every stage."""
    rng = np.random.default_rng(0)
    root.mkdir(parents=True, exist_ok=True)
    np.savez(root / ARRAY_FILE,
             train_x=rng.integers(0, 256, (num_train, 32, 32, 3), dtype=np.uint8),
             train_y=(np.arange(num_train) % 10).astype(np.uint8),
             test_x=rng.integers(0, 256, (num_test, 32, 32, 3), dtype=np.uint8),
             test_y=(np.arange(num_test) % 10).astype(np.uint8), class_names=np.array(CLASSES))


@pytest.mark.slow
def test_quick_run_trains_calibrates_and_writes_the_table(tmp_path):
    """``--quick`` on 128 random images: a full-width base checkpoint trained on resident data,
    a calibration and the results table, all inside the results folder (the kit's own
    calibration and checkpoints untouched), and a log with every stage's time."""
    write_tiny_cifar10(tmp_path / "data")
    results = tmp_path / "results"
    env = {**os.environ, "PRUNEKIT_DATA": str(tmp_path / "data")}
    env.pop("PRUNEKIT_BUDGET", None)
    env.pop("PRUNEKIT_CHECKPOINTS", None)
    kit_calibration = REPO / "autograder" / "checks" / "calibration" / "cifar10.json"
    before = kit_calibration.read_bytes() if kit_calibration.is_file() else None
    done = subprocess.run([sys.executable, "-m", "benchmarks.cifar10_gpu", "--quick",
                           "--results", str(results)], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=1200)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "base training: 1 epochs x 128 images" in done.stdout
    _, meta = load_checkpoint(results / "checkpoints" / "vgg-cifar10.pt")
    assert meta["width"] == 1.0 and meta["resident_data"] is True
    calibration = json.loads((results / "calibration-cifar10.json").read_text())
    assert calibration["profile"] == "cifar10" and calibration["grading_split"]["size"] == 64
    assert "| channel-pruned 0.3" in (results / "results_table_cifar10.md").read_text()
    assert (results / "results_models_cifar10.png").stat().st_size > 0
    log = json.loads((results / "logs" / "cifar10_gpu.json").read_text())
    assert set(log["stage_seconds"]) == {"base checkpoint", "calibration", "results table"}
    after = kit_calibration.read_bytes() if kit_calibration.is_file() else None
    assert after == before
