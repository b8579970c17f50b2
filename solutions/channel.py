"""Channel ranking and channel pruning of the VGG backbone (reference answers to the
channel-ranking and layer-surgery questions).

Both surgeries work on the channels *between* two consecutive convs: the previous conv's
outputs, the BatchNorm that follows it and the next conv's inputs. The convs and BatchNorms are
found in ``model.backbone`` in order, as in the lab; pools and ReLUs carry channels through
unchanged. The last conv's outputs feed the classifier and are never touched.
"""
from __future__ import annotations

import copy
import numbers
from typing import Sequence

import torch
from torch import nn


def get_input_channel_importance(weight: torch.Tensor) -> torch.Tensor:
    """Importance of each input channel of a conv weight: the L2 (Frobenius) norm of
    ``weight[:, i]``.

    Args:
        weight: conv weight ``[out_channels, in_channels, kh, kw]`` (a linear weight
            ``[out, in]`` works too); read only.

    Returns:
        A detached 1-D tensor of ``in_channels`` norms, on ``weight``'s device and dtype.
    """
    in_channels = weight.shape[1]
    per_input = weight.detach().transpose(0, 1).reshape(in_channels, -1)
    return per_input.norm(dim=1)


def apply_channel_sorting(model: nn.Module) -> nn.Module:
    """A copy of ``model`` whose inner channels are sorted by importance, most important first.

    For every pair of consecutive convs, the channels between them are ordered by the next
    conv's input-channel importance (``get_input_channel_importance``), descending (ties keep
    their original order), and permuted consistently: the previous conv's output channels
    (weight, bias if any), the BatchNorm between them (weight, bias, running_mean,
    running_var) and the next conv's input channels. The sorted model computes the same
    function as the original.

    Args:
        model: a VGG-like model with ``backbone`` holding the convs and BatchNorms; untouched.

    Returns:
        The sorted deep copy.
    """
    model = copy.deepcopy(model)
    convs, bns = _convs_and_bns(model)
    with torch.no_grad():
        for prev_conv, prev_bn, next_conv in zip(convs[:-1], bns[:-1], convs[1:]):
            importance = get_input_channel_importance(next_conv.weight)
            order = torch.argsort(importance, descending=True, stable=True)
            _reindex_out_channels(prev_conv, prev_bn, order)
            next_conv.weight = _reindexed(next_conv.weight, order, dim=1)
    return model


def get_num_channels_to_keep(channels: int, prune_ratio: float) -> int:
    """Channels left after pruning a fraction ``prune_ratio`` of ``channels``:
    ``int(round(channels * (1 - prune_ratio)))`` (Python's round)."""
    return int(round(channels * (1 - prune_ratio)))


def channel_prune(model: nn.Module, prune_ratio: float | Sequence[float]) -> nn.Module:
    """A copy of ``model`` with the first channels kept at every conv-to-conv boundary.

    At boundary ``i`` (between conv ``i`` and conv ``i + 1``) ``n = get_num_channels_to_keep(
    conv_i.out_channels, ratio_i)`` channels are kept: conv ``i``'s first ``n`` outputs
    (weight, bias if any), the first ``n`` entries of BatchNorm ``i`` (weight, bias,
    running_mean, running_var; ``num_features = n``) and conv ``i + 1``'s first ``n`` inputs.
    ``out_channels`` / ``in_channels`` are updated, so ``prunekit.model.vgg_from_state_dict``
    loads the result's state dict. The last conv's outputs (into the classifier) are kept.
    Sort the channels first (``apply_channel_sorting``) to keep the most important ones.

    Args:
        model: a VGG-like model with ``backbone`` holding the convs and BatchNorms; untouched.
        prune_ratio: fraction of channels to remove, in [0, 1]: one float for every boundary,
            or a sequence with one ratio per boundary (number of convs - 1, i.e. 7 for VGG).

    Returns:
        The pruned deep copy.

    Raises:
        ValueError: the list of ratios has the wrong length, a ratio is outside [0, 1], or a
            ratio would leave a boundary with no channel.
    """
    model = copy.deepcopy(model)
    convs, bns = _convs_and_bns(model)
    ratios = _ratios_per_boundary(prune_ratio, num_boundaries=len(convs) - 1)
    with torch.no_grad():
        for i, ratio in enumerate(ratios):
            prev_conv, prev_bn, next_conv = convs[i], bns[i], convs[i + 1]
            num_keep = get_num_channels_to_keep(prev_conv.out_channels, ratio)
            if num_keep < 1:
                raise ValueError(f"prune ratio {ratio} at boundary {i} (conv{i} -> conv{i + 1}) "
                                 f"keeps no channel of {prev_conv.out_channels}")
            keep = torch.arange(num_keep, device=prev_conv.weight.device)
            _reindex_out_channels(prev_conv, prev_bn, keep)
            next_conv.weight = _reindexed(next_conv.weight, keep, dim=1)
            next_conv.in_channels = num_keep
    return model


def _convs_and_bns(model: nn.Module) -> tuple[list[nn.Conv2d], list[nn.BatchNorm2d]]:
    """The convs and the BatchNorms of ``model.backbone``, in order (one BatchNorm per conv)."""
    convs = [m for m in model.backbone if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.backbone if isinstance(m, nn.BatchNorm2d)]
    if len(convs) != len(bns):
        raise ValueError(f"expected one BatchNorm2d per Conv2d in model.backbone, "
                         f"got {len(convs)} convs and {len(bns)} BatchNorms")
    return convs, bns


def _ratios_per_boundary(prune_ratio, num_boundaries: int) -> list[float]:
    """One prune ratio per conv-to-conv boundary, checked to be in [0, 1]."""
    if isinstance(prune_ratio, numbers.Real):
        ratios = [float(prune_ratio)] * num_boundaries
    else:
        ratios = [float(ratio) for ratio in prune_ratio]
        if len(ratios) != num_boundaries:
            raise ValueError(f"prune_ratio list: expected {num_boundaries} ratios (one per "
                             f"conv-to-conv boundary), got {len(ratios)}")
    for i, ratio in enumerate(ratios):
        if not 0.0 <= ratio <= 1.0:
            raise ValueError(f"prune ratio at boundary {i} must be in [0, 1], got {ratio}")
    return ratios


def _reindex_out_channels(conv: nn.Conv2d, bn: nn.BatchNorm2d, index: torch.Tensor) -> None:
    """Keep (in this order) the output channels ``index`` of ``conv`` and the matching
    BatchNorm entries, in place on the modules; updates ``out_channels`` / ``num_features``."""
    conv.weight = _reindexed(conv.weight, index, dim=0)
    if conv.bias is not None:
        conv.bias = _reindexed(conv.bias, index, dim=0)
    conv.out_channels = len(index)
    if bn.weight is not None:  # affine=False BatchNorms have no weight / bias
        bn.weight = _reindexed(bn.weight, index, dim=0)
        bn.bias = _reindexed(bn.bias, index, dim=0)
    if bn.running_mean is not None:  # track_running_stats=False BatchNorms have no stats
        bn.running_mean = bn.running_mean.index_select(0, index)
        bn.running_var = bn.running_var.index_select(0, index)
    bn.num_features = len(index)


def _reindexed(param: nn.Parameter, index: torch.Tensor, dim: int) -> nn.Parameter:
    """A new parameter holding ``param``'s entries ``index`` along ``dim`` (a copy)."""
    return nn.Parameter(param.detach().index_select(dim, index), requires_grad=param.requires_grad)
