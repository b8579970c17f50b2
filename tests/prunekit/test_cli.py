"""The command line: the main job runs, and bad input gives one clear line and exit status 2."""
import subprocess
import sys

import pytest
import torch
from torch.utils.data import TensorDataset

import prunekit.data
from prunekit.__main__ import main
from prunekit.checkpoint import checkpoint_meta, save_checkpoint
from prunekit.data import make_loader
from prunekit.measure import count_macs
from prunekit.model import VGG
from prunekit.profiles import get_profile
from tests.conftest import REPO_ROOT


def test_unknown_profile_is_one_clear_line(capsys):
    """An unknown profile exits 2 with a message listing the profiles, no traceback."""
    assert main(["evaluate", "--profile", "imagenet"]) == 2
    err = capsys.readouterr().err
    assert "unknown profile 'imagenet'" in err and "Traceback" not in err


def test_missing_checkpoint_is_one_clear_line(tmp_path, capsys):
    """Evaluating a missing checkpoint exits 2 and says how to make one."""
    assert main(["evaluate", "--profile", "offline", "--checkpoint", str(tmp_path / "x.pt")]) == 2
    assert "train-base" in capsys.readouterr().err


def test_evaluate_prints_channels_accuracy_and_macs_but_no_size(tmp_path, monkeypatch, capsys):
    """`evaluate` prints the checkpoint's channels, its accuracy and its MACs; no parameter count
    or size, which students compute themselves (q2). Eight test images stand in for the data."""
    profile = get_profile("offline")
    model = VGG(width=profile.width)
    path = save_checkpoint(model, tmp_path / "base.pt", checkpoint_meta(model, profile, 10.0, 0))
    images = TensorDataset(torch.rand(8, 3, 32, 32), torch.zeros(8, dtype=torch.long))
    monkeypatch.setattr(prunekit.data, "make_loaders",
                        lambda *args: (None, make_loader(images, 8, shuffle=False)))
    assert main(["evaluate", "--profile", "offline", "--checkpoint", str(path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert f"channels {model.conv_channels}" in out
    assert "accuracy " in out and f"MACs {count_macs(model):,}" in out
    assert "param" not in out and "MiB" not in out


@pytest.mark.slow
def test_train_base_then_evaluate(tmp_path):
    """`python -m prunekit train-base` trains (one epoch here), saves and evaluates a checkpoint
    well above chance, as a user would run it."""
    checkpoint = tmp_path / "base.pt"
    result = subprocess.run(
        [sys.executable, "-m", "prunekit", "train-base", "--profile", "offline", "--epochs", "1",
         "--checkpoint", str(checkpoint), "--data", str(tmp_path), "--quiet"],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert checkpoint.is_file()
    accuracy = float(result.stdout.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 40.0, result.stdout
