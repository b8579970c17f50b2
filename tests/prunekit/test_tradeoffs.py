"""``prunekit.tradeoffs`` and ``plot_tradeoffs``: both methods' points from the functions passed
in (the reference ones here), each a new model, the dense model untouched."""
from __future__ import annotations

import copy

import torch

from prunekit.model import VGG, conv_channels_of
from prunekit.plots import plot_tradeoffs
from prunekit.profiles import get_profile
from prunekit.tradeoffs import short_fine_tune, tradeoff_points
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


def test_a_short_fine_tuning_adds_a_second_accuracy_and_a_solid_curve():
    """With ``fine_tune_fn`` every copy is fine-tuned once (the fine-grained ones asked to keep
    their zeros) and evaluated again; the plot then has both curves per method."""
    torch.manual_seed(0)
    dense = VGG(width=0.125).eval()
    tuned = []

    def fine_tune(model, keep_zeros):
        tuned.append(keep_zeros)

    points = tradeoff_points(dense, apply_channel_sorting(dense), lambda model: 40.0 + len(tuned),
                             fine_grained_prune, channel_prune, torch.rand(4, 3, 32, 32),
                             sparsities=(0.5,), ratios=(0.25,), fine_tune_fn=fine_tune)
    assert tuned == [True, False]
    assert [(p.accuracy, p.tuned_accuracy) for p in points] == [(40.0, 41.0), (40.0, 42.0)]
    size_axis, _ = plot_tradeoffs(points).axes
    assert [line.get_linestyle() for line in size_axis.lines] == ["--", "-", "--", "-"]


def test_short_fine_tuning_changes_the_weights_and_keeps_zeros_when_asked():
    """One pass over a few images moves the weights; with ``keep_zeros`` the pruned ones stay
    zero, without it they regrow."""
    from prunekit.data import load_datasets

    profile = get_profile("offline")
    train_set, _ = load_datasets(profile)
    for keep_zeros in (True, False):
        torch.manual_seed(0)
        model = VGG(width=profile.width)
        conv = model.backbone.conv1.weight
        with torch.no_grad():
            fine_grained_prune(conv, 0.8)
        zeros, kept = conv == 0, conv.detach().clone()
        short_fine_tune(model, torch.utils.data.Subset(train_set, range(256)), profile,
                        keep_zeros, device="cpu")
        assert not torch.equal(conv.detach(), kept)
        assert bool((conv[zeros] == 0).all()) is keep_zeros
