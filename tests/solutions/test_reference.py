"""Tests of the reference implementation (``solutions``) against the student-API contract of
DESIGN.md: known values, ``torch.nn.utils.prune`` as an oracle for magnitude masks, function
preservation of channel sorting, and the lab's reference figures for channel pruning."""
from __future__ import annotations

import copy

import pytest
import torch
from torch import nn
from torch.nn.utils import prune as torch_prune

from prunekit.measure import count_macs
from prunekit.model import VGG, conv_channels_of, vgg_from_state_dict
from solutions import (FineGrainedPruner, apply_channel_sorting, channel_prune, fine_grained_prune,
                       get_input_channel_importance, get_model_size, get_model_sparsity,
                       get_num_channels_to_keep, get_num_parameters, get_sparsity)
from tests.helpers import small_vgg

VGG_PARAMETERS = 9_228_362
PRUNED_0_3_CHANNELS = [45, 90, 179, 179, 358, 358, 358, 512]
PRUNED_0_3_PARAMETERS = 5_013_666
PRUNED_0_3_MACS = 305_097_920
BITS_PER_MIB = 8 * 1024 ** 2


# ---------------------------------------------------------------- helpers

@pytest.fixture(scope="module")
def full_vgg() -> VGG:
    """The full-width VGG with seeded weights (shared; tests must not modify it)."""
    torch.manual_seed(0)
    return VGG()


def images(batch: int = 2, seed: int = 1) -> torch.Tensor:
    """A seeded batch of CIFAR-shaped inputs in [0, 1]."""
    return torch.rand(batch, 3, 32, 32, generator=torch.Generator().manual_seed(seed))


def assert_same_function(model_a: nn.Module, model_b: nn.Module) -> None:
    """Both models (in eval mode) give the same logits on a random batch, up to float error."""
    x = images()
    with torch.no_grad():
        out_a, out_b = model_a.eval()(x), model_b.eval()(x)
    scale = out_a.abs().max().item()
    torch.testing.assert_close(out_b, out_a, rtol=1e-4, atol=1e-5 * max(scale, 1.0))


def convs_of(model: nn.Module) -> list[nn.Conv2d]:
    return [m for m in model.backbone if isinstance(m, nn.Conv2d)]


def bns_of(model: nn.Module) -> list[nn.BatchNorm2d]:
    return [m for m in model.backbone if isinstance(m, nn.BatchNorm2d)]


def state_equal(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def torch_l1_mask(tensor: torch.Tensor, num_zeros: int) -> torch.Tensor:
    """The keep-mask that ``torch.nn.utils.prune.l1_unstructured`` computes for ``tensor``."""
    holder = nn.Module()
    holder.weight = nn.Parameter(tensor.clone())
    torch_prune.l1_unstructured(holder, "weight", amount=num_zeros)
    return holder.weight_mask.bool()


def manually_sliced(model: VGG, keep: list[int]) -> VGG:
    """``model`` with the first ``keep[i]`` channels after conv i, built by slicing its state
    dict directly (an independent construction of what ``channel_prune`` must return)."""
    state = model.state_dict()
    sliced = {}
    prev = 3
    for i, n in enumerate(keep):
        conv, bn = f"backbone.conv{i}", f"backbone.bn{i}"
        sliced[f"{conv}.weight"] = state[f"{conv}.weight"][:n, :prev]
        if f"{conv}.bias" in state:
            sliced[f"{conv}.bias"] = state[f"{conv}.bias"][:n]
        for key in ("weight", "bias", "running_mean", "running_var"):
            sliced[f"{bn}.{key}"] = state[f"{bn}.{key}"][:n]
        sliced[f"{bn}.num_batches_tracked"] = state[f"{bn}.num_batches_tracked"]
        prev = n
    sliced["classifier.weight"] = state["classifier.weight"]
    sliced["classifier.bias"] = state["classifier.bias"]
    return vgg_from_state_dict(sliced).eval()


# ---------------------------------------------------------------- sparsity and size

def test_get_sparsity_known_tensors():
    """Sparsity is the fraction of zeros: half-zero, all-zero, dense and empty tensors."""
    assert get_sparsity(torch.tensor([0.0, 1.0, 0.0, 2.0])) == pytest.approx(0.5)
    assert get_sparsity(torch.zeros(3, 4)) == pytest.approx(1.0)
    assert get_sparsity(torch.ones(5)) == pytest.approx(0.0)
    assert get_sparsity(torch.tensor([[0.0, -3.0, 0.0]])) == pytest.approx(2 / 3)
    assert get_sparsity(torch.empty(0)) == 0.0
    assert isinstance(get_sparsity(torch.ones(2)), float)


def test_get_model_sparsity_counts_parameters_not_buffers():
    """Model sparsity pools all parameters; BatchNorm running stats (buffers) are ignored."""
    model = nn.Sequential(nn.Linear(4, 2), nn.BatchNorm1d(2))  # 8 + 2 + 2 + 2 = 14 parameters
    with torch.no_grad():
        for param in model.parameters():
            param.fill_(1.0)
        model[0].weight[0].zero_()          # 4 zeros
        model[1].running_mean.zero_()       # buffer: must not count
    assert get_model_sparsity(model) == pytest.approx(4 / 14)


def test_get_num_parameters_full_vgg(full_vgg):
    """The full VGG has the lab's 9,228,362 parameters; buffers are not counted."""
    assert get_num_parameters(full_vgg) == VGG_PARAMETERS
    assert get_num_parameters(nn.BatchNorm2d(4)) == 8
    assert isinstance(get_num_parameters(full_vgg), int)


def test_get_num_parameters_nonzero_only():
    """``count_nonzero_only`` counts only the non-zero entries."""
    layer = nn.Linear(3, 2)  # 6 + 2 parameters
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]]))
        layer.bias.copy_(torch.tensor([0.0, 5.0]))
    assert get_num_parameters(layer) == 8
    assert get_num_parameters(layer, count_nonzero_only=True) == 4


