"""The sensitivity scan's fixed evaluation subset (``prunekit.data.scan_subset``)."""
from dataclasses import replace

import torch
from torch.utils.data import TensorDataset

from prunekit.data import make_scan_loader, scan_subset
from prunekit.profiles import get_profile


def _numbered(n: int) -> TensorDataset:
    """A data set whose item i is (i, i): shows which rows a subset took."""
    return TensorDataset(torch.arange(n), torch.arange(n))


def test_subset_is_fixed_sized_and_spread_over_the_whole_set():
    """scan_eval_size rows, distinct, sorted, the same on every call, and drawn from the whole
    set rather than a prefix (the real array file is sorted by class)."""
    profile = replace(get_profile("offline"), scan_eval_size=100)
    first = [int(x) for x, _ in scan_subset(profile, _numbered(1000))]
    again = [int(x) for x, _ in scan_subset(profile, _numbered(1000))]
    assert first == again and len(first) == 100 == len(set(first))
    assert first == sorted(first) and first[-1] > 500
    other_seed = [int(x) for x, _ in scan_subset(replace(profile, seed=1), _numbered(1000))]
    assert other_seed != first


def test_no_size_or_a_large_one_is_the_whole_set():
    """Without scan_eval_size (the offline profile) or with one at least the set's size, the scan
    evaluates on the whole test set, in order."""
    data = _numbered(50)
    assert scan_subset(get_profile("offline"), data) is data
    assert scan_subset(replace(get_profile("offline"), scan_eval_size=50), data) is data
    loader = make_scan_loader(get_profile("cifar10-cpu"), data)
    assert [int(x) for batch, _ in loader for x in batch] == list(range(50))
