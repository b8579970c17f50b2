"""The embedded offline data set: CIFAR-shaped (32x32 RGB, 10 classes) images drawn from a seed.

Each image shows one shape whose kind is the class (disk, square, triangle, ring, plus, cross,
diamond, horizontal stripes, vertical stripes, checkerboard), at a random position, size and
small rotation, in random foreground and background colours, over a smooth random background
field and pixel noise. Colour says nothing about the class, so a model must learn edges,
corners and textures: a small VGG reaches the mid-90s in percent, and pruning visibly hurts it.

Everything is a pure function of ``(num_samples, seed)``: the same call gives the same bytes on
every machine (NumPy's PCG64 generator, float64 arithmetic, rounding to uint8 at the end).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

CLASS_NAMES = ("disk", "square", "triangle", "ring", "plus", "cross", "diamond",
               "h-stripes", "v-stripes", "checker")
IMAGE_SIZE = 32  # pixels per side

# Difficulty knobs, in the units of pixel values in [0, 1] unless said otherwise.
RADIUS_RANGE = (5.0, 11.0)       # shape half-size, pixels
MAX_ROTATION_DEG = 20.0          # shapes are rotated by up to this many degrees either way
MIN_CONTRAST = 0.25              # least mean |foreground - background| over the RGB channels
BACKGROUND_FIELD_STD = 0.12      # smooth low-frequency background variation
PIXEL_NOISE_STD = 0.10           # independent noise per pixel and channel


def _shape_masks(labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Foreground masks ``[N, 32, 32]`` (float in {0, 1}) of one random shape per label."""
    n = len(labels)
    grid = np.arange(IMAGE_SIZE, dtype=np.float64) + 0.5
    radius = rng.uniform(*RADIUS_RANGE, size=(n, 1, 1))
    # Keep the shape's centre far enough from the border that most of it is visible.
    margin = radius * 0.7
    cx = margin + rng.uniform(0, 1, (n, 1, 1)) * (IMAGE_SIZE - 2 * margin)
    cy = margin + rng.uniform(0, 1, (n, 1, 1)) * (IMAGE_SIZE - 2 * margin)
    angle = np.deg2rad(rng.uniform(-MAX_ROTATION_DEG, MAX_ROTATION_DEG, (n, 1, 1)))
    x0, y0 = grid[None, None, :] - cx, grid[None, :, None] - cy
    dx = (x0 * np.cos(angle) + y0 * np.sin(angle)) / radius   # in units of the radius
    dy = (-x0 * np.sin(angle) + y0 * np.cos(angle)) / radius
    period = rng.uniform(0.35, 0.55, (n, 1, 1))               # stripe period, in radii
    masks = np.zeros((n, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float64)
    for label, draw in enumerate(_SHAPES):
        rows = labels == label
        if rows.any():
            masks[rows] = draw(dx[rows], dy[rows], period[rows])
    return masks


def _disk(dx, dy, _):
    return np.hypot(dx, dy) < 1.0


def _square(dx, dy, _):
    return np.maximum(abs(dx), abs(dy)) < 0.8


def _triangle(dx, dy, _):
    return (dy < 0.7) & (dy > -1.0 + 2.0 * abs(dx) * 0.9)


def _ring(dx, dy, _):
    d = np.hypot(dx, dy)
    return (d < 1.0) & (d > 0.6)


def _plus(dx, dy, _):
    return ((abs(dx) < 0.28) & (abs(dy) < 1.0)) | ((abs(dy) < 0.28) & (abs(dx) < 1.0))


def _cross(dx, dy, period):
    return _plus((dx + dy) / np.sqrt(2), (dx - dy) / np.sqrt(2), period)


def _diamond(dx, dy, _):
    return abs(dx) + abs(dy) < 1.0


def _h_stripes(dx, dy, period):
    return _square(dx, dy, period) & (np.floor(dy / period) % 2 == 0)


def _v_stripes(dx, dy, period):
    return _square(dx, dy, period) & (np.floor(dx / period) % 2 == 0)


def _checker(dx, dy, period):
    return _square(dx, dy, period) & ((np.floor(dx / period) + np.floor(dy / period)) % 2 == 0)


_SHAPES = (_disk, _square, _triangle, _ring, _plus, _cross, _diamond, _h_stripes, _v_stripes,
           _checker)


def _colours(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Foreground and background RGB colours ``[N, 1, 1, 3]`` that differ by at least
    ``MIN_CONTRAST`` on average, so every shape stays visible."""
    foreground = rng.uniform(0, 1, (n, 3))
    background = rng.uniform(0, 1, (n, 3))
    low = np.abs(foreground - background).mean(axis=1) < MIN_CONTRAST
    # Push low-contrast pairs apart along their mean instead of redrawing (keeps it one pass).
    background[low] = np.where(foreground[low].mean(axis=1, keepdims=True) > 0.5,
                               foreground[low] - 0.5, foreground[low] + 0.5).clip(0, 1)
    return foreground[:, None, None, :], background[:, None, None, :]


def _background_field(n: int, rng: np.random.Generator) -> np.ndarray:
    """Smooth random variation ``[N, 32, 32, 3]``: 4x4 noise upsampled bilinearly."""
    coarse = rng.normal(0, BACKGROUND_FIELD_STD, (n, 5, 5, 3))
    position = np.linspace(0, 4, IMAGE_SIZE)
    low, frac = np.minimum(position.astype(int), 3), position - np.minimum(position.astype(int), 3)
    rows = coarse[:, low] * (1 - frac)[None, :, None, None] + coarse[:, low + 1] * frac[None, :, None, None]
    return rows[:, :, low] * (1 - frac)[None, None, :, None] + rows[:, :, low + 1] * frac[None, None, :, None]


def generate(num_samples: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw ``num_samples`` images with balanced classes (label ``i % 10``, then shuffled).

    Returns:
        images: uint8 ``[N, 32, 32, 3]`` (HWC, like CIFAR-10's arrays).
        labels: uint8 ``[N]`` in 0..9, indices into :data:`CLASS_NAMES`.
    """
    rng = np.random.Generator(np.random.PCG64(seed))
    labels = rng.permutation(np.arange(num_samples) % len(CLASS_NAMES)).astype(np.uint8)
    mask = _shape_masks(labels, rng)[..., None]
    foreground, background = _colours(num_samples, rng)
    images = mask * foreground + (1 - mask) * background
    images += _background_field(num_samples, rng) * (1 - mask)
    images += rng.normal(0, PIXEL_NOISE_STD, images.shape)
    return (images.clip(0, 1) * 255).round().astype(np.uint8), labels


def load_or_generate(num_samples: int, seed: int, cache_dir: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """:func:`generate`, cached as ``offline-<n>-<seed>.npz`` in ``cache_dir`` (if given).

    Side effect: writes the cache file on first use (atomically, so parallel runs never read a
    half-written file).
    """
    if cache_dir is None:
        return generate(num_samples, seed)
    path = Path(cache_dir) / f"offline-{num_samples}-{seed}.npz"
    if path.is_file():
        with np.load(path) as cached:
            return cached["images"], cached["labels"]
    images, labels = generate(num_samples, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(f".{np.random.default_rng().integers(1 << 30)}.tmp.npz")
    np.savez(partial, images=images, labels=labels)
    partial.replace(path)
    return images, labels
