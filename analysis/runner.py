"""Run benchmark experiments: build (or find) the zoos, plan the jobs, run the ones not yet in the
results folder over local worker processes or Ray tasks, and store each job's rows as it
finishes.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from tqdm.auto import tqdm

from analysis.config import BenchConfig
from analysis.context import RunContext, RunInputs
from analysis.jobs import Job, job_arguments, plan_jobs, run_job
from analysis.protocol import MIN_TEST_RUNS, experiment_zoos, split_counts
from analysis.results import ResultsStore, canonical_json
from analysis.tuning import (
    reuse_searches,
    tune_encoder,
    tuned_config,
    tuning_arguments,
    write_summary,
)
from analysis.zoos import ensure_zoos
from nnenc import load_zoo
from nnenc.io.locks import WriterLock
from nnenc.tasks import run_tasks


def zoos_of(config: BenchConfig, experiments: list[str]) -> list[str]:
    names: list[str] = []
    for experiment in experiments:
        for name in experiment_zoos(config.experiment(experiment)):
            if name not in names:
                names.append(name)
    return names


def _tune(config: BenchConfig, out: Path, context: RunContext) -> BenchConfig:
    """Every encoder's search (:mod:`analysis.tuning`), resumed where it stopped; returns
    ``config`` with the chosen settings."""
    zoo = config.tuning["zoo"]
    paths = ensure_zoos(config.zoos, [zoo], context)
    reused = reuse_searches(config, out, str(paths[zoo]))
    if reused and context.progress:
        tqdm.write(f"tuning: the searches of {', '.join(reused)} from {config.tuning['reuse']}")
    inputs = RunInputs.of(paths, config.split, config.protocol, out, context)
    arguments = tuning_arguments(config, inputs)
    bar = tqdm(
        total=len(arguments),
        desc="tuning (same trials per encoder)",
        unit="encoder",
        disable=not context.progress,
    )
    choices = {}
    for choice in run_tasks(tune_encoder, arguments, **context.task_options):
        choices[choice["encoder"]] = choice
        bar.update(1)
        bar.set_postfix_str(f"{choice['encoder']}: val tau {choice['val_kendall_tau']:.3f}")
    bar.close()
    choices = {name: choices[name] for name in config.encoders}
    write_summary(out, config, choices)
    return tuned_config(config, choices)


def missing(jobs: list[Job], store: ResultsStore) -> list[Job]:
    """The jobs whose rows are not all in ``store``, whatever their settings."""
    done = store.done_keys()
    return [job for job in jobs if not set(job.keys) <= done]


def unfinished(jobs: list[Job], store: ResultsStore) -> list[Job]:
    """The jobs whose rows are not all in ``store`` (:func:`missing`), or were written with
    other settings (the tuning's choice changed, or a preset's options): those run again and
    replace their rows."""
    done, recorded = store.done_keys(), store.settings()
    todo, stale = [], 0
    for job in jobs:
        wanted = {canonical_json(job.settings)}
        if not set(job.keys) <= done:
            todo.append(job)
        elif any(recorded.get(key, wanted) != wanted for key in job.keys):
            todo.append(job)
            stale += 1
    if stale:
        tqdm.write(
            f"{stale} finished job(s) in {store.path} ran with other settings than the "
            "configuration's now (the tuning's choice changed?): running them again"
        )
    return todo


def refuse_other_precisions(jobs: list[Job], store: ResultsStore, context: RunContext) -> None:
    """Refuse to add rows to ``store`` in another precision than its rows of the same encoder:
    a folder computed across sittings (on machines where ``auto`` resolves differently, or
    another ``--precision``) would otherwise mix bf16 and fp32 trainings in one column."""
    recorded = store.precisions()
    for job in jobs:
        now = context.computes_in(job.encoder, job.training)
        before = sorted(recorded.get(job.encoder, set()) - {now})
        if now is None or not before:
            continue
        how = "what auto resolves to on this machine" if context.precision == "auto" else "as asked"
        raise ValueError(
            f"{store.path}: its {job.encoder} rows were trained in {' and '.join(before)}, and "
            f"this run would train {job.encoder} in {now} ({how}): one table would mix "
            f"precisions. Finish the folder in the precision it began in (--precision "
            f"{before[0]}), or write to another --out; nothing was run"
        )


def _check_test_runs(zoos: dict, paths: dict, split) -> None:
    """Refuse a zoo whose test split would hold fewer than :data:`MIN_TEST_RUNS` training runs
    (zoos on disk: their size is known only once they are read)."""
    for name, zoo in zoos.items():
        runs = zoo.metrics["run_id"].nunique()
        test_runs = split_counts(runs, split)[2]
        if test_runs < MIN_TEST_RUNS:
            raise ValueError(
                f"zoo {name!r} ({paths[name]}) has {runs} training runs: a test split of "
                f"{split[2]:g} holds {test_runs}, fewer than {MIN_TEST_RUNS}, too few to "
                "rank encoders; use a larger zoo or give the test split more"
            )


def _run_jobs(
    store: ResultsStore,
    arguments: list,
    total: int,
    done: int,
    experiments: list[str],
    context: RunContext,
) -> None:
    """Run the jobs of ``arguments`` (:func:`run_tasks` where ``context`` says), appending each
    one's rows to ``store`` as it finishes, under a progress bar of all ``total`` jobs."""
    bar = tqdm(
        total=total,
        initial=done,
        desc=f"benchmark {'+'.join(experiments)}",
        unit="job",
        disable=not context.progress,
    )
    for rows in run_tasks(run_job, arguments, **context.task_options):
        store.append(rows)
        bar.update(1)
        first = rows[0]
        bar.set_postfix_str(f"{first['encoder']} on {first['source']} (seed {first['seed']})")
    bar.close()


