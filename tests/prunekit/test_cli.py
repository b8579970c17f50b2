"""The command line: the main job runs, and bad input gives one clear line and exit status 2."""
import subprocess
import sys

import pytest

from prunekit.__main__ import main
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
