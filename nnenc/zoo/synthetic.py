"""Made-up zoos written in the exact published layouts, for tests, examples and benchmarks.

Nothing here trains a network: weights are drawn at random (per run an init scale, drifting
over checkpoints) and accuracies are a noisy function of the weights and the epoch, so that a
predictor has something to learn. Files follow ``shared/reference/zoo-formats.md`` to the
column; use the zoo builder for real zoos.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from nnenc.architectures import get_architecture
from nnenc.io.atomic import atomic_path, write_csv
from nnenc.layout import write_layout_csv
from nnenc.params import NetworkParams
from nnenc.zoo.checkpoints import save_state_dict
from nnenc.zoo.formats.small_cnn_zoo import keras_layout

SMALL_CNN_ZOO_STEPS = (0, 1, 2, 3, 20, 40, 60, 80, 86)
ACTIVATIONS = ("relu", "tanh", "sigmoid", "selu")
OPTIMIZERS = ("sgd", "adam", "momentum")
W_INITS = ("he_normal", "glorot_normal", "orthogonal", "RandomNormal", "TruncatedNormal")


def _sample_configs(rng: np.random.Generator, runs: int, dataset: str) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "config.activation": rng.choice(ACTIVATIONS, runs),
            "config.b_init": "zeros",
            "config.dataset": dataset,
            "config.dnn_architecture": "cnn",
            "config.dropout": rng.choice([0.0, 0.05, 0.1, 0.2, 0.5], runs),
            "config.epochs": 86,
            "config.epochs_between_checkpoints": 20,
            "config.init_std": 10 ** rng.uniform(-3, -0.5, runs),
            "config.l2reg": 10 ** rng.uniform(-8, -2, runs),
            "config.learning_rate": 10 ** rng.uniform(-4, -2, runs),
            "config.num_layers": 3,
            "config.num_units": 16,
            "config.optimizer": rng.choice(OPTIMIZERS, runs),
            "config.random_seed": rng.integers(0, 2**31 - 1, runs),
            "config.train_fraction": rng.choice([0.1, 0.25, 0.5, 1.0], runs),
            "config.w_init": rng.choice(W_INITS, runs),
        }
    )


def _accuracy(rng: np.random.Generator, rows: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """A noisy accuracy in [0.1, 0.99] that rises with the epoch and with the weights' scale."""
    scale = np.log(np.abs(rows).mean(axis=1) + 1e-6)
    score = 0.8 * (scale - scale.mean()) / (scale.std() + 1e-6) + np.log1p(steps) / 2 - 1
    return np.clip(0.1 + 0.89 / (1 + np.exp(-score)) + rng.normal(0, 0.02, len(rows)), 0.1, 0.99)


def write_small_cnn_zoo(
    path: str | Path,
    runs: int = 8,
    steps: Sequence[int] = SMALL_CNN_ZOO_STEPS,
    dataset: str = "mnist",
    seed: int = 0,
    nonfinite_rows: Sequence[int] = (),
    dtype: str = "float32",
    block_runs: int = 2048,
    progress: bool = False,
) -> Path:
    """A Small CNN Zoo folder: ``weights.npy`` (R x 4970, bias-first TensorFlow order),
    ``metrics.csv.gz`` (the published columns) and ``layout.csv`` (Keras variable names).

    Rows are in a seeded shuffled order, as in the published files. Weights are written in
    blocks of ``block_runs`` runs straight to a memory-mapped file, so a published-size zoo
    (30,000 runs x 9 steps) can be made without holding it in memory. ``nonfinite_rows`` get
    NaN weights, like the diverged runs of the published zoos.
    """
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    layout = keras_layout(get_architecture("cnn-small"))
    steps = np.asarray(steps)
    n_rows = runs * len(steps)
    configs = _sample_configs(rng, runs, dataset)
    order = rng.permutation(n_rows)  # file row -> (run, step) index
    position = np.empty(n_rows, dtype=np.int64)
    position[order] = np.arange(n_rows)  # (run, step) index -> file row
    accuracy = np.empty(n_rows)
    write_layout_csv(layout, path / "layout.csv")
    kernels = np.concatenate([np.full(s.size, s.role == "weight") for s in layout.slots])
    with atomic_path(path / "weights.npy") as tmp:
        weights = np.lib.format.open_memmap(
            tmp, mode="w+", dtype=dtype, shape=(n_rows, layout.size)
        )
        blocks = range(0, runs, block_runs)
        for start in tqdm(blocks, desc="writing synthetic zoo", disable=not progress):
            stop = min(start + block_runs, runs)
            std = configs["config.init_std"].to_numpy()[start:stop, None].astype(np.float32)
            init = rng.standard_normal((stop - start, layout.size), dtype=np.float32) * std
            init *= np.where(kernels, 1.0, 0.1).astype(np.float32)
            for k, step in enumerate(steps):
                drift = rng.standard_normal(init.shape, dtype=np.float32) * np.float32(
                    0.01 * np.sqrt(step)
                )
                rows = init * np.float32(1 + 0.02 * step) + drift
                index = np.arange(start, stop) * len(steps) + k
                weights[position[index]] = rows
                accuracy[position[index]] = _accuracy(rng, rows, np.full(len(rows), step))
        for row in nonfinite_rows:
            weights[row, rng.integers(0, layout.size)] = np.nan
        weights.flush()
        del weights
    run_of_row = order // len(steps)
    step_of_row = steps[order % len(steps)]
    table = configs.iloc[run_of_row].reset_index(drop=True)
    table["modeldir"] = [f"run_{r:06d}" for r in run_of_row]
    table["step"] = step_of_row
    table["test_accuracy"] = accuracy
    table["test_loss"] = -np.log(table["test_accuracy"])
    table["train_accuracy"] = np.clip(table["test_accuracy"] + rng.normal(0.02, 0.01, n_rows), 0, 1)
    table["train_loss"] = -np.log(table["train_accuracy"].clip(lower=1e-3))
    write_csv(table, path / "metrics.csv.gz")
    return path


