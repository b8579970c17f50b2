"""Base checkpoints: round trip, and clear errors for missing, foreign or broken files."""
import pytest
import torch

from prunekit.checkpoint import CheckpointError, checkpoint_meta, load_checkpoint, save_checkpoint
from prunekit.model import VGG
from prunekit.profiles import get_profile


def _saved(tmp_path, profile_name="offline"):
    profile = get_profile(profile_name)
    model = VGG(width=profile.width)
    path = save_checkpoint(model, tmp_path / "base.pt", checkpoint_meta(model, profile, 93.5, 0))
    return model, path


def test_round_trip_keeps_weights_and_metadata(tmp_path):
    """A saved checkpoint loads back with identical tensors and its metadata."""
    model, path = _saved(tmp_path)
    loaded, meta = load_checkpoint(path, get_profile("offline"))
    assert meta["profile"] == "offline" and meta["accuracy"] == 93.5 and meta["seed"] == 0
    assert meta["conv_channels"] == [8, 16, 32, 32, 64, 64, 64, 64]
    for name, tensor in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[name], tensor)


def test_missing_checkpoint_says_how_to_make_one(tmp_path):
    """A missing file names the command that trains the base model."""
    with pytest.raises(CheckpointError, match="python -m prunekit train-base --profile offline"):
        load_checkpoint(tmp_path / "nope.pt", get_profile("offline"))


def test_checkpoint_of_another_profile_is_refused(tmp_path):
    """An offline checkpoint asked for as cifar10 is refused, naming the fields that differ."""
    _, path = _saved(tmp_path, "offline")
    with pytest.raises(CheckpointError, match="not made for profile 'cifar10'.*profile: checkpoint has 'offline'"):
        load_checkpoint(path, get_profile("cifar10"))


def test_garbage_file_is_refused(tmp_path):
    """A file that is not a checkpoint gives a clear error, not a pickle traceback."""
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(CheckpointError, match="not a readable prunekit checkpoint"):
        load_checkpoint(path)
