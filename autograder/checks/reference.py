"""Binding to the reference implementation (``solutions/``), in the grader's process only.

Every reference call gets its own deep copy of the inputs, since several reference functions
work in place (``fine_grained_prune``, ``FineGrainedPruner``).
"""
from __future__ import annotations

import copy
from types import ModuleType

import torch
from torch import nn

from prunekit.model import vgg_from_state_dict


def solutions() -> ModuleType:
    """The reference package (imported on first use: only the grader's process needs it)."""
    import solutions as reference

    return reference


def model(state: dict[str, torch.Tensor]) -> nn.Module:
    """A fresh VGG (eval mode) from a trusted state dict (the tensors are copied)."""
    return vgg_from_state_dict(copy.deepcopy(state)).eval()


def call(name: str, *args, **kwargs):
    """``solutions.<name>(*deep-copied args, **deep-copied kwargs)``."""
    function = getattr(solutions(), name)
    return function(*copy.deepcopy(args), **copy.deepcopy(kwargs))


def outputs(module: nn.Module, inputs: torch.Tensor) -> torch.Tensor:
    """Logits of ``module`` on ``inputs`` in eval mode, without gradients."""
    with torch.no_grad():
        return module.eval()(inputs)
