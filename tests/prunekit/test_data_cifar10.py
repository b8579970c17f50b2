"""The CIFAR-10 code paths of ``prunekit.data.cifar10``: torchvision batches, the array file,
bad inputs, and (when present) the real shared array file."""
from __future__ import annotations

import os
import pickle
import urllib.error
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.datasets.cifar as tv_cifar
from torchvision import transforms

from prunekit.data.arrays import ImageArrayDataset
from prunekit.data.cifar10 import DataUnavailableError, cifar10_datasets, load_cifar10_arrays

CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]


# ---------------------------------------------------------------- helpers

def _write_batches(root: Path, per_train_batch: int = 2, num_test: int = 3) -> dict:
    """Write torchvision's pickled layout (``cifar-10-batches-py``) with a few random images.

    Rows are uint8 [n, 3072] in CHW order, as in the official files. Returns the written
    train/test rows and labels."""
    rng = np.random.default_rng(0)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)

    def batch(name: str, n: int, first_label: int) -> tuple[np.ndarray, list[int]]:
        data = rng.integers(0, 256, (n, 3072), dtype=np.uint8)
        labels = [(first_label + i) % 10 for i in range(n)]
        with open(folder / name, "wb") as f:
            pickle.dump({"batch_label": name, "data": data, "labels": labels,
                         "filenames": [f"{name}_{i}.png" for i in range(n)]}, f)
        return data, labels

    train = [batch(f"data_batch_{i}", per_train_batch, i) for i in range(1, 6)]
    test_x, test_y = batch("test_batch", num_test, 7)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": CLASSES, "num_cases_per_batch": per_train_batch,
                     "num_vis": 3072}, f)
    return {"train_x": np.concatenate([x for x, _ in train]),
            "train_y": [y for _, ys in train for y in ys], "test_x": test_x, "test_y": test_y}


@pytest.fixture
def fake_integrity(monkeypatch):
    """Skip torchvision's md5 checks of the official files (our fake files cannot match them):
    ``CIFAR10._check_integrity`` says yes, and the module's ``check_integrity`` (also used for
    ``batches.meta``) only asks that the file exists."""
    monkeypatch.setattr(tv_cifar.CIFAR10, "_check_integrity", lambda self: True)
    monkeypatch.setattr(tv_cifar, "check_integrity", lambda fpath, md5=None: os.path.isfile(fpath))


def _arrays(num_train: int = 6, num_test: int = 4, num_classes: int = 3) -> dict:
    """Small arrays in the shared file's layout (uint8 HWC images, uint8 labels, str names)."""
    rng = np.random.default_rng(1)
    return {
        "train_x": rng.integers(0, 256, (num_train, 32, 32, 3), dtype=np.uint8),
        "train_y": (np.arange(num_train) % num_classes).astype(np.uint8),
        "test_x": rng.integers(0, 256, (num_test, 32, 32, 3), dtype=np.uint8),
        "test_y": (np.arange(num_test) % num_classes).astype(np.uint8),
        "class_names": np.array(CLASSES[:num_classes]),
    }


def _chw(image_hwc: np.ndarray) -> torch.Tensor:
    """A uint8 HWC image as the float CHW tensor in [0, 1] the data sets should give."""
    return torch.from_numpy(image_hwc.transpose(2, 0, 1).copy()).float() / 255


# ---------------------------------------------------------------- torchvision path

def test_torchvision_batches_load_with_lab_transforms(tmp_path, fake_integrity):
    """From fake pickled batches, torchvision's CIFAR10 gives float32 [3, 32, 32] images in
    [0, 1] with the written labels; the un-augmented test image is the written pixels / 255."""
    written = _write_batches(tmp_path)
    train, test = cifar10_datasets(tmp_path, augment=False)
    assert (len(train), len(test)) == (10, 3)
    assert list(train.targets) == written["train_y"] and list(test.targets) == written["test_y"]
    assert train.classes == CLASSES
    for i in range(len(test)):
        image, label = test[i]
        assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
        assert 0.0 <= image.min() and image.max() <= 1.0
        assert label == written["test_y"][i]
        expected = torch.from_numpy(written["test_x"][i].reshape(3, 32, 32)).float() / 255
        torch.testing.assert_close(image, expected, rtol=0, atol=1e-7)
    image, _ = train[0]
    torch.testing.assert_close(
        image, torch.from_numpy(written["train_x"][0].reshape(3, 32, 32)).float() / 255,
        rtol=0, atol=1e-7)


