"""Progress bars are text (a saved notebook shows their last state), redrawn sparingly, and the
training and scan loops leave their final state in the output."""
from __future__ import annotations

import io
import subprocess
import sys

import torch
from torch.utils.data import TensorDataset
from tqdm import notebook, std

from prunekit.data import make_loader
from prunekit.model import VGG
from prunekit.profiles import Recipe
from prunekit.progress import MIN_REDRAW_INTERVAL_S, progress_bar
from prunekit.sensitivity import sensitivity_scan
from prunekit.train import train
from tests.conftest import REPO_ROOT


def test_the_bar_is_the_text_bar_not_the_notebook_widget():
    """progress_bar makes tqdm's text bar, never the Jupyter widget (saved as a frozen "0%")."""
    bar = progress_bar(range(3), disable=True)
    assert isinstance(bar, std.tqdm) and not isinstance(bar, notebook.tqdm)


def test_importing_the_loops_loads_no_notebook_widget():
    """Importing the training and scan modules does not load tqdm's auto / notebook bars."""
    code = ("import sys, prunekit.train, prunekit.sensitivity; "
            "print(sorted(m for m in ('tqdm.auto', 'tqdm.notebook', 'tqdm.autonotebook') "
            "if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_fast_loops_are_redrawn_rarely():
    """A loop of 100,000 instant steps redraws its bar a handful of times, not on every tenth of
    a second (each redraw stays in a notebook's saved output)."""
    assert MIN_REDRAW_INTERVAL_S >= 1.0
    out = io.StringIO()
    for _ in progress_bar(range(100_000), file=out):
        pass
    assert out.getvalue().count("\r") <= 4
    assert "100000/100000" in out.getvalue()


def test_training_leaves_one_text_line_per_epoch(capsys):
    """train(progress=True) writes each epoch's finished bar, with its loss, to stderr as text."""
    dataset = TensorDataset(torch.rand(8, 3, 32, 32), torch.arange(8) % 2)
    train(VGG(width=1 / 16), make_loader(dataset, 4, shuffle=False), Recipe(epochs=2, lr=0.01),
          device="cpu", progress=True)
    err = capsys.readouterr().err
    assert "train 1/2: 100%" in err and "train 2/2: 100%" in err and "loss=" in err


def test_sensitivity_scan_leaves_its_final_state_as_text(capsys):
    """sensitivity_scan(progress=True) ends with its full bar (every layer and sparsity) in text."""
    sensitivity_scan(VGG(width=1 / 16), lambda m: 50.0, lambda tensor, sparsity: None, [0.5, 0.9],
                     progress=True)
    err = capsys.readouterr().err
    assert "sensitivity scan: 100%" in err and "18/18" in err
