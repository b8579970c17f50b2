"""Tests of prunekit.sensitivity: the scan restores the model exactly, covers every
(layer, sparsity) pair, and sees accuracy fall on a toy problem."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from prunekit.model import VGG
from prunekit.sensitivity import (SensitivityResult, prunable_weights, sensitivity_scan,
                                  uniform_sparsity_curve)

SPARSITIES = [0.0, 0.5, 0.9, 1.0]


def magnitude_prune(tensor: torch.Tensor, sparsity: float) -> torch.Tensor:
    """Fine-grained magnitude pruning in place, with the kit's semantics; returns the keep-mask."""
    sparsity = min(max(0.0, sparsity), 1.0)
    num_zeros = round(tensor.numel() * sparsity)
    if num_zeros == 0:  # k=0 not supported by torch.kthvalue
        return torch.ones_like(tensor, dtype=torch.bool)
    threshold = tensor.abs().flatten().kthvalue(num_zeros).values
    mask = tensor.abs() > threshold
    tensor.mul_(mask)
    return mask


def toy_problem(seed: int = 0):
    """A two-layer linear classifier that gets 100% of its data right, and an evaluate_fn."""
    generator = torch.Generator().manual_seed(seed)
    inputs = torch.randn(400, 8, generator=generator)
    target_weight = torch.randn(4, 8, generator=generator)
    labels = (inputs @ target_weight.T).argmax(1)
    model = nn.Sequential(nn.Linear(8, 16, bias=False), nn.Linear(16, 4, bias=False))
    with torch.no_grad():
        hidden = torch.randn(16, 8, generator=generator)
        model[0].weight.copy_(hidden)
        model[1].weight.copy_(target_weight @ torch.linalg.pinv(hidden))

    def evaluate(m: nn.Module) -> float:
        with torch.no_grad():
            return 100.0 * (m(inputs).argmax(1) == labels).float().mean().item()

    return model, evaluate


def snapshot(model: nn.Module) -> dict[str, torch.Tensor]:
    return {name: value.clone() for name, value in model.state_dict().items()}


def assert_bit_identical(model: nn.Module, before: dict[str, torch.Tensor]) -> None:
    after = model.state_dict()
    assert after.keys() == before.keys()
    for name, value in before.items():
        assert torch.equal(after[name], value), f"{name} changed"


def test_default_layers_are_the_conv_and_linear_weights():
    """The VGG's prunable weights are its 8 conv weights and the classifier weight, in order."""
    names = list(prunable_weights(VGG(width=1 / 16)))
    assert names == [f"backbone.conv{i}.weight" for i in range(8)] + ["classifier.weight"]


def test_scan_leaves_model_bit_identical_and_prunes_during_evaluation():
    """After the scan every parameter and buffer is bit-identical; during it the weight was pruned."""
    model = VGG(width=1 / 16)
    model.train()
    before = snapshot(model)
    seen_sparsity = []

    def evaluate(m: nn.Module) -> float:
        m.eval()  # an evaluate_fn that changes the mode, as most do
        weight = m.backbone.conv3.weight
        seen_sparsity.append(1 - weight.count_nonzero().item() / weight.numel())
        return 50.0

    result = sensitivity_scan(model, evaluate, magnitude_prune, SPARSITIES,
                              layer_names=["backbone.conv3.weight"], progress=False)
    assert_bit_identical(model, before)
    assert model.training
    assert seen_sparsity[0] == 0.0  # the dense evaluation
    assert seen_sparsity[1:] == pytest.approx(SPARSITIES, abs=0.01)
    assert result.accuracies == {"backbone.conv3.weight": [50.0] * len(SPARSITIES)}


def test_scan_calls_prune_fn_for_every_layer_and_sparsity():
    """prune_fn is called once per (layer, sparsity), on the layer's own storage, in order."""
    model = VGG(width=1 / 16)
    storage_to_name = {p.data_ptr(): name for name, p in prunable_weights(model).items()}
    calls = []

    def recording_prune(tensor: torch.Tensor, sparsity: float) -> None:
        calls.append((storage_to_name[tensor.data_ptr()], sparsity))
        magnitude_prune(tensor, sparsity)

    result = sensitivity_scan(model, lambda m: 10.0, recording_prune, SPARSITIES, progress=False)
    expected = [(name, s) for name in storage_to_name.values() for s in SPARSITIES]
    assert calls == expected
    assert isinstance(result, SensitivityResult)
    assert result.sparsities == SPARSITIES
    assert list(result.accuracies) == list(storage_to_name.values())
    assert all(len(accs) == len(SPARSITIES) for accs in result.accuracies.values())


def test_accuracy_drops_with_sparsity_on_a_toy_problem():
    """On a perfect toy classifier, sparsity 0 keeps 100% and heavy sparsity loses accuracy."""
    model, evaluate = toy_problem()
    before = snapshot(model)
    result = sensitivity_scan(model, evaluate, magnitude_prune, SPARSITIES, progress=True)
    assert result.dense_accuracy == 100.0
    for accuracies in result.accuracies.values():
        assert accuracies[0] == 100.0
        assert accuracies[-1] < 50.0  # all weights zero: every logit ties
        assert accuracies[2] < 100.0
    assert_bit_identical(model, before)


def test_scan_restores_the_weight_when_evaluation_raises():
    """An exception inside evaluate_fn still leaves the model as it was."""
    model, _ = toy_problem()
    before = snapshot(model)
    calls = []

    def failing_evaluate(m: nn.Module) -> float:
        calls.append(1)
        if len(calls) > 1:  # the dense evaluation succeeds, the first pruned one fails
            raise RuntimeError("boom")
        return 1.0

    with pytest.raises(RuntimeError, match="boom"):
        sensitivity_scan(model, failing_evaluate, magnitude_prune, [0.9], progress=False)
    assert_bit_identical(model, before)


def test_unknown_layer_name_is_a_clear_error():
    """A layer name that is not a parameter raises ValueError naming it."""
    model, evaluate = toy_problem()
    with pytest.raises(ValueError, match="nope.weight"):
        sensitivity_scan(model, evaluate, magnitude_prune, [0.5], layer_names=["nope.weight"])


def test_uniform_curve_prunes_all_layers_of_a_copy():
    """Every sparsity prunes all layers of a fresh copy; the original model is untouched."""
    model, evaluate = toy_problem()
    before = snapshot(model)
    seen = []

    def recording_evaluate(m: nn.Module) -> float:
        assert m is not model
        seen.append([1 - p.count_nonzero().item() / p.numel() for p in m.parameters()])
        return evaluate(m)

    sparsities, accuracies = uniform_sparsity_curve(model, recording_evaluate, magnitude_prune,
                                                    SPARSITIES, progress=False)
    assert sparsities == SPARSITIES
    assert accuracies[0] == 100.0 and accuracies[-1] < 50.0
    for target, per_layer in zip(SPARSITIES, seen):
        assert per_layer == pytest.approx([target, target], abs=0.01)
    assert_bit_identical(model, before)
