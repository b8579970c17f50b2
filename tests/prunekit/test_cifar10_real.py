"""The cifar10 profile on real CIFAR-10 images (the shared array file; skipped without it)."""
from dataclasses import replace

import pytest
import torch
from torch.utils.data import Subset

from prunekit.data import load_datasets, make_loader
from prunekit.model import VGG
from prunekit.profiles import get_profile
from prunekit.runtime import seed_everything
from prunekit.train import evaluate, train


@pytest.mark.slow
@pytest.mark.cifar10
def test_brief_training_on_real_cifar10_beats_chance(shared_cifar10, tmp_path):
    """Through the cifar10 profile's own data path (array file, lab augmentation), a narrow VGG
    trained for one short epoch clearly beats chance (10%) on real test images."""
    (tmp_path / "cifar10.npz").symlink_to(shared_cifar10)
    profile = get_profile("cifar10")
    train_set, test_set = load_datasets(profile, root=tmp_path)
    assert (len(train_set), len(test_set)) == (50_000, 10_000)
    seed_everything(0)
    # The file is sorted by class: random subsets keep every class.
    train_rows = torch.randperm(len(train_set))[:8000].tolist()
    test_rows = torch.randperm(len(test_set))[:2000].tolist()
    model = VGG(width=0.125)
    recipe = replace(profile.train, epochs=1, lr=0.05, warmup_epochs=0.1)
    train(model, make_loader(Subset(train_set, train_rows), 64, shuffle=True), recipe,
          device="cpu", progress=False)
    accuracy = evaluate(model, make_loader(Subset(test_set, test_rows), 500, shuffle=False), device="cpu")
    assert accuracy > 25.0
