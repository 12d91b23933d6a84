"""Run benchmark experiments: build (or find) the zoos, plan the jobs, run the ones not yet in the
results folder over local worker processes or Ray tasks, and store each job's rows as it
finishes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import torch
from tqdm.auto import tqdm

from analysis.config import BenchConfig, experiment_zoos
from analysis.jobs import job_arguments, plan_jobs, run_job
from analysis.results import ResultsStore
from analysis.zoos import ensure_zoos
from nnenc import load_zoo
from nnenc.tasks import run_tasks


def zoos_of(config: BenchConfig, experiments: list[str]) -> list[str]:
    names: list[str] = []
    for experiment in experiments:
        for name in experiment_zoos(config.experiment(experiment)):
            if name not in names:
                names.append(name)
    return names


def run_benchmark(
    config: BenchConfig,
    experiments: list[str],
    out: str | Path,
    workers: int = 2,
    threads: int = 1,
    ray_address: str | None = None,
    progress: bool = True,
    zoo_root: Path | None = None,
    device: str = "cpu",
) -> pd.DataFrame:
    """Run ``experiments`` of ``config`` into the results folder ``out``; returns all its rows.

    Args:
        workers: local worker processes (each job in one; ignored with ``ray_address``).
        threads: torch threads per job.
        ray_address: run jobs as Ray tasks (``"auto"``, ``"ray://HOST:PORT"``, ``"local"``).
        zoo_root: where built zoos are cached (default: :func:`nnenc.cache.cache_dir`).
        device: ``"cpu"`` or ``"cuda"``: where zoos are built and predictors trained (recorded in
            each row; it is not part of a row's key, so a run may be finished on another device).
    """
    for experiment in experiments:
        config.experiment(experiment)  # unknown experiment: refused before any work
    if device not in ("cpu", "cuda"):
        raise ValueError(f"--device {device!r}: use cpu or cuda")
    if device == "cuda" and not torch.cuda.is_available():
        raise ValueError("--device cuda: no CUDA device is available here; use --device cpu")
    store = ResultsStore(out, config.raw)
    names = zoos_of(config, experiments)
    paths = ensure_zoos(config.zoos, names, workers, ray_address, progress, zoo_root, device)
    store = ResultsStore(out, config.raw, zoos=paths)
    architectures = {name: ",".join(load_zoo(paths[name]).architectures) for name in names}
    jobs = [job for e in experiments for job in plan_jobs(config, e, architectures)]
    done = store.done_keys()
    todo = [job for job in jobs if not set(job.keys) <= done]
    bar = tqdm(
        total=len(jobs),
        initial=len(jobs) - len(todo),
        desc=f"benchmark {'+'.join(experiments)}",
        unit="job",
        disable=not progress,
    )
    results = run_tasks(
        run_job,
        job_arguments(todo, paths, config.split, Path(out), threads, device),
        workers=workers,
        ray_address=ray_address,
        num_cpus=threads,
        num_gpus=1 if device == "cuda" else 0,
    )
    for rows in results:
        store.append(rows)
        bar.update(1)
        first = rows[0]
        bar.set_postfix_str(f"{first['encoder']} on {first['source']} (seed {first['seed']})")
    bar.close()
    return store.rows()
