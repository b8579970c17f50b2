"""Tests of prunekit/semi_structured.py: which conv weights take an N:M pattern, pruning a model
with a passed-in function (the notebook's stub skips), keeping the zeros, the compressed size."""
from __future__ import annotations

import pytest
import torch

from prunekit.semi_structured import (apply_masks, compressed_fraction, nm_prunable_weights,
                                      prune_nm)
from solutions import nm_prune
from tests.helpers import small_vgg


def test_every_conv_but_the_first_takes_2_4():
    """conv0's rows hold 3 x 3 x 3 = 27 entries (no groups of 4); the other convs' rows are a
    multiple of 4; the classifier is not a conv."""
    names = list(nm_prunable_weights(small_vgg(seed=1, width=1 / 16), 4))
    assert names == [f"backbone.conv{i}.weight" for i in range(1, 8)]
    assert "backbone.conv0.weight" in nm_prunable_weights(small_vgg(seed=1, width=1 / 16), 3)


def test_prune_nm_prunes_in_place_and_returns_the_masks():
    """Each listed weight is half zeros in a 2:4 pattern, and equals its mask's zeros."""
    model = small_vgg(seed=2, width=1 / 16)
    masks = prune_nm(model, nm_prune)
    weights = dict(model.named_parameters())
    for name, mask in masks.items():
        assert mask.dtype == torch.bool
        assert bool((mask.reshape(-1, 4).sum(dim=1) == 2).all())
        assert torch.equal(weights[name].detach() != 0, mask)
    assert bool((weights["backbone.conv0.weight"] != 0).all())


def test_prune_nm_with_the_stub_returns_none_and_changes_nothing():
    """The notebook's stub raises NotImplementedError: the extension is skipped (None) and the
    model is as it was."""
    model = small_vgg(seed=3, width=1 / 16)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}

    def stub(tensor, n, m):
        raise NotImplementedError("nm_prune: optional bonus question, not attempted")

    assert prune_nm(model, stub) is None
    assert all(torch.equal(p.detach(), before[name]) for name, p in model.named_parameters())


def test_apply_masks_zeroes_what_a_step_regrew():
    """After an optimizer step, apply_masks puts the pruned weights back to zero."""
    model = small_vgg(seed=4, width=1 / 16)
    masks = prune_nm(model, nm_prune)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.01)
    apply_masks(model, masks)
    weights = dict(model.named_parameters())
    assert all(torch.equal(weights[name].detach() != 0, mask) for name, mask in masks.items())


@pytest.mark.parametrize("n, m, width, expected", [(2, 4, 16, 0.5625), (1, 2, 16, 0.53125),
                                                   (2, 4, 8, 0.625), (4, 4, 16, 1.125)])
def test_compressed_fraction(n, m, width, expected):
    """n/m of the values, each with ceil(log2(m)) bits of position."""
    assert compressed_fraction(n, m, width) == pytest.approx(expected)
