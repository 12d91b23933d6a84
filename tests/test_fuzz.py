"""Fuzzing every on-disk file nnenc reads: seeded truncations and bit flips.

Each case copies a small, valid folder, damages one file (cut to a random length, or one random
bit flipped) and reads it back as a user would. Every outcome must be a clean nnenc error that
names a file, or a load; a traceback fails the case. Loads of nnenc's own files (native zoo,
results table, saved predictor) must equal the undamaged data, or say what they dropped: those
files carry checksums (:mod:`nnenc.io.seals`). Published formats (Small CNN Zoo, model
zoos, checkpoint folders) carry none, so a flipped bit inside one of their numbers loads as
another number; for them the test asks only for an error or a load.

:data:`CASES_PER_FILE` truncations and as many bit flips per file, over 15 files: 720 cases.
"""

from __future__ import annotations

import shutil
import warnings
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from analysis.results import ResultsStore
from nnenc import get_architecture, load_zoo
from nnenc.io.errors import FileFormatError
from nnenc.predict.performance import PerformancePredictor
from nnenc.zoo import ZooWriter
from nnenc.zoo.synthetic import write_checkpoint_folder, write_model_zoos, write_small_cnn_zoo

CASES_PER_FILE = 24
CLEAN_ERRORS = (FileFormatError,)  # ZooFormatError, PredictorFileError, ResultsFormatError


@dataclass(frozen=True)
class Target:
    folder: str  # which prepared folder
    file: str  # the file damaged, relative to it
    checked: bool  # nnenc's own, checksummed: a load must equal the undamaged data


TARGETS = [
    Target("native", "manifest.json", True),
    Target("native", "weights/mlp.npy", True),
    Target("native", "weights/mlp.crc32.npy", True),
    Target("native", "metrics.csv.gz", True),
    Target("small-cnn-zoo", "weights.npy", False),
    Target("small-cnn-zoo", "metrics.csv.gz", False),
    Target("small-cnn-zoo", "layout.csv", False),
    Target("checkpoints", "metrics.csv", False),
    Target("checkpoints", "net_0001.safetensors", False),
    Target("checkpoints-pt", "net_0001.pt", False),
    Target("model-zoos", "NN_tune_trainable_00000_0_seed=0/checkpoint_000001/checkpoints", False),
    Target("model-zoos", "NN_tune_trainable_00000_0_seed=0/result.json", False),
    Target("results", "results.csv", True),
    Target("predictor", "config.json", True),
    Target("predictor", "weights.safetensors", True),
]


def _native(path: Path) -> None:
    rng = np.random.default_rng(0)
    arch = get_architecture("mlp")
    with ZooWriter(path, "fuzz", {"mlp": arch}) as writer:
        for k in range(2):
            metrics = pd.DataFrame(
                {
                    "model_id": [f"m{3 * k + i}" for i in range(3)],
                    "run_id": [f"r{3 * k + i}" for i in range(3)],
                    "architecture": "mlp",
                    "row": range(3),
                    "epoch": 0,
                    "test_accuracy": rng.uniform(0, 1, 3),
                }
            )
            weights = rng.standard_normal((3, arch.num_params)).astype(np.float32)
            writer.write_shard(f"{k:05d}", metrics, {"mlp": weights})
        writer.finalize()


def _results(path: Path) -> None:
    store = ResultsStore(path, {"name": "fuzz"}, zoos={})
    for seed in range(4):
        store.append(
            [
                {"experiment": "in-dist", "encoder": "sne", "variant": "", "source": "shapes",
                 "seed": seed, "target": target, "status": "ok", "kendall_tau": 0.1 * seed,
                 "config": '{"hidden": 8}'}
                for target in ("shapes", "gratings")
            ]
        )  # fmt: skip


def _predictor(path: Path, zoo: Path) -> None:
    predictor = PerformancePredictor("statnn", {}, epochs=1, seed=0)
    finite = load_zoo(zoo).filter(finite=True)
    predictor.fit(finite, finite, progress=False)
    predictor.save(path)


@pytest.fixture(scope="module")
def originals(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("fuzz-originals")
    _native(root / "native")
    write_small_cnn_zoo(root / "small-cnn-zoo", runs=4, nonfinite_rows=[1], seed=1)
    write_checkpoint_folder(root / "checkpoints", networks=3)
    write_checkpoint_folder(root / "checkpoints-pt", networks=3, suffix=".pt")
    write_model_zoos(root / "model-zoos", models=2, epochs=(0, 1))
    _results(root / "results")
    _predictor(root / "predictor", root / "small-cnn-zoo")
    return root


def _read_zoo(path: Path):
    zoo = load_zoo(path)
    zoo.summary()
    return zoo.metrics, {a: zoo.filter(architecture=a).flat() for a in zoo.architectures}


def _read_results(path: Path):
    return ResultsStore(path).rows()


def _read_predictor(path: Path):
    return PerformancePredictor.load(path).state_dict()


READERS: dict[str, Callable] = {
    "results": _read_results,
    "predictor": _read_predictor,
}


def _same(folder: str, loaded, original) -> bool:
    if folder == "results":
        columns = [c for c in original.columns if c != "checksum"]
        merged = loaded[columns].merge(original[columns], how="left", indicator=True)
        return bool((merged["_merge"] == "both").all())
    if folder == "predictor":
        return loaded.keys() == original.keys() and all(
            torch.equal(loaded[k], original[k]) for k in loaded
        )
    (metrics, flats), (metrics0, flats0) = loaded, original
    return (
        metrics.equals(metrics0)
        and flats.keys() == flats0.keys()
        and all(np.array_equal(flats[a], flats0[a], equal_nan=True) for a in flats)
    )


def _damage(file: Path, rng: np.random.Generator, kind: str) -> str:
    data = bytearray(file.read_bytes())
    if kind == "truncate":
        cut = int(rng.integers(0, len(data)))
        file.write_bytes(bytes(data[:cut]))
        return f"cut at {cut} of {len(data)}"
    position, bit = int(rng.integers(0, len(data))), int(rng.integers(0, 8))
    data[position] ^= 1 << bit
    file.write_bytes(bytes(data))
    return f"bit {bit} of byte {position} of {len(data)}"


@pytest.mark.parametrize("target", TARGETS, ids=lambda t: f"{t.folder}:{Path(t.file).name}")
def test_damaged_files_give_clean_errors_or_correct_loads(originals, tmp_path, target):
    read = READERS.get(target.folder, _read_zoo)
    original = read(originals / target.folder)
    rng = np.random.default_rng(zlib.crc32(f"{target.folder}/{target.file}".encode()))
    failures, outcomes = [], {"error": 0, "load": 0, "dropped": 0}
    for case in range(2 * CASES_PER_FILE):
        kind = "truncate" if case < CASES_PER_FILE else "flip"
        folder = tmp_path / f"case{case}"
        shutil.copytree(originals / target.folder, folder)
        what = _damage(folder / target.file, rng, kind)
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                loaded = read(folder)
        except CLEAN_ERRORS:
            outcomes["error"] += 1
        except Exception as err:  # any other exception is what this test finds
            failures.append(f"{what}: {type(err).__name__}: {err}")
        else:
            dropped = bool(caught)  # a warning said what was dropped
            if target.checked and not dropped and not _same(target.folder, loaded, original):
                failures.append(f"{what}: loaded different data without a word")
            outcomes["dropped" if dropped else "load"] += 1
        shutil.rmtree(folder)
    assert not failures, "\n".join(failures[:10])
    assert sum(outcomes.values()) == 2 * CASES_PER_FILE
