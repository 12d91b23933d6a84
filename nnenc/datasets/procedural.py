"""Procedurally generated 10-class datasets: nothing to download, any size, fixed by a seed.

``shapes`` (outlines and solids of a different nature from handwriting) and ``gratings``
(oriented textures, where class is orientation and frequency rather than form). Each image is
drawn at the target resolution with anti-aliased edges, random placement, scale, contrast and
Gaussian noise. Both have a fixed split for a given seed: 4,000 training images (as the MNIST
subset) and 10,000 test images, as many as the published zoos' test sets, so that a network's
test accuracy is measured to about +-0.5 points (one standard error at 75% accuracy).
"""

from __future__ import annotations

import numpy as np

from nnenc.datasets.dataset import ImageDataset, split_shuffled

N_TRAIN = 4000
N_TEST = 10000
N_IMAGES = N_TRAIN + N_TEST
EDGE = 0.04  # width of the anti-aliased edge, in image half-widths


def _grid(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    axis = np.linspace(-1, 1, resolution, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return xx[None], yy[None]


def _dataset(
    name: str, images: np.ndarray, label: np.ndarray, resolution: int, seed: int
) -> ImageDataset:
    """Clip drawn images to [-1, 1] and cut the fixed train/test split."""
    return split_shuffled(
        name,
        np.clip(images, -1, 1),
        label,
        -1.0,
        1.0,
        resolution,
        test_fraction=N_TEST / N_IMAGES,
        seed=seed,
        source=f"nnenc procedural {name} (seed {seed})",
    )


def _inside(distance: np.ndarray) -> np.ndarray:
    """Soft indicator of ``distance < 0`` (signed distance to a shape's border)."""
    return 1.0 / (1.0 + np.exp(np.clip(distance / EDGE, -30, 30)))


def _shape_distance(shape: int, u, v, size, thick) -> np.ndarray:
    """Signed distance to the border of ``shape`` (0-9) at image coordinates ``(u, v)`` (the
    shape's own frame: centred, untilted)."""
    if shape in (0, 1):  # disk, ring
        distance = np.sqrt(u**2 + v**2) - size
        return distance if shape == 0 else np.abs(distance) - thick / 2
    if shape in (2, 3):  # square, square outline
        distance = np.maximum(np.abs(u), np.abs(v)) - 0.8 * size
        return distance if shape == 2 else np.abs(distance) - thick / 2
    if shape == 4:  # triangle
        sides = [u * np.cos(a) + v * np.sin(a) for a in np.pi * np.array([1 / 2, 7 / 6, 11 / 6])]
        return np.max(sides, axis=0) - 0.5 * size
    if shape in (5, 6):  # plus, diagonal cross
        if shape == 6:
            u, v = (u + v) / np.sqrt(2), (u - v) / np.sqrt(2)
        return np.minimum(
            np.maximum(np.abs(u) - thick / 2, np.abs(v) - size),
            np.maximum(np.abs(v) - thick / 2, np.abs(u) - size),
        )
    if shape == 7:  # horizontal bar
        return np.maximum(np.abs(v) - thick / 2, np.abs(u) - size)
    if shape == 8:  # vertical bar
        return np.maximum(np.abs(u) - thick / 2, np.abs(v) - size)
    return np.sqrt((u / size) ** 2 + (v / (0.45 * size)) ** 2) - 1  # 9 flat ellipse


def _shape_masks(label: np.ndarray, rng: np.random.Generator, resolution: int) -> np.ndarray:
    n = len(label)
    xx, yy = _grid(resolution)
    cx, cy = (rng.uniform(-0.3, 0.3, (2, n, 1, 1))).astype(np.float32)
    size = rng.uniform(0.35, 0.6, (n, 1, 1)).astype(np.float32)
    thick = rng.uniform(0.08, 0.14, (n, 1, 1)).astype(np.float32)
    angle = rng.uniform(-0.25, 0.25, (n, 1, 1)).astype(np.float32)  # small tilt only
    masks = np.empty((n, resolution, resolution), dtype=np.float32)
    for shape in range(10):  # one class at a time: each image computes its own distance only
        m = label == shape
        x, y = xx - cx[m], yy - cy[m]
        u = x * np.cos(angle[m]) + y * np.sin(angle[m])
        v = -x * np.sin(angle[m]) + y * np.cos(angle[m])
        masks[m] = _inside(_shape_distance(shape, u, v, size[m], thick[m]))
    return masks


def shapes(resolution: int = 28, seed: int = 0) -> ImageDataset:
    """Ten rendered shapes (disk, ring, square, outline, triangle, plus, cross, two bars,
    ellipse) at random positions, sizes and contrasts, with noise."""
    rng = np.random.default_rng(seed)
    label = np.repeat(np.arange(10), N_IMAGES // 10)
    contrast = rng.uniform(0.5, 1.0, (len(label), 1, 1)).astype(np.float32)
    images = contrast * _shape_masks(label, rng, resolution)
    images += rng.normal(0, 0.25, images.shape).astype(np.float32)
    return _dataset("shapes", images * 2 - 1, label, resolution, seed)


def gratings(resolution: int = 28, seed: int = 0) -> ImageDataset:
    """Ten texture classes: 4 orientations x 2 frequencies of sinusoidal gratings, a
    checkerboard and concentric rings; random phase, jittered frequency and angle, noise."""
    rng = np.random.default_rng(seed)
    label = np.repeat(np.arange(10), N_IMAGES // 10)
    n = len(label)
    xx, yy = _grid(resolution)
    orientation = (label % 4) * np.pi / 4 + rng.uniform(-0.15, 0.15, n)
    cycles = np.where(label < 4, 2.0, 4.0) * rng.uniform(0.85, 1.15, n)  # cycles per half-width
    orientation = orientation.astype(np.float32)[:, None, None]
    frequency = (np.pi * cycles).astype(np.float32)[:, None, None]
    phase = rng.uniform(0, 2 * np.pi, (n, 1, 1)).astype(np.float32)
    along = xx * np.cos(orientation) + yy * np.sin(orientation)
    across = -xx * np.sin(orientation) + yy * np.cos(orientation)
    images = np.sin(frequency * along + phase)
    checker = label == 8
    images[checker] = (
        np.sin(frequency[checker] * along[checker] + phase[checker])
        * np.sin(frequency[checker] * across[checker])
        * 2
    )
    rings = label == 9
    cx, cy = rng.uniform(-0.3, 0.3, (2, n, 1, 1)).astype(np.float32)
    radius = np.sqrt((xx - cx) ** 2 + (yy - cy) ** 2)
    images[rings] = np.sin(frequency[rings] * radius[rings] + phase[rings])
    contrast = rng.uniform(0.3, 1.0, (n, 1, 1)).astype(np.float32)
    images = contrast * images + rng.normal(0, 0.5, images.shape).astype(np.float32)
    return _dataset("gratings", images, label, resolution, seed)
