"""Both pruning methods on common axes: accuracy against model size and against measured speed.

:func:`tradeoff_points` prunes copies of the dense model at several settings, with the student's
own functions passed in (this package holds no graded answers): fine-grained pruning at one
uniform sparsity for every prunable weight, and channel pruning of the sorted model at several
ratios. Each copy is evaluated right after pruning and, where the profile allows, again after a
short fine-tuning (:func:`short_fine_tune`: a few thousand images, not the epochs the student's
models get, which for every point would take as long as the rest of the lab); all of them are
timed together with the dense model in the same interleaved rounds
(:func:`prunekit.measure.time_models`, one thread, thread CPU time).
:func:`prunekit.plots.plot_tradeoffs` draws them with the student's fine-tuned models marked.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Callable, Sequence

import torch
from torch import nn
from torch.utils.data import Dataset

from prunekit.data import fixed_subset, make_loader
from prunekit.measure import time_models
from prunekit.profiles import Profile
from prunekit.progress import progress_bar
from prunekit.runtime import seed_everything
from prunekit.sensitivity import prunable_weights
from prunekit.submission import size_fraction
from prunekit.train import train

SPARSITIES = (0.5, 0.7, 0.8, 0.9)     # uniform fine-grained sparsities (fractions)
RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5)    # channel prune ratios, at every boundary
TIMING_ROUNDS = 10                     # interleaved rounds: the curve's shape, not the grade
TIMING_WARMUP = 2


FineTuneFn = Callable[[nn.Module, bool], None]   # (model, keep_zeros): fine-tunes in place


@dataclass(frozen=True)
class TradeoffPoint:
    """One pruned copy of the dense model."""
    method: str            # "fine-grained" or "channel"
    setting: float         # the uniform sparsity, or the channel prune ratio
    accuracy: float        # percent, right after pruning
    size_fraction: float   # non-zero parameters / the dense model's parameters
    speedup: float         # measured: the dense model's time / this model's (medians of rounds)
    tuned_accuracy: float | None = None   # percent, after the short fine-tuning (None: none)


def tradeoff_points(dense: nn.Module, sorted_dense: nn.Module,
                    evaluate_fn: Callable[[nn.Module], float],
                    prune_fn: Callable[[torch.Tensor, float], torch.Tensor],
                    channel_prune_fn: Callable[[nn.Module, float], nn.Module],
                    inputs: torch.Tensor, sparsities: Sequence[float] = SPARSITIES,
                    ratios: Sequence[float] = RATIOS,
                    fine_tune_fn: FineTuneFn | None = None) -> list[TradeoffPoint]:
    """Prune, evaluate and time the copies of ``dense``; then fine-tune and evaluate them again
    when ``fine_tune_fn`` is given.

    Args:
        dense: the dense model (not changed).
        sorted_dense: the dense model with its channels sorted by importance (not changed).
        evaluate_fn: a model's accuracy in percent (e.g. on the scan's test images).
        prune_fn: ``fine_grained_prune(tensor, sparsity)``, pruning in place.
        channel_prune_fn: ``channel_prune(model, ratio)``, returning a new model.
        inputs: one CPU batch of images for the timing.
        fine_tune_fn: ``fine_tune_fn(model, keep_zeros)`` fine-tunes a copy in place
            (``keep_zeros`` for the fine-grained copies); e.g. :func:`short_fine_tune` bound to
            the training images.

    Returns:
        One point per sparsity, then one per ratio.

    Side effects: progress bar on stderr; torch's thread count is pinned to 1 while timing.
    """
    models = _pruned_copies(dense, sorted_dense, prune_fn, channel_prune_fn, sparsities, ratios)
    accuracies = [float(evaluate_fn(model)) for (_, _), model in
                  progress_bar(models, desc="trade-off points")]
    timed = {"dense": copy.deepcopy(dense).cpu()}
    timed.update({f"{method} {setting}": copy.deepcopy(model).cpu()
                  for (method, setting), model in models})
    speedups = time_models(timed, inputs, warmup=TIMING_WARMUP, repeats=TIMING_ROUNDS).speedup
    sizes = [size_fraction(model, dense) for _, model in models]  # before fine-tuning moves them
    tuned = _tuned_accuracies(models, evaluate_fn, fine_tune_fn)
    return [TradeoffPoint(method, setting, accuracy, size, speedups[f"{method} {setting}"], after)
            for ((method, setting), _), accuracy, size, after
            in zip(models, accuracies, sizes, tuned)]


def _tuned_accuracies(models, evaluate_fn, fine_tune_fn) -> list[float | None]:
    """Each copy's accuracy after ``fine_tune_fn`` (all None without one); changes the copies."""
    if fine_tune_fn is None:
        return [None] * len(models)
    accuracies = []
    for (method, _), model in progress_bar(models, desc="short fine-tuning"):
        fine_tune_fn(model, method == "fine-grained")
        accuracies.append(float(evaluate_fn(model)))
    return accuracies


def short_fine_tune(model: nn.Module, train_set: Dataset, profile: Profile, keep_zeros: bool,
                    device: torch.device | str | None = None) -> None:
    """Fine-tune ``model`` in place for one pass over ``profile.tradeoff_tune_images`` training
    images (the same draw every time), at the profile's fine-tuning learning rate and batch size;
    with ``keep_zeros`` the weights that are zero now are zero again after every step.

    Side effect: reseeds torch, NumPy and random with the profile's seed, so that every point
    gets the same images in the same order.
    """
    images = fixed_subset(train_set, profile.tradeoff_tune_images, profile.seed)
    loader = make_loader(images, profile.batch_size, shuffle=True, seed=profile.seed)
    masks = [(weight, weight != 0) for weight in prunable_weights(model).values()]

    def zero_again() -> None:
        with torch.no_grad():
            for weight, mask in masks:
                weight.mul_(mask)

    seed_everything(profile.seed)
    train(model, loader, replace(profile.finetune, epochs=1),
          callbacks=[zero_again] if keep_zeros else [], device=device, progress=False)


def _pruned_copies(dense, sorted_dense, prune_fn, channel_prune_fn, sparsities,
                   ratios) -> list[tuple[tuple[str, float], nn.Module]]:
    """``((method, setting), model)`` for every sparsity and ratio, each a new model."""
    copies = []
    for sparsity in sparsities:
        pruned = copy.deepcopy(dense)
        with torch.no_grad():
            for weight in prunable_weights(pruned).values():
                prune_fn(weight.detach(), float(sparsity))
        copies.append((("fine-grained", float(sparsity)), pruned))
    for ratio in ratios:
        copies.append((("channel", float(ratio)), channel_prune_fn(sorted_dense, float(ratio))))
    return copies
