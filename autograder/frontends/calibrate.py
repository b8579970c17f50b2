"""Calibrate a profile's grading thresholds by running the reference pipeline on it.

``python -m autograder calibrate --profile offline`` (the CLI calls :func:`calibrate`):

1. load the dense base checkpoint (``assignment/checkpoints/vgg-<profile>.pt`` when present, else
   ``checkpoints/``; trained with ``prunekit.base.train_base`` when missing);
2. build the reference models with the reference choices (``solutions/choices.py``): the
   fine-grained model (``SPARSITY_DICT``, fine-tuned with the masks re-applied after every step)
   and the channel-pruned model (sorted, pruned at ``CHANNEL_PRUNE_RATIO``, fine-tuned), both with
   the profile's fine-tuning recipe; cached in ``.cache/reference-models/`` (gitignored);
3. evaluate everything on the hidden grading split (drawn from a secret seed; students never see
   it) and on the public test split; count sizes and MACs; measure the paired latency speedup;
4. write ``autograder/checks/calibration/<profile>.json``: the thresholds, the grading salt and
   split seed (kept from an earlier calibration unless ``new_secrets``), the reference figures
   and the base checkpoint's SHA-256 (grading refuses another base model);
5. publish the two accuracy thresholds to students in ``prunekit/grading_thresholds.json``
   (:func:`publish_thresholds`: the numbers and the split's size only), which the notebook
   states as its targets and checks the saved models against.

Accuracy thresholds (see :func:`accuracy_threshold`): the reference's hidden-split accuracy minus
``ALLOWANCE_POINTS`` (honest students choose other sparsities and ratios than the reference)
minus three standard errors of the difference between two splits' accuracy estimates (a student
checks the target on the public split, grading measures the hidden one: a model exactly at the
public target then fails grading with probability about 0.1 %); never above the target the
notebook states minus the same noise term.
"""
from __future__ import annotations

import json
import math
import platform
import secrets
import time
from pathlib import Path

import torch
from torch import nn

from prunekit import __version__ as KIT_VERSION
from prunekit.files import write_text_atomic
from prunekit.measure import compare_latency, count_macs
from prunekit.profiles import Profile, get_profile
from prunekit.submission import THRESHOLDS_FILE, public_accuracy_target
from solutions import get_num_parameters

from autograder.checks.resources import REPO_ROOT, file_sha256, hidden_loader
from autograder.core.references import (compute_device, load_base_model, reference_choices,
                                        reference_models)
from autograder.manifest import grader_data_root
from autograder.checks.settings import (ALLOWANCE_POINTS, HIDDEN_SPLIT_SIZE, NOISE_SE,
                                        calibration_inputs, calibration_path)

CALIBRATION_LATENCY = {"batch": 32, "warmup": 10, "repeats": 100}  # more repeats than grading


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------

def split_noise_points(accuracy: float, hidden_size: int, public_size: int | None) -> float:
    """Standard error (percentage points) of the difference between one model's accuracy on the
    hidden split and on the public split (two independent samples; 0 from the public side when
    the hidden split *is* the public split, ``public_size`` None)."""
    p = min(max(accuracy / 100.0, 0.0), 1.0)
    variance = p * (1 - p) / hidden_size
    if public_size:
        variance += p * (1 - p) / public_size
    return 100.0 * math.sqrt(variance)


def accuracy_threshold(reference_hidden: float, public_target: float, noise_points: float) -> dict:
    """The graded accuracy threshold (percent, hidden split) and how it was made."""
    noise = NOISE_SE * noise_points
    from_reference = reference_hidden - ALLOWANCE_POINTS - noise
    from_public = public_target - noise
    return {"threshold": round(min(from_reference, from_public), 2),
            "reference_hidden": round(reference_hidden, 2),
            "allowance_points": ALLOWANCE_POINTS, "noise_points": round(noise, 2),
            "public_target": round(public_target, 2),
            "rule": "min(reference - allowance - 3 SE, public target - 3 SE)"}


