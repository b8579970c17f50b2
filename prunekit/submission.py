"""The model files a student submits beside the notebook, and the targets they must meet.

The notebook saves its two fine-tuned models as ``finegrained.pt`` and ``channel_pruned.pt``:
plain state dicts (tensor name -> CPU tensor) written with ``torch.save``. Graders read them back
with ``torch.load(weights_only=True)`` (loading never runs code) and rebuild the VGG themselves
from the tensor shapes (:func:`prunekit.model.vgg_from_state_dict`), so a channel-pruned model
needs no extra description.

The targets here are the ones the notebook states to students: size and MACs fractions (fixed),
and the accuracy thresholds grading applies. Those are calibrated per profile on the grader's
side and published to students in :data:`THRESHOLDS_FILE` (rewritten whenever the course
recalibrates; the numbers only, never the hidden split or the salt). A profile without published
thresholds falls back to the public target: the dense accuracy minus
:data:`ACCURACY_ALLOWANCE_POINTS` (calibrated thresholds are never stricter than that).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
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
# Accuracy allowance: how many percentage points below the dense model a fine-tuned model may be
# (the public target; every calibrated threshold is at or below it).
ACCURACY_ALLOWANCE_POINTS = 2.0
# The calibrated accuracy thresholds of each profile, as grading applies them (percent).
THRESHOLDS_FILE = Path(__file__).resolve().with_name("grading_thresholds.json")


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


def public_accuracy_target(dense_accuracy: float) -> float:
    """The public target (percent): ``dense_accuracy`` minus :data:`ACCURACY_ALLOWANCE_POINTS`."""
    return dense_accuracy - ACCURACY_ALLOWANCE_POINTS


def published_thresholds(profile_name: str) -> dict | None:
    """The accuracy thresholds grading applies to ``profile_name``, as published in
    :data:`THRESHOLDS_FILE`: ``{"finegrained_accuracy", "channel_accuracy"}`` (percent) with
    ``hidden_split_size`` (images) and ``hidden_split_is_test_set`` (whether the grader's split
    is the profile's whole public test set). None when the profile has none published."""
    try:
        published = json.loads(THRESHOLDS_FILE.read_text(encoding="utf-8"))["profiles"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    entry = published.get(profile_name) if isinstance(published, dict) else None
    return entry if isinstance(entry, dict) else None


@dataclass(frozen=True)
class AccuracyTargets:
    """Least test accuracy (percent) asked of each fine-tuned model, and where it comes from."""
    finegrained: float
    channel: float
    basis: str  # one sentence: how grading measures it, or that it is the public fallback


def accuracy_targets(profile_name: str, dense_accuracy: float | None = None) -> AccuracyTargets:
    """The accuracy targets of ``profile_name``: the grader's published thresholds, else (no
    thresholds published for the profile) ``dense_accuracy`` minus the allowance for both.

    Raises:
        ValueError: no thresholds are published for the profile and ``dense_accuracy`` is None.
    """
    published = published_thresholds(profile_name)
    if published is None:
        if dense_accuracy is None:
            raise ValueError(f"no grading thresholds are published for profile {profile_name!r}: "
                             "pass the dense model's accuracy for the public target")
        target = public_accuracy_target(dense_accuracy)
        return AccuracyTargets(target, target, f"the dense accuracy minus "
                               f"{ACCURACY_ALLOWANCE_POINTS:g} points: no grading threshold is "
                               f"published for profile {profile_name!r}")
    size = int(published["hidden_split_size"])
    where = (f"the {size:,} images of the full test set" if published["hidden_split_is_test_set"]
             else f"a hidden test split of {size:,} images drawn like the public one")
    return AccuracyTargets(float(published["finegrained_accuracy"]),
                           float(published["channel_accuracy"]),
                           f"the grader's threshold, measured on {where}")


def size_fraction(model: nn.Module, dense: nn.Module) -> float:
    """``model``'s pruned size as a fraction of ``dense``'s: its non-zero parameter entries over
    all of ``dense``'s (buffers excluded), what the 25% size target is measured in."""
    nonzero = sum(int(parameter.count_nonzero()) for parameter in model.parameters())
    return nonzero / sum(parameter.numel() for parameter in dense.parameters())


def zeros_short_of(model: nn.Module, sparsity_dict: dict[str, float]) -> list[tuple[str, int, int]]:
    """The weights of ``model`` with fewer zeros than their ``sparsity_dict`` entry prunes
    (``round(numel * sparsity)``), as ``(name, zeros, needed)``; empty when every one has them.

    Raises:
        KeyError: a name of ``sparsity_dict`` is not a parameter of ``model``.
    """
    parameters = dict(model.named_parameters())
    short = []
    for name, sparsity in sparsity_dict.items():
        weight = parameters[name]
        needed = round(weight.numel() * float(sparsity))
        zeros = weight.numel() - int(weight.count_nonzero())
        if zeros < needed:
            short.append((name, zeros, needed))
    return short
