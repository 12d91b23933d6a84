"""Building a zoo: sample runs, plan shards, train them in worker processes or Ray tasks, and
write each finished shard atomically into a native zoo.

A shard is one chunk of runs trained together (same architecture, activation and optimiser;
runs sorted by train fraction so chunks step together). A mixed zoo (``architecture="mixed"``
with an :class:`~nnenc.builder.architecture_space.ArchitectureSpace`) draws its architectures
first and spreads the runs over them evenly, so runs of one architecture still train stacked. The plan depends only on the :class:`BuildConfig`, and
each shard's result only on its runs and seeds, so the same config gives the same bytes, and a
build interrupted at any point (even by SIGKILL) resumes by training only the shards not yet on
disk.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from nnenc.architectures import Architecture, architecture_names, get_architecture
from nnenc.builder.architecture_space import ArchitectureSpace
from nnenc.builder.hyperparameters import HyperparameterSpace
from nnenc.builder.training import train_chunk
from nnenc.datasets import dataset_names, get_dataset
from nnenc.precision import PRECISIONS, check_device, resolve_precision
from nnenc.tasks import run_tasks
from nnenc.version import package_version
from nnenc.zoo.native import ZooWriter

MIXED = "mixed"
CHUNK_KEYS = ("activation", "optimizer")
"""Runs in one chunk share these (the same code path). Train fractions may differ: a chunk
steps only the networks still in their epoch (see ``train_chunk``); runs are sorted by train
fraction before cutting, so a chunk's fractions are close."""