def _secrets(path: Path, new_secrets: bool, profile: Profile) -> tuple[str, int]:
    """The salt and split seed: kept from the file being replaced, else from the profile's
    calibration file, unless ``new_secrets`` (then, or when neither exists, drawn anew)."""
    for existing in (path, calibration_path(profile.name)):
        if not existing.is_file() or new_secrets:
            continue
        try:
            old = json.loads(existing.read_text())
            return str(old["salt"]), int(old["grading_split"]["seed"])
        except (KeyError, ValueError, TypeError):
            continue
    public_seeds = {profile.offline.train_seed, profile.offline.test_seed} if profile.offline \
        else set()
    seed = secrets.randbelow(2**31 - 1000) + 1000
    while seed in public_seeds:
        seed += 1
    return secrets.token_hex(16), seed


def calibrate(profile_name: str = "offline", out_path: str | Path | None = None,
              new_secrets: bool = False, progress: bool = True,
              latency_repeats: int | None = None) -> dict:
    """Run the reference pipeline on ``profile_name`` and write its calibration file.

    Args:
        profile_name: the profile to calibrate.
        out_path: where to write (default ``autograder/checks/calibration/<profile>.json``).
        new_secrets: draw a new salt and hidden-split seed even if the file has them (changes
            every submission's inputs and the hidden split; old grades are then not reproducible).
        progress: show progress bars and one line per stage.
        latency_repeats: rounds of the latency measurement (default
            ``CALIBRATION_LATENCY["repeats"]``; fewer only to check the pipeline quickly).

    Returns:
        A short summary (reference accuracies, thresholds, speedup, where it was written); the
        file holds everything.
    """
    started = time.perf_counter()
    profile = get_profile(profile_name)
    path = Path(out_path) if out_path is not None else calibration_path(profile.name)
    salt, split_seed = _secrets(path, new_secrets, profile)
    say = print if progress else (lambda *args, **kwargs: None)
    base, base_path = load_base_model(profile, progress)
    say(f"base checkpoint: {base_path}")
    say("reference models (fine-tuning, cached after the first run) ...")
    models = reference_models(profile.name, progress)
    choices = reference_choices()

    hidden_size = HIDDEN_SPLIT_SIZE if profile.dataset == "offline" else None
    hidden = hidden_loader(profile.name, split_seed, hidden_size or 0)
    from prunekit.data import make_loaders
    from prunekit.train import evaluate

    public = make_loaders(profile, grader_data_root())[1]
    say("evaluating on the hidden and public splits ...")
    device = compute_device(profile)
    accuracy = {name: {"hidden": evaluate(model, hidden, device=device),
                       "public": evaluate(model, public, device=device)}
                for name, model in models.items()}
    for model in models.values():  # evaluate moved them; MACs and latency are CPU figures
        model.cpu()
    dense_params = get_num_parameters(base)
    finegrained_nonzero = get_num_parameters(models["finegrained"], count_nonzero_only=True)
    dense_macs, channel_macs = count_macs(base), count_macs(models["channel_pruned"])
    say("measuring latency ...")
    latency = _latency(base, models["channel_pruned"], latency_repeats)

    public_target = public_accuracy_target(accuracy["dense"]["public"])
    public_size = profile.offline.num_test if profile.dataset == "offline" else None
    thresholds_detail = {}
    for key, model_name in (("finegrained_accuracy", "finegrained"),
                            ("channel_accuracy", "channel_pruned")):
        hidden_accuracy = accuracy[model_name]["hidden"]
        noise = split_noise_points(hidden_accuracy, len(hidden.dataset),
                                   public_size if profile.dataset == "offline" else None)
        thresholds_detail[key] = accuracy_threshold(hidden_accuracy, public_target, noise)
    record = {
        "profile": profile.name,
        "kit_version": KIT_VERSION,
        "torch_version": torch.__version__,
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "base_checkpoint": base_path.relative_to(REPO_ROOT).as_posix()
        if base_path.is_relative_to(REPO_ROOT) else str(base_path),
        "base_checkpoint_sha256": file_sha256(base_path),
        "salt": salt,
        "grading_split": {"dataset": profile.dataset, "seed": split_seed,
                          "size": len(hidden.dataset)},
        "choices": choices,
        "reference": {
            "dense_accuracy": _round(accuracy["dense"]),
            "finegrained_accuracy": _round(accuracy["finegrained"]),
            "channel_accuracy": _round(accuracy["channel_pruned"]),
            "dense_parameters": dense_params,
            "finegrained_nonzero_parameters": finegrained_nonzero,
            "finegrained_size_fraction": round(finegrained_nonzero / dense_params, 4),
            "channel_parameters": get_num_parameters(models["channel_pruned"]),
            "dense_macs": dense_macs,
            "channel_macs": channel_macs,
            "channel_macs_fraction": round(channel_macs / dense_macs, 4),
            "latency": latency,
        },
        "thresholds": {
            "finegrained_accuracy": thresholds_detail["finegrained_accuracy"]["threshold"],
            "channel_accuracy": thresholds_detail["channel_accuracy"]["threshold"],
        },
        "inputs": calibration_inputs(profile.name),
        "threshold_derivation": thresholds_detail,
        "calibration_seconds": round(time.perf_counter() - started, 1),
    }
    write_text_atomic(path, json.dumps(record, indent=2) + "\n")
    published = path == calibration_path(profile.name)  # a copy elsewhere is not the course's
    if published:
        publish_thresholds(profile.name, record)
    return {"written": str(path), "published": str(THRESHOLDS_FILE) if published else "",
            "dense_accuracy_hidden": record["reference"]["dense_accuracy"]["hidden"],
            "finegrained_accuracy_hidden": record["reference"]["finegrained_accuracy"]["hidden"],
            "channel_accuracy_hidden": record["reference"]["channel_accuracy"]["hidden"],
            "finegrained_threshold": record["thresholds"]["finegrained_accuracy"],
            "channel_threshold": record["thresholds"]["channel_accuracy"],
            "finegrained_size_fraction": record["reference"]["finegrained_size_fraction"],
            "channel_macs_fraction": record["reference"]["channel_macs_fraction"],
            "speedup": latency["speedup"],
            "seconds": record["calibration_seconds"]}


