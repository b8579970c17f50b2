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
from prunekit.plots import (bins_for, plot_accuracy_vs_sparsity, plot_model_comparison,
                            plot_parameters_per_layer, plot_sensitivity, plot_weight_histograms)
from prunekit.sensitivity import SensitivityResult, sensitivity_scan


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


def test_parameters_per_layer_one_bar_per_weight_with_its_share():
    """One bar per conv / classifier weight, first layer on top, labelled with count and share."""
    model = VGG(width=1 / 16)
    fig = plot_parameters_per_layer(model)
    [ax] = fig.axes
    counts = [int(bar.get_width()) for bar in ax.patches]
    assert counts == [w.numel() for n, w in model.named_parameters() if w.dim() > 1]
    labels = [text.get_text() for text in ax.texts]
    assert labels[-1].startswith(f"{counts[-1]:,} (") and labels[-1].endswith("%)")
    render(fig)


def test_weight_histograms_bins_fit_each_layer():
    """By default each panel has about sqrt(entries) bins, at least 10 and at most 128: the tiny
    VGG's conv0 (108 weights) gets 10, conv7 (9,216) 96, the classifier (320) 18; an explicit
    count applies to every panel."""
    model = VGG(width=1 / 16)
    bars = [len(ax.patches) for ax in plot_weight_histograms(model).axes]
    assert bars[0] == 10 and bars[7] == 96 and bars[8] == 18
    assert bars == [bins_for(weight.numel()) for weight in
                    (m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)))]
    assert {len(ax.patches) for ax in plot_weight_histograms(model, bins=16).axes} == {16}


def test_bins_for_clamps_to_its_bounds():
    """A few values still get 10 bins; a full-width VGG conv (2.4 M weights) gets 128, not 1,536."""
    assert bins_for(4) == 10
    assert bins_for(400) == 20
    assert bins_for(512 * 512 * 9) == 128


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


def test_sensitivity_panels_give_each_layer_parameter_count():
    """A scan of the tiny VGG titles each panel with its layer's number of weights."""
    model = VGG(width=1 / 16)
    scan = sensitivity_scan(model, lambda m: 50.0, lambda tensor, sparsity: None, [0.5],
                            progress=False)
    titles = [ax.get_title() for ax in plot_sensitivity(scan).axes]
    assert titles[0] == "backbone.conv0.weight (108 params)"
    assert titles[7] == "backbone.conv7.weight (9,216 params)"
    assert titles[8] == "classifier.weight (320 params)"


def test_sensitivity_plot_of_a_result_without_sizes_titles_by_name():
    """A result made without layer sizes (an older caller's) still plots, titled by name."""
    result = SensitivityResult(sparsities=[0.5], accuracies={"a.weight": [80.0]},
                               dense_accuracy=90.0)
    assert [ax.get_title() for ax in plot_sensitivity(result).axes] == ["a.weight"]


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


def test_model_comparison_has_an_accuracy_panel_first():
    """Rows with an accuracy (percent) get an accuracy panel before the costs, labelled to one
    decimal; other keys of a row (params, speedup) are ignored."""
    rows = [{"name": "dense", "accuracy": 92.95, "size_mib": 35.2, "params": 9_228_362},
            {"name": "pruned", "accuracy": 92.2, "size_mib": 8.0, "speedup": 1.9}]
    fig = plot_model_comparison(rows)
    assert [ax.get_title() for ax in fig.axes] == ["accuracy (%)", "size (MiB)"]
    accuracy = fig.axes[0]
    assert [bar.get_height() for bar in accuracy.patches] == [92.95, 92.2]
    assert [text.get_text() for text in accuracy.texts] == ["93.0", "92.2"]
    render(fig)


def test_model_comparison_accepts_a_mapping_and_only_present_metrics():
    """A {name: metrics} mapping works; metrics no row has get no panel; no metric is an error."""
    fig = plot_model_comparison({"dense": {"size_mib": 1.0}, "pruned": {"size_mib": 0.25}})
    assert [ax.get_title() for ax in fig.axes] == ["size (MiB)"]
    render(fig)
    with pytest.raises(ValueError):
        plot_model_comparison([{"name": "x", "speedup": 1.0}])


def test_plots_do_not_touch_pyplot_state():
    """The plots build figures without pyplot, so nothing piles up in pyplot's figure list."""
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    plot_accuracy_vs_sparsity({"x": ([0.0], [1.0])})
    assert plt.get_fignums() == before
