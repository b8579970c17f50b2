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
    with pytest.raises(ValueError, match="known profiles: cifar10, cifar10-cpu, offline"):
        get_profile("imagenet")


def test_default_is_offline_without_cifar10(tmp_path, monkeypatch):
    """Without CIFAR-10 in the data directory the default profile is offline; with an array
    file there it is cifar10-cpu, also on a machine with a GPU unless the full-width cifar10
    checkpoint is in the checkpoint folder (a GPU then picks cifar10);
    $PRUNEKIT_PROFILE wins over all."""
    import torch

    data, checkpoints = tmp_path / "data", tmp_path / "checkpoints"
    data.mkdir()
    checkpoints.mkdir()
    monkeypatch.delenv("PRUNEKIT_PROFILE", raising=False)
    monkeypatch.setenv("PRUNEKIT_DATA", str(data))
    monkeypatch.setenv("PRUNEKIT_CHECKPOINTS", str(checkpoints))
    assert get_profile().name == "offline"
    (data / "cifar10.npz").write_bytes(b"")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_profile().name == "cifar10-cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert get_profile().name == "cifar10-cpu"  # no full-width checkpoint: not gradable
    (checkpoints / "vgg-cifar10.pt").write_bytes(b"")
    assert get_profile().name == "cifar10"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert get_profile().name == "cifar10-cpu"
    monkeypatch.setenv("PRUNEKIT_PROFILE", "offline")
    assert get_profile().name == "offline"


def test_smoke_budget_takes_a_subset_of_real_images_only():
    """Under "smoke" the real-data profiles use a fixed subset of the images; offline keeps its
    (small) data set whole."""
    from prunekit.profiles import SMOKE_SUBSET, apply_budget

    assert apply_budget(get_profile("cifar10-cpu"), "smoke").subset == SMOKE_SUBSET
    assert apply_budget(get_profile("offline"), "smoke").subset is None
    assert get_profile("cifar10-cpu").subset is None


def test_fixed_subset_is_the_same_draw_every_time():
    from prunekit.data import fixed_subset

    data = list(range(100))
    first, second = fixed_subset(data, 10, seed=3), fixed_subset(data, 10, seed=3)
    assert list(first) == list(second) and len(first) == 10
    assert list(first) == sorted(first) and list(first) != list(range(10))
    assert fixed_subset(data, None, seed=3) is data and fixed_subset(data, 200, seed=3) is data


def test_with_budget_changes_only_epochs():
    """with_budget shortens training and fine-tuning and keeps everything else."""
    offline = get_profile("offline")
    short = offline.with_budget(1, 1)
    assert (short.train.epochs, short.finetune.epochs) == (1, 1)
    assert short.train.lr == offline.train.lr and short.width == offline.width
    assert profiles.PROFILES["offline"].train.epochs == offline.train.epochs


def test_cifar10_cpu_profile_is_real_data_on_a_narrow_vgg():
    """cifar10-cpu: real CIFAR-10 with the lab's augmentation, a VGG of the same plan at a width
    below 1 (channel counts stay multiples of 8), a one-cycle base recipe, a short fine-tune and a
    sensitivity scan on a fixed subset of the test set."""
    from prunekit.model import scaled_channels
    profile = get_profile("cifar10-cpu")
    assert profile.dataset == "cifar10" and profile.augment and profile.offline is None
    assert 0 < profile.width < 1
    assert all(c % 8 == 0 for c in scaled_channels(profile.width))
    assert profile.train.schedule == "onecycle" and profile.train.label_smoothing > 0
    assert profile.finetune.epochs < profile.train.epochs
    assert 0 < profile.scan_eval_size < 10_000


def test_cifar10_cpu_without_images_is_one_message_naming_offline(tmp_path, capsys):
    """Asking for cifar10-cpu where the real images are absent (and no network) refuses with one
    message that names the profile, where it looked and the offline profile; the command line
    turns it into one error line, exit status 2."""
    from prunekit.__main__ import main
    from prunekit.data import load_datasets
    from prunekit.data.cifar10 import DataUnavailableError
    with pytest.raises(DataUnavailableError) as info:
        load_datasets("cifar10-cpu", root=tmp_path)
    message = str(info.value)
    assert "cifar10-cpu" in message and str(tmp_path.resolve()) in message
    assert "'offline' profile" in message and "PRUNEKIT_PROFILE=offline" in message
    assert main(["train-base", "--profile", "cifar10-cpu", "--data", str(tmp_path)]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 1 and errors[0].startswith("error: profile 'cifar10-cpu'")


def test_full_budget_scans_from_10_percent_in_rising_order():
    """Every profile's full scan starts at 10% sparsity (sensitive layers already lose accuracy
    at 40%), rises strictly and stays short (each sparsity costs one evaluation per layer)."""
    for name in profiles.PROFILES:
        grid = profiles.apply_budget(profiles.PROFILES[name], "full").scan_sparsities
        assert grid[0] == 0.1 and list(grid) == sorted(set(grid)) and len(grid) <= 8, name
