"""Grader-side data of the model-file checks: the base model, the hidden test split, reading a
submitted model file safely, accuracy and paired latency.

Loaded lazily and cached per process (a batch worker loads the base model and the hidden split
once for all its submissions).
"""
from __future__ import annotations

import hashlib
import statistics
from functools import lru_cache
from pathlib import Path
from typing import Callable, TypeVar

import torch
from torch import nn

from prunekit.measure import count_macs, interleaved_cpu_times
from prunekit.model import VGG, scaled_channels, vgg_from_state_dict
from prunekit.profiles import PROFILES, get_profile

from autograder.manifest import KIT_ROOT, base_checkpoint_path, grader_data_root

from .base import Fail, check_within_shapes, derive_seed
from .settings import (LATENCY_BATCH, LATENCY_REPEATS, LATENCY_THREADS, LATENCY_WARMUP,
                       MAX_MODEL_FILE_BYTES, GradingSettings)

REPO_ROOT = KIT_ROOT
CACHE_DIR = REPO_ROOT / ".cache"  # gitignored: hidden-split arrays, reference models
Measured = TypeVar("Measured")


def model_digest(model: nn.Module) -> str:
    """SHA-256 of a model's state dict (names, dtypes, shapes and bytes of every tensor): two
    models with the same digest compute the same function."""
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        flat = tensor.detach().cpu().contiguous().reshape(-1)
        digest.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
        digest.update(flat.view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class Resources:
    """Lazily loaded, per-process cached grader data for one profile's settings."""

    def __init__(self, settings: GradingSettings):
        self.settings = settings
        self.profile = get_profile(settings.profile)
        self._measured: dict[tuple[str, str], object] = {}  # (kind, model digest) -> value

    def remembered(self, kind: str, model: nn.Module, measure: Callable[[], Measured]) -> Measured:
        """``measure()`` the first time this process meets ``model``'s weights for ``kind``, the
        remembered value afterwards.

        A batch worker meets the same model file many times (every example and mutant built on
        the reference models, a class's byte-identical copies, a regrade in the same run). An
        accuracy is a function of the weights (CPU, float32, a fixed split), so remembering it
        changes nothing; a speedup is a measurement, so the same weights keep the first one's
        verdict for the rest of the worker's life (the same file, the same grade). A new
        process measures afresh: the determinism tests regrade in new batches for that reason.
        """
        key = (kind, model_digest(model))
        if key not in self._measured:
            self._measured[key] = measure()
        return self._measured[key]  # type: ignore[return-value]

    # --- the base model ------------------------------------------------------------------------
    def base_model(self) -> VGG:
        """The dense base model (eval mode); RuntimeError if it is not the calibrated one."""
        return _base_model(self.settings.profile, self.settings.base_checkpoint_sha256)

    def dense_channels(self) -> list[int]:
        return scaled_channels(self.profile.width)

    def dense_shapes(self) -> dict[str, tuple[int, ...]]:
        """Name -> shape of every tensor in the base model's state dict."""
        return {name: tuple(value.shape) for name, value in self.base_model().state_dict().items()}

    def dense_macs(self) -> int:
        return _macs_of(self.settings.profile, self.settings.base_checkpoint_sha256, "dense")

    def reference_channel_model(self) -> nn.Module:
        """The reference channel-pruned architecture (ratio of the calibration) built from the
        base model; used only for its latency, so it is not fine-tuned."""
        return _reference_channel_model(self.settings.profile,
                                         self.settings.base_checkpoint_sha256,
                                         float(self.settings.choices.get("channel_prune_ratio", 0.3)))

    # --- hidden split --------------------------------------------------------------------------
    def accuracy(self, model: nn.Module) -> float:
        """Top-1 accuracy (percent) on the hidden test split, on the CPU, in eval mode
        (remembered per weights: :meth:`remembered`)."""
        from prunekit.train import evaluate

        def measure() -> float:
            loader = _hidden_loader(self.settings.profile, self.settings.split_seed,
                                    int(self.settings.split["size"]))
            with torch.no_grad():
                return float(evaluate(model, loader, device="cpu"))
        return self.remembered("accuracy", model, measure)

    # --- latency -------------------------------------------------------------------------------
    def speedups(self, model: nn.Module, seed: int) -> tuple[float, float, dict]:
        """Measured speedups over the dense base model: (submitted model, reference
        channel-pruned model, details), torch pinned to ``LATENCY_THREADS`` threads.

        The three models are timed in the same interleaved rounds
        (:func:`prunekit.measure.interleaved_cpu_times`):
        each round runs the dense, the reference and the submitted model back to back, in an
        order that cycles through all six permutations. A model's speedup is the median over
        the rounds of (dense time / its time). Timing all three in the same rounds keeps slow
        drifts of the machine out of their comparison, and timing the thread's CPU time rather
        than the wall clock keeps out the time the thread waits for a core: with four
        busy-looping processes on two cores, the wall clock measured the reference architecture
        at 1.28x-1.59x over the dense model in four runs (idle: 1.40x-1.42x) and a regrade of
        the solved notebook once failed (1.13x against 1.38x); its CPU time gave 1.40x-1.41x."""
        dense, reference = self.base_model(), self.reference_channel_model()
        inputs = torch.rand(LATENCY_BATCH, 3, 32, 32,
                            generator=torch.Generator().manual_seed(derive_seed(seed, "latency")))
        threads = torch.get_num_threads()
        torch.set_num_threads(LATENCY_THREADS)
        try:
            dense_s, reference_s, model_s = interleaved_cpu_times(
                [dense, reference, model], inputs, LATENCY_WARMUP, LATENCY_REPEATS)
        finally:
            torch.set_num_threads(threads)
        student_ratios = [d / m for d, m in zip(dense_s, model_s)]
        reference_ratios = [d / r for d, r in zip(dense_s, reference_s)]
        student_speedup = statistics.median(student_ratios)
        reference_speedup = statistics.median(reference_ratios)
        details = {"student_speedup": student_speedup, "reference_speedup": reference_speedup,
                   "student_ratio_quartiles": statistics.quantiles(student_ratios, n=4),
                   "reference_ratio_quartiles": statistics.quantiles(reference_ratios, n=4),
                   "median_ms": [1e3 * statistics.median(t)
                                 for t in (dense_s, reference_s, model_s)]}
        return student_speedup, reference_speedup, details


# --- cached loaders (per process) ---------------------------------------------------------------

@lru_cache(maxsize=4)
def _base_model(profile_name: str, expected_sha256: str) -> VGG:
    from prunekit.checkpoint import load_checkpoint

    path = base_checkpoint_path(profile_name)
    if expected_sha256 and path.is_file() and file_sha256(path) != expected_sha256:
        raise RuntimeError(f"the base checkpoint {path} is not the one the {profile_name!r} "
                           f"calibration used; re-run `python -m autograder calibrate "
                           f"--profile {profile_name}`")
    model, _ = load_checkpoint(path, get_profile(profile_name))
    return model.eval()


@lru_cache(maxsize=8)
def _macs_of(profile_name: str, sha: str, which: str) -> int:
    return count_macs(_base_model(profile_name, sha))


@lru_cache(maxsize=4)
def _reference_channel_model(profile_name: str, sha: str, ratio: float) -> nn.Module:
    import solutions

    base = _base_model(profile_name, sha)
    return solutions.channel_prune(solutions.apply_channel_sorting(base), ratio).eval()


@lru_cache(maxsize=4)
def _hidden_loader(profile_name: str, seed: int, size: int):
    return hidden_loader(profile_name, seed, size)


def hidden_loader(profile_name: str, seed: int, size: int):
    """DataLoader of the hidden grading split: for the offline profile ``size`` images drawn from
    the secret ``seed`` (cached under ``.cache/grading-data``); for CIFAR-10 its test set (a real
    data set has no unseen split to draw; ``seed`` and ``size`` are unused)."""
    from prunekit.data import load_datasets, make_loader, offline_split

    profile = get_profile(profile_name)
    if profile.dataset == "offline":
        dataset = offline_split(size, seed, cache_dir=CACHE_DIR / "grading-data")
    else:
        dataset = load_datasets(profile, root=grader_data_root())[1]
    return make_loader(dataset, profile.eval_batch_size, shuffle=False)


# --- submitted model files ----------------------------------------------------------------------

def load_submitted_model(path: Path | None, what: str, base_shapes: dict[str, tuple[int, ...]],
                         profile: str, problem: str = "") -> VGG:
    """Read a submitted model file with the sandbox's untrusted loader (size cap, no symlinks,
    parsed into plain data, never unpickled) and rebuild its VGG in eval mode.

    Before anything is built, the model's width is compared with the graded ``profile``'s (a
    model of another profile fails with one line naming both: :func:`require_graded_profile`)
    and every tensor's shape with the base model's (``base_shapes``): a pruned model is never
    larger, so a file that claims more (a conv thousands of channels wide, stored as a tiny
    stride-0 view; a classifier of 10**12 classes) is refused at the cost of reading its header,
    and what gets built is at most the dense model.

    Raises:
        Fail: the file is missing, unreadable, not a state dict of tensors, a model of another
            profile, larger than the base model in any tensor, or not a consistent VGG of this
            kit.
    """
    from autograder.sandbox import BadResult, load_untrusted

    if path is None:
        raise Fail(problem or f"{what} is missing from the submission")
    try:
        state = load_untrusted(Path(path), MAX_MODEL_FILE_BYTES)
    except BadResult as error:
        raise Fail(f"{what} could not be read as a state dict of tensors: {error}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]  # a checkpoint-style file {"state_dict": ..., "meta": ...}
    if not isinstance(state, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in state.items()):
        raise Fail(f"{what} does not hold a state dict (name -> tensor); save it with "
                   f"torch.save(model.state_dict(), ...)")
    state = {k: v for k, v in state.items()}
    require_graded_profile(state, what, profile)
    check_within_shapes(state, f"{what} (compared with the base model)", base_shapes,
                        hint="; save model.state_dict() of the pruned VGG")
    try:
        model = vgg_from_state_dict(state)
    except ValueError as error:
        raise Fail(f"{what} is not a consistent VGG of this kit: {str(error)[:300]}") from None
    for name, param in model.state_dict().items():
        if param.is_floating_point() and not torch.isfinite(param).all():
            raise Fail(f"{what}: {name} holds NaN or infinite values")
    return model.float().eval()


# --- the profile a submitted model was made on ----------------------------------------------------

def profile_of_width(last_conv_channels: int) -> str | None:
    """The profile whose VGG has ``last_conv_channels`` channels in its last conv (which no
    pruning touches: it feeds the classifier), or None. Every profile's width differs."""
    for name, candidate in PROFILES.items():
        if scaled_channels(candidate.width)[-1] == last_conv_channels:
            return name
    return None


def require_graded_profile(state: dict[str, torch.Tensor], what: str, graded: str) -> None:
    """Fail with one line naming both profiles when the state dict is a VGG of another profile
    than the ``graded`` one (its classifier's inputs, the last conv's channels, are that
    profile's width): a notebook that ran cifar10-cpu because CIFAR-10 was in ./data, graded
    by an offline course, would otherwise meet only a shape it never chose."""
    classifier = state.get("classifier.weight")
    if classifier is None or classifier.dim() != 2:
        return  # no model of any profile: the shape checks say what is wrong
    ran = profile_of_width(int(classifier.shape[1]))
    graded_width = get_profile(graded).width
    if ran is None or ran == graded:
        return
    raise Fail(f"{what} is a model of the {ran} profile (VGG width {PROFILES[ran].width:g}, "
               f"{classifier.shape[1]} channels into the classifier), but this course grades "
               f"the {graded} profile (width {graded_width:g}, "
               f"{scaled_channels(graded_width)[-1]} channels): run the notebook on {graded} "
               f"(the lab's README.md says how the profile is chosen; CIFAR-10 in ./data makes "
               f"cifar10-cpu the default) and submit its models")