@dataclass(frozen=True)
class BuildConfig:
    """Everything that decides a zoo's contents (and nothing that only decides speed).

    ``architecture``: a registered architecture's name, or ``"mixed"`` with
    ``architecture_space`` (see :mod:`nnenc.builder.architecture_space`)."""

    dataset: str
    architecture: str
    runs: int
    epochs: int
    checkpoints: tuple[int, ...] | None = None
    seed: int = 0
    chunk_size: int = 64
    precision: str = "auto"
    resolution: int = 28
    data_root: str | None = None
    space: HyperparameterSpace = field(default_factory=HyperparameterSpace)
    architecture_space: ArchitectureSpace | None = None

    @property
    def mixed(self) -> bool:
        return self.architecture == MIXED

    def specs(self, num_classes: int = 10) -> list[Architecture]:
        """The architectures the build trains: the named one, or a mixed zoo's draws (the same
        for the same seed)."""
        if not self.mixed:
            return [get_architecture(self.architecture)]
        return self.architecture_space.sample(self.seed, self.resolution, 1, num_classes)

    def __post_init__(self) -> None:
        if self.checkpoints is None:
            object.__setattr__(self, "checkpoints", default_checkpoints(self.epochs))
        object.__setattr__(self, "checkpoints", tuple(sorted(set(self.checkpoints))))

    def validate(self) -> None:
        """Refuse a config that cannot build, before any training starts."""
        if self.dataset not in dataset_names():
            raise ValueError(
                f"unknown dataset {self.dataset!r}; valid: {', '.join(dataset_names())}"
            )
        if self.mixed != (self.architecture_space is not None):
            raise ValueError(
                "a mixed build (architecture 'mixed') needs an architecture space, and an "
                "architecture space needs architecture 'mixed'"
            )
        if not self.mixed and self.architecture not in architecture_names():
            raise ValueError(
                f"unknown architecture {self.architecture!r}; valid: "
                f"{', '.join(architecture_names())}, or 'mixed' with an architecture space"
            )
        problems = []
        if self.runs < 1:
            problems.append(f"runs must be >= 1, got {self.runs}")
        if self.epochs < 0:
            problems.append(f"epochs must be >= 0, got {self.epochs}")
        if self.chunk_size < 1:
            problems.append(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.precision not in PRECISIONS:
            problems.append(
                f"precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}"
            )
        outside = [c for c in self.checkpoints if not 0 <= c <= self.epochs]
        if outside or not self.checkpoints:
            problems.append(f"checkpoints must lie in 0..{self.epochs}, got {self.checkpoints}")
        try:
            if self.mixed:
                self.architecture_space.validate(self.resolution)
            else:
                get_architecture(self.architecture).check_resolution(self.resolution)
        except ValueError as err:
            problems.append(str(err))
        if problems:
            raise ValueError("; ".join(problems))
        data = get_dataset(self.dataset, self.data_root, self.resolution)
        self.space.validate(len(data.train_labels))

    @classmethod
    def from_dict(cls, spec: dict) -> BuildConfig:
        """The inverse of :meth:`to_dict`; a missing or ``None`` ``space`` means the default."""
        space = spec.get("space")
        space = HyperparameterSpace() if space is None else HyperparameterSpace.from_dict(space)
        mixed = spec.get("architecture_space")
        mixed = None if mixed is None else ArchitectureSpace.from_dict(mixed)
        return cls(**{**spec, "space": space, "architecture_space": mixed})

    def to_dict(self) -> dict:
        spec = asdict(self)
        spec["checkpoints"] = list(self.checkpoints)
        spec["space"] = self.space.to_dict()
        if self.architecture_space is None:
            spec.pop("architecture_space")  # single-architecture builds keep their old config
        else:
            spec["architecture_space"] = self.architecture_space.to_dict()
        return spec


def with_precision(config: BuildConfig, device: str = "cpu", out: str | Path | None = None):
    """``config`` with its precision resolved for ``device`` (``auto``: bf16 where the device
    runs it natively and faster, see :mod:`nnenc.precision`). An unfinished build in ``out``
    started with ``auto`` is finished in the precision it started with, so a zoo never mixes
    precisions (with a warning where that precision is slow here)."""
    precision = config.precision
    started = None if out is None else ZooWriter.unfinished_build(out)
    if precision == "auto" and started is not None:
        precision = started.get("config", {}).get("precision", "auto")
    return replace(config, precision=resolve_precision(precision, device))


def default_checkpoints(epochs: int) -> tuple[int, ...]:
    """0, 1, 2, 3, then about four more evenly spaced, and the last epoch."""
    early = [e for e in (0, 1, 2, 3) if e <= epochs]
    later = np.linspace(0, epochs, 5).round().astype(int).tolist() if epochs > 3 else []
    return tuple(sorted({*early, *later, epochs}))


@dataclass(frozen=True)
class Shard:
    id: str
    runs: pd.DataFrame


def plan_shards(config: BuildConfig, architectures: list[str] | None = None) -> list[Shard]:
    """Runs sampled from the space, grouped by :data:`CHUNK_KEYS` (and architecture, in a mixed
    build: ``architectures`` names them, and the runs are spread over them evenly), each group
    cut into the fewest chunks of at most ``chunk_size`` runs, of near-equal size."""
    runs = config.space.sample(config.runs, config.seed)
    keys = list(CHUNK_KEYS)
    if config.mixed:
        names = np.array(architectures or [a.name for a in config.specs()])
        spread = np.random.default_rng(config.seed + 1).permutation(config.runs) % len(names)
        runs["architecture"] = names[spread]
        keys.append("architecture")
    shards = []
    for _, group in runs.groupby(keys, sort=True):
        pieces = -(-len(group) // config.chunk_size)
        ordered = group.sort_values(["train_fraction", "run_index"], kind="stable")
        for chunk in np.array_split(ordered.to_numpy(), pieces):
            table = pd.DataFrame(chunk, columns=group.columns).infer_objects()
            shards.append(Shard(f"{len(shards):05d}", table))
    return shards


def train_shard(
    config_dict: dict, shard_id: str, runs: pd.DataFrame, device: str = "cpu", threads: int = 1
) -> tuple[str, pd.DataFrame, dict[str, np.ndarray]]:
    """Train one shard; returns its metrics (with the zoo's columns) and weights.

    Sets this process's torch thread count to ``threads`` (workers are processes of their own).
    """
    torch.set_num_threads(threads)
    config = BuildConfig.from_dict(config_dict)
    data = get_dataset(config.dataset, config.data_root, config.resolution)
    specs = {a.name: a for a in config.specs(data.num_classes)}
    if config.mixed:
        architecture = specs[runs["architecture"].iloc[0]]
        runs = runs.drop(columns="architecture")
    else:
        architecture = specs[config.architecture]
    table, weights = train_chunk(
        architecture,
        runs,
        data,
        config.epochs,
        config.checkpoints,
        batch_size=config.space.batch_size,
        device=device,
        precision=config.precision,
        dropout_seed=config.seed * 100_003 + int(shard_id),
    )
    finite = np.isfinite(weights).all(axis=1)
    table.insert(
        0,
        "model_id",
        [f"run{r:06d}-e{e:03d}" for r, e in zip(table["run_index"], table["epoch"], strict=True)],
    )
    table.insert(1, "run_id", [f"run{r:06d}" for r in table["run_index"]])
    table.insert(2, "architecture", architecture.name)
    table.insert(3, "row", np.arange(len(table)))
    table["dataset"] = config.dataset
    table["finite"] = finite
    table["status"] = np.where(finite, "ok", "diverged")
    return shard_id, table, {architecture.name: weights}


def build_zoo(
    config: BuildConfig,
    out: str | Path,
    workers: int = 2,
    threads_per_worker: int = 1,
    device: str = "cpu",
    ray_address: str | None = None,
    progress: bool = True,
) -> Path:
    """Build (or resume building) the zoo described by ``config`` into ``out``.

    Args:
        workers: local worker processes (ignored with ``ray_address``).
        threads_per_worker: torch threads in each worker or Ray task.
        device: ``"cpu"`` or ``"cuda"``.
        ray_address: run shards as Ray tasks on this cluster (``"auto"``, ``"ray://..."``, or
            ``"local"`` to start one here).
    """
    config.validate()
    check_device(device)
    config = with_precision(config, device, out)
    data = get_dataset(config.dataset, config.data_root, config.resolution)
    specs = {a.name: a for a in config.specs(data.num_classes)}
    build = {
        "config": config.to_dict(),
        "dataset": data.describe(),
        "nnenc_version": package_version(),
    }
    with ZooWriter(out, f"{config.dataset}-{config.architecture}", specs, build) as writer:
        shards = plan_shards(config, list(specs))
        finished = set(writer.finished_shards())
        todo = [s for s in shards if s.id not in finished]
        done_runs = sum(len(s.runs) for s in shards if s.id in finished)
        bar = tqdm(
            total=config.runs,
            initial=done_runs,
            unit="model",
            desc=f"building {writer.name}",
            disable=not progress,
            smoothing=0.1,
        )
        started, trained = time.perf_counter(), 0
        spec = config.to_dict()
        results = run_tasks(
            train_shard,
            [(spec, shard.id, shard.runs, device, threads_per_worker) for shard in todo],
            workers=workers,
            ray_address=ray_address,
            num_cpus=threads_per_worker,
            num_gpus=1 if device == "cuda" else 0,
        )
        for shard_id, table, weights in results:
            writer.write_shard(shard_id, table, weights)
            runs = table["run_id"].nunique()
            trained += runs
            bar.update(runs)
            bar.set_postfix(models_per_min=f"{60 * trained / (time.perf_counter() - started):.0f}")
        bar.close()
        return writer.finalize()
