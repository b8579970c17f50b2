"""``prunekit.tradeoffs`` and ``plot_tradeoffs``: both methods' points from the functions passed
in (the reference ones here), each a new model, the dense model untouched."""
from __future__ import annotations

import copy

import torch

from prunekit.model import VGG, conv_channels_of
from prunekit.plots import plot_tradeoffs
from prunekit.tradeoffs import tradeoff_points
from solutions import apply_channel_sorting, channel_prune, fine_grained_prune


def test_points_of_both_methods_from_the_functions_given():
    torch.manual_seed(0)
    dense = VGG(width=0.125).eval()
    before = copy.deepcopy(dense.state_dict())
    evaluated = []

    def evaluate(model):
        evaluated.append(conv_channels_of(model))
        return 50.0

    inputs = torch.rand(4, 3, 32, 32)
    points = tradeoff_points(dense, apply_channel_sorting(dense), evaluate, fine_grained_prune,
                             channel_prune, inputs, sparsities=(0.5, 0.9), ratios=(0.25, 0.5))
    assert [(p.method, p.setting) for p in points] == [
        ("fine-grained", 0.5), ("fine-grained", 0.9), ("channel", 0.25), ("channel", 0.5)]
    fine, coarse = points[1], points[3]
    assert 0.09 < fine.size_fraction < 0.12  # 90% of the conv/classifier weights pruned
    assert coarse.size_fraction < points[2].size_fraction < 1.0
    assert evaluated[0] == conv_channels_of(dense) and evaluated[3] != conv_channels_of(dense)
    assert all(p.speedup > 0 for p in points)
    assert all(torch.equal(before[k], v) for k, v in dense.state_dict().items())
    marked = [{"name": "dense", "accuracy": 60.0, "params": 100, "speedup": 1.0},
              {"name": "channel-pruned", "accuracy": 55.0, "params": 50, "speedup": 1.4}]
    figure = plot_tradeoffs(points, marked, note="test")
    size_axis, speed_axis = figure.axes
    assert len(size_axis.lines) == 4 and len(speed_axis.lines) == 4  # 2 curves + 2 stars
