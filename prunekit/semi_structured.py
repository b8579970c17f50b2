"""N:M semi-structured sparsity on a whole model, for the notebook's optional extension.

The pruning function is passed in (the student's ``nm_prune(tensor, n, m)``: this package holds
no graded answers). :func:`prune_nm` prunes every conv weight whose rows split into groups of
``m`` (a row is one output channel's ``in * kh * kw`` entries: the first conv's 3 x 3 x 3 = 27 do
not split into groups of 4), :func:`apply_masks` keeps the zeros during fine-tuning, and
:func:`compressed_fraction` says what the pattern saves in the compressed format sparse tensor
cores read.
"""
from __future__ import annotations

import math
from typing import Callable, Mapping

import torch
from torch import nn

NMPruneFn = Callable[[torch.Tensor, int, int], torch.Tensor]


def nm_prunable_weights(model: nn.Module, m: int) -> dict[str, nn.Parameter]:
    """The conv weights of ``model`` whose rows (``in * kh * kw`` entries per output channel)
    are a multiple of ``m``, by parameter name, in module order."""
    return {f"{name}.weight": module.weight for name, module in model.named_modules()
            if isinstance(module, nn.modules.conv._ConvNd)
            and (module.weight[0].numel() % m) == 0}


def prune_nm(model: nn.Module, prune_fn: NMPruneFn, n: int = 2,
             m: int = 4) -> dict[str, torch.Tensor] | None:
    """Prune every weight of :func:`nm_prunable_weights` with ``prune_fn(weight, n, m)``.

    Side effects: ``model``'s weights are pruned in place.

    Returns:
        Parameter name -> keep-mask (bool), or None when ``prune_fn`` raises
        NotImplementedError (the notebook's stub: the extension was skipped; the first call
        raises before pruning anything, so ``model`` is unchanged).
    """
    masks = {}
    with torch.no_grad():
        for name, weight in nm_prunable_weights(model, m).items():
            try:
                masks[name] = prune_fn(weight.detach(), n, m).to(torch.bool)
            except NotImplementedError:
                return None
    return masks


@torch.no_grad()
def apply_masks(model: nn.Module, masks: Mapping[str, torch.Tensor]) -> None:
    """Zero ``model``'s parameters **in place** where their ``masks`` (name -> bool keep-mask)
    are False: call after every optimizer step so that pruned weights stay zero."""
    parameters = dict(model.named_parameters())
    for name, mask in masks.items():
        parameters[name].mul_(mask.to(parameters[name].device))


def compressed_fraction(n: int, m: int, data_width: int = 16) -> float:
    """The size of an N:M-sparse weight in the compressed format of sparse tensor cores, as a
    fraction of its dense size: the ``n`` kept values of every ``m`` (``data_width`` bits each)
    plus each one's position in its group (``ceil(log2(m))`` bits: 2 for 2:4). For 2:4 at 16
    bits: 0.5 * 18 / 16 = 0.5625."""
    index_bits = math.ceil(math.log2(m)) if m > 1 else 0
    return n / m * (data_width + index_bits) / data_width
