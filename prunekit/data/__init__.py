"""Data sets of the kit behind one entry point that takes a profile.

- ``offline``: the embedded synthetic data set (:mod:`prunekit.data.offline`), no network.
- ``cifar10``: real CIFAR-10, from an array file or torchvision (:mod:`prunekit.data.cifar10`).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch.utils.data import DataLoader, Dataset, Subset

from prunekit.data import offline
from prunekit.data.arrays import ImageArrayDataset
from prunekit.profiles import Profile, data_root, get_profile


def offline_split(num_samples: int, seed: int, augment: bool = False,
                  cache_dir: Path | None = None) -> ImageArrayDataset:
    """One split of the offline data set: ``num_samples`` images drawn from ``seed``."""
    images, labels = offline.load_or_generate(num_samples, seed, cache_dir)
    return ImageArrayDataset(images, labels, augment=augment, classes=list(offline.CLASS_NAMES))


def load_datasets(profile: Profile | str | None = None, root: Path | None = None,
                  download: bool = False) -> tuple[Dataset, Dataset]:
    """The (train, test) data sets of a profile; train is augmented when the profile says so,
    and both are cut to ``profile.subset`` when it is set (real data under the smoke budget).

    Args:
        profile: a :class:`Profile`, its name, or None for the default profile.
        root: data directory (default ``$PRUNEKIT_DATA`` or ``./data``); the offline data set is
            cached there too.
        download: let torchvision download CIFAR-10 when it is not on disk.

    Raises:
        prunekit.data.cifar10.DataUnavailableError: CIFAR-10 asked for but not to be had.
    """
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    root = Path(root) if root is not None else data_root()
    if profile.dataset == "offline":
        spec = profile.offline
        return (offline_split(spec.num_train, spec.train_seed, profile.augment, root),
                offline_split(spec.num_test, spec.test_seed, False, root))
    if profile.dataset == "cifar10":
        from prunekit.data.cifar10 import DataUnavailableError, cifar10_datasets  # lazy torchvision
        try:
            train_set, test_set = cifar10_datasets(root, augment=profile.augment,
                                                   download=download)
        except DataUnavailableError as error:  # say which profile asked
            raise DataUnavailableError(f"profile {profile.name!r} needs the real images. "
                                       f"{error}") from error.__cause__
        train_size, test_size = profile.subset or (None, None)
        return (fixed_subset(train_set, train_size, profile.seed),
                fixed_subset(test_set, test_size, profile.seed))
    raise ValueError(f"profile {profile.name!r} names an unknown data set {profile.dataset!r}")


def make_loader(dataset: Dataset, batch_size: int, shuffle: bool, seed: int = 0,
                num_workers: int = 0) -> DataLoader:
    """A DataLoader whose shuffling order is fixed by ``seed`` (its own generator, so other
    uses of torch's global RNG do not change the order)."""
    generator = torch.Generator().manual_seed(seed)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator,
                      num_workers=num_workers, pin_memory=torch.cuda.is_available())


def fixed_subset(dataset: Dataset, size: int | None, seed: int) -> Dataset:
    """``size`` items of ``dataset`` drawn with ``seed`` (the same items on every run and machine
    for the same data set, in their original order), or the whole ``dataset`` when ``size`` is
    None or at least its length. The file of real images is sorted by class, so this is a
    random draw, not a prefix."""
    if size is None or size >= len(dataset):
        return dataset
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randperm(len(dataset), generator=generator)[:size].sort().values
    return Subset(dataset, rows.tolist())


def scan_subset(profile: Profile, test_set: Dataset) -> Dataset:
    """The test images the sensitivity scan evaluates on: ``profile.scan_eval_size`` of them,
    drawn from ``test_set`` with ``profile.seed`` (:func:`fixed_subset`)."""
    return fixed_subset(test_set, profile.scan_eval_size, profile.seed)


def make_scan_loader(profile: Profile, test_set: Dataset) -> DataLoader:
    """A loader over :func:`scan_subset` (not shuffled, the profile's evaluation batch size)."""
    return make_loader(scan_subset(profile, test_set), profile.eval_batch_size, shuffle=False)


def make_loaders(profile: Profile | str | None = None, root: Path | None = None,
                 download: bool = False) -> tuple[DataLoader, DataLoader]:
    """(train, test) loaders of a profile: train shuffled with the profile's seed and batch size."""
    profile = profile if isinstance(profile, Profile) else get_profile(profile)
    train_set, test_set = load_datasets(profile, root, download)
    return (make_loader(train_set, profile.batch_size, shuffle=True, seed=profile.seed),
            make_loader(test_set, profile.eval_batch_size, shuffle=False))


def training_batches(profile: Profile, train_set: Dataset, device: torch.device | str,
                     resident: bool | None = None):
    """``train_set`` batched and shuffled as ``profile`` says (its batch size and seed): held
    on ``device`` with augmentation done there (:class:`~prunekit.data.resident.ResidentBatches`)
    when ``resident`` (None: on a CUDA device), else a :func:`make_loader` DataLoader.

    The two draw their random orders and crops differently: the same seed gives different (but
    equally distributed) epochs on the two paths."""
    resident = torch.device(device).type == "cuda" if resident is None else resident
    if not resident:
        return make_loader(train_set, profile.batch_size, shuffle=True, seed=profile.seed)
    from prunekit.data.resident import ResidentBatches

    return ResidentBatches(train_set, device, profile.batch_size, shuffle=True,
                           augment=profile.augment, seed=profile.seed)
