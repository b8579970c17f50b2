"""Measurement: parameter counts, model size, MACs and latency."""
from __future__ import annotations

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_macs(model: nn.Module, input_shape: tuple[int, ...] = (1, 3, 32, 32)) -> int:
    """Multiply-accumulates of one forward pass on a zero input of ``input_shape``.

    Counted by ``torch.utils.flop_counter``, which counts matrix multiplications and
    convolutions (the conv and linear layers) as 2 FLOPs per MAC; BatchNorm, ReLU, pooling and
    the average are not counted. The model is run in eval mode and restored to its mode.
    """
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        model(torch.zeros(input_shape, device=device))
    model.train(was_training)
    return counter.get_total_flops() // 2
