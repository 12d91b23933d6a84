"""Procedurally generated 10-class datasets: nothing to download, any size, fixed by a seed.

``shapes`` (outlines and solids of a different nature from handwriting) and ``gratings``
(oriented textures, where class is orientation and frequency rather than form). Each image is
drawn at the target resolution with anti-aliased edges, random placement, scale, contrast and
Gaussian noise; both have a fixed 4,000 / 1,000 train/test split for a given seed.
"""

from __future__ import annotations

import numpy as np

from nnenc.datasets.dataset import ImageDataset, split_shuffled

N_IMAGES = 5000
EDGE = 0.04  # width of the anti-aliased edge, in image half-widths


def _grid(resolution: int) -> tuple[np.ndarray, np.ndarray]:
    axis = np.linspace(-1, 1, resolution, dtype=np.float32)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return xx[None], yy[None]


def _dataset(
    name: str, images: np.ndarray, label: np.ndarray, resolution: int, seed: int
) -> ImageDataset:
    """Clip drawn images to [-1, 1] and cut the fixed 80/20 split."""
    return split_shuffled(
        name,
        np.clip(images, -1, 1),
        label,
        -1.0,
        1.0,
        resolution,
        test_fraction=0.2,
        seed=seed,
        source=f"nnenc procedural {name} (seed {seed})",
    )


def _inside(distance: np.ndarray) -> np.ndarray:
    """Soft indicator of ``distance < 0`` (signed distance to a shape's border)."""
    return 1.0 / (1.0 + np.exp(np.clip(distance / EDGE, -30, 30)))


def _shape_masks(label: np.ndarray, rng: np.random.Generator, resolution: int) -> np.ndarray:
    n = len(label)
    xx, yy = _grid(resolution)
    cx, cy = (rng.uniform(-0.3, 0.3, (2, n, 1, 1))).astype(np.float32)
    size = rng.uniform(0.35, 0.6, (n, 1, 1)).astype(np.float32)
    thick = rng.uniform(0.08, 0.14, (n, 1, 1)).astype(np.float32)
    angle = rng.uniform(-0.25, 0.25, (n, 1, 1)).astype(np.float32)  # small tilt only
    x, y = xx - cx, yy - cy
    u = x * np.cos(angle) + y * np.sin(angle)
    v = -x * np.sin(angle) + y * np.cos(angle)
    r = np.sqrt(u**2 + v**2)
    box = np.maximum(np.abs(u), np.abs(v))
    triangle = np.max(
        [u * np.cos(a) + v * np.sin(a) for a in (np.pi / 2, np.pi * 7 / 6, np.pi * 11 / 6)], axis=0
    )
    diag_u, diag_v = (u + v) / np.sqrt(2), (u - v) / np.sqrt(2)
    distances = [
        r - size,  # 0 disk
        np.abs(r - size) - thick / 2,  # 1 ring
        box - 0.8 * size,  # 2 square
        np.abs(box - 0.8 * size) - thick / 2,  # 3 square outline
        triangle - 0.5 * size,  # 4 triangle
        np.minimum(  # 5 plus
            np.maximum(np.abs(u) - thick / 2, np.abs(v) - size),
            np.maximum(np.abs(v) - thick / 2, np.abs(u) - size),
        ),
        np.minimum(  # 6 diagonal cross
            np.maximum(np.abs(diag_u) - thick / 2, np.abs(diag_v) - size),
            np.maximum(np.abs(diag_v) - thick / 2, np.abs(diag_u) - size),
        ),
        np.maximum(np.abs(v) - thick / 2, np.abs(u) - size),  # 7 horizontal bar
        np.maximum(np.abs(u) - thick / 2, np.abs(v) - size),  # 8 vertical bar
        np.sqrt((u / size) ** 2 + (v / (0.45 * size)) ** 2) - 1,  # 9 flat ellipse
    ]
    masks = np.empty((n, resolution, resolution), dtype=np.float32)
    for c, distance in enumerate(distances):
        members = label == c
        masks[members] = _inside(distance[members])
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