def _modelzoo_module() -> torch.nn.Module:
    """A small CNN with Model Zoos' ``module_list.{i}`` parameter names."""
    module = torch.nn.Module()
    module.module_list = torch.nn.ModuleList(
        [
            torch.nn.Conv2d(1, 8, 5),
            torch.nn.Tanh(),
            torch.nn.Conv2d(8, 6, 5),
            torch.nn.Tanh(),
            torch.nn.Conv2d(6, 4, 2),
            torch.nn.Flatten(),
            torch.nn.Linear(36, 20),
            torch.nn.Tanh(),
            torch.nn.Linear(20, 10),
        ]
    )
    return module


def write_model_zoos(
    path: str | Path,
    models: int = 3,
    epochs: Sequence[int] = (0, 1, 2),
    seed: int = 0,
    percent: bool = True,
) -> Path:
    """A Model Zoos (Ray Tune) folder: ``<model>/result.json`` and
    ``<model>/checkpoint_<epoch:06d>/checkpoints`` state_dicts (``module_list.{i}.weight``).

    Accuracies are percentages when ``percent``, as in some of the published zoos. Epoch 0 is
    the initial checkpoint and has no ``result.json`` line.
    """
    path = Path(path)
    rng = np.random.default_rng(seed)
    for m in range(models):
        torch.manual_seed(seed * 1000 + m)
        module = _modelzoo_module()
        folder = path / f"NN_tune_trainable_{m:05d}_{m}_seed={m}"
        folder.mkdir(parents=True, exist_ok=True)
        config = {
            "model::nlin": "tanh",
            "model::init_type": "kaiming_uniform",
            "model::dropout": float(rng.choice([0.0, 0.1])),
            "optim::optimizer": "adam",
            "optim::lr": float(10 ** rng.uniform(-4, -2)),
            "optim::wd": float(rng.choice([0.0, 1e-4])),
            "seed": m,
        }
        lines = []
        for epoch in epochs:
            with torch.no_grad():
                for p in module.parameters():
                    p.mul_(1.01).add_(0.01 * torch.randn_like(p))
            ckpt = folder / f"checkpoint_{epoch:06d}"
            ckpt.mkdir(exist_ok=True)
            torch.save(module.state_dict(), ckpt / "checkpoints")
            if epoch == 0:
                continue
            acc = float(np.clip(0.3 + 0.1 * epoch + rng.normal(0, 0.05), 0, 1))
            factor = 100.0 if percent else 1.0
            lines.append(
                {
                    "train_loss": 2.3 - epoch * 0.3,
                    "train_acc": factor * min(1.0, acc + 0.02),
                    "test_loss": 2.3 - epoch * 0.28,
                    "test_acc": factor * acc,
                    "training_iteration": epoch,
                    "config": config,
                }
            )
        (folder / "result.json").write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def write_checkpoint_folder(
    path: str | Path,
    networks: int = 4,
    architecture: str = "cnn-small",
    seed: int = 0,
    suffix: str = ".safetensors",
) -> Path:
    """A folder of ``networks`` state_dicts (``.safetensors`` or ``.pt``) plus ``metrics.csv``."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    spec = get_architecture(architecture)
    rows = []
    for i in range(networks):
        torch.manual_seed(seed * 1000 + i)
        state = NetworkParams.from_module(spec.build()).state_dict()
        file = f"net_{i:04d}{suffix}"
        if suffix == ".safetensors":
            save_state_dict(state, path / file)
        else:
            torch.save(state, path / file)
        rows.append(
            {
                "file": file,
                "run_id": f"run_{i // 2}",
                "epoch": i % 2,
                "test_accuracy": float(rng.uniform(0.1, 0.9)),
                "architecture": architecture,
            }
        )
    pd.DataFrame(rows).to_csv(path / "metrics.csv", index=False)
    return path
