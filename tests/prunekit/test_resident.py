"""The training split held on the compute device (``prunekit.data.resident``) and the pieces of
the accelerator path that run on a CPU too (``training_batches``)."""
from __future__ import annotations

import types

import numpy as np
import pytest
import torch
from torch.utils.data import Subset, TensorDataset

from prunekit.data import training_batches
from prunekit.data.arrays import ImageArrayDataset
from prunekit.data.resident import ResidentBatches, crop_flip_batch, uint8_images
from prunekit.profiles import get_profile


def array_dataset(count: int = 10, augment: bool = False) -> ImageArrayDataset:
    rng = np.random.default_rng(3)
    images = rng.integers(0, 256, (count, 32, 32, 3), dtype=np.uint8)
    return ImageArrayDataset(images, np.arange(count) % 10, augment=augment)


def test_uint8_images_of_every_supported_kind():
    """An array data set, torchvision's layout (HWC ``data`` and ``targets``) and a Subset of
    either give the raw CHW uint8 images and their labels, never augmented copies."""
    dataset = array_dataset(augment=True)
    images, labels = uint8_images(dataset)
    assert images.dtype == torch.uint8 and images.shape == (10, 3, 32, 32)
    assert labels.tolist() == dataset.targets
    hwc = types.SimpleNamespace(data=images.permute(0, 2, 3, 1).numpy(), targets=dataset.targets)
    assert torch.equal(uint8_images(hwc)[0], images)
    subset_images, subset_labels = uint8_images(Subset(dataset, [7, 2]))
    assert torch.equal(subset_images, images[[7, 2]]) and subset_labels.tolist() == [7, 2]


def test_uint8_images_refuses_other_data_sets():
    with pytest.raises(TypeError, match="ImageArrayDataset"):
        uint8_images(TensorDataset(torch.zeros(2, 3, 32, 32), torch.zeros(2)))


def test_unshuffled_batches_are_the_data_set_in_order():
    """Without shuffling and augmentation the batches are exactly the data set's items (floats
    in [0, 1]), in order, the last batch smaller; len() counts the batches."""
    dataset = array_dataset(count=10)
    batches = ResidentBatches(dataset, "cpu", batch_size=4, shuffle=False, augment=False)
    assert len(batches) == 3
    images = torch.cat([x for x, _ in batches])
    labels = torch.cat([y for _, y in batches])
    assert torch.equal(images, torch.stack([dataset[i][0] for i in range(10)]))
    assert labels.tolist() == dataset.targets


def test_shuffled_epochs_cover_every_image_once_in_a_new_reproducible_order():
    dataset = array_dataset(count=50)

    def epochs(seed: int) -> list[list[int]]:
        batches = ResidentBatches(dataset, "cpu", 8, shuffle=True, augment=False, seed=seed)
        return [[int(i) for _, y in batches for i in y] for _ in range(2)]

    first, second = epochs(seed=5)
    assert sorted(first) == sorted(second) == sorted(dataset.targets)
    assert first != second  # a new order each epoch
    assert epochs(seed=5) == [first, second]  # the same seed, the same epochs
    assert epochs(seed=6) != [first, second]


def test_crop_flip_batch_is_a_padded_crop_per_image_possibly_flipped():
    """Every augmented image is one of the 81 crops of its zero-padded original, flipped or
    not; offsets and flips differ across the batch."""
    images = torch.rand(32, 3, 32, 32)
    out = crop_flip_batch(images, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(images, (4, 4, 4, 4))
    found = []
    for index in range(len(images)):
        matches = [(top, left, flip) for top in range(9) for left in range(9) for flip in (0, 1)
                   if torch.equal(out[index], (lambda c: c.flip(-1) if flip else c)(
                       padded[index, :, top:top + 32, left:left + 32]))]
        assert matches, index
        found.append(matches[0])
    assert len({(top, left) for top, left, _ in found}) > 10
    assert 0 < sum(flip for *_, flip in found) < len(images)


def test_training_batches_picks_the_path():
    """The DataLoader on the CPU by default, the resident batches when asked (and by default
    on CUDA), with the profile's batch size."""
    profile = get_profile("offline")
    dataset = array_dataset(count=300)
    assert isinstance(training_batches(profile, dataset, "cpu"), torch.utils.data.DataLoader)
    resident = training_batches(profile, dataset, "cpu", resident=True)
    assert isinstance(resident, ResidentBatches) and resident.batch_size == profile.batch_size
