"""The CIFAR VGG of the lab, with a width multiplier, and rebuilding from a state dict.

Module names follow the lab (``backbone.conv0 ... conv7``, ``backbone.bn0 ... bn7``,
``backbone.relu*``, ``backbone.pool*``, ``classifier``) so that students' code and checkpoints
written for the original lab work unchanged. Inputs are images in [0, 1], not normalised.
"""
from __future__ import annotations

from collections import OrderedDict, defaultdict
from typing import Mapping, Sequence

import torch
from torch import nn

# Conv output channels in order; "M" is a 2x2 max-pool.
CHANNEL_PLAN: tuple = (64, 128, "M", 256, 256, "M", 512, 512, "M", 512, 512, "M")
FULL_CONV_CHANNELS: tuple[int, ...] = tuple(c for c in CHANNEL_PLAN if c != "M")
NUM_CONVS = len(FULL_CONV_CHANNELS)


def scaled_channels(width: float) -> list[int]:
    """Conv channel counts of the plan scaled by ``width`` (at least 1 channel each)."""
    if width <= 0:
        raise ValueError(f"width must be positive, got {width}")
    return [max(1, int(round(c * width))) for c in FULL_CONV_CHANNELS]


class VGG(nn.Module):
    """CIFAR VGG: 3x3 convs (no bias by default) + BatchNorm + ReLU, max-pools, global average
    pooling, one linear classifier.

    Args:
        conv_channels: output channels of the 8 convs; default: the full-width plan.
        width: multiplier applied to the full plan when ``conv_channels`` is not given.
        num_classes: classifier outputs.
        conv_bias: give the convs a bias (the lab's model has none; some students' models do).
    """

    def __init__(self, conv_channels: Sequence[int] | None = None, width: float = 1.0,
                 num_classes: int = 10, conv_bias: bool = False):
        super().__init__()
        channels = list(conv_channels) if conv_channels is not None else scaled_channels(width)
        if len(channels) != NUM_CONVS:
            raise ValueError(f"VGG needs {NUM_CONVS} conv channel counts, got {len(channels)}")
        self.conv_channels = channels
        self.backbone = nn.Sequential(_backbone_layers(channels, conv_bias))
        self.classifier = nn.Linear(channels[-1], num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.backbone(x)
        x = x.mean([2, 3])  # global average pooling
        return self.classifier(x)


def _backbone_layers(channels: Sequence[int], conv_bias: bool) -> OrderedDict:
    """Named layers of the backbone, numbered per kind as in the lab (conv0, bn0, relu0, ...)."""
    layers: list[tuple[str, nn.Module]] = []
    counts: dict[str, int] = defaultdict(int)

    def add(kind: str, layer: nn.Module) -> None:
        layers.append((f"{kind}{counts[kind]}", layer))
        counts[kind] += 1

    in_channels = 3
    conv_iter = iter(channels)
    for entry in CHANNEL_PLAN:
        if entry == "M":
            add("pool", nn.MaxPool2d(2))
            continue
        out_channels = next(conv_iter)
        add("conv", nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=conv_bias))
        add("bn", nn.BatchNorm2d(out_channels))
        add("relu", nn.ReLU(inplace=True))
        in_channels = out_channels
    return OrderedDict(layers)


def conv_channels_of(model: nn.Module) -> list[int]:
    """Output channels of every conv in the model's backbone, in order."""
    return [m.out_channels for m in model.backbone if isinstance(m, nn.Conv2d)]


def vgg_from_state_dict(state_dict: Mapping[str, torch.Tensor]) -> VGG:
    """Build a VGG whose shapes match ``state_dict`` (e.g. a channel-pruned one) and load it strictly.

    Raises:
        ValueError: the state dict is not a VGG of this plan, or its shapes are inconsistent
            (say which key), instead of a bare ``load_state_dict`` traceback.
    """
    try:
        channels = [int(state_dict[f"backbone.conv{i}.weight"].shape[0]) for i in range(NUM_CONVS)]
        num_classes = int(state_dict["classifier.weight"].shape[0])
    except KeyError as missing:
        raise ValueError(f"not a VGG state dict of this kit: missing {missing}") from None
    conv_bias = "backbone.conv0.bias" in state_dict
    model = VGG(conv_channels=channels, num_classes=num_classes, conv_bias=conv_bias)
    try:
        model.load_state_dict(state_dict, strict=True)
    except RuntimeError as error:
        raise ValueError(f"state dict does not form a consistent VGG with conv channels "
                         f"{channels}: {error}") from None
    return model
