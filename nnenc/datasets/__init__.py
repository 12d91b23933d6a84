"""Datasets for building zoos, by name: all 10-class grayscale images at one resolution.

Offline (always available): ``mnist``, ``digits``, ``shapes``, ``gratings``. With
``data_root`` pointing at torchvision's download folder: ``torchvision-mnist``,
``fashion-mnist``, ``cifar10-gs``, ``svhn-gs``. Nothing is downloaded.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from nnenc.datasets import offline, on_disk, procedural
from nnenc.datasets.dataset import ImageDataset
from nnenc.datasets.on_disk import DatasetFileError

OFFLINE: dict[str, Callable[..., ImageDataset]] = {
    "mnist": offline.mnist,
    "digits": offline.digits,
    "shapes": procedural.shapes,
    "gratings": procedural.gratings,
}
ON_DISK: dict[str, Callable[..., ImageDataset]] = {
    "torchvision-mnist": on_disk.mnist_files,
    "fashion-mnist": on_disk.fashion_mnist_files,
    "cifar10-gs": on_disk.cifar10_files,
    "svhn-gs": on_disk.svhn_files,
}


def dataset_names() -> list[str]:
    return [*OFFLINE, *ON_DISK]


@lru_cache(maxsize=8)
def get_dataset(
    name: str, data_root: str | Path | None = None, resolution: int = 28
) -> ImageDataset:
    """The dataset called ``name`` (cached per process)."""
    if name in OFFLINE:
        return OFFLINE[name](resolution=resolution)
    if name in ON_DISK:
        if data_root is None:
            raise ValueError(
                f"dataset {name!r} is read from torchvision's files on disk: give --data-root"
            )
        return ON_DISK[name](Path(data_root), resolution=resolution)
    raise ValueError(f"unknown dataset {name!r}; valid: {', '.join(dataset_names())}")


__all__ = ["DatasetFileError", "ImageDataset", "dataset_names", "get_dataset"]