def test_get_model_size_in_bits(full_vgg):
    """Size is parameters x data_width in bits: 35.20 MiB at fp32 for the full VGG."""
    assert get_model_size(full_vgg) == VGG_PARAMETERS * 32
    assert get_model_size(full_vgg, data_width=8) == VGG_PARAMETERS * 8
    assert get_model_size(full_vgg) / BITS_PER_MIB == pytest.approx(35.20, abs=0.005)
    layer = nn.Linear(3, 2, bias=False)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[0.0, 1.0, 0.0], [2.0, 0.0, 3.0]]))
    assert get_model_size(layer, count_nonzero_only=True) == 3 * 32
    assert get_model_size(layer, data_width=4, count_nonzero_only=True) == 3 * 4


# ---------------------------------------------------------------- fine-grained pruning

@pytest.mark.parametrize("shape", [(10,), (7, 13), (16, 8, 3, 3), (1, 1)])
@pytest.mark.parametrize("sparsity", [0.0, 0.1, 0.33, 0.5, 0.75, 0.9, 0.99, 1.0])
def test_fine_grained_prune_matches_torch_l1_unstructured(shape, sparsity):
    """On tie-free random tensors the mask equals torch's l1_unstructured with the same count
    of zeros, the tensor is pruned in place, and the mask is bool of the same shape."""
    tensor = torch.randn(shape, generator=torch.Generator().manual_seed(hash(shape) % 1000))
    num_zeros = round(tensor.numel() * sparsity)
    expected = torch_l1_mask(tensor, num_zeros)
    original = tensor.clone()
    mask = fine_grained_prune(tensor, sparsity)
    assert mask.dtype == torch.bool and mask.shape == tensor.shape
    assert torch.equal(mask, expected)
    assert torch.equal(tensor, original * mask)
    assert int((~mask).sum()) == num_zeros


def test_fine_grained_prune_sparsity_zero_and_one():
    """Sparsity 0 prunes nothing (all-True mask, tensor unchanged); 1 prunes everything."""
    tensor = torch.randn(5, 6)
    original = tensor.clone()
    mask = fine_grained_prune(tensor, 0.0)
    assert mask.all() and mask.dtype == torch.bool and torch.equal(tensor, original)
    mask = fine_grained_prune(tensor, 1.0)
    assert not mask.any() and mask.dtype == torch.bool and not tensor.any()


