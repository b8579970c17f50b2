"""Inputs the hidden checks draw for each submission: tensors and small VGGs, all from a seeded
``torch.Generator`` (never torch's global RNG), so that a re-grade draws the same inputs."""
from __future__ import annotations

import math

import torch
from torch import nn

from prunekit.model import VGG, scaled_channels

SMALL_WIDTH = 1 / 16  # test VGGs: channels [4, 8, 16, 16, 32, 32, 32, 32]; fast to build and run


def uniform(generator: torch.Generator, low: float, high: float) -> float:
    """One float drawn uniformly from [low, high)."""
    return low + (high - low) * float(torch.rand((), generator=generator))


def randint(generator: torch.Generator, low: int, high: int) -> int:
    """One int drawn uniformly from [low, high]."""
    return int(torch.randint(low, high + 1, (), generator=generator))


def tie_free_tensor(shape: tuple[int, ...], generator: torch.Generator) -> torch.Tensor:
    """A float32 tensor whose magnitudes are all distinct (gaps of at least 0.2 / numel) and
    non-zero, with random signs: every sparsity has exactly one correct keep-mask."""
    numel = math.prod(shape)
    ranks = torch.randperm(numel, generator=generator).float()
    magnitudes = (ranks + 0.5 + 0.4 * torch.rand(numel, generator=generator)) / numel
    signs = torch.where(torch.rand(numel, generator=generator) < 0.5, -1.0, 1.0)
    return (magnitudes * signs).reshape(shape)


def tensor_with_zeros(shape: tuple[int, ...], num_zeros: int,
                      generator: torch.Generator) -> torch.Tensor:
    """A float32 tensor with exactly ``num_zeros`` zero entries at random places (the others
    drawn from N(0, 1), shifted away from zero)."""
    numel = math.prod(shape)
    values = torch.randn(numel, generator=generator)
    values = values + values.sign() * 0.1 + (values == 0) * 0.5
    zero_places = torch.randperm(numel, generator=generator)[:num_zeros]
    values[zero_places] = 0.0
    return values.reshape(shape)


def tied_tensor(generator: torch.Generator) -> tuple[torch.Tensor, float]:
    """A (3, 4) tensor with magnitude ties at the threshold of the returned sparsity: the
    4th-smallest magnitude (0.2) appears three times (once negative), so with sparsity 4/12
    (``num_zeros`` = 4) the contract prunes 6 entries: every entry tied with the threshold."""
    magnitudes = torch.tensor([0.05, 0.1, 0.15, 0.2, 0.2, 0.2, 0.3, 0.45, 0.5, 0.6, 0.7, 0.8])
    signs = torch.tensor([1, -1, 1, 1, -1, 1, -1, 1, 1, -1, 1, -1], dtype=torch.float32)
    order = torch.randperm(12, generator=generator)
    return (magnitudes * signs)[order].reshape(3, 4), 4 / 12


def small_vgg_state(generator: torch.Generator, conv_bias: bool = False,
                    width: float = SMALL_WIDTH, zero_fraction: float = 0.0) -> dict[str, torch.Tensor]:
    """State dict of a narrow VGG with every tensor drawn from ``generator``: conv and linear
    weights ~ N(0, 2 / fan_in), BatchNorm weight in [0.5, 1.5], bias ~ N(0, 0.1), running mean
    ~ N(0, 0.1), running variance in [0.5, 2] (so that permuting or slicing any of them wrongly
    changes the outputs); conv biases when ``conv_bias``. With ``zero_fraction`` > 0 that share
    of each conv/linear weight's entries is set to exactly zero (known zeros for sparsity checks).
    """
    model = VGG(conv_channels=scaled_channels(width), conv_bias=conv_bias)
    state = {}
    for name, tensor in model.state_dict().items():
        state[name] = _draw_like(name, tensor, generator, zero_fraction)
    return state


def _draw_like(name: str, tensor: torch.Tensor, generator: torch.Generator,
               zero_fraction: float) -> torch.Tensor:
    """A random tensor shaped like ``tensor``, drawn according to what ``name`` holds."""
    shape = tuple(tensor.shape)
    if name.endswith("num_batches_tracked"):
        return torch.zeros_like(tensor)
    is_bn = ".bn" in name
    if name.endswith("running_var") or (is_bn and name.endswith("weight")):
        low, high = (0.5, 2.0) if name.endswith("running_var") else (0.5, 1.5)
        return low + (high - low) * torch.rand(shape, generator=generator)
    if name.endswith("running_mean") or name.endswith("bias"):
        return 0.1 * torch.randn(shape, generator=generator)
    fan_in = math.prod(shape[1:])
    weight = torch.randn(shape, generator=generator) * math.sqrt(2.0 / fan_in)
    if zero_fraction > 0:
        flat = weight.reshape(-1)
        places = torch.randperm(flat.numel(), generator=generator)
        flat[places[:round(zero_fraction * flat.numel())]] = 0.0
    return weight


def images(batch: int, generator: torch.Generator) -> torch.Tensor:
    """A batch of CIFAR-shaped inputs in [0, 1]."""
    return torch.rand(batch, 3, 32, 32, generator=generator)


def labels(batch: int, generator: torch.Generator, num_classes: int = 10) -> torch.Tensor:
    return torch.randint(0, num_classes, (batch,), generator=generator)


def prunable_names(state: dict[str, torch.Tensor]) -> list[str]:
    """Names of the conv weights and the classifier weight of a VGG state dict, in order."""
    return [name for name, tensor in state.items()
            if name.endswith(".weight") and tensor.dim() > 1]


def model_from_state(state: dict[str, torch.Tensor]) -> nn.Module:
    """A VGG in eval mode built from a (trusted) state dict."""
    from prunekit.model import vgg_from_state_dict

    return vgg_from_state_dict(state).eval()
