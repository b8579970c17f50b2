"""Sensitivity scans: how accuracy falls when one layer (or all layers) are pruned to a sparsity.

The pruning function is passed in, so a student's own ``fine_grained_prune(tensor, sparsity)``
(which prunes ``tensor`` in place) drives the scan. Sparsities are fractions in [0, 1] (the
share of a weight's entries set to zero); accuracies are whatever ``evaluate_fn`` returns,
percent by convention.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Sequence

import torch
from torch import nn

from .progress import progress_bar

PruneFn = Callable[[torch.Tensor, float], object]   # prunes the tensor in place; result ignored
EvaluateFn = Callable[[nn.Module], float]           # accuracy in percent


@dataclass
class SensitivityResult:
    """Result of :func:`sensitivity_scan`.

    ``accuracies[layer][i]`` is the accuracy (percent) with only ``layer`` pruned to
    ``sparsities[i]``; ``dense_accuracy`` is the unpruned model's (percent). ``layer_sizes``
    holds each scanned weight's number of entries (what pruning it can save); empty in results
    made without it.
    """
    sparsities: list[float]
    accuracies: dict[str, list[float]]
    dense_accuracy: float
    layer_sizes: dict[str, int] = field(default_factory=dict)

    @property
    def layer_names(self) -> list[str]:
        return list(self.accuracies)


def prunable_weights(model: nn.Module) -> dict[str, nn.Parameter]:
    """The weights (dim > 1) of the model's conv and linear layers, by parameter name
    (``backbone.conv0.weight`` ... ``classifier.weight`` for the VGG), in module order."""
    weights = {}
    for name, module in model.named_modules():
        if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)) and module.weight.dim() > 1:
            weights[f"{name}.weight" if name else "weight"] = module.weight
    return weights


def sensitivity_scan(model: nn.Module, evaluate_fn: EvaluateFn, prune_fn: PruneFn,
                     sparsities: Sequence[float], layer_names: Sequence[str] | None = None,
                     progress: bool = True) -> SensitivityResult:
    """Prune one layer at a time to each sparsity and evaluate.

    For every layer in ``layer_names`` (default: :func:`prunable_weights`) and every sparsity:
    save the weight, call ``prune_fn(weight, sparsity)`` (which must prune in place), evaluate,
    then copy the saved weight back. The dense model is evaluated once, first.

    Side effects: the model is modified during the scan and restored bit for bit afterwards
    (also when ``evaluate_fn`` or ``prune_fn`` raises), modes included. ``evaluate_fn`` must not
    change anything else in the model (e.g. train BatchNorm statistics).

    Args:
        evaluate_fn: ``evaluate_fn(model) -> accuracy`` in percent.
        prune_fn: ``prune_fn(tensor, sparsity)``, e.g. ``fine_grained_prune``.
        sparsities: fractions in [0, 1].
        progress: show a text progress bar (:func:`prunekit.progress.progress_bar`).
    """
    sparsities = [float(s) for s in sparsities]
    weights = _select_weights(model, layer_names)
    dense_accuracy = float(_evaluate(model, evaluate_fn))
    accuracies: dict[str, list[float]] = {name: [] for name in weights}
    bar = progress_bar(total=len(weights) * len(sparsities), disable=not progress,
                       desc="sensitivity scan")
    with bar:
        for name, weight in weights.items():
            for sparsity in sparsities:
                bar.set_postfix_str(f"{name} @ {sparsity:.2f}")
                accuracies[name].append(_evaluate_pruned(model, weight, sparsity, evaluate_fn, prune_fn))
                bar.update()
    return SensitivityResult(sparsities=sparsities, accuracies=accuracies,
                             dense_accuracy=dense_accuracy,
                             layer_sizes={name: weight.numel() for name, weight in weights.items()})


def uniform_sparsity_curve(model: nn.Module, evaluate_fn: EvaluateFn, prune_fn: PruneFn,
                           sparsities: Sequence[float], layer_names: Sequence[str] | None = None,
                           progress: bool = True) -> tuple[list[float], list[float]]:
    """Accuracy when all layers are pruned to the same sparsity, for each sparsity.

    Each sparsity prunes a fresh deep copy of ``model`` (every layer of ``layer_names``,
    default :func:`prunable_weights`) and evaluates the copy; ``model`` itself is not touched.

    Returns:
        ``(sparsities, accuracies)`` as lists (fractions, percent), ready to be a curve of
        :func:`prunekit.plots.plot_accuracy_vs_sparsity`.
    """
    sparsities = [float(s) for s in sparsities]
    names = list(_select_weights(model, layer_names))
    accuracies = []
    for sparsity in progress_bar(sparsities, disable=not progress, desc="uniform sparsity"):
        pruned = copy.deepcopy(model)
        weights = dict(pruned.named_parameters())
        with torch.no_grad():
            for name in names:
                prune_fn(weights[name].detach(), sparsity)
        accuracies.append(float(evaluate_fn(pruned)))
    return sparsities, accuracies


def _select_weights(model: nn.Module, layer_names: Sequence[str] | None) -> dict[str, nn.Parameter]:
    """The parameters to scan by name; unknown names are a ValueError that lists the known ones."""
    if layer_names is None:
        return prunable_weights(model)
    params = dict(model.named_parameters())
    unknown = [name for name in layer_names if name not in params]
    if unknown:
        raise ValueError(f"unknown parameter names {unknown}; the prunable weights are "
                         f"{list(prunable_weights(model))}")
    return {name: params[name] for name in layer_names}


def _evaluate_pruned(model: nn.Module, weight: nn.Parameter, sparsity: float,
                     evaluate_fn: EvaluateFn, prune_fn: PruneFn) -> float:
    """Accuracy with ``weight`` pruned to ``sparsity``; the weight is restored exactly afterwards."""
    original = weight.detach().clone()
    try:
        with torch.no_grad():
            # detach(): same storage, so an in-place prune reaches the model without autograd
            # refusing an in-place change of a leaf that requires grad.
            prune_fn(weight.detach(), sparsity)
        return float(_evaluate(model, evaluate_fn))
    finally:
        with torch.no_grad():
            weight.copy_(original)


def _evaluate(model: nn.Module, evaluate_fn: EvaluateFn) -> float:
    """``evaluate_fn(model)``, with the train/eval mode of every submodule restored afterwards."""
    modes = [(module, module.training) for module in model.modules()]
    try:
        return evaluate_fn(model)
    finally:
        for module, training in modes:
            module.training = training