def test_torchvision_train_augmentation_keeps_shape(tmp_path, fake_integrity):
    """With augment, the train transform is the lab's (crop 32 pad 4, flip, ToTensor): items keep
    shape [3, 32, 32] and range [0, 1]; the test set stays un-augmented (plain ToTensor)."""
    _write_batches(tmp_path)
    train, test = cifar10_datasets(tmp_path, augment=True)
    steps = train.transform.transforms
    assert [type(t) for t in steps] == [transforms.RandomCrop, transforms.RandomHorizontalFlip,
                                        transforms.ToTensor]
    assert steps[0].size == (32, 32) and steps[0].padding == 4
    assert isinstance(test.transform, transforms.ToTensor)
    torch.manual_seed(0)
    for i in range(len(train)):
        image, _ = train[i]
        assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
        assert 0.0 <= image.min() and image.max() <= 1.0


# ---------------------------------------------------------------- array-file path

def test_array_file_loads_and_converts_hwc_to_chw(tmp_path):
    """``cifar10.npz`` in the shared layout is preferred and read into ImageArrayDatasets whose
    items are the written HWC pixels as CHW / 255, with the written labels and class names."""
    arrays = _arrays()
    np.savez(tmp_path / "cifar10.npz", **arrays)
    train_x, train_y, test_x, test_y, names = load_cifar10_arrays(tmp_path / "cifar10.npz")
    assert train_x.shape == (6, 32, 32, 3) and test_x.shape == (4, 32, 32, 3)
    assert train_y.dtype == np.int64 and list(test_y) == list(arrays["test_y"])
    assert names == CLASSES[:3]

    train, test = cifar10_datasets(tmp_path, augment=False)
    assert isinstance(train, ImageArrayDataset) and isinstance(test, ImageArrayDataset)
    assert (len(train), len(test)) == (6, 4) and train.classes == CLASSES[:3]
    for dataset, x, y in ((train, arrays["train_x"], arrays["train_y"]),
                          (test, arrays["test_x"], arrays["test_y"])):
        for i in range(len(dataset)):
            image, label = dataset[i]
            assert image.dtype == torch.float32 and image.shape == (3, 32, 32)
            torch.testing.assert_close(image, _chw(x[i]), rtol=0, atol=1e-7)
            assert label == int(y[i])


def test_array_file_augmentation_on_train_only(tmp_path):
    """With augment, train items are random crops/flips (same shape, not always the original
    pixels) while test items stay exactly the original pixels."""
    arrays = _arrays()
    np.savez(tmp_path / "cifar10.npz", **arrays)
    train, test = cifar10_datasets(tmp_path, augment=True)
    assert train.augment and not test.augment
    torch.manual_seed(0)
    draws = [train[0][0] for _ in range(10)]
    assert all(d.shape == (3, 32, 32) and 0 <= d.min() and d.max() <= 1 for d in draws)
    assert any(not torch.equal(d, _chw(arrays["train_x"][0])) for d in draws)
    torch.testing.assert_close(test[0][0], _chw(arrays["test_x"][0]), rtol=0, atol=1e-7)


def test_array_file_preferred_over_batches(tmp_path):
    """When both an array file and a (here broken) batches folder exist, the array file wins."""
    np.savez(tmp_path / "cifar10.npz", **_arrays())
    (tmp_path / "cifar-10-batches-py").mkdir()
    train, _ = cifar10_datasets(tmp_path, augment=False)
    assert isinstance(train, ImageArrayDataset)


# ---------------------------------------------------------------- bad inputs

