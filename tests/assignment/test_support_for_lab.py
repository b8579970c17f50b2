"""What the notebook needs from prunekit beyond the foundation: the ``PRUNEKIT_BUDGET`` smoke
budget of the profiles (CI runs of the notebook) and ``prunekit.submission`` (the model files
and the targets the notebook states)."""
from __future__ import annotations

import dataclasses

import pytest
import torch

from prunekit import profiles
from prunekit.model import VGG, conv_channels_of
from prunekit.profiles import apply_budget, get_profile
from prunekit.submission import (MAX_MACS_FRACTION, MAX_SIZE_FRACTION, SubmissionError,
                                 accuracy_targets, load_model, published_thresholds,
                                 save_model)
from solutions import channel_prune


def test_full_budget_is_the_profile(monkeypatch):
    """Without $PRUNEKIT_BUDGET (or with "full") get_profile returns the profile unchanged."""
    monkeypatch.delenv("PRUNEKIT_BUDGET", raising=False)
    assert get_profile("offline") is profiles.PROFILES["offline"]
    monkeypatch.setenv("PRUNEKIT_BUDGET", "full")
    assert get_profile("offline") is profiles.PROFILES["offline"]


def test_smoke_budget_shortens_only_the_budget(monkeypatch):
    """PRUNEKIT_BUDGET=smoke: 1 training and 1 fine-tuning epoch, a two-point scan and a
    shorter fine-tuning of the trade-off points; data, width, learning rates and thresholds
    stay."""
    monkeypatch.setenv("PRUNEKIT_BUDGET", "smoke")
    full, smoke = profiles.PROFILES["offline"], get_profile("offline")
    assert (smoke.train.epochs, smoke.finetune.epochs) == (1, 1)
    assert smoke.scan_sparsities == profiles.SMOKE_SCAN_SPARSITIES and len(smoke.scan_sparsities) == 2
    assert smoke.tradeoff_tune_images == profiles.SMOKE_TRADEOFF_TUNE_IMAGES < full.tradeoff_tune_images
    assert dataclasses.replace(smoke, train=full.train, finetune=full.finetune,
                               scan_sparsities=full.scan_sparsities,
                               tradeoff_tune_images=full.tradeoff_tune_images) == full


def test_unknown_budget_lists_the_known_ones(monkeypatch):
    """A typo in $PRUNEKIT_BUDGET is an error that names the known budgets."""
    monkeypatch.setenv("PRUNEKIT_BUDGET", "fast")
    with pytest.raises(ValueError, match="known budgets: full, smoke, tiny"):
        get_profile("offline")
    with pytest.raises(ValueError, match="unknown budget 'huge'"):
        apply_budget(profiles.PROFILES["offline"], "huge")


def test_tiny_budget_is_smoke_on_fewer_real_images():
    """The tiny budget (the kit's own tests on real images) is the smoke budget with
    TINY_SUBSET of CIFAR-10; the offline data stays whole."""
    real = profiles.PROFILES["cifar10-cpu"]
    smoke, tiny = apply_budget(real, "smoke"), apply_budget(real, "tiny")
    assert tiny.subset == profiles.TINY_SUBSET and smoke.subset == profiles.SMOKE_SUBSET
    assert dataclasses.replace(tiny, subset=smoke.subset) == smoke
    assert apply_budget(profiles.PROFILES["offline"], "tiny").subset is None


def test_scan_sparsities_are_fractions():
    """Every profile scans a handful of sparsities strictly between 0 and 1."""
    for profile in profiles.PROFILES.values():
        assert 3 <= len(profile.scan_sparsities) <= 8
        assert all(0 < s < 1 for s in profile.scan_sparsities)


def test_model_files_round_trip(tmp_path):
    """save_model writes a plain CPU state dict; load_model rebuilds the VGG (a channel-pruned
    one too) with weights_only loading, in eval mode, computing the same function."""
    torch.manual_seed(0)
    model = channel_prune(VGG(width=0.125), 0.3).eval()
    path = save_model(model, tmp_path / "channel_pruned.pt")
    state = torch.load(path, weights_only=True)
    assert isinstance(state, dict) and all(t.device.type == "cpu" for t in state.values())
    loaded = load_model(path)
    assert conv_channels_of(loaded) == conv_channels_of(model) and not loaded.training
    images = torch.rand(2, 3, 32, 32)
    with torch.no_grad():
        assert torch.equal(loaded(images), model(images))
    assert list(tmp_path.glob("*.partial")) == []


def test_bad_model_files_are_named(tmp_path):
    """Missing, unreadable and non-VGG files each give a SubmissionError that names the file."""
    with pytest.raises(SubmissionError, match="no model file"):
        load_model(tmp_path / "finegrained.pt")
    (tmp_path / "garbage.pt").write_bytes(b"not a model")
    with pytest.raises(SubmissionError, match="garbage.pt"):
        load_model(tmp_path / "garbage.pt")
    torch.save({"weight": torch.zeros(3)}, tmp_path / "other.pt")
    with pytest.raises(SubmissionError, match="not a VGG state dict"):
        load_model(tmp_path / "other.pt")
    torch.save([torch.zeros(3)], tmp_path / "list.pt")
    with pytest.raises(SubmissionError, match="not a state dict"):
        load_model(tmp_path / "list.pt")


def test_targets_are_the_published_thresholds_else_the_public_target():
    """Size and MACs fractions are fixed by the assignment; the accuracy targets are the
    thresholds grading applies where a calibration is published (every shipped profile), else 2
    points below the dense accuracy, saying which."""
    assert MAX_SIZE_FRACTION == 0.25 and MAX_MACS_FRACTION == 0.60
    published = published_thresholds("offline")
    targets = accuracy_targets("offline", 96.0)
    assert (targets.finegrained, targets.channel) == (published["finegrained_accuracy"],
                                                      published["channel_accuracy"])
    assert "the grader's threshold" in targets.basis and "2,000 images" in targets.basis
    fallback = accuracy_targets("uncalibrated", 96.0)  # a profile a course has not calibrated
    assert (fallback.finegrained, fallback.channel) == (94.0, 94.0)
    assert "no grading threshold is published" in fallback.basis
    with pytest.raises(ValueError, match="pass the dense model's accuracy"):
        accuracy_targets("uncalibrated")