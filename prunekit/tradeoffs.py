"""Both pruning methods on common axes: accuracy against model size and against measured speed.

:func:`tradeoff_points` prunes copies of the dense model at several settings, with the student's
own functions passed in (this package holds no graded answers): fine-grained pruning at one
uniform sparsity for every prunable weight, and channel pruning of the sorted model at several
ratios. Each copy is evaluated once, before any fine-tuning (fine-tuning every point would take
as long as the rest of the lab), and all of them are timed together with the dense model in the
same interleaved rounds (:func:`prunekit.measure.time_models`, one thread, thread CPU time).
:func:`prunekit.plots.plot_tradeoffs` draws them with the student's fine-tuned models marked.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable, Sequence

import torch
from torch import nn

from prunekit.measure import time_models
from prunekit.progress import progress_bar
from prunekit.sensitivity import prunable_weights
from prunekit.submission import size_fraction

SPARSITIES = (0.5, 0.7, 0.8, 0.9)     # uniform fine-grained sparsities (fractions)
RATIOS = (0.1, 0.2, 0.3, 0.4, 0.5)    # channel prune ratios, at every boundary
TIMING_ROUNDS = 10                     # interleaved rounds: the curve's shape, not the grade
TIMING_WARMUP = 2


@dataclass(frozen=True)
class TradeoffPoint:
    """One pruned copy of the dense model, before fine-tuning."""
    method: str            # "fine-grained" or "channel"
    setting: float         # the uniform sparsity, or the channel prune ratio
    accuracy: float        # percent
    size_fraction: float   # non-zero parameters / the dense model's parameters
    speedup: float         # measured: the dense model's time / this model's (medians of rounds)


def tradeoff_points(dense: nn.Module, sorted_dense: nn.Module,
                    evaluate_fn: Callable[[nn.Module], float],
                    prune_fn: Callable[[torch.Tensor, float], torch.Tensor],
                    channel_prune_fn: Callable[[nn.Module, float], nn.Module],
                    inputs: torch.Tensor, sparsities: Sequence[float] = SPARSITIES,
                    ratios: Sequence[float] = RATIOS) -> list[TradeoffPoint]:
    """Prune, evaluate and time the copies of ``dense``.

    Args:
        dense: the dense model (not changed).
        sorted_dense: the dense model with its channels sorted by importance (not changed).
        evaluate_fn: a model's accuracy in percent (e.g. on the scan's test images).
        prune_fn: ``fine_grained_prune(tensor, sparsity)``, pruning in place.
        channel_prune_fn: ``channel_prune(model, ratio)``, returning a new model.
        inputs: one CPU batch of images for the timing.

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
    return [TradeoffPoint(method, setting, accuracy, size_fraction(model, dense),
                          speedups[f"{method} {setting}"])
            for ((method, setting), model), accuracy in zip(models, accuracies)]


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