def test_missing_dir_raises_data_unavailable(tmp_path):
    """No data under the root: DataUnavailableError (a RuntimeError) whose message says where it
    looked, how to get the data and that the offline profile needs no download."""
    root = tmp_path / "nowhere"
    with pytest.raises(DataUnavailableError) as info:
        cifar10_datasets(root, augment=False)
    message = str(info.value)
    assert isinstance(info.value, RuntimeError)
    assert "offline" in message and "PRUNEKIT_PROFILE=offline" in message
    assert str(root.resolve()) in message and "cifar10.npz" in message
    assert "download" in message


def test_failed_download_raises_data_unavailable(tmp_path, monkeypatch):
    """download=True without network (torchvision's download raising URLError) gives
    DataUnavailableError mentioning offline, chained from the URLError."""
    def no_network(*args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(tv_cifar, "download_and_extract_archive", no_network)
    with pytest.raises(DataUnavailableError) as info:
        cifar10_datasets(tmp_path, augment=True, download=True)
    assert "offline" in str(info.value) and "download failed" in str(info.value)
    assert isinstance(info.value.__cause__, urllib.error.URLError)


def test_corrupt_batches_raise_data_unavailable(tmp_path):
    """A batches folder that fails torchvision's md5 check gives DataUnavailableError, not
    torchvision's bare RuntimeError."""
    _write_batches(tmp_path)
    with pytest.raises(DataUnavailableError, match="offline"):
        cifar10_datasets(tmp_path, augment=False)


@pytest.mark.parametrize("key", ["train_x", "train_y", "test_x", "test_y", "class_names"])
def test_array_file_missing_key(tmp_path, key):
    """An array file without one of the keys: ValueError naming that key."""
    arrays = _arrays()
    del arrays[key]
    np.savez(tmp_path / "cifar10.npz", **arrays)
    with pytest.raises(ValueError, match=key):
        load_cifar10_arrays(tmp_path / "cifar10.npz")
    with pytest.raises(ValueError, match=key):
        cifar10_datasets(tmp_path, augment=False)


@pytest.mark.parametrize("key, bad", [
    ("train_x", lambda a: a["train_x"].astype(np.float32)),
    ("test_x", lambda a: a["test_x"].transpose(0, 3, 1, 2)),          # CHW instead of HWC
    ("train_y", lambda a: a["train_y"].astype(np.float32)),
    ("test_y", lambda a: a["test_y"][:-1]),                            # one label short
    ("train_y", lambda a: a["train_y"] + 5),                           # label out of range
    ("class_names", lambda a: np.arange(3)),
])
def test_array_file_wrong_dtype_or_shape(tmp_path, key, bad):
    """An array with the wrong dtype, shape or values: ValueError naming the key."""
    arrays = _arrays()
    arrays[key] = bad(arrays)
    np.savez(tmp_path / "cifar10.npz", **arrays)
    with pytest.raises(ValueError, match=key):
        load_cifar10_arrays(tmp_path / "cifar10.npz")


def test_array_file_not_npz(tmp_path):
    """A file that is not an array file at all: ValueError naming the file."""
    path = tmp_path / "cifar10.npz"
    path.write_bytes(b"this is not a zip file")
    with pytest.raises(ValueError, match="cifar10.npz"):
        load_cifar10_arrays(path)


# ---------------------------------------------------------------- the real file

@pytest.mark.cifar10
def test_shared_cifar10_array_file(shared_cifar10):
    """The real shared file: 50000/10000 images, 5000 per class in train, 1000 per class in
    test, 10 class names with airplane first."""
    train_x, train_y, test_x, test_y, names = load_cifar10_arrays(shared_cifar10)
    assert train_x.shape == (50000, 32, 32, 3) and test_x.shape == (10000, 32, 32, 3)
    assert (len(train_y), len(test_y)) == (50000, 10000)
    assert np.bincount(train_y, minlength=10).tolist() == [5000] * 10
    assert np.bincount(test_y, minlength=10).tolist() == [1000] * 10
    assert names == CLASSES and names[0] == "airplane"
