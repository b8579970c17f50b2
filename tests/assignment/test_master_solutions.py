"""The master notebook's solution cells behave exactly like the reference package
``solutions/`` (same results, same in-place effects, same errors) on inputs well beyond the
public tests: the notebook and the reference cannot drift apart."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

import solutions
from assignment.build import MASTER
from autograder import questions
from tests.helpers import small_vgg

from .notebooks import code_cells, read

SOLUTION_CELLS = ["imports", "channel-helpers"] + [f"{q}-solution" for q in questions.load().graded]


@pytest.fixture(scope="module")
def lab():
    """The namespace the master's imports, helper and solution cells define (run in order)."""
    cells = {cell.get("id"): cell.source for cell in code_cells(read(MASTER))}
    namespace: dict = {"__name__": "pruning_lab"}
    for cell_id in SOLUTION_CELLS:
        exec(compile(cells[cell_id], cell_id, "exec"), namespace)
    return namespace


def same_state(a: nn.Module, b: nn.Module) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(sa[k].shape == sb[k].shape and torch.equal(sa[k], sb[k])
                                          for k in sa)


def outcome(function, *args):
    """``("ok", result)`` or ``("error", exception type)``."""
    try:
        return "ok", function(*args)
    except Exception as error:  # the type is what is compared
        return "error", type(error)


def test_sparsity_and_size(lab):
    """Sparsities, parameter counts and sizes agree on tensors and a half-pruned model."""
    model = small_vgg(0, width=0.125)
    solutions.FineGrainedPruner(model, {"backbone.conv3.weight": 0.5, "classifier.weight": 0.3})
    for tensor in [torch.zeros(4), torch.tensor([0.0, 1.0, 2.0]), model.backbone.conv3.weight]:
        assert lab["get_sparsity"](tensor) == solutions.get_sparsity(tensor)
    assert lab["get_model_sparsity"](model) == solutions.get_model_sparsity(model)
    for nonzero in (False, True):
        assert lab["get_num_parameters"](model, nonzero) == solutions.get_num_parameters(model, nonzero)
        for width in (32, 8):
            assert lab["get_model_size"](model, width, nonzero) == solutions.get_model_size(model, width, nonzero)


@pytest.mark.parametrize("shape", [(7,), (3, 5), (4, 3, 3, 3)])
@pytest.mark.parametrize("integers", [False, True], ids=["distinct", "ties"])
def test_fine_grained_prune(lab, shape, integers):
    """Masks, in-place results and errors agree for every sparsity, with and without ties."""
    generator = torch.Generator().manual_seed(len(shape))
    base = (torch.randint(-3, 4, shape, generator=generator).float() if integers
            else torch.randn(shape, generator=generator))
    for sparsity in [0.0, 0.1, 0.25, 0.5, 0.7, 0.9, 1.0, -0.5, 1.5, 1 / 14, float("nan")]:
        mine, theirs = base.clone(), base.clone()
        got, want = outcome(lab["fine_grained_prune"], mine, sparsity), outcome(solutions.fine_grained_prune, theirs, sparsity)
        assert got[0] == want[0], (sparsity, got, want)
        if got[0] == "ok":
            assert got[1].dtype == want[1].dtype and torch.equal(got[1], want[1]), sparsity
            assert torch.equal(mine, theirs), sparsity
        else:
            assert got[1] is want[1], sparsity


def test_fine_grained_pruner(lab):
    """The pruner's masks and pruned weights agree, apply restores the same zeros, and unknown
    names are rejected the same way before anything changes."""
    sparsity_dict = {"backbone.conv1.weight": 0.4, "backbone.conv7.weight": 0.85, "classifier.weight": 0.5}
    mine, theirs = small_vgg(1, width=0.125), small_vgg(1, width=0.125)
    pruner, reference = lab["FineGrainedPruner"](mine, sparsity_dict), solutions.FineGrainedPruner(theirs, sparsity_dict)
    assert pruner.masks.keys() == reference.masks.keys()
    assert all(torch.equal(pruner.masks[k], reference.masks[k]) for k in pruner.masks)
    assert same_state(mine, theirs)
    with torch.no_grad():
        for model in (mine, theirs):
            for param in model.parameters():
                param.add_(1.0)
    pruner.apply(mine)
    reference.apply(theirs)
    assert same_state(mine, theirs)
    untouched = small_vgg(2, width=0.125)
    before = copy.deepcopy(untouched)
    with pytest.raises(KeyError):
        lab["FineGrainedPruner"](untouched, {"backbone.conv1.weight": 0.5, "backbone.conv9.weight": 0.5})
    assert same_state(untouched, before)


def test_channel_counts(lab):
    """get_num_channels_to_keep agrees on a grid, rounding halves included."""
    for channels in [1, 5, 8, 10, 64, 512]:
        for ratio in [0.0, 0.1, 0.25, 0.3, 0.5, 0.75, 0.9, 1.0]:
            assert lab["get_num_channels_to_keep"](channels, ratio) == solutions.get_num_channels_to_keep(channels, ratio)


@pytest.mark.parametrize("conv_bias", [False, True])
def test_channel_prune_and_sorting(lab, conv_bias):
    """Channel importance, sorting and pruning (floats, lists and invalid ratios) give the same
    models and the same errors, with and without conv biases."""
    model = small_vgg(3, conv_bias, width=0.125)
    weight = model.backbone.conv4.weight
    assert torch.equal(lab["get_input_channel_importance"](weight), solutions.get_input_channel_importance(weight))
    assert same_state(lab["apply_channel_sorting"](model), solutions.apply_channel_sorting(model))
    tied = small_vgg(4, conv_bias, width=0.125)
    with torch.no_grad():
        tied.backbone.conv2.weight[:, 1] = tied.backbone.conv2.weight[:, 0]  # equal importances
    assert same_state(lab["apply_channel_sorting"](tied), solutions.apply_channel_sorting(tied))
    for ratio in [0.3, 0.5, 0.0, [0.5, 0.1, 0.2, 0.3, 0.4, 0.6, 0.7], [0.5] * 3, 1.0, -0.1, 0.97]:
        got, want = outcome(lab["channel_prune"], model, ratio), outcome(solutions.channel_prune, model, ratio)
        assert got[0] == want[0], (ratio, got, want)
        if got[0] == "ok":
            assert same_state(got[1], want[1]), ratio
        else:
            assert got[1] is want[1], ratio


@pytest.mark.parametrize("shape, n, m", [((8, 4, 3, 3), 2, 4), ((6, 12), 1, 3), ((4, 16), 3, 8),
                                         ((3, 8), 0, 4), ((3, 8), 4, 4), ((4, 3, 3, 3), 2, 4),
                                         ((2, 8), 5, 4), ((2, 8), 2.0, 4)])
def test_nm_prune(lab, shape, n, m):
    """The master's nm_prune (the bonus q10) gives the reference's mask, tensor and errors."""
    tensor = torch.randn(shape, generator=torch.Generator().manual_seed(len(shape) + int(n)))
    tensor[0, :4] = 0.5  # equal magnitudes in a group: the earlier ones are kept
    mine, theirs = tensor.clone(), tensor.clone()
    got, expected = outcome(lab["nm_prune"], mine, n, m), outcome(solutions.nm_prune, theirs, n, m)
    assert got[0] == expected[0]
    if got[0] == "ok":
        assert torch.equal(got[1], expected[1]) and torch.equal(mine, theirs)
    else:
        assert got[1] is expected[1] and torch.equal(mine, tensor)
