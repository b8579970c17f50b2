"""CIFAR-10 for the kit: from an array file ``cifar10.npz`` or through torchvision.

Order of preference in :func:`cifar10_datasets`: an array file ``<root>/cifar10.npz`` (the layout
of ``shared/data/cifar10/README.md``, for machines without network), then torchvision's
extracted batches ``<root>/cifar-10-batches-py`` (downloaded by torchvision when asked), else
:class:`DataUnavailableError`. Images come out as float32 CHW tensors in [0, 1], not normalised,
as in the lab.
"""
from __future__ import annotations

import http.client
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from torch.utils.data import Dataset

from prunekit.data.arrays import ImageArrayDataset

ARRAY_FILE = "cifar10.npz"
BATCHES_DIR = "cifar-10-batches-py"   # torchvision's extracted folder
IMAGE_SHAPE = (32, 32, 3)             # HWC, as CIFAR-10 stores its pixels
ARRAY_KEYS = ("train_x", "train_y", "test_x", "test_y", "class_names")

# What a failed download can raise: network errors (URLError is an OSError), a truncated
# transfer, torchvision's "File not found or corrupted." (RuntimeError), a broken archive.
_DOWNLOAD_ERRORS = (OSError, RuntimeError, http.client.HTTPException, tarfile.TarError, EOFError)


class DataUnavailableError(RuntimeError):
    """CIFAR-10 was asked for but cannot be had (not on disk, and not downloadable here)."""

    @classmethod
    def at(cls, root: str | Path, why: str) -> "DataUnavailableError":
        """The error for data root ``root``, with ``why`` (one clause) saying what went wrong;
        the message also says where it looked, how to get the data and the offline way out."""
        root = Path(root).resolve()
        return cls(
            f"CIFAR-10 is not available: {why}. Looked in {root} for an array file "
            f"{ARRAY_FILE} and for torchvision's extracted batches {BATCHES_DIR}/: no usable data "
            f"there, and no network to download it. To get it, download it with torchvision on "
            f"a machine with network (torchvision.datasets.CIFAR10({str(root)!r}, download=True), "
            f"or cifar10_datasets(root, augment, download=True)) and copy {BATCHES_DIR}/ into "
            f"{root}, or "
            f"put an array file {ARRAY_FILE} (keys {', '.join(ARRAY_KEYS)}; uint8 HWC images) "
            f"there. The 'offline' profile (PRUNEKIT_PROFILE=offline, or "
            f"get_profile(\"offline\")) runs without any download.")


def load_cifar10_arrays(path: str | Path
                        ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, list[str]]:
    """Read and check a CIFAR-10 array file (the layout of ``shared/data/cifar10/README.md``).

    Returns ``(train_x, train_y, test_x, test_y, class_names)``: images as uint8 ``[N, 32, 32, 3]``
    (HWC, pixel values 0..255), labels as int64 ``[N]`` (CIFAR-10's class indices, 0 = airplane),
    class names as a list of str. Ready for :class:`~prunekit.data.arrays.ImageArrayDataset`.
    Reads the whole file into memory (about 180 MB for the full data set); no other side effect.

    The shared file's rows are sorted by class, not shuffled: fine for data sets read through a
    shuffling ``DataLoader``, but shuffle before taking a prefix or a batch directly.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: not an array file, or a key is missing or has the wrong dtype or shape;
            the message names the file and the key.
    """
    path = Path(path)
    arrays = _read_npz(path)
    class_names = _check_class_names(path, arrays)
    splits = []
    for split in ("train", "test"):
        images, labels = arrays[f"{split}_x"], arrays[f"{split}_y"]
        _check_split(path, split, images, labels, len(class_names))
        splits += [images, labels.astype(np.int64)]
    return (*splits, class_names)


def _read_npz(path: Path) -> dict[str, np.ndarray]:
    """The expected arrays of ``path`` (no pickles), after checking that every key is there."""
    if not path.is_file():
        raise FileNotFoundError(f"no CIFAR-10 array file at {path}")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f"{path} is not a readable .npz array file ({err})") from err
    if not isinstance(loaded, np.lib.npyio.NpzFile):
        raise ValueError(f"{path} holds a single array, not the named arrays of a .npz file")
    with loaded as npz:
        missing = [key for key in ARRAY_KEYS if key not in npz.files]
        if missing:
            raise ValueError(f"{path}: missing key(s) {', '.join(missing)}; a CIFAR-10 array "
                             f"file needs keys {', '.join(ARRAY_KEYS)}")
        return {key: _read_key(path, npz, key) for key in ARRAY_KEYS}


