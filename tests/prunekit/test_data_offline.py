"""The offline data set: deterministic, CIFAR-shaped, balanced, cached; the loaders."""
import numpy as np
import torch

from prunekit.data import load_datasets, make_loader, offline, offline_split
from prunekit.data.arrays import ImageArrayDataset, random_crop_flip
from prunekit.profiles import get_profile


def test_generation_is_deterministic_and_seed_dependent():
    """The same (n, seed) gives identical bytes; another seed gives other images."""
    a_images, a_labels = offline.generate(200, seed=7)
    b_images, b_labels = offline.generate(200, seed=7)
    c_images, _ = offline.generate(200, seed=8)
    assert np.array_equal(a_images, b_images) and np.array_equal(a_labels, b_labels)
    assert not np.array_equal(a_images, c_images)


def test_shapes_dtype_and_class_balance():
    """Images are uint8 [N, 32, 32, 3]; each of the 10 classes has N/10 images."""
    images, labels = offline.generate(500, seed=3)
    assert images.shape == (500, 32, 32, 3) and images.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [50] * 10
    assert images.std() > 20, "images should not be flat"


def test_colour_alone_does_not_give_the_class():
    """Mean colour per class is about the same, so a model has to look at shapes."""
    images, labels = offline.generate(2000, seed=4)
    means = np.stack([images[labels == c].mean(axis=(0, 1, 2)) for c in range(10)])
    assert np.ptp(means, axis=0).max() < 20  # out of 255


def test_cache_round_trip(tmp_path):
    """The cached file gives the same arrays as generating afresh."""
    first = offline.load_or_generate(100, 5, tmp_path)
    assert (tmp_path / "offline-100-5.npz").is_file()
    second = offline.load_or_generate(100, 5, tmp_path)
    assert all(np.array_equal(x, y) for x, y in zip(first, second))


def test_profile_entry_point_gives_offline_splits(tmp_path):
    """load_datasets('offline') gives train and test splits of the profile's sizes, as float
    CHW tensors in [0, 1]."""
    train_set, test_set = load_datasets("offline", root=tmp_path)
    spec = get_profile("offline").offline
    assert (len(train_set), len(test_set)) == (spec.num_train, spec.num_test)
    image, label = test_set[0]
    assert image.shape == (3, 32, 32) and image.dtype == torch.float32
    assert 0.0 <= image.min() and image.max() <= 1.0 and 0 <= label < 10


def test_loader_order_is_seeded():
    """Two loaders with the same seed shuffle identically."""
    dataset = offline_split(64, seed=1)
    first = [y.tolist() for _, y in make_loader(dataset, 16, shuffle=True, seed=3)]
    second = [y.tolist() for _, y in make_loader(dataset, 16, shuffle=True, seed=3)]
    assert first == second


def test_augmentation_is_crop_and_flip():
    """random_crop_flip keeps the shape and returns a shifted and/or mirrored copy."""
    image = torch.arange(3 * 8 * 8, dtype=torch.float32).reshape(3, 8, 8)
    torch.manual_seed(0)
    outputs = [random_crop_flip(image, padding=2) for _ in range(20)]
    assert all(o.shape == image.shape for o in outputs)
    assert any(not torch.equal(o, image) for o in outputs)


def test_array_dataset_rejects_bad_arrays():
    """A float or channel-first array is refused with a message that says what was expected."""
    import pytest
    with pytest.raises(ValueError, match="uint8"):
        ImageArrayDataset(np.zeros((2, 3, 32, 32), np.uint8), np.zeros(2))
