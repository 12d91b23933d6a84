"""Shared fixtures: small zoos written in the published layouts by nnenc.zoo.synthetic."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from nnenc.zoo.synthetic import write_checkpoint_folder, write_model_zoos, write_small_cnn_zoo


@pytest.fixture
def small_cnn_zoo_dir(tmp_path: Path) -> Path:
    return write_small_cnn_zoo(tmp_path / "small-cnn-zoo", runs=6, nonfinite_rows=[4], seed=1)


@pytest.fixture
def model_zoos_dir(tmp_path: Path) -> Path:
    return write_model_zoos(tmp_path / "model-zoos", models=3, epochs=(0, 1, 2))


@pytest.fixture
def checkpoint_folder_dir(tmp_path: Path) -> Path:
    return write_checkpoint_folder(tmp_path / "checkpoints", networks=4)


def folder_digest(path: Path) -> dict[str, str]:
    """Every file under ``path`` with a hash of its bytes: to check nothing was modified."""
    return {
        str(p.relative_to(path)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(path.rglob("*"))
        if p.is_file()
    }
