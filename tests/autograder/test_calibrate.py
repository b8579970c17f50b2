"""Tests of the calibration (autograder/frontends/calibrate.py) and of the committed calibration of the
offline profile: threshold arithmetic, secrets kept across re-calibrations, and the committed
figures being consistent with the reference run."""
from __future__ import annotations

import json
import math

import pytest

from autograder.core import references
from autograder.frontends import calibrate as calibration
from autograder.checks.resources import file_sha256, hidden_loader
from autograder.manifest import base_checkpoint_path
from autograder.checks import settings
from autograder.checks.settings import NotCalibrated, calibration_path, load_settings
from prunekit.profiles import get_profile
from prunekit.submission import THRESHOLDS_FILE, published_thresholds
from prunekit.train import evaluate
from solutions import choices


def test_split_noise_is_the_binomial_standard_error():
    """Two independent splits of n images: the difference of one model's accuracies has standard
    error sqrt(p(1-p)/n1 + p(1-p)/n2), in percentage points; one split only: the first term."""
    assert calibration.split_noise_points(95.0, 2000, 2000) == pytest.approx(
        100 * math.sqrt(2 * 0.95 * 0.05 / 2000))
    assert calibration.split_noise_points(95.0, 10000, None) == pytest.approx(
        100 * math.sqrt(0.95 * 0.05 / 10000))
    assert calibration.split_noise_points(100.0, 2000, 2000) == 0.0


def test_threshold_is_never_above_what_students_are_told():
    """threshold = min(reference - allowance - 3 SE, public target - 3 SE)."""
    high_reference = calibration.accuracy_threshold(96.0, 94.0, 0.7)
    assert high_reference["threshold"] == pytest.approx(94.0 - 2.1)
    low_reference = calibration.accuracy_threshold(94.0, 94.0, 0.7)
    assert low_reference["threshold"] == pytest.approx(94.0 - calibration.ALLOWANCE_POINTS - 2.1)


def test_reference_models_are_made_on_the_cpu_offline_and_on_the_accelerator_otherwise(
        monkeypatch):
    """The offline profile's reference models come from the CPU on every machine (the same
    models everywhere); the cifar10 profile uses the accelerator that pick_device finds."""
    monkeypatch.setenv("PRUNEKIT_DEVICE", "meta")  # stands in for an accelerator
    assert references.compute_device(get_profile("offline")).type == "cpu"
    assert references.compute_device(get_profile("cifar10")).type == "meta"


def test_secrets_are_kept_unless_renewed(tmp_path):
    """Re-calibrating keeps the salt and the hidden-split seed (old grades stay reproducible);
    new_secrets draws new ones, never a public data seed."""
    profile = get_profile("offline")
    path = tmp_path / "offline.json"
    path.write_text(json.dumps({"salt": "abc", "grading_split": {"seed": 1234}}))
    assert calibration._secrets(path, False, profile) == ("abc", 1234)
    committed = calibration_path("offline")
    if committed.is_file():  # a new file takes the profile's committed secrets
        record = json.loads(committed.read_text())
        assert calibration._secrets(tmp_path / "new.json", False, profile) == (
            record["salt"], record["grading_split"]["seed"])
    salt, seed = calibration._secrets(path, True, profile)
    assert salt != "abc" and len(salt) == 32
    assert seed not in (profile.offline.train_seed, profile.offline.test_seed)


@pytest.fixture(scope="module")
def committed():
    path = calibration_path("offline")
    if not path.is_file():
        pytest.skip("the offline profile is not calibrated")
    return json.loads(path.read_text())


def test_committed_calibration_is_consistent(committed):
    """The committed offline calibration: made from the base checkpoint in use and the current
    reference choices; a secret hidden split; thresholds below the reference's accuracies by at
    least the allowance; the reference model meets the size and MACs targets."""
    assert committed["base_checkpoint_sha256"] == file_sha256(base_checkpoint_path("offline"))
    assert committed["choices"] == {"sparsity_dict": choices.SPARSITY_DICT,
                                    "channel_prune_ratio": choices.CHANNEL_PRUNE_RATIO}
    profile = get_profile("offline")
    assert committed["grading_split"]["seed"] not in (profile.offline.train_seed,
                                                      profile.offline.test_seed)
    reference, thresholds = committed["reference"], committed["thresholds"]
    for key in ("finegrained_accuracy", "channel_accuracy"):
        assert thresholds[key] <= reference[key]["hidden"] - calibration.ALLOWANCE_POINTS
        assert thresholds[key] >= 50.0  # a real bar: far above chance (10 %)
    assert reference["finegrained_size_fraction"] <= settings.MAX_SIZE_FRACTION
    assert reference["channel_macs_fraction"] <= settings.MAX_MACS_FRACTION
    assert reference["latency"]["speedup"] > 1.0
    loaded = load_settings("offline")
    assert loaded.thresholds == thresholds and loaded.salt == committed["salt"]


