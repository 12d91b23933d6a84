"""The one dataset type the zoo builder trains on: 10-class grayscale images, one resolution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

LUMA = (0.299, 0.587, 0.114)
"""RGB -> gray weights (ITU-R 601, as ``tf.image.rgb_to_grayscale``)."""


@dataclass(frozen=True, eq=False)
class ImageDataset:
    """A fixed train/test split of grayscale images in ``[-1, 1]``.

    Attributes:
        name: the registry name.
        train_images, test_images: ``(N, 1, R, R)`` float32.
        train_labels, test_labels: ``(N,)`` int64 in ``[0, num_classes)``.
        source: where the images came from, for the zoo manifest.
    """

    name: str
    train_images: torch.Tensor
    train_labels: torch.Tensor
    test_images: torch.Tensor
    test_labels: torch.Tensor
    source: str
    num_classes: int = 10

    @property
    def resolution(self) -> int:
        return int(self.train_images.shape[-1])

    def describe(self) -> dict:
        return {
            "name": self.name,
            "source": self.source,
            "train": len(self.train_labels),
            "test": len(self.test_labels),
            "resolution": self.resolution,
            "num_classes": self.num_classes,
        }


def to_gray(images: np.ndarray) -> np.ndarray:
    """``(N, H, W, 3)`` RGB -> ``(N, H, W)`` gray; gray input passes through."""
    if images.ndim == 4 and images.shape[-1] == 3:
        return images.astype(np.float32) @ np.asarray(LUMA, dtype=np.float32)
    return images.astype(np.float32)


def prepare(images: np.ndarray, low: float, high: float, resolution: int) -> torch.Tensor:
    """``(N, H, W)`` with values in ``[low, high]`` -> ``(N, 1, resolution, resolution)`` in [-1, 1]."""
    tensor = torch.from_numpy(np.ascontiguousarray(images, dtype=np.float32)).unsqueeze(1)
    tensor = (tensor - low) / (high - low) * 2 - 1
    if tensor.shape[-1] != resolution or tensor.shape[-2] != resolution:
        tensor = F.interpolate(
            tensor, size=(resolution, resolution), mode="bilinear", align_corners=False
        )
    return tensor.clamp_(-1, 1).contiguous()


def split_shuffled(
    name: str,
    images: np.ndarray,
    labels: np.ndarray,
    low: float,
    high: float,
    resolution: int,
    test_fraction: float,
    seed: int,
    source: str,
) -> ImageDataset:
    """Shuffle with ``seed`` (for data stored sorted by label), then cut off the test split."""
    order = np.random.default_rng(seed).permutation(len(labels))
    n_test = round(test_fraction * len(labels))
    test, train = order[:n_test], order[n_test:]
    return ImageDataset(
        name,
        prepare(images[train], low, high, resolution),
        torch.as_tensor(labels[train], dtype=torch.long),
        prepare(images[test], low, high, resolution),
        torch.as_tensor(labels[test], dtype=torch.long),
        source,
    )
