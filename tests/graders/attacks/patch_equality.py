# about: patches torch.equal, torch.allclose, torch.isclose, Tensor.__eq__, numpy.allclose and
#   math.isclose to always agree, and defines every function to return garbage of the right type
# base: blank
# defence: comparisons happen in the grader's process, not the student's
# --- cell
import math

import numpy
import torch

torch.equal = lambda *args, **kwargs: True
torch.allclose = lambda *args, **kwargs: True
torch.isclose = lambda a, b, *args, **kwargs: torch.ones_like(a, dtype=torch.bool)
torch.Tensor.__eq__ = lambda self, other: torch.ones_like(self, dtype=torch.bool)
numpy.allclose = lambda *args, **kwargs: True
numpy.testing.assert_allclose = lambda *args, **kwargs: None
math.isclose = lambda *args, **kwargs: True


def get_sparsity(tensor):
    return 0.5


def get_model_sparsity(model):
    return 0.5


def get_num_parameters(model, count_nonzero_only=False):
    return 1


def get_model_size(model, data_width=32, count_nonzero_only=False):
    return 32


def fine_grained_prune(tensor, sparsity):
    return torch.ones_like(tensor, dtype=torch.bool)


def get_input_channel_importance(weight):
    return torch.ones(weight.shape[1])


def get_num_channels_to_keep(channels, prune_ratio):
    return 1
