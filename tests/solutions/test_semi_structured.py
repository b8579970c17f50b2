"""Tests of the reference ``nm_prune`` (solutions/semi_structured.py) against the contract of
the bonus question: a plain loop over every group as the oracle, the tie rule, the edges of n
and the errors."""
from __future__ import annotations

import pytest
import torch

from solutions import nm_prune


def loop_mask(tensor: torch.Tensor, n: int, m: int) -> torch.Tensor:
    """The contract's keep-mask, one group at a time: in each run of ``m`` entries of a row,
    the ``n`` largest magnitudes, the earlier entry first among equal ones."""
    rows = tensor.reshape(tensor.shape[0], -1).abs().tolist()
    mask = []
    for row in rows:
        for start in range(0, len(row), m):
            group = row[start:start + m]
            order = sorted(range(m), key=lambda i: (-group[i], i))
            mask += [i in order[:n] for i in range(m)]
    return torch.tensor(mask).reshape(tensor.shape)


@pytest.mark.parametrize("shape, n, m", [((8, 4, 3, 3), 2, 4), ((6, 12), 1, 3),
                                         ((4, 16), 3, 8), ((5, 8, 1, 1), 2, 4),
                                         ((3, 2, 2, 2), 4, 4)])
def test_nm_prune_keeps_the_n_largest_of_each_group(shape, n, m):
    """On random tensors the mask is the loop's, exactly n per group, bool of the input's shape,
    and the tensor is pruned in place to tensor * mask."""
    tensor = torch.randn(shape, generator=torch.Generator().manual_seed(sum(shape)))
    original = tensor.clone()
    mask = nm_prune(tensor, n, m)
    assert mask.dtype == torch.bool and mask.shape == tensor.shape
    assert torch.equal(mask, loop_mask(original, n, m))
    assert bool((mask.reshape(-1, m).sum(dim=1) == n).all())
    assert torch.equal(tensor, original * mask)


def test_nm_prune_defaults_to_2_4_along_each_row():
    """The defaults are 2:4, and groups run along a row's entries in memory order (the input
    channels and kernel positions of a conv weight), not down a column."""
    tensor = torch.tensor([[0.125, -0.75, 0.5, 0.25, 3.0, 1.0, -2.0, 0.0]])
    mask = nm_prune(tensor)
    assert mask.tolist() == [[False, True, True, False, True, False, True, False]]
    assert tensor.tolist() == [[0.0, -0.75, 0.5, 0.0, 3.0, 0.0, -2.0, 0.0]]


def test_nm_prune_ties_keep_the_earlier_entry():
    """Equal magnitudes (of either sign) keep the earlier entries of the group."""
    tensor = torch.tensor([[0.5, -0.5, 0.5, 0.1], [0.2, 0.2, 0.2, 0.2]])
    assert nm_prune(tensor, 2, 4).tolist() == [[True, True, False, False],
                                               [True, True, False, False]]


def test_nm_prune_n_zero_prunes_everything_and_n_equal_m_nothing():
    """n = 0 zeroes the tensor; n = m keeps it unchanged."""
    tensor = torch.randn(2, 8)
    original = tensor.clone()
    assert bool(nm_prune(tensor, 4, 4).all()) and torch.equal(tensor, original)
    assert not bool(nm_prune(tensor, 0, 4).any()) and not bool(tensor.any())


def test_nm_prune_works_on_a_parameter_in_place():
    """A conv layer's weight (a Parameter that requires grad) is pruned in place."""
    conv = torch.nn.Conv2d(8, 4, 3, bias=False)
    mask = nm_prune(conv.weight)
    assert torch.equal(conv.weight.detach() != 0, mask)
    assert conv.weight.requires_grad


@pytest.mark.parametrize("shape, n, m, words", [
    ((4, 3, 3, 3), 2, 4, "27 entries, not a multiple of m = 4"),   # the lab's conv0
    ((2, 6), 2, 4, "6 entries, not a multiple of m = 4"),          # numel 12 would fit groups
    ((2, 8), 5, 4, "n must be an integer in 0..m"),
    ((2, 8), -1, 4, "n must be an integer in 0..m"),
    ((2, 8), 2.0, 4, "n must be an integer"),
    ((2, 8), 0, 0, "m must be a positive integer"),
])
def test_nm_prune_bad_arguments_are_clear_errors_and_prune_nothing(shape, n, m, words):
    """Rows that do not split into groups of m, or n outside 0..m, raise a ValueError that says
    so, before anything is pruned."""
    tensor = torch.randn(shape)
    original = tensor.clone()
    with pytest.raises(ValueError, match=words.replace(".", r"\.")):
        nm_prune(tensor, n, m)
    assert torch.equal(tensor, original)