def _read_key(path: Path, npz: np.lib.npyio.NpzFile, key: str) -> np.ndarray:
    """One array of an open .npz; ValueError naming the key when it cannot be read."""
    try:
        return npz[key]
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as err:
        raise ValueError(f"{path}: key {key} cannot be read as a plain array ({err})") from err


def _check_class_names(path: Path, arrays: dict[str, np.ndarray]) -> list[str]:
    """``class_names`` as a list of str; ValueError unless it is a non-empty 1-D str array."""
    names = arrays["class_names"]
    if names.dtype.kind != "U" or names.ndim != 1 or len(names) == 0:
        raise ValueError(f"{path}: key class_names must be a non-empty 1-D str array, "
                         f"got {names.dtype} {names.shape}")
    return [str(name) for name in names]


def _check_split(path: Path, split: str, images: np.ndarray, labels: np.ndarray,
                 num_classes: int) -> None:
    """ValueError naming the key unless images are uint8 [N, 32, 32, 3] and labels are
    integers in [0, num_classes), one per image."""
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"{path}: key {split}_x must be uint8 [N, 32, 32, 3] (HWC), "
                         f"got {images.dtype} {images.shape}")
    if labels.dtype.kind not in "iu" or labels.shape != (len(images),):
        raise ValueError(f"{path}: key {split}_y must be integer [{len(images)}] (one label per "
                         f"image of {split}_x), got {labels.dtype} {labels.shape}")
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"{path}: key {split}_y has labels outside 0..{num_classes - 1} "
                         f"({num_classes} class_names)")


def cifar10_datasets(root: str | Path, augment: bool,
                     download: bool = False) -> tuple[Dataset, Dataset]:
    """The CIFAR-10 ``(train, test)`` data sets found under the data directory ``root``.

    Items are ``(float32 [3, 32, 32] tensor in [0, 1], int label)``, not normalised. With
    ``augment``, training items get the lab's random crop (zero padding 4) and horizontal flip;
    test items never do. Order of preference:

    1. ``root/cifar10.npz`` -> :class:`~prunekit.data.arrays.ImageArrayDataset` (read into memory);
    2. torchvision's ``CIFAR10`` when ``root/cifar-10-batches-py`` exists or ``download`` is set;
    3. otherwise :class:`DataUnavailableError`.

    Side effects: with ``download=True`` and no data on disk, torchvision downloads the archive
    (about 170 MB) into ``root`` and extracts it there.

    Raises:
        DataUnavailableError: no data under ``root``, the download failed (no network), or
            torchvision's integrity check rejected the files.
        ValueError: ``root/cifar10.npz`` exists but is not a valid array file.
    """
    root = Path(root)
    if (root / ARRAY_FILE).is_file():
        return _array_datasets(root / ARRAY_FILE, augment)
    if (root / BATCHES_DIR).is_dir() or download:
        return _torchvision_datasets(root, augment, download)
    raise DataUnavailableError.at(root, "no data found")


def _array_datasets(path: Path, augment: bool) -> tuple[Dataset, Dataset]:
    """Train (augmented if asked) and test data sets over the arrays of ``path``."""
    train_x, train_y, test_x, test_y, classes = load_cifar10_arrays(path)
    return (ImageArrayDataset(train_x, train_y, augment=augment, classes=classes),
            ImageArrayDataset(test_x, test_y, augment=False, classes=classes))


def lab_transforms(augment: bool):
    """The lab's (train, test) torchvision transforms: random crop 32 with padding 4 and a
    horizontal flip for train when ``augment``, then ``ToTensor`` (values in [0, 1])."""
    from torchvision import transforms
    test = transforms.ToTensor()
    if not augment:
        return test, test
    train = transforms.Compose([transforms.RandomCrop(32, padding=4),
                                transforms.RandomHorizontalFlip(), transforms.ToTensor()])
    return train, test


def _torchvision_datasets(root: Path, augment: bool, download: bool) -> tuple[Dataset, Dataset]:
    """torchvision's CIFAR-10 under ``root`` (downloaded there first when ``download``), with the
    lab's transforms; its errors become :class:`DataUnavailableError`."""
    from torchvision.datasets import CIFAR10
    train_tf, test_tf = lab_transforms(augment)
    try:
        train = CIFAR10(str(root), train=True, download=download, transform=train_tf)
        test = CIFAR10(str(root), train=False, download=False, transform=test_tf)
    except _DOWNLOAD_ERRORS as err:
        if isinstance(err, DataUnavailableError):
            raise
        what = "the download failed" if download else f"torchvision rejected {BATCHES_DIR}/"
        raise DataUnavailableError.at(root, f"{what} ({type(err).__name__}: {err})") from err
    return train, test
