"""N:M semi-structured magnitude pruning (reference answer to the optional bonus question).

In every group of ``m`` consecutive weights at most ``n`` are non-zero: the pattern NVIDIA's
sparse tensor cores (Ampere and later) run at up to twice the dense speed for 2:4.
"""
from __future__ import annotations

import numbers

import torch


def nm_prune(tensor: torch.Tensor, n: int = 2, m: int = 4) -> torch.Tensor:
    """Keep the ``n`` largest magnitudes of every group of ``m`` consecutive entries of each row,
    zero the rest of ``tensor`` **in place**, and return the keep-mask.

    A row is one output channel: ``tensor.reshape(tensor.shape[0], -1)[i]`` (for a conv weight
    ``[out, in, kh, kw]`` its ``in * kh * kw`` entries in that order). Each row is cut into
    consecutive groups of ``m`` entries; in each group the ``n`` entries of largest magnitude
    ``|w|`` are kept, and of entries with equal magnitude the earlier one (lower index in the
    row) is kept first.

    Args:
        tensor: a weight tensor with at least one dimension, pruned in place (gradient tracking
            is bypassed, so an ``nn.Parameter`` can be passed directly).
        n: entries kept per group, an integer in 0..m.
        m: group length, a positive integer dividing the row length.

    Returns:
        The keep-mask: a ``torch.bool`` tensor of ``tensor``'s shape and device, True where the
        entry is kept (exactly ``n`` per group).

    Raises:
        ValueError: ``m`` is not a positive integer, ``n`` not an integer in 0..m, or the row
            length is not a multiple of ``m`` (nothing is pruned then).
    """
    _check_pattern(tensor, n, m)
    with torch.no_grad():
        groups = tensor.detach().abs().reshape(-1, m)  # rows are whole groups: never straddled
        # A stable sort keeps equal magnitudes in index order, so ties keep the earlier entry.
        kept = groups.sort(dim=1, descending=True, stable=True).indices[:, :n]
        mask = torch.zeros_like(groups, dtype=torch.bool).scatter_(1, kept, True)
        mask = mask.reshape(tensor.shape)
        tensor.mul_(mask)
    return mask


def _check_pattern(tensor: torch.Tensor, n, m) -> None:
    """Raise a ValueError saying what is wrong with ``n``, ``m`` or ``tensor``'s rows."""
    if isinstance(m, bool) or not isinstance(m, numbers.Integral) or m < 1:
        raise ValueError(f"m must be a positive integer, got {m!r}")
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or not 0 <= n <= m:
        raise ValueError(f"n must be an integer in 0..m = 0..{m}, got {n!r}")
    if tensor.dim() == 0 or tensor.shape[0] == 0:
        raise ValueError(f"nm_prune needs a tensor with rows, got shape {tuple(tensor.shape)}")
    row_length = tensor.numel() // tensor.shape[0]
    if row_length % m:
        raise ValueError(f"the rows of a tensor of shape {tuple(tensor.shape)} have "
                         f"{row_length} entries, not a multiple of m = {m}: they cannot be cut "
                         f"into groups of {m}")
