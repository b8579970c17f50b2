"""The cifar10 profile on real CIFAR-10 images (the shared array file; skipped without it)."""
from dataclasses import replace

import pytest
import torch
from torch.utils.data import Subset

from prunekit.data import load_datasets, make_loader, make_scan_loader
from prunekit.model import VGG
from prunekit.profiles import get_profile
from prunekit.runtime import seed_everything
from prunekit.train import evaluate, fine_tune, train


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


@pytest.mark.slow
@pytest.mark.cifar10
def test_cifar10_cpu_profile_code_path_on_real_images(shared_cifar10, tmp_path):
    """The cifar10-cpu profile end to end on a subset of the real images, as the kit runs it:
    its data (array file, lab augmentation), its VGG width in channels-last layout, its one-cycle
    base recipe (one epoch on 3,000 images), the scan's fixed 2,000-image test subset, and its
    fine-tuning recipe on a channel-pruned copy; both models beat chance (10%) clearly."""
    import solutions
    (tmp_path / "cifar10.npz").symlink_to(shared_cifar10)
    profile = get_profile("cifar10-cpu")
    train_set, test_set = load_datasets(profile, root=tmp_path)
    assert train_set.augment and not test_set.augment
    seed_everything(profile.seed)
    train_rows = torch.randperm(len(train_set))[:2048].tolist()
    # Small batches (and a peak learning rate scaled down with them): 64 steps in a short test.
    loader = make_loader(Subset(train_set, train_rows), 32, shuffle=True)
    model = VGG(width=profile.width).to(memory_format=torch.channels_last)
    train(model, loader, replace(profile.train, epochs=1, warmup_epochs=0.3,
                                 lr=profile.train.lr * 32 / profile.batch_size),
          device="cpu", progress=False)
    scan_loader = make_scan_loader(profile, test_set)
    assert len(scan_loader.dataset) == profile.scan_eval_size
    assert evaluate(model, scan_loader, device="cpu") > 20.0
    pruned = solutions.channel_prune(solutions.apply_channel_sorting(model), 0.3)
    fine_tune(pruned, loader, profile.finetune, device="cpu", progress=False)
    assert evaluate(pruned, scan_loader, device="cpu") > 20.0
