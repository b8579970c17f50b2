"""Check the two saved model files as grading will, before the submission is exported.

Grading reads ``finegrained.pt`` and ``channel_pruned.pt`` back from the zip (q6 and q9) and
checks that each loads into a VGG of the course's shapes, the fine-grained model's non-zero size
and zeros, the channel-pruned model's MACs, and both models' accuracy against the profile's
thresholds. :func:`check_saved_models` measures the same properties on the files a student just
saved, with what a student has: accuracy on the profile's whole public test set (grading
measures a hidden split of its own, or the same test set on CIFAR-10), or under the QUICK
budget on its subset, which keeps a first pass quick (QUICK models are not for submitting).
The speedup is not checked here: section 8's table measures it.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torch import nn

from prunekit.measure import count_macs
from prunekit.model import conv_channels_of
from prunekit.profiles import Profile
from prunekit.submission import (CHANNEL_PRUNED_FILE, FINEGRAINED_FILE, MAX_MACS_FRACTION,
                                 MAX_SIZE_FRACTION, AccuracyTargets, SubmissionError,
                                 accuracy_targets, load_model, published_thresholds,
                                 size_fraction, zeros_short_of)


@dataclass(frozen=True)
class ModelCheck:
    """One property of one saved model file, as grading checks it."""
    file: str       # FINEGRAINED_FILE or CHANNEL_PRUNED_FILE
    name: str       # what is checked: "loads", "size", "zeros", "MACs", "accuracy"
    passed: bool
    measured: str   # what was measured and what grading asks, in one line


def check_saved_models(profile: Profile, dense_model: nn.Module, sparsity_dict: dict,
                       folder: str | Path = ".", device=None, data_root: Path | None = None,
                       show: bool = True) -> list[ModelCheck]:
    """Check the model files saved in ``folder`` against what grading asks.

    Args:
        profile: the notebook's profile (accuracy is measured on its whole public test set, or
            on a QUICK budget's subset, and the table says which).
        dense_model: the dense base model (sizes and MACs are fractions of its).
        sparsity_dict: the notebook's chosen sparsities (each weight of the fine-grained file
            must have at least the zeros its entry prunes).
        folder: where the notebook saved the files.
        device: where to evaluate (default: as ``prunekit.train.evaluate`` picks).
        data_root: the data folder (default: the profile's, ``./data``).
        show: print the results as a table.

    Returns:
        One :class:`ModelCheck` per property, in the table's order.

    Side effects: reads both files and the test images; evaluates each loadable model once.
    """
    folder = Path(folder)
    test_loader = _test_loader(profile, data_root)
    targets = _targets(profile, dense_model, test_loader, device)
    checks = (_finegrained_checks(folder / FINEGRAINED_FILE, dense_model, sparsity_dict,
                                  test_loader, targets.finegrained, device)
              + _channel_checks(folder / CHANNEL_PRUNED_FILE, dense_model, test_loader,
                                targets.channel, device))
    if show:
        print_model_checks(checks, _images_text(profile, len(test_loader.dataset)), targets.basis)
    return checks


def print_model_checks(checks: list[ModelCheck], images: str, basis: str) -> None:
    """Print ``checks`` as a table, then one line saying what grading will make of them."""
    print(f"The saved models, checked as grading will (accuracy on {images}; the accuracy "
          f"targets are {basis}):")
    for check in checks:
        mark = "ok  " if check.passed else "MISS"
        print(f"  {mark} {check.file:<18s} {check.name:<9s} {check.measured}")
    missed = [f"{check.file} {check.name}" for check in checks if not check.passed]
    if missed:
        print(f"{len(missed)} of {len(checks)} would lose points: {', '.join(missed)}. Fix them "
              "(the cells of sections 5-6), save again (section 7) and rerun this cell.")
    else:
        print("Every check passes. Accuracy is measured again on the grader's split, so a model "
              "within a few tenths of its target may still fall either side.")


def _finegrained_checks(path: Path, dense: nn.Module, sparsity_dict: dict, test_loader,
                        target: float, device) -> list[ModelCheck]:
    """loads (the dense model's channels), size, zeros per sparsity_dict, accuracy."""
    model, problem = _load(path)
    if problem is None and conv_channels_of(model) != conv_channels_of(dense):
        problem = (f"conv channels {conv_channels_of(model)}; a fine-grained model keeps the "
                   f"dense model's {conv_channels_of(dense)}")
    if problem is not None:
        return [ModelCheck(FINEGRAINED_FILE, "loads", False, problem)]
    fraction = size_fraction(model, dense)
    short = _zeros_problem(model, sparsity_dict)
    return [
        ModelCheck(FINEGRAINED_FILE, "loads", True, "a VGG with the dense model's channels"),
        ModelCheck(FINEGRAINED_FILE, "size", fraction <= MAX_SIZE_FRACTION,
                   f"{fraction:.1%} of the dense parameters are non-zero (at most "
                   f"{MAX_SIZE_FRACTION:.0%})"),
        ModelCheck(FINEGRAINED_FILE, "zeros", short is None,
                   short or "every weight has the zeros its sparsity_dict entry prunes"),
        _accuracy_check(FINEGRAINED_FILE, model, test_loader, target, device),
    ]


def _channel_checks(path: Path, dense: nn.Module, test_loader, target: float,
                    device) -> list[ModelCheck]:
    """loads (at most the dense model's channels), MACs, accuracy."""
    model, problem = _load(path)
    if problem is None:
        dense_channels = conv_channels_of(dense)
        channels = conv_channels_of(model)
        if len(channels) != len(dense_channels) or any(
                kept > full for kept, full in zip(channels, dense_channels)):
            problem = (f"conv channels {channels}: a channel-pruned model keeps at most the dense "
                       f"model's {dense_channels}")
    if problem is not None:
        return [ModelCheck(CHANNEL_PRUNED_FILE, "loads", False, problem)]
    fraction = count_macs(model) / count_macs(dense)
    return [
        ModelCheck(CHANNEL_PRUNED_FILE, "loads", True,
                   f"a VGG with conv channels {conv_channels_of(model)}"),
        ModelCheck(CHANNEL_PRUNED_FILE, "MACs", fraction <= MAX_MACS_FRACTION,
                   f"{fraction:.1%} of the dense MACs (at most {MAX_MACS_FRACTION:.0%})"),
        _accuracy_check(CHANNEL_PRUNED_FILE, model, test_loader, target, device),
    ]


def _load(path: Path) -> tuple[nn.Module | None, str | None]:
    """The model in ``path``, or None and why it cannot be read."""
    try:
        return load_model(path), None
    except SubmissionError as error:
        return None, str(error)


def _zeros_problem(model: nn.Module, sparsity_dict: dict) -> str | None:
    """None when every weight of ``sparsity_dict`` has its zeros, else the first short one."""
    try:
        short = zeros_short_of(model, sparsity_dict)
    except KeyError as unknown:
        return f"sparsity_dict names {unknown}, which is not a parameter of the VGG"
    if not short:
        return None
    name, zeros, needed = short[0]
    return (f"{name} has {zeros:,} zeros where its sparsity prunes {needed:,} (were the masks "
            f"re-applied after every fine-tuning step?)")


def _accuracy_check(file: str, model: nn.Module, test_loader, target: float,
                    device) -> ModelCheck:
    accuracy = _accuracy(model, test_loader, device)
    return ModelCheck(file, "accuracy", accuracy >= target,
                      f"{accuracy:.2f}% (at least {target:.2f}%)")


def _targets(profile: Profile, dense: nn.Module, test_loader, device) -> AccuracyTargets:
    """The profile's accuracy targets; the dense model is evaluated only for the public fallback
    (a profile without published thresholds)."""
    if published_thresholds(profile.name) is not None:
        return accuracy_targets(profile.name)
    return accuracy_targets(profile.name, _accuracy(dense, test_loader, device))


def _accuracy(model: nn.Module, test_loader, device) -> float:
    """Test accuracy (percent) of ``model`` on ``device`` (None: as ``evaluate`` picks)."""
    from prunekit.train import evaluate

    return evaluate(model, test_loader, device)


def _test_loader(profile: Profile, data_root: Path | None):
    """The profile's public test set (its QUICK subset where it has one), unshuffled."""
    from prunekit.data import load_datasets, make_loader

    _, test_set = load_datasets(profile, data_root)
    return make_loader(test_set, profile.eval_batch_size, shuffle=False)


def _images_text(profile: Profile, images: int) -> str:
    """What the accuracies were measured on, for the table's first line."""
    if profile.subset:
        return (f"the {images:,} test images of QUICK's subset: a full run checks the whole "
                f"test set")
    return f"all {images:,} public test images"
