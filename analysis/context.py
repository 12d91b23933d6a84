"""How and where a benchmark runs, apart from what it runs (the preset): the device, the precision
that replaces a preset's ``auto``, the workers, threads and Ray cluster, the progress bars and the
zoo cache. Built once, from ``nnenc bench``'s options or :func:`analysis.runner.run_benchmark`'s
keywords, and handed to every zoo build, search and job as it is (frozen: it pickles into worker
processes and Ray tasks unchanged).

The precision is applied in one place (:meth:`RunContext.with_precision`), to a zoo's build spec
and to an encoder's training options left at ``auto``. It is not written into the preset: a
zoo's cache folder and a row's recorded settings are named by the preset's own values, so a
results folder finished with ``--precision fp32`` keeps its zoos and its jobs' keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nnenc.encoders import encoder_names
from nnenc.precision import check_device, check_precision
from nnenc.predict.performance import training_precision


@dataclass(frozen=True)
class RunContext:
    """The run's machine settings (see the module docstring).

    Attributes:
        device: ``"cpu"`` or ``"cuda"``: where zoos are built and predictors trained (recorded
            in each row; not part of a row's key, so a run may be finished on another device).
        precision: what builds and trainings compute in where the preset leaves the precision at
            ``auto``; ``auto`` keeps the preset's (:func:`nnenc.precision.resolve_precision`).
        workers: local worker processes (each job in one; ignored with ``ray_address``).
        threads: torch threads per job.
        ray_address: run jobs as Ray tasks (``"auto"``, ``"ray://HOST:PORT"``, ``"local"``).
        progress: show progress bars.
        zoo_root: where built zoos are cached (default: :func:`nnenc.cache.cache_dir`).
    """

    device: str = "cpu"
    precision: str = "auto"
    workers: int = 2
    threads: int = 1
    ray_address: str | None = None
    progress: bool = True
    zoo_root: Path | None = None

    def __post_init__(self) -> None:
        check_device(self.device)
        check_precision(self.precision)
        for name in ("workers", "threads"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a whole number of at least 1, got {value!r}")

    def with_precision(self, settings: dict) -> dict:
        """``settings`` (a zoo's build spec, a training's options) with :attr:`precision` in
        place of an ``auto`` it has or leaves implied; unchanged where either is explicit."""
        if self.precision == "auto" or settings.get("precision", "auto") != "auto":
            return settings
        return {**settings, "precision": self.precision}

    def training(self, encoder: str, training: dict) -> dict:
        """The training options ``encoder``'s predictor runs with: :meth:`with_precision` for
        an encoder plus a head; STATNN's trees and the references have no precision."""
        return self.with_precision(training) if encoder in encoder_names() else training

    def computes_in(self, encoder: str, training: dict) -> str | None:
        """What ``encoder`` trains in here (``fp32``/``bf16``), or None for a predictor that is
        not an encoder plus a head."""
        if encoder not in encoder_names():
            return None
        precision = self.training(encoder, training).get("precision", "auto")
        return training_precision(encoder, precision, self.device)

    @property
    def task_options(self) -> dict:
        """:func:`nnenc.tasks.run_tasks`'s keywords: where the tasks run and what each asks."""
        return {
            "workers": self.workers,
            "ray_address": self.ray_address,
            "num_cpus": self.threads,
            "num_gpus": 1 if self.device == "cuda" else 0,
        }


@dataclass(frozen=True)
class RunInputs:
    """What every job and search of one benchmark run reads beside itself: the zoos on disk by
    name, the split and protocol, the results folder, and the :class:`RunContext`."""

    zoo_paths: dict[str, str]
    split: tuple[float, float, float]
    protocol: str
    out: str
    context: RunContext

    @classmethod
    def of(cls, zoo_paths: dict, split, protocol: str, out, context: RunContext) -> RunInputs:
        paths = {name: str(path) for name, path in zoo_paths.items()}
        return cls(paths, tuple(split), protocol, str(out), context)