def test_fine_grained_prune_rounding_of_num_zeros():
    """num_zeros uses Python's round: counts that round to 0 prune nothing, counts that round
    to numel prune everything, and halves round to even (2.5 -> 2)."""
    tensor = torch.arange(1.0, 11.0)  # 10 distinct magnitudes
    assert fine_grained_prune(tensor.clone(), 0.04).all()          # 0.4 -> 0
    assert fine_grained_prune(tensor.clone(), 0.05).all()          # 0.5 -> 0
    assert not fine_grained_prune(tensor.clone(), 0.96).any()      # 9.6 -> 10
    assert int((~fine_grained_prune(tensor.clone(), 0.25)).sum()) == 2  # 2.5 -> 2
    assert int((~fine_grained_prune(tensor.clone(), 0.35)).sum()) == 4  # 3.5 -> 4


def test_fine_grained_prune_clamps_sparsity():
    """Sparsity below 0 acts as 0 and above 1 acts as 1; NaN is a clear ValueError."""
    tensor = torch.randn(4, 4)
    original = tensor.clone()
    assert fine_grained_prune(tensor, -0.5).all() and torch.equal(tensor, original)
    assert not fine_grained_prune(tensor, 1.7).any() and not tensor.any()
    with pytest.raises(ValueError, match="NaN"):
        fine_grained_prune(torch.randn(3), float("nan"))


def test_fine_grained_prune_ties_with_threshold_are_pruned():
    """Entries equal to the threshold are all pruned: [1, 1, 1, 2] at 0.25 keeps only the 2."""
    tensor = torch.tensor([1.0, 1.0, 1.0, 2.0])
    mask = fine_grained_prune(tensor, 0.25)
    assert mask.tolist() == [False, False, False, True]
    assert tensor.tolist() == [0.0, 0.0, 0.0, 2.0]
    tensor = torch.tensor([-3.0, 3.0, 1.0, 5.0])  # magnitude ties across signs
    assert fine_grained_prune(tensor, 0.5).tolist() == [False, False, False, True]


def test_fine_grained_prune_edge_tensors():
    """No crash on 1-element tensors, integer-valued floats, parameters that require grad and
    non-contiguous views (pruned in place through the view)."""
    for sparsity in (0.0, 0.4, 0.5, 0.6, 1.0):
        single = torch.tensor([2.0])
        mask = fine_grained_prune(single, sparsity)
        assert mask.tolist() == [round(sparsity) == 0]
    integers = torch.tensor([[0.0, 3.0, -3.0], [1.0, 2.0, 0.0]])
    # magnitudes sorted: 0 0 1 2 3 3; 3 zeros -> threshold 1 -> keep 3, -3, 2
    assert fine_grained_prune(integers, 0.5).tolist() == [[False, True, True], [False, True, False]]
    param = nn.Parameter(torch.randn(3, 4))
    fine_grained_prune(param, 0.5)
    assert get_sparsity(param) == pytest.approx(0.5) and param.requires_grad
    base = torch.randn(6, 5)
    view = base.t()
    mask = fine_grained_prune(view, 0.6)
    assert torch.equal(base == 0, ~mask.t())


def test_fine_grained_pruner_masks_listed_parameters_only():
    """Only parameters named in the dict are pruned and get a mask, each at its sparsity."""
    model = small_vgg()
    untouched = model.backbone.conv1.weight.detach().clone()
    sparsity_dict = {"backbone.conv0.weight": 0.5, "backbone.conv2.weight": 0.8,
                     "classifier.weight": 0.3}
    pruner = FineGrainedPruner(model, sparsity_dict)
    assert set(pruner.masks) == set(sparsity_dict)
    params = dict(model.named_parameters())
    for name, sparsity in sparsity_dict.items():
        mask = pruner.masks[name]
        assert mask.dtype == torch.bool and mask.shape == params[name].shape
        assert get_sparsity(params[name]) == pytest.approx(sparsity, abs=1 / mask.numel())
    assert torch.equal(model.backbone.conv1.weight, untouched)


def test_fine_grained_pruner_apply_keeps_pruned_weights_zero():
    """After SGD steps move the pruned weights, apply() zeroes them again in place."""
    model = small_vgg().train()
    sparsity_dict = {"backbone.conv3.weight": 0.7, "classifier.weight": 0.5}
    pruner = FineGrainedPruner(model, sparsity_dict)
    labels = torch.tensor([3, 7])
    for step in range(3):  # plain SGD by hand: torch.optim's first use costs seconds of imports
        model.zero_grad()
        nn.functional.cross_entropy(model(images(2, seed=step)), labels).backward()
        with torch.no_grad():
            for param in model.parameters():
                param -= 0.1 * param.grad
    params = dict(model.named_parameters())
    assert params["classifier.weight"][~pruner.masks["classifier.weight"]].abs().sum() > 0
    pruner.apply(model)
    for name, mask in pruner.masks.items():
        assert not params[name][~mask].any()
        assert params[name][mask].count_nonzero() == mask.sum()


