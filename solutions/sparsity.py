"""Sparsity and size of tensors and models (reference answers to the sparsity questions).

Units: sparsity is a fraction in [0, 1] (not percent); sizes are in bits (not bytes).
"""
from __future__ import annotations

import torch
from torch import nn


def get_sparsity(tensor: torch.Tensor) -> float:
    """Fraction of zero entries of ``tensor``: ``1 - nonzeros / numel``.

    Args:
        tensor: any tensor (read only).

    Returns:
        A Python float in [0, 1]; 0.0 for an empty tensor (nothing is zero in it).
    """
    num_elements = tensor.numel()
    if num_elements == 0:
        return 0.0
    return 1.0 - float(tensor.count_nonzero()) / num_elements


def get_model_sparsity(model: nn.Module) -> float:
    """Fraction of zero entries over all parameters of ``model`` taken together.

    Buffers (BatchNorm running statistics) are not parameters and are not counted.

    Returns:
        A Python float in [0, 1]; 0.0 for a model without parameters.
    """
    num_nonzeros = num_elements = 0
    for param in model.parameters():
        num_nonzeros += int(param.count_nonzero())
        num_elements += param.numel()
    if num_elements == 0:
        return 0.0
    return 1.0 - num_nonzeros / num_elements


def get_num_parameters(model: nn.Module, count_nonzero_only: bool = False) -> int:
    """Number of parameter entries of ``model`` (buffers excluded).

    Args:
        model: the model (read only).
        count_nonzero_only: count only the non-zero entries (the weights left after pruning).

    Returns:
        A Python int.
    """
    num_counted = 0
    for param in model.parameters():
        num_counted += int(param.count_nonzero()) if count_nonzero_only else param.numel()
    return num_counted


def get_model_size(model: nn.Module, data_width: int = 32, count_nonzero_only: bool = False) -> int:
    """Size of the model's parameters in **bits**: number of parameters x ``data_width``.

    Args:
        model: the model (read only).
        data_width: bits per stored parameter (32 for fp32, 8 for int8, ...).
        count_nonzero_only: count only the non-zero entries (a sparse model stored without
            its zeros; index overhead is ignored).

    Returns:
        A Python int, in bits (divide by 8 * 1024**2 for MiB).
    """
    return get_num_parameters(model, count_nonzero_only) * data_width