@pytest.mark.slow
def test_calibrate_end_to_end(tmp_path, committed):
    """calibrate() on the offline profile (reference models from the cache, else fine-tuned)
    writes a complete file, keeps the secrets of the file it replaces and reproduces the
    committed accuracies (seeded fine-tuning, same hidden split)."""
    out = tmp_path / "offline.json"
    out.write_text(json.dumps(committed))
    summary = calibration.calibrate("offline", out, progress=False)
    written = json.loads(out.read_text())
    assert summary["written"] == str(out)
    assert written["salt"] == committed["salt"]
    assert written["grading_split"] == committed["grading_split"]
    for key in ("dense_accuracy", "finegrained_accuracy", "channel_accuracy"):
        assert written["reference"][key]["hidden"] == pytest.approx(
            committed["reference"][key]["hidden"], abs=0.5)
    assert written["thresholds"]["finegrained_accuracy"] == pytest.approx(
        committed["thresholds"]["finegrained_accuracy"], abs=0.5)


@pytest.mark.slow
@pytest.mark.parametrize("precision", ["float32", "bfloat16"])
def test_reference_models_meet_the_thresholds_on_both_training_paths(monkeypatch, committed,
                                                                      precision):
    """Fine-tuned in float32 (CPUs without bfloat16 units) or in bfloat16 (with them), the
    reference models clear the committed thresholds by at least the allowance honest students
    are given, so one calibration serves both kinds of machine."""
    monkeypatch.setenv("PRUNEKIT_CPU_PRECISION", precision)
    models = references.reference_models("offline")
    split = committed["grading_split"]
    hidden = hidden_loader("offline", split["seed"], split["size"])
    for key, name in (("finegrained_accuracy", "finegrained"),
                      ("channel_accuracy", "channel_pruned")):
        accuracy = evaluate(models[name], hidden, device="cpu")
        assert accuracy >= committed["thresholds"][key] + calibration.ALLOWANCE_POINTS, name


@pytest.mark.parametrize("profile_name", ["offline", "cifar10-cpu", "cifar10"])
def test_students_are_shown_the_thresholds_grading_applies(profile_name):
    """prunekit/grading_thresholds.json (what the notebook states and checks the saved models
    against) holds each calibrated profile's thresholds and split size, and nothing secret."""
    path = calibration_path(profile_name)
    if not path.is_file():
        pytest.skip(f"the {profile_name} profile is not calibrated")
    record = json.loads(path.read_text())
    published = published_thresholds(profile_name)
    assert published == calibration.published_entry(record)
    assert published["finegrained_accuracy"] == load_settings(profile_name).thresholds[
        "finegrained_accuracy"]
    text = THRESHOLDS_FILE.read_text()
    assert record["salt"] not in text and str(record["grading_split"]["seed"]) not in text


def test_publishing_a_profile_keeps_the_others(tmp_path):
    """publish_thresholds rewrites one profile's entry of the students' file and keeps the rest;
    the notebook's targets then read it."""
    path = tmp_path / "grading_thresholds.json"
    record = {"thresholds": {"finegrained_accuracy": 90.5, "channel_accuracy": 89.25},
              "grading_split": {"dataset": "cifar10", "seed": 77, "size": 10000}}
    calibration.publish_thresholds("cifar10", record, path)
    calibration.publish_thresholds("offline", {**record, "grading_split": {
        "dataset": "offline", "seed": 78, "size": 2000}}, path)
    profiles = json.loads(path.read_text())["profiles"]
    assert profiles["cifar10"] == {"finegrained_accuracy": 90.5, "channel_accuracy": 89.25,
                                   "hidden_split_size": 10000, "hidden_split_is_test_set": True}
    assert profiles["offline"]["hidden_split_is_test_set"] is False


def test_calibration_holds_only_calibrated_values_and_its_inputs():
    """The fixed limits (size, MACs, speedup gain) are not in the calibration file, so editing
    them in settings.py takes effect at once; what the calibrated values came from is recorded
    and matches the code."""
    record = json.loads(calibration_path("offline").read_text())
    assert set(record["thresholds"]) == {"finegrained_accuracy", "channel_accuracy"}
    assert record["inputs"] == settings.calibration_inputs("offline")


@pytest.mark.parametrize("key, value", [("hidden_split_size", 3000), ("noise_se", 2.0),
                                        ("choices", {"channel_prune_ratio": 0.5})])
def test_a_stale_calibration_is_refused_with_what_changed(tmp_path, key, value):
    """A calibration made from other inputs than the code's (a split size, a rule constant, the
    reference choices) is refused, naming the input and the command to run."""
    record = json.loads(calibration_path("offline").read_text())
    record["inputs"][key] = value
    stale = tmp_path / "offline.json"
    stale.write_text(json.dumps(record))
    with pytest.raises(NotCalibrated, match=f"{key}.*re-run `python -m autograder calibrate"):
        load_settings("offline", stale)
    del record["inputs"]
    stale.write_text(json.dumps(record))
    with pytest.raises(NotCalibrated, match="not recorded"):
        load_settings("offline", stale)