def run_benchmark(
    config: BenchConfig,
    experiments: list[str],
    out: str | Path,
    context: RunContext | None = None,
    **options,
) -> pd.DataFrame:
    """Run ``experiments`` of ``config`` into the results folder ``out``; returns all its rows.

    Args:
        context: where and how it runs (:class:`~analysis.context.RunContext`: device,
            precision, workers, threads, Ray address, progress, zoo cache); or give its fields
            as keywords (``options``), e.g. ``workers=1, progress=False``. A folder's rows of one
            encoder are never mixed across precisions: new rows in another precision are
            refused (:func:`refuse_other_precisions`).
    """
    context = context or RunContext(**options)
    for experiment in experiments:
        config.experiment(experiment)  # unknown experiment: refused before any work
    out = Path(out)
    with WriterLock(out):  # one writer per results folder, before its rows are read
        ResultsStore(out, config.raw)  # a folder of another configuration: refused before builds
        names = zoos_of(config, experiments)
        paths = ensure_zoos(config.zoos, names, context)
        zoos = {name: load_zoo(paths[name]) for name in names}
        digests = {name: zoo.digest() for name, zoo in zoos.items()}
        store = ResultsStore(out, config.raw, zoos=paths, digests=digests, experiments=experiments)
        _check_test_runs(zoos, paths, config.split)
        architectures = {name: ",".join(zoo.architectures) for name, zoo in zoos.items()}
        # jobs with rows missing run whatever the tuning chooses: a precision that would mix
        # is refused before the searches (hours, where they are not finished) run
        planned = [job for e in experiments for job in plan_jobs(config, e, architectures)]
        refuse_other_precisions(missing(planned, store), store, context)
        if config.tuning:
            config = _tune(config, out, context)
        jobs = [job for e in experiments for job in plan_jobs(config, e, architectures)]
        todo = unfinished(jobs, store)
        refuse_other_precisions(todo, store, context)
        inputs = RunInputs.of(paths, config.split, config.protocol, out, context)
        arguments = job_arguments(todo, inputs)
        _run_jobs(store, arguments, len(jobs), len(jobs) - len(todo), experiments, context)
        return store.rows()
