"""Base checkpoints: a trained dense VGG saved with the metadata that says what it is.

A checkpoint file is ``{"state_dict": ..., "meta": {...}}`` saved with ``torch.save`` and read
back with ``weights_only=True`` (plain tensors and Python values only: loading a file never runs
code). The metadata records the profile, width, seed, accuracy and channel plan, and loading
checks it against the profile asked for, so a CIFAR-10 checkpoint is never graded as an offline
one by mistake.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from prunekit import __version__
from prunekit.files import atomic_path
from prunekit.model import VGG, conv_channels_of, scaled_channels, vgg_from_state_dict
# The checkpoint folder is a profile's fact; the notebook imports the path from here.
from prunekit.profiles import Profile, default_checkpoint_path  # noqa: F401


class CheckpointError(RuntimeError):
    """A checkpoint is missing, unreadable or made for another profile; the message says which."""


def checkpoint_meta(model: VGG, profile: Profile, accuracy: float, seed: int, **extra) -> dict:
    """The metadata stored beside the weights (plain values only); ``accuracy`` in percent."""
    return {"profile": profile.name, "dataset": profile.dataset, "width": profile.width,
            "seed": seed, "accuracy": float(accuracy), "conv_channels": conv_channels_of(model),
            "kit_version": __version__, **extra}


def save_checkpoint(model: nn.Module, path: Path, meta: dict) -> Path:
    """Write the model's state dict (moved to the CPU) and ``meta`` to ``path``.

    Side effect: creates the parent folder; writes atomically (a crash never leaves half a file).
    """
    path = Path(path)
    state = {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()}
    with atomic_path(path) as partial:
        torch.save({"state_dict": state, "meta": dict(meta)}, partial)
    return path


def load_checkpoint(path: Path, profile: Profile | None = None) -> tuple[VGG, dict]:
    """Read a checkpoint, rebuild its VGG and check that it was made for ``profile``.

    Returns:
        (model on the CPU in eval mode, metadata dict).

    Raises:
        CheckpointError: the file is missing (the message gives the command that makes it), is
            not a checkpoint of this kit, or its metadata disagrees with ``profile``.
    """
    path = Path(path)
    if not path.is_file():
        hint = f" --profile {profile.name}" if profile else ""
        raise CheckpointError(f"no checkpoint at {path}; train one with "
                              f"`python -m prunekit train-base{hint}`")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
        state_dict, meta = payload["state_dict"], payload["meta"]
        model = vgg_from_state_dict(state_dict)
    except Exception as error:  # any unreadable file gets the same clear message
        raise CheckpointError(f"{path} is not a readable prunekit checkpoint: {error}") from None
    if profile is not None:
        check_meta_matches(meta, profile, path)
    return model.eval(), meta


def check_meta_matches(meta: dict, profile: Profile, path: Path | str = "checkpoint") -> None:
    """Raise :class:`CheckpointError` naming every field where ``meta`` and ``profile`` differ."""
    expected = {"profile": profile.name, "dataset": profile.dataset,
                "conv_channels": scaled_channels(profile.width)}
    wrong = [f"{key}: checkpoint has {meta.get(key)!r}, profile {profile.name!r} needs {value!r}"
             for key, value in expected.items() if meta.get(key) != value]
    if wrong:
        raise CheckpointError(f"{path} was not made for profile {profile.name!r} ("
                              + "; ".join(wrong) + "); train one with "
                              f"`python -m prunekit train-base --profile {profile.name}`")
