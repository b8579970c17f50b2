"""Profiles: one place for data, width, recipes; defaults and clear errors."""
import pytest

from prunekit import profiles
from prunekit.profiles import get_profile


def test_known_profiles():
    """Both profiles exist and differ where they should."""
    cifar, offline = get_profile("cifar10"), get_profile("offline")
    assert cifar.dataset == "cifar10" and cifar.width == 1.0
    assert offline.dataset == "offline" and offline.width < 1 and offline.offline is not None


def test_unknown_profile_lists_known_ones():
    """An unknown profile name is a ValueError that lists the known profiles."""
    with pytest.raises(ValueError, match="known profiles: cifar10, offline"):
        get_profile("imagenet")


def test_default_is_offline_without_cifar10(tmp_path, monkeypatch):
    """Without CIFAR-10 in the data directory the default profile is offline; with an array
    file there it is cifar10; $PRUNEKIT_PROFILE wins over both."""
    monkeypatch.delenv("PRUNEKIT_PROFILE", raising=False)
    monkeypatch.setenv("PRUNEKIT_DATA", str(tmp_path))
    assert get_profile().name == "offline"
    (tmp_path / "cifar10.npz").write_bytes(b"")
    assert get_profile().name == "cifar10"
    monkeypatch.setenv("PRUNEKIT_PROFILE", "offline")
    assert get_profile().name == "offline"


def test_with_budget_changes_only_epochs():
    """with_budget shortens training and fine-tuning and keeps everything else."""
    offline = get_profile("offline")
    short = offline.with_budget(1, 1)
    assert (short.train.epochs, short.finetune.epochs) == (1, 1)
    assert short.train.lr == offline.train.lr and short.width == offline.width
    assert profiles.PROFILES["offline"].train.epochs == offline.train.epochs
