"""Shared fixtures: small zoos written in the published layouts by nnenc.zoo.synthetic."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest
from fixture_zoos import TINY, TINY_BENCH, TRAINED, TRAINED_ZOO

from nnenc.zoo.synthetic import write_checkpoint_folder, write_model_zoos, write_small_cnn_zoo

SHARED = ("tiny_bench", "trained_zoo_splits")
"""Session fixtures that cost tens of seconds to make: under pytest-xdist (``make test`` runs
two worker processes) the tests that use one run in one worker, which makes it once."""

if os.environ.get("PYTEST_XDIST_WORKER"):  # the workers share the cores: a thread each per core
    import torch

    workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // workers))


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the groups
def pytest_collection_modifyitems(items):
    for item in items:
        shared = [name for name in SHARED if name in getattr(item, "fixturenames", ())]
        if shared:
            item.add_marker(pytest.mark.xdist_group(shared[0]))


@pytest.fixture(scope="session", autouse=True)
def nnenc_cache(tmp_path_factory):
    """A cache of the session's own (the precision probe, built zoos): tests write nothing into
    the user's ``~/.cache/nnenc``; worker processes inherit it."""
    before = os.environ.get("NNENC_CACHE")
    os.environ["NNENC_CACHE"] = str(tmp_path_factory.mktemp("nnenc-cache"))
    yield Path(os.environ["NNENC_CACHE"])
    if before is None:
        del os.environ["NNENC_CACHE"]
    else:
        os.environ["NNENC_CACHE"] = before


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


@pytest.fixture(scope="session")
def trained_zoo_splits(tmp_path_factory):
    """The :data:`TRAINED_ZOO` split 50/25/25 by run."""
    from nnenc import load_zoo
    from nnenc.builder.build import BuildConfig, build_zoo

    path = tmp_path_factory.mktemp("trained") / TRAINED.name
    if TRAINED.is_dir():
        shutil.copytree(TRAINED, path)
    else:
        build_zoo(BuildConfig(**TRAINED_ZOO), path, workers=2, progress=False)
    return load_zoo(path).split((0.5, 0.25, 0.25), seed=0)


@pytest.fixture(scope="session")
def tiny_bench(tmp_path_factory):
    """(config, results folder, zoo cache root) of the tiny benchmark's cross-dataset,
    cross-arch and ablate experiments, run once per session over 2 worker processes."""
    from analysis.config import BenchConfig
    from analysis.runner import run_benchmark

    root = tmp_path_factory.mktemp("bench")
    if TINY.is_dir():  # the kept zoos, copied: tests may add to the zoo root
        shutil.copytree(TINY, root, dirs_exist_ok=True)
    config = BenchConfig.from_dict(TINY_BENCH)
    out = root / "results"
    experiments = ["cross-dataset", "cross-arch", "ablate"]
    run_benchmark(config, experiments, out, workers=2, progress=False, zoo_root=root)
    return config, out, root
