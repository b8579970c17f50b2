"""Tests of prunekit.plots: every plot returns a Figure with the expected panels, headless."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import io

import pytest
import torch
from matplotlib.figure import Figure
from torch import nn

from prunekit.model import VGG
from prunekit.plots import (plot_accuracy_vs_sparsity, plot_model_comparison, plot_sensitivity,
                            plot_weight_histograms)
from prunekit.sensitivity import SensitivityResult


def render(fig: Figure) -> None:
    """Draw the figure to PNG bytes, so layout and drawing errors surface in the test."""
    fig.savefig(io.BytesIO(), format="png")


def test_weight_histograms_one_panel_per_conv_and_linear_weight():
    """A tiny VGG has 8 conv weights + the classifier: 9 panels titled by parameter name."""
    fig = plot_weight_histograms(VGG(width=1 / 16), bins=16)
    assert isinstance(fig, Figure)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == [f"backbone.conv{i}.weight" for i in range(8)] + ["classifier.weight"]
    render(fig)


def test_weight_histograms_nonzero_only_with_a_fully_pruned_layer():
    """count_nonzero_only copes with a layer whose weights are all zero, and a one-layer model."""
    model = nn.Sequential(nn.Linear(3, 2), nn.ReLU(), nn.Linear(2, 1))
    with torch.no_grad():
        model[2].weight.zero_()
    fig = plot_weight_histograms(model, bins=4, count_nonzero_only=True)
    assert [ax.get_title() for ax in fig.axes] == ["0.weight", "2.weight"]
    render(fig)
    render(plot_weight_histograms(nn.Linear(2, 2)))


def test_sensitivity_plot_one_panel_per_layer_with_dense_line():
    """One panel per scanned layer; each has the scan line and the dashed dense-accuracy line."""
    result = SensitivityResult(sparsities=[0.0, 0.5, 0.9],
                               accuracies={"a.weight": [90.0, 80.0, 20.0],
                                           "b.weight": [90.0, 89.0, 70.0],
                                           "c.weight": [90.0, 60.0, 10.0]},
                               dense_accuracy=90.0)
    fig = plot_sensitivity(result)
    assert len(fig.axes) == 3
    for ax in fig.axes:
        styles = [line.get_linestyle() for line in ax.get_lines()]
        assert "--" in styles and len(styles) == 2
    render(fig)


def test_accuracy_vs_sparsity_one_line_per_curve():
    """One axes; one line per curve plus the dense line when given."""
    curves = {"fine-grained": ([0.0, 0.5, 0.9], [90.0, 88.0, 50.0]),
              "channel": ([0.0, 0.3], [90.0, 85.0])}
    fig = plot_accuracy_vs_sparsity(curves, dense_accuracy=90.0)
    assert len(fig.axes) == 1
    assert len(fig.axes[0].get_lines()) == 3
    render(fig)
    assert len(plot_accuracy_vs_sparsity(curves).axes[0].get_lines()) == 2


def test_model_comparison_one_panel_per_metric():
    """Size, MACs and latency each get a panel with one bar per model; rows may lack a metric."""
    rows = [{"name": "dense", "size_mib": 35.2, "macs": 606e6, "latency_ms": 3.0},
            {"name": "pruned", "size_mib": 8.0, "macs": 305e6}]
    fig = plot_model_comparison(rows)
    assert [ax.get_title() for ax in fig.axes] == ["size (MiB)", "MACs (millions)", "latency (ms)"]
    assert all(len(ax.patches) == 2 for ax in fig.axes)
    render(fig)


def test_model_comparison_accepts_a_mapping_and_only_present_metrics():
    """A {name: metrics} mapping works; metrics no row has get no panel; no metric is an error."""
    fig = plot_model_comparison({"dense": {"size_mib": 1.0}, "pruned": {"size_mib": 0.25}})
    assert [ax.get_title() for ax in fig.axes] == ["size (MiB)"]
    render(fig)
    with pytest.raises(ValueError):
        plot_model_comparison([{"name": "x", "accuracy": 1.0}])


def test_plots_do_not_touch_pyplot_state():
    """The plots build figures without pyplot, so nothing piles up in pyplot's figure list."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_accuracy_vs_sparsity({"x": ([0.0], [1.0])})
    assert plt.get_fignums() == before
