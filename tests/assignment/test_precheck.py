"""The notebook's check of the saved model files (``prunekit.precheck``): it says what grading
will say of finegrained.pt and channel_pruned.pt, on the reference models (everything passes) and
on files with the faults grading catches (each marked on the right line, with the measurement)."""
from __future__ import annotations

import shutil

import pytest
import torch

from autograder.core.references import reference_model_files
from autograder.manifest import base_checkpoint_path
from prunekit.checkpoint import load_checkpoint
from prunekit.precheck import check_saved_models
from prunekit.profiles import get_profile
from prunekit.submission import (CHANNEL_PRUNED_FILE, FINEGRAINED_FILE, load_model,
                                 published_thresholds, save_model)
from solutions import choices

pytestmark = pytest.mark.slow  # evaluates two models on the offline test set per case


@pytest.fixture(scope="module")
def offline():
    """(profile, dense base model, the reference model files by name)."""
    profile = get_profile("offline")
    dense, _ = load_checkpoint(base_checkpoint_path("offline"), profile)
    return profile, dense, reference_model_files("offline")


@pytest.fixture
def folder(tmp_path, offline):
    """A lab folder holding copies of the reference model files."""
    for name, path in offline[2].items():
        shutil.copy(path, tmp_path / name)
    return tmp_path


def run(offline, folder, sparsity_dict=None):
    profile, dense, _ = offline
    checks = check_saved_models(profile, dense, sparsity_dict or choices.SPARSITY_DICT, folder,
                                device="cpu", data_root=folder.parent / "data")
    return {(check.file, check.name): check for check in checks}


def test_reference_models_pass_every_check_against_the_published_thresholds(offline, folder,
                                                                            capsys):
    """The reference models: seven lines, all ok, accuracy stated against the grader's
    threshold."""
    checks = run(offline, folder)
    assert len(checks) == 7 and all(check.passed for check in checks.values())
    threshold = published_thresholds("offline")["finegrained_accuracy"]
    assert f"(at least {threshold:.2f}%)" in checks[(FINEGRAINED_FILE, "accuracy")].measured
    out = capsys.readouterr().out
    assert "Every check passes" in out and "the grader's threshold" in out


def test_masks_not_kept_while_fine_tuning_show_as_missing_zeros(offline, folder):
    """A fine-grained file whose conv7 zeros grew back misses 'zeros' (naming the weight) and
    'size', and nothing on the channel-pruned side."""
    model = load_model(folder / FINEGRAINED_FILE)
    with torch.no_grad():
        weight = model.backbone.conv7.weight
        weight[weight == 0] = 1e-3
    save_model(model, folder / FINEGRAINED_FILE)
    checks = run(offline, folder)
    assert not checks[(FINEGRAINED_FILE, "zeros")].passed
    assert "backbone.conv7.weight" in checks[(FINEGRAINED_FILE, "zeros")].measured
    assert not checks[(FINEGRAINED_FILE, "size")].passed
    assert all(check.passed for (file, _), check in checks.items() if file == CHANNEL_PRUNED_FILE)


def test_an_unpruned_channel_model_misses_the_macs_target(offline, folder):
    """The dense model saved as channel_pruned.pt loads but needs 100% of the MACs."""
    save_model(offline[1], folder / CHANNEL_PRUNED_FILE)
    check = run(offline, folder)[(CHANNEL_PRUNED_FILE, "MACs")]
    assert not check.passed and check.measured.startswith("100.0% of the dense MACs")


def test_files_that_do_not_load_say_why(offline, folder, capsys):
    """A missing channel-pruned file and a channel-pruned model saved as the fine-grained one:
    one 'loads' line each, with the reason, and the summary names both."""
    (folder / CHANNEL_PRUNED_FILE).rename(folder / FINEGRAINED_FILE)
    checks = run(offline, folder)
    assert "a fine-grained model keeps the dense model's" in \
        checks[(FINEGRAINED_FILE, "loads")].measured
    assert "no model file at" in checks[(CHANNEL_PRUNED_FILE, "loads")].measured
    assert len(checks) == 2 and not any(check.passed for check in checks.values())
    assert "2 of 2 would lose points" in capsys.readouterr().out
