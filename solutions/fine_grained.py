"""Fine-grained (element-wise) magnitude pruning (reference answers to the masking questions)."""
from __future__ import annotations

import math
from typing import Mapping

import torch
from torch import nn


def fine_grained_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Zero the smallest-magnitude entries of ``tensor`` **in place** and return the keep-mask.

    ``sparsity`` is clamped to [0, 1] and ``num_zeros = round(numel * sparsity)`` (Python's
    round, so halves go to the even integer). If ``num_zeros == 0`` nothing is pruned.
    Otherwise the threshold is the ``num_zeros``-th smallest magnitude and the mask keeps the
    entries strictly greater than it: entries tied with the threshold are pruned too, so with
    ties more than ``num_zeros`` entries may be zeroed.

    Args:
        tensor: a non-empty weight tensor of any shape, pruned in place (gradient tracking is
            bypassed, so an ``nn.Parameter`` can be passed directly).
        sparsity: target fraction of zeros; values outside [0, 1] are clamped.

    Returns:
        The keep-mask: a ``torch.bool`` tensor of ``tensor``'s shape and device, True where the
        entry is kept.

    Raises:
        ValueError: ``sparsity`` is NaN.
    """
    sparsity = float(sparsity)
    if math.isnan(sparsity):
        raise ValueError("sparsity must be a number in [0, 1], got NaN")
    sparsity = min(max(sparsity, 0.0), 1.0)
    num_elements = tensor.numel()
    num_zeros = round(num_elements * sparsity)
    if num_zeros == 0:
        # Nothing to prune; also, k=0 is not supported by torch.kthvalue.
        return torch.ones_like(tensor, dtype=torch.bool)
    with torch.no_grad():
        importance = tensor.detach().abs()
        # kthvalue's k is 1-based, so k = num_zeros (<= numel) is the num_zeros-th smallest.
        threshold = importance.reshape(-1).kthvalue(num_zeros).values
        mask = importance > threshold
        tensor.mul_(mask)
    return mask


class FineGrainedPruner:
    """Prunes the listed parameters of a model at construction and keeps their masks.

    Args:
        model: the model, pruned **in place**.
        sparsity_dict: parameter name (as in ``model.named_parameters()``, e.g.
            ``"backbone.conv0.weight"``, ``"classifier.weight"``) -> target sparsity.
            Parameters not listed are left alone.

    Attributes:
        masks: parameter name -> keep-mask (``torch.bool``, the parameter's shape and device).

    Raises:
        KeyError: a key of ``sparsity_dict`` is not a parameter of ``model`` (checked before
            anything is pruned).
    """

    def __init__(self, model: nn.Module, sparsity_dict: Mapping[str, float]):
        self.masks: dict[str, torch.Tensor] = FineGrainedPruner.prune(model, sparsity_dict)

    @torch.no_grad()
    def apply(self, model: nn.Module) -> None:
        """Re-apply the masks to ``model``'s parameters **in place** (zero what was pruned).

        Call it after every optimizer step while fine-tuning, so pruned weights stay zero.

        Raises:
            KeyError: a masked parameter is not in ``model``.
        """
        params = dict(model.named_parameters())
        _check_names(self.masks, params, "masked parameter")
        for name, mask in self.masks.items():
            params[name].mul_(mask)

    @staticmethod
    @torch.no_grad()
    def prune(model: nn.Module, sparsity_dict: Mapping[str, float]) -> dict[str, torch.Tensor]:
        """Prune every parameter listed in ``sparsity_dict`` in place; return their masks."""
        params = dict(model.named_parameters())
        _check_names(sparsity_dict, params, "sparsity_dict key")
        return {name: fine_grained_prune(params[name], sparsity)
                for name, sparsity in sparsity_dict.items()}


def _check_names(names, params: Mapping[str, nn.Parameter], what: str) -> None:
    """Raise a KeyError naming the first of ``names`` that is not a parameter name."""
    unknown = [name for name in names if name not in params]
    if unknown:
        raise KeyError(f"{what} {unknown[0]!r} is not a parameter of the model "
                       f"(parameters: {', '.join(params)})")
