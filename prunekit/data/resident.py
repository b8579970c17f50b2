"""A whole data split held on the compute device, batched and augmented there.

On a GPU the per-image ``DataLoader`` path (Python ``__getitem__``, one crop at a time, a host to
device copy per batch) keeps the accelerator waiting: CIFAR-10 is 150 MiB as uint8, so the kit
puts the whole split on the device once and does the lab's augmentation (zero-pad 4, random
32x32 crop, horizontal flip with probability 1/2) on whole batches there. The same code runs on
the CPU, where it is the faster path too (one vectorised crop per batch).
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch
from torch.utils.data import Dataset, Subset

from prunekit.data.arrays import ImageArrayDataset

PADDING = 4  # pixels of zero padding before the random crop, as in the lab


def uint8_images(dataset: Dataset) -> tuple[torch.Tensor, torch.Tensor]:
    """The raw images ``[N, 3, H, W]`` (uint8) and labels ``[N]`` (int64) of ``dataset``,
    without its augmentation: an :class:`ImageArrayDataset`, torchvision's ``CIFAR10`` (its
    ``data`` / ``targets``) or a :class:`~torch.utils.data.Subset` of either.

    Raises:
        TypeError: a data set of another kind (its items may be augmented: not to be copied).
    """
    if isinstance(dataset, Subset):
        images, labels = uint8_images(dataset.dataset)
        rows = torch.as_tensor(list(dataset.indices), dtype=torch.long)
        return images[rows], labels[rows]
    if isinstance(dataset, ImageArrayDataset):
        return dataset.images, torch.as_tensor(dataset.targets, dtype=torch.long)
    data = getattr(dataset, "data", None)
    if isinstance(data, np.ndarray) and data.dtype == np.uint8 and data.ndim == 4:
        images = torch.from_numpy(np.ascontiguousarray(data.transpose(0, 3, 1, 2)))
        return images, torch.as_tensor(list(dataset.targets), dtype=torch.long)
    raise TypeError(f"cannot hold a {type(dataset).__name__} on the device: expected an "
                    "ImageArrayDataset, torchvision's CIFAR10 or a Subset of one")


def crop_flip_batch(images: torch.Tensor, generator: torch.Generator,
                    padding: int = PADDING) -> torch.Tensor:
    """The lab's augmentation on a batch ``[B, C, H, W]``: each image zero-padded by
    ``padding``, cropped back to ``H x W`` at its own random offset and flipped horizontally
    with probability 1/2 (offsets and flips drawn from ``generator``, on the images' device).
    Returns a new tensor; ``images`` is untouched."""
    count, _, height, width = images.shape
    device = images.device
    padded = torch.nn.functional.pad(images, (padding, padding, padding, padding))
    top, left = torch.randint(0, 2 * padding + 1, (2, count, 1), generator=generator,
                              device=device)
    rows = (top + torch.arange(height, device=device))[:, None, :, None]  # [B, 1, H, 1]
    cols = (left + torch.arange(width, device=device))[:, None, None, :]  # [B, 1, 1, W]
    batch = torch.arange(count, device=device)[:, None, None, None]
    channel = torch.arange(images.shape[1], device=device)[None, :, None, None]
    crops = padded[batch, channel, rows, cols]
    flip = torch.rand(count, generator=generator, device=device) < 0.5
    return torch.where(flip[:, None, None, None], crops.flip(-1), crops)


class ResidentBatches:
    """Batches of ``(float images in [0, 1], int64 labels)`` over a split held on ``device``.

    Iterating gives one epoch; a shuffled split is drawn in a new order each epoch from its own
    generator seeded with ``seed`` (so epochs are reproducible and other uses of torch's RNG
    do not change them). Images come in channels-last layout, which the convolutions prefer.

    Args:
        dataset: see :func:`uint8_images`.
        device: where the split and the batches live.
        batch_size: images per batch (the last batch may be smaller).
        shuffle: a new random order each epoch.
        augment: :func:`crop_flip_batch` on every batch.
        seed: seeds the order and the augmentation.
    """

    def __init__(self, dataset: Dataset, device: torch.device | str, batch_size: int,
                 shuffle: bool, augment: bool, seed: int = 0):
        images, labels = uint8_images(dataset)
        self.device = torch.device(device)
        self.images = images.to(self.device)
        self.labels = labels.to(self.device)
        self.batch_size, self.shuffle, self.augment = batch_size, shuffle, augment
        self.generator = torch.Generator(device=self.device).manual_seed(seed)

    def __len__(self) -> int:
        return math.ceil(len(self.labels) / self.batch_size)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        count = len(self.labels)
        order = (torch.randperm(count, generator=self.generator, device=self.device)
                 if self.shuffle else torch.arange(count, device=self.device))
        for start in range(0, count, self.batch_size):
            rows = order[start:start + self.batch_size]
            images = self.images[rows].float().div_(255.0)
            if self.augment:
                images = crop_flip_batch(images, self.generator)
            yield images.contiguous(memory_format=torch.channels_last), self.labels[rows]
