"""torchvision datasets the user already has on disk (``--data-root``); nothing is downloaded.

Files are read in the layouts torchvision leaves behind, without torchvision and without
running code from them:

- ``MNIST/raw/`` and ``FashionMNIST/raw/``: IDX files (``train-images-idx3-ubyte`` etc.,
  optionally ``.gz``);
- ``cifar-10-batches-py/``: pickled batches, read with an unpickler that only admits the numpy
  array reconstruction these files use (anything else is refused);
- ``train_32x32.mat`` / ``test_32x32.mat`` (SVHN): MATLAB files via ``scipy.io.loadmat``.

CIFAR-10 and SVHN are turned to grayscale, as in the Small CNN Zoo.
"""

from __future__ import annotations

import gzip
import pickle
from pathlib import Path

import numpy as np
import torch

from nnenc.datasets.dataset import ImageDataset, prepare, to_gray


class DatasetFileError(ValueError):
    """A dataset file that is missing or not in the expected layout."""


def _find(root: Path, *candidates: str) -> Path:
    for name in candidates:
        for path in (root / name, root / f"{name}.gz"):
            if path.is_file():
                return path
    raise DatasetFileError(
        f"{root}: none of {list(candidates)} found; point --data-root at the folder torchvision "
        "downloaded into"
    )


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (the MNIST format): magic, dims, then unsigned bytes."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as handle:
        data = handle.read()
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise DatasetFileError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = np.frombuffer(data, dtype=">u4", count=ndim, offset=4).astype(int)
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise DatasetFileError(f"{path}: holds {body.size} values, its header says {dims}")
    return body.reshape(dims).copy()  # frombuffer is read-only; torch wants writable memory


def _idx_dataset(name: str, folder: Path, resolution: int) -> ImageDataset:
    raw = folder / "raw"
    parts = {
        split: (
            read_idx(_find(raw, f"{prefix}-images-idx3-ubyte")),
            read_idx(_find(raw, f"{prefix}-labels-idx1-ubyte")),
        )
        for split, prefix in (("train", "train"), ("test", "t10k"))
    }
    return ImageDataset(
        name,
        prepare(parts["train"][0], 0, 255, resolution),
        torch.as_tensor(parts["train"][1], dtype=torch.long),
        prepare(parts["test"][0], 0, 255, resolution),
        torch.as_tensor(parts["test"][1], dtype=torch.long),
        f"torchvision files under {folder}",
    )


def mnist_files(root: Path, resolution: int = 28) -> ImageDataset:
    return _idx_dataset("torchvision-mnist", Path(root) / "MNIST", resolution)


def fashion_mnist_files(root: Path, resolution: int = 28) -> ImageDataset:
    return _idx_dataset("fashion-mnist", Path(root) / "FashionMNIST", resolution)


class _ArraysOnlyUnpickler(pickle.Unpickler):
    """Admits only what CIFAR batch files contain: numpy arrays and scalars, dtypes, bytes."""

    ALLOWED = frozenset(
        {
            ("numpy.core.multiarray", "_reconstruct"),
            ("numpy._core.multiarray", "_reconstruct"),
            ("numpy.core.multiarray", "scalar"),
            ("numpy._core.multiarray", "scalar"),
            ("numpy", "ndarray"),
            ("numpy", "dtype"),
            ("_codecs", "encode"),
        }
    )

    def find_class(self, module: str, name: str):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(
                f"refused to load {module}.{name}: a CIFAR batch holds only arrays and lists"
            )
        return super().find_class(module, name)


def _cifar_batch(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, "rb") as handle:
            batch = _ArraysOnlyUnpickler(handle, encoding="bytes").load()
    except pickle.UnpicklingError as err:
        raise DatasetFileError(f"{path}: {err}") from err
    data = batch.get(b"data", batch.get("data"))
    labels = batch.get(b"labels", batch.get("labels"))
    if data is None or labels is None:
        raise DatasetFileError(f"{path}: no data/labels entries; not a CIFAR-10 batch")
    images = np.asarray(data, dtype=np.uint8).reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return to_gray(images), np.asarray(labels)


def cifar10_files(root: Path, resolution: int = 28) -> ImageDataset:
    folder = Path(root) / "cifar-10-batches-py"
    train = [_cifar_batch(_find(folder, f"data_batch_{i}")) for i in range(1, 6)]
    test_images, test_labels = _cifar_batch(_find(folder, "test_batch"))
    return ImageDataset(
        "cifar10-gs",
        prepare(np.concatenate([t[0] for t in train]), 0, 255, resolution),
        torch.as_tensor(np.concatenate([t[1] for t in train]), dtype=torch.long),
        prepare(test_images, 0, 255, resolution),
        torch.as_tensor(test_labels, dtype=torch.long),
        f"torchvision CIFAR-10 files under {folder} (grayscale)",
    )


def svhn_files(root: Path, resolution: int = 28) -> ImageDataset:
    from scipy.io import loadmat

    parts = {}
    for split in ("train", "test"):
        path = _find(Path(root), f"{split}_32x32.mat")
        mat = loadmat(path)
        if "X" not in mat or "y" not in mat:
            raise DatasetFileError(f"{path}: no X/y arrays; not an SVHN file")
        images = to_gray(np.asarray(mat["X"]).transpose(3, 0, 1, 2))
        labels = np.asarray(mat["y"]).reshape(-1) % 10  # SVHN stores digit 0 as 10
        parts[split] = (images, labels)
    return ImageDataset(
        "svhn-gs",
        prepare(parts["train"][0], 0, 255, resolution),
        torch.as_tensor(parts["train"][1], dtype=torch.long),
        prepare(parts["test"][0], 0, 255, resolution),
        torch.as_tensor(parts["test"][1], dtype=torch.long),
        f"torchvision SVHN files under {root} (grayscale)",
    )