def test_fine_grained_pruner_unknown_key_is_clear_error():
    """A dict key that is not a parameter name raises a KeyError naming it, pruning nothing."""
    model = small_vgg()
    before = copy.deepcopy(model.state_dict())
    with pytest.raises(KeyError, match="backbone.conv9.weight"):
        FineGrainedPruner(model, {"backbone.conv0.weight": 0.5, "backbone.conv9.weight": 0.5})
    assert state_equal(model.state_dict(), before)


# ---------------------------------------------------------------- channel ranking

def test_get_input_channel_importance_matches_loop():
    """Importance of input channel i is the L2 norm of weight[:, i], as in the lab's loop."""
    weight = torch.randn(8, 5, 3, 3)
    expected = torch.stack([torch.norm(weight[:, i]) for i in range(weight.shape[1])])
    importance = get_input_channel_importance(weight)
    assert importance.shape == (5,)
    torch.testing.assert_close(importance, expected)


@pytest.mark.parametrize("conv_bias", [False, True])
def test_apply_channel_sorting_preserves_function(conv_bias):
    """The sorted model gives the same outputs (eval mode, random BN stats), with or without
    conv bias, and the input model is untouched."""
    model = small_vgg(conv_bias=conv_bias)
    before = copy.deepcopy(model.state_dict())
    sorted_model = apply_channel_sorting(model)
    assert sorted_model is not model
    assert state_equal(model.state_dict(), before)
    assert not state_equal(sorted_model.state_dict(), before)  # something was permuted
    assert_same_function(model, sorted_model)


def test_apply_channel_sorting_orders_and_permutes_consistently():
    """After sorting, every inner boundary's importance is descending, and conv outputs, conv
    bias, BN parameters and running stats and the next conv's inputs are permuted by the
    same order."""
    model = small_vgg(conv_bias=True)
    sorted_model = apply_channel_sorting(model)
    convs, bns = convs_of(model), bns_of(model)
    s_convs, s_bns = convs_of(sorted_model), bns_of(sorted_model)
    orders = [torch.argsort(get_input_channel_importance(c.weight), descending=True)
              for c in convs[1:]]
    for i, order in enumerate(orders):
        importance = get_input_channel_importance(s_convs[i + 1].weight)
        assert torch.all(importance[:-1] >= importance[1:])
        in_order = orders[i - 1] if i > 0 else torch.arange(3)
        torch.testing.assert_close(s_convs[i].weight, convs[i].weight[order][:, in_order])
        torch.testing.assert_close(s_convs[i].bias, convs[i].bias[order])
        for key in ("weight", "bias", "running_mean", "running_var"):
            torch.testing.assert_close(getattr(s_bns[i], key), getattr(bns[i], key)[order])
    last = len(convs) - 1
    torch.testing.assert_close(s_convs[last].weight, convs[last].weight[:, orders[-1]])
    torch.testing.assert_close(s_bns[last].running_mean, bns[last].running_mean)


# ---------------------------------------------------------------- channel pruning

def test_get_num_channels_to_keep():
    """int(round(channels * (1 - ratio))) with Python's round."""
    assert get_num_channels_to_keep(64, 0.3) == 45
    assert get_num_channels_to_keep(512, 0.3) == 358
    assert get_num_channels_to_keep(10, 0.0) == 10
    assert get_num_channels_to_keep(10, 1.0) == 0
    assert get_num_channels_to_keep(5, 0.5) == 2  # 2.5 rounds to even
    assert isinstance(get_num_channels_to_keep(64, 0.3), int)


