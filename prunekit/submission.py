"""The model files a student submits beside the notebook, and the targets they must meet.

The notebook saves its two fine-tuned models as ``finegrained.pt`` and ``channel_pruned.pt``:
plain state dicts (tensor name -> CPU tensor) written with ``torch.save``. Graders read them back
with ``torch.load(weights_only=True)`` (loading never runs code) and rebuild the VGG themselves
from the tensor shapes (:func:`prunekit.model.vgg_from_state_dict`), so a channel-pruned model
needs no extra description.

The targets here are the ones the notebook states to students: size and MACs fractions, and an
accuracy allowance below the dense model. The grader's calibrated accuracy thresholds are never
stricter than these public targets.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from prunekit.files import atomic_path
from prunekit.model import VGG, vgg_from_state_dict

NOTEBOOK_FILE = "pruning_lab.ipynb"       # the lab's notebook: keep its name
FINEGRAINED_FILE = "finegrained.pt"        # the fine-tuned fine-grained-pruned model
CHANNEL_PRUNED_FILE = "channel_pruned.pt"  # the fine-tuned channel-pruned model
MODEL_FILES = (FINEGRAINED_FILE, CHANNEL_PRUNED_FILE)  # what a submission ships beside its notebook

MAX_SIZE_FRACTION = 0.25  # fine-grained model: non-zero parameters / dense parameters, at most
MAX_MACS_FRACTION = 0.60  # channel-pruned model: MACs / dense MACs, at most
# Accuracy allowance: how many percentage points below the dense model a fine-tuned model may be.
ACCURACY_ALLOWANCE_POINTS = 2.0


class SubmissionError(ValueError):
    """A submitted model file is missing or is not a VGG state dict of this kit (says which)."""


def save_model(model: nn.Module, path: str | Path) -> Path:
    """Save ``model``'s state dict (every tensor detached, contiguous, on the CPU) to ``path``.

    Side effect: writes ``path`` atomically (a crash never leaves half a file); the model itself
    is not changed or moved.

    Returns:
        The path written.
    """
    path = Path(path)
    state = {name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()}
    with atomic_path(path) as partial:
        torch.save(state, partial)
    return path


def load_model(path: str | Path) -> VGG:
    """Read a model file written by :func:`save_model` and rebuild its VGG (CPU, eval mode).

    Raises:
        SubmissionError: the file is missing, cannot be read with ``weights_only=True``, or is not
            a consistent VGG state dict.
    """
    path = Path(path)
    if not path.is_file():
        raise SubmissionError(f"no model file at {path}: run the notebook cell that saves it")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # any unreadable file gets one clear message
        raise SubmissionError(f"{path} is not a readable model file: {error}") from None
    if not isinstance(state, dict):
        raise SubmissionError(f"{path} holds a {type(state).__name__}, not a state dict")
    try:
        return vgg_from_state_dict(state).eval()
    except ValueError as error:
        raise SubmissionError(f"{path}: {error}") from None


def accuracy_targets(dense_accuracy: float) -> dict[str, float]:
    """Least test accuracy (percent) asked of each fine-tuned model, ``{"finegrained": ...,
    "channel": ...}``: ``dense_accuracy`` minus :data:`ACCURACY_ALLOWANCE_POINTS` for both."""
    target = dense_accuracy - ACCURACY_ALLOWANCE_POINTS
    return {"finegrained": target, "channel": target}
