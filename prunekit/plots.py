"""Plots of weights, sensitivity scans, accuracy-vs-sparsity curves and model costs.

Every function returns its ``matplotlib.figure.Figure`` and never calls ``plt.show``, so it works
under the Agg backend on a headless grader. Figures are made by pyplot (which hooks Jupyter's
inline display up) and closed from pyplot at once: nothing piles up in pyplot's figure list, a
notebook shows the figure once when it is the cell's last expression (or via ``display(fig)``),
and a script saves it with ``fig.savefig(path)``. Sparsities are fractions in [0, 1] (zeros / entries) and are
drawn in percent; accuracies are in percent.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter
from torch import nn

from .sensitivity import prunable_weights

# The columns that plot_model_comparison knows: key -> (title, scale to divide by, bar label
# format). Accuracy first: the costs only mean something beside what the model still gets right.
COMPARISON_METRICS: dict[str, tuple[str, float, str]] = {
    "accuracy": ("accuracy (%)", 1.0, "{:.1f}"),
    "size_mib": ("size (MiB)", 1.0, "{:.3g}"),
    "macs": ("MACs (millions)", 1e6, "{:.3g}"),
    "latency_ms": ("latency (ms)", 1.0, "{:.3g}"),
}
# Histogram bins per layer when none are asked: about sqrt(entries), within these bounds.
MIN_BINS, MAX_BINS = 10, 128


def plot_weight_histograms(model: nn.Module, bins: int | None = None,
                           count_nonzero_only: bool = False) -> Figure:
    """One histogram per conv / linear weight, titled by its parameter name.

    Args:
        bins: number of histogram bins of every panel; ``None``: per layer, what fits its
            number of values (:func:`bins_for`).
        count_nonzero_only: leave out the entries that are exactly zero (after fine-grained
            pruning they form one tall spike at 0 that hides the rest).
    """
    weights = prunable_weights(model)
    fig, axes = _grid(len(weights), panel_size=(3.2, 2.4))
    for ax, (name, weight) in zip(axes, weights.items()):
        values = weight.detach().flatten().float().cpu()
        if count_nonzero_only:
            values = values[values != 0]
        if values.numel() == 0:  # a fully pruned layer: nothing to histogram
            ax.text(0.5, 0.5, "all zero", ha="center", va="center", transform=ax.transAxes)
        else:
            layer_bins = bins if bins is not None else bins_for(values.numel())
            ax.hist(values.numpy(), bins=layer_bins, density=True, color="tab:blue", alpha=0.8)
        ax.set_title(name, fontsize=9)
        ax.set_xlabel("weight value", fontsize=8)
    fig.suptitle("weight distributions" + (" (zeros left out)" if count_nonzero_only else ""))
    return fig


def plot_parameters_per_layer(model: nn.Module) -> Figure:
    """One bar per conv / linear weight (the tensors pruning works on): its number of entries,
    labelled with its share of all of them, so that where size can be won shows at a glance."""
    counts = {name: weight.numel() for name, weight in prunable_weights(model).items()}
    total = sum(counts.values())
    fig = _new_figure(figsize=(7, 0.35 * len(counts) + 1.2))
    ax = fig.add_subplot()
    bars = ax.barh(list(counts), list(counts.values()), color="tab:blue")
    ax.bar_label(bars, labels=[f"{count:,} ({count / total:.0%})" for count in counts.values()],
                 fontsize=8, padding=2)
    ax.invert_yaxis()  # the first layer on top, as in the table
    ax.set_xlabel("weights (entries)")
    ax.set_xlim(0, 1.3 * max(counts.values()))
    ax.set_title("where the weights are")
    return fig


def bins_for(num_values: int) -> int:
    """Histogram bins for ``num_values`` values: ``round(sqrt(num_values))`` (the square-root
    rule: about as many values per bin as bins) clamped to [:data:`MIN_BINS`, :data:`MAX_BINS`]."""
    return min(MAX_BINS, max(MIN_BINS, round(math.sqrt(num_values))))


def plot_sensitivity(scan_result) -> Figure:
    """Accuracy against sparsity for each layer pruned alone, one panel per layer.

    ``scan_result`` is a :class:`prunekit.sensitivity.SensitivityResult` (or anything with
    ``sparsities``, ``accuracies: {layer: [percent, ...]}`` and ``dense_accuracy``). The dense
    model's accuracy is the dashed line. Each panel's title gives the layer's number of
    parameters where the result has ``layer_sizes``: a big layer that tolerates pruning is where
    the savings are.
    """
    sparsities = [100 * s for s in scan_result.sparsities]
    layers = list(scan_result.accuracies)
    sizes = getattr(scan_result, "layer_sizes", None) or {}
    fig, axes = _grid(len(layers), panel_size=(3.2, 2.6), sharey=True)
    for ax, layer in zip(axes, layers):
        ax.plot(sparsities, scan_result.accuracies[layer], "o-", color="tab:blue", label="pruned")
        ax.axhline(scan_result.dense_accuracy, linestyle="--", color="tab:gray", label="dense")
        ax.set_title(f"{layer} ({sizes[layer]:,} params)" if layer in sizes else layer, fontsize=9)
        _label_sparsity_accuracy(ax)
    axes[0].legend(fontsize=8)
    fig.suptitle("sensitivity: each layer pruned alone")
    return fig


def plot_accuracy_vs_sparsity(curves: Mapping[str, tuple[Sequence[float], Sequence[float]]],
                              dense_accuracy: float | None = None) -> Figure:
    """Accuracy (percent) against sparsity (fraction, drawn in percent), one line per label.

    Args:
        curves: ``{label: (sparsities, accuracies)}``, e.g. the result of
            :func:`prunekit.sensitivity.uniform_sparsity_curve` for each pruning method.
        dense_accuracy: drawn as a dashed line when given.
    """
    fig = _new_figure(figsize=(6, 4))
    ax = fig.add_subplot()
    for label, (sparsities, accuracies) in curves.items():
        ax.plot([100 * s for s in sparsities], accuracies, "o-", label=label)
    if dense_accuracy is not None:
        ax.axhline(dense_accuracy, linestyle="--", color="tab:gray", label="dense")
    _label_sparsity_accuracy(ax)
    ax.set_title("accuracy vs sparsity")
    if curves or dense_accuracy is not None:
        ax.legend()
    return fig


def plot_model_comparison(rows: Sequence[Mapping] | Mapping[str, Mapping]) -> Figure:
    """Bar charts comparing named models side by side: accuracy (percent), size (MiB), MACs
    (millions) and latency (ms).

    Args:
        rows: a sequence of dicts with a ``"name"`` and any of ``"accuracy"`` (percent),
            ``"size_mib"``, ``"macs"``, ``"latency_ms"`` (e.g. the notebook's results table), or
            a dict ``{name: {metric: value}}``. One panel per metric that at least one row has;
            a row without that metric gets no bar there; other keys are ignored.
    """
    rows = _named_rows(rows)
    names = [row["name"] for row in rows]
    metrics = [key for key in COMPARISON_METRICS if any(key in row for row in rows)]
    if not metrics:
        raise ValueError(f"rows have none of the metrics {list(COMPARISON_METRICS)}")
    fig = _new_figure(figsize=(3.6 * len(metrics), 3.4))
    axes = fig.subplots(1, len(metrics), squeeze=False)[0]
    colors = [f"C{i}" for i in range(len(names))]
    for ax, key in zip(axes, metrics):
        title, scale, label_format = COMPARISON_METRICS[key]
        values = [row[key] / scale if key in row else math.nan for row in rows]
        bars = ax.bar(names, values, color=colors)
        ax.bar_label(bars, labels=["" if math.isnan(v) else label_format.format(v) for v in values],
                     fontsize=8)
        ax.set_title(title)
        ax.tick_params(axis="x", labelrotation=30)
    return fig


def plot_tradeoffs(points: Sequence, marked: Sequence[Mapping] = (), note: str = "") -> Figure:
    """Accuracy (percent) against model size and against measured speedup, one line per pruning
    method, with the notebook's own models marked.

    Args:
        points: :class:`prunekit.tradeoffs.TradeoffPoint` s: a dashed curve per method right
            after pruning and, where the points were fine-tuned briefly, a solid one after.
        marked: rows of the notebook's results table (``name``, ``accuracy``, ``params``,
            ``speedup``); sizes are relative to the row named ``"dense"``.
        note: one line under the title (e.g. what the curves were evaluated on).
    """
    fig = _new_figure(figsize=(10, 4))
    size_ax, speed_ax = fig.subplots(1, 2, sharey=True)
    for index, method in enumerate(dict.fromkeys(point.method for point in points)):
        line = [point for point in points if point.method == method]
        for label, accuracies, style in _tradeoff_curves(line):
            style = dict(style, color=f"C{index}", label=f"{method}, {label}")
            size_ax.plot([100 * p.size_fraction for p in line], accuracies, **style)
            speed_ax.plot([p.speedup for p in line], accuracies, **style)
    dense_params = next((row["params"] for row in marked if row["name"] == "dense"), None)
    for index, row in enumerate(marked):
        style = dict(marker="*", markersize=14, linestyle="none", color=f"C{index + 2}",
                     label=f"your {row['name']} model")
        if dense_params:
            size_ax.plot(100 * row["params"] / dense_params, row["accuracy"], **style)
        speed_ax.plot(row["speedup"], row["accuracy"], **style)
    size_ax.set_xlabel("size: non-zero parameters (% of dense)")
    size_ax.xaxis.set_major_formatter(PercentFormatter())
    speed_ax.set_xlabel("measured speedup over dense (x)")
    size_ax.set_ylabel("accuracy (%)")
    for ax in (size_ax, speed_ax):
        ax.grid(alpha=0.3)
    speed_ax.legend(fontsize=8)
    fig.suptitle("accuracy against size and speed" + (f"\n{note}" if note else ""), fontsize=10)
    return fig


def _tradeoff_curves(line: Sequence) -> list[tuple[str, list[float], dict]]:
    """(label, accuracies, line style) of one method's curves: right after pruning, and after
    the short fine-tuning when its points have one."""
    curves = [("right after pruning", [p.accuracy for p in line],
               dict(marker="o", linestyle="--", alpha=0.6))]
    if all(p.tuned_accuracy is not None for p in line):
        curves.append(("after a short fine-tuning", [p.tuned_accuracy for p in line],
                       dict(marker="o", linestyle="-")))
    return curves


def _named_rows(rows: Sequence[Mapping] | Mapping[str, Mapping]) -> list[dict]:
    """Rows as a list of dicts that each have a ``name``."""
    if isinstance(rows, Mapping):
        return [{"name": name, **metrics} for name, metrics in rows.items()]
    named = [dict(row) for row in rows]
    for index, row in enumerate(named):
        if "name" not in row:
            raise ValueError(f"row {index} has no 'name': {row}")
    return named


def _grid(panels: int, panel_size: tuple[float, float], sharey: bool = False) -> tuple[Figure, list[Axes]]:
    """A figure with ``panels`` axes in rows of at most 4; unused cells are removed."""
    if panels < 1:
        raise ValueError("nothing to plot: no layers")
    cols = min(4, panels)
    rows = math.ceil(panels / cols)
    fig = _new_figure(figsize=(panel_size[0] * cols, panel_size[1] * rows))
    axes = list(fig.subplots(rows, cols, squeeze=False, sharey=sharey).flat)
    for ax in axes[panels:]:
        ax.remove()
    return fig, axes[:panels]


def _new_figure(figsize: tuple[float, float]) -> Figure:
    """A constrained-layout figure made by pyplot and already closed there (see the module doc)."""
    import matplotlib.pyplot as plt  # imported late: importing it picks the backend

    fig = plt.figure(figsize=figsize, layout="constrained")
    plt.close(fig)
    return fig


def _label_sparsity_accuracy(ax: Axes) -> None:
    ax.set_xlabel("sparsity")
    ax.set_ylabel("accuracy (%)")
    ax.xaxis.set_major_formatter(PercentFormatter(100))
    ax.grid(alpha=0.3)