def published_entry(record: dict) -> dict:
    """What students are shown of a calibration ``record``: the two accuracy thresholds, the
    hidden split's size and whether it is the profile's whole public test set (CIFAR-10 has no
    unseen split); never the salt or the split's seed."""
    split = record["grading_split"]
    return {"finegrained_accuracy": record["thresholds"]["finegrained_accuracy"],
            "channel_accuracy": record["thresholds"]["channel_accuracy"],
            "hidden_split_size": int(split["size"]),
            "hidden_split_is_test_set": split["dataset"] != "offline"}


def publish_thresholds(profile_name: str, record: dict, path: Path = THRESHOLDS_FILE) -> Path:
    """Write ``profile_name``'s entry (:func:`published_entry` of its calibration ``record``)
    into the students' thresholds file ``path``, keeping the other profiles' entries.

    Side effect: rewrites ``path`` atomically."""
    try:
        profiles = json.loads(path.read_text(encoding="utf-8"))["profiles"]
    except (OSError, ValueError, KeyError):
        profiles = {}
    profiles[profile_name] = published_entry(record)
    document = {"about": "The accuracy thresholds (percent) grading applies to each profile's "
                         "fine-tuned models, rewritten whenever the course recalibrates.",
                "profiles": dict(sorted(profiles.items()))}
    write_text_atomic(path, json.dumps(document, indent=2) + "\n")
    return path


def _round(accuracies: dict) -> dict:
    return {split: round(value, 2) for split, value in accuracies.items()}


def _latency(dense: nn.Module, pruned: nn.Module, repeats: int | None = None) -> dict:
    """Paired latency of the reference channel-pruned model against the dense one (one torch
    thread, as grading measures), over ``repeats`` rounds after as many warm-up rounds at most
    (default ``CALIBRATION_LATENCY``)."""
    settings = dict(CALIBRATION_LATENCY)
    if repeats:
        settings.update(repeats=repeats, warmup=min(repeats, settings["warmup"]))
    inputs = torch.rand(settings["batch"], 3, 32, 32,
                        generator=torch.Generator().manual_seed(0))
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = compare_latency(dense, pruned, inputs, settings["warmup"], settings["repeats"])
    finally:
        torch.set_num_threads(threads)
    return {"speedup": round(result.speedup, 3),
            "median_pair_ratio": round(result.median_pair_ratio, 3),
            "ratio_q25": round(result.ratio_q25, 3), "ratio_q75": round(result.ratio_q75, 3),
            "dense_ms": round(1e3 * result.median_a_s, 3),
            "pruned_ms": round(1e3 * result.median_b_s, 3), **settings, "threads": 1}