def test_channel_prune_0_3_reference_figures(full_vgg):
    """Uniform 0.3 on the full VGG: the lab's channels, 5,013,666 parameters, 305,097,920 MACs,
    conv attributes (in/out_channels, num_features) that match the weights, a state dict that
    vgg_from_state_dict loads, and the input model untouched."""
    pruned = channel_prune(full_vgg, 0.3)
    assert conv_channels_of(pruned) == PRUNED_0_3_CHANNELS
    assert get_num_parameters(pruned) == PRUNED_0_3_PARAMETERS
    assert count_macs(pruned) == PRUNED_0_3_MACS
    assert conv_channels_of(full_vgg) == [64, 128, 256, 256, 512, 512, 512, 512]
    reloaded = vgg_from_state_dict(pruned.state_dict())
    assert conv_channels_of(reloaded) == PRUNED_0_3_CHANNELS
    for bn, n in zip(bns_of(pruned), PRUNED_0_3_CHANNELS):
        assert bn.num_features == n and bn.running_var.shape == (n,)
    for conv, n_in, n_out in zip(convs_of(pruned), [3] + PRUNED_0_3_CHANNELS, PRUNED_0_3_CHANNELS):
        assert (conv.in_channels, conv.out_channels) == (n_in, n_out)
        assert conv.weight.shape == (n_out, n_in, 3, 3)


def test_channel_prune_equals_manual_slicing():
    """channel_prune's outputs equal those of a model built by slicing the state dict."""
    model = small_vgg()
    pruned = channel_prune(model, 0.3).eval()
    keep = conv_channels_of(pruned)
    assert keep[-1] == model.conv_channels[-1]
    assert_same_function(manually_sliced(model, keep), pruned)


def test_channel_prune_with_conv_bias():
    """With conv bias the biases are sliced too, and the result loads and matches slicing."""
    model = small_vgg(conv_bias=True, width=0.5)
    pruned = channel_prune(model, 0.4).eval()
    keep = conv_channels_of(pruned)
    for conv, n in zip(convs_of(pruned), keep):
        assert conv.bias.shape == (n,)
    vgg_from_state_dict(pruned.state_dict())
    assert_same_function(manually_sliced(model, keep), pruned)


def test_channel_prune_list_ratios_per_boundary():
    """A list gives one ratio per boundary (7 for VGG); the last conv is never pruned."""
    model = small_vgg(width=1.0)
    ratios = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]
    pruned = channel_prune(model, ratios)
    expected = [get_num_channels_to_keep(c, r) for c, r in zip(model.conv_channels, ratios)]
    assert conv_channels_of(pruned) == expected + [512]
    assert_same_function(manually_sliced(model, conv_channels_of(pruned)), pruned)


@pytest.mark.parametrize("ratios", [[0.3] * 6, [0.3] * 8, []])
def test_channel_prune_wrong_list_length_is_clear_error(ratios):
    """A list of the wrong length raises a ValueError stating expected and actual lengths."""
    with pytest.raises(ValueError, match=f"expected 7 .*got {len(ratios)}"):
        channel_prune(small_vgg(), ratios)


def test_channel_prune_invalid_ratio_is_clear_error():
    """Ratios outside [0, 1], or that leave a boundary with no channel, raise ValueError."""
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        channel_prune(small_vgg(), 1.5)
    with pytest.raises(ValueError, match="keeps no channel"):
        channel_prune(small_vgg(), 1.0)


def test_channel_prune_ratio_zero_keeps_function():
    """Ratio 0 keeps every channel and the function; the copy is independent of the input."""
    model = small_vgg()
    pruned = channel_prune(model, 0.0)
    assert conv_channels_of(pruned) == model.conv_channels
    assert_same_function(model, pruned)
    with torch.no_grad():
        pruned.backbone.conv0.weight.zero_()
    assert model.backbone.conv0.weight.any()


def test_channel_prune_result_is_trainable():
    """The pruned model's parameters are leaf parameters that receive gradients."""
    pruned = channel_prune(small_vgg().train(), 0.5)
    nn.functional.cross_entropy(pruned(images(2)), torch.tensor([3, 7])).backward()
    assert all(p.grad is not None and p.grad.shape == p.shape for p in pruned.parameters())


def test_sorting_then_pruning_keeps_the_most_important_channels():
    """Sorting before pruning keeps the channels that the next conv rates highest, in
    descending order of importance (only the first boundary is pruned here)."""
    model = small_vgg()
    pruned = channel_prune(apply_channel_sorting(model), [0.5] + [0.0] * 6)
    importance = get_input_channel_importance(model.backbone.conv1.weight)
    n = pruned.backbone.conv0.out_channels
    top = torch.argsort(importance, descending=True)[:n]
    torch.testing.assert_close(pruned.backbone.conv0.weight, model.backbone.conv0.weight[top])
    torch.testing.assert_close(get_input_channel_importance(pruned.backbone.conv1.weight),
                               importance[top])
