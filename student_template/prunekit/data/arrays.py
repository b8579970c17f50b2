"""A data set over in-memory image arrays, with the lab's augmentation done on tensors."""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import Dataset


def random_crop_flip(image: torch.Tensor, generator: torch.Generator | None = None,
                     padding: int = 4) -> torch.Tensor:
    """The lab's augmentation on one CHW image: zero-pad by ``padding`` pixels, crop back to the
    original size at a random offset, and flip horizontally with probability 1/2. Returns a new
    tensor; ``image`` is untouched."""
    _, height, width = image.shape
    padded = torch.nn.functional.pad(image, (padding, padding, padding, padding))
    top, left, flip = torch.randint(0, 2 * padding + 1, (3,), generator=generator).tolist()
    crop = padded[:, top:top + height, left:left + width]
    return crop.flip(-1) if flip % 2 else crop


class ImageArrayDataset(Dataset):
    """Images held as one uint8 array ``[N, 32, 32, 3]`` (HWC, as CIFAR-10 stores them).

    Items are ``(float32 CHW tensor in [0, 1], int label)``; no normalisation, as in the lab.
    With ``augment``, each item gets :func:`random_crop_flip` (drawn from torch's global RNG, so
    seeding torch makes an epoch reproducible with ``num_workers=0``).
    """

    def __init__(self, images: np.ndarray, labels: np.ndarray, augment: bool = False,
                 classes: list[str] | None = None):
        if images.ndim != 4 or images.shape[-1] != 3 or images.dtype != np.uint8:
            raise ValueError(f"expected uint8 images [N, H, W, 3], got {images.dtype} {images.shape}")
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} images but {len(labels)} labels")
        # One conversion up front: CHW float is what the model eats, and 10k-50k images fit.
        self.images = torch.from_numpy(np.ascontiguousarray(images.transpose(0, 3, 1, 2)))
        self.targets = [int(y) for y in labels]
        self.augment = augment
        self.classes = classes or [str(c) for c in range(int(max(self.targets, default=-1)) + 1)]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        image = self.images[index].float().div_(255.0)
        if self.augment:
            image = random_crop_flip(image)
        return image, self.targets[index]
