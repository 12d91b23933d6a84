"""The same small hyperparameter search for every encoder, SNE included, with Optuna.

Each encoder declares what may vary beside its code (``search_space`` on the encoder class:
learning rate, width, depth). A preset's ``tuning: {zoo, trials, seed}`` gives every encoder
``trials`` trainings on ``zoo``'s train split (split and protocol as the benchmark's, with the
tuning seed), each scored by Kendall tau on the validation split; the best configuration is
then used for every experiment, seed and zoo. Tuning once on one source zoo keeps the compute
within reach; the tables say so.

A search is stored as Optuna's journal (``RESULTS/tuning/<encoder>.log``): an interrupted
search resumes with the trials it has and runs only the rest. The budget is counted in distinct
configurations: a trial that repeats one already tried does not count. (A resumed search seeds
its sampler with the seed and the number of trials so far: seeded as at the start, it drew the
first configurations again; the changelog's history says what that cost.) An
uninterrupted search draws what it always drew. Each trial records the precision it trained in,
and a search is finished in the precision it began in (:func:`refuse_another_precision`). The
choice is written to ``RESULTS/tuning.json``.
"""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import numpy as np
import optuna
import torch
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from analysis.config import BenchConfig
from analysis.context import RunInputs
from analysis.jobs import Job, make_predictor, protocol_splits
from analysis.results import REUSE, TUNING, ResultsStore, search_spec
from nnenc import load_zoo
from nnenc.io.atomic import atomic_path, write_json
from nnenc.predict.registry import search_space


def _suggest(trial: optuna.Trial, space: dict) -> dict:
    """One configuration from ``space``: ``{"config": {...}, "training": {...}}``. A choice is
    suggested by its index (Optuna's choices must be plain scalars; a width may be a list)."""
    chosen: dict = {"config": {}, "training": {}}
    for name, (kind, *bounds) in space.items():
        section, key = name.split(".", 1)
        if kind == "log":
            value = trial.suggest_float(name, bounds[0], bounds[1], log=True)
        elif kind == "choice":
            values = bounds[0]
            value = values[trial.suggest_categorical(name, list(range(len(values))))]
        else:
            raise ValueError(f"search space {name!r}: unknown kind {kind!r} (log or choice)")
        chosen[section][key] = value
    return chosen


def tune_encoder(
    encoder: str, base: dict, zoo: str, trials: int, seed: int, inputs: RunInputs
) -> dict:
    """Run what remains of ``encoder``'s search on zoo ``zoo`` of ``inputs`` (``base``: its
    preset ``config`` and ``training``), each trial in the context's precision where the preset
    says ``auto`` (:meth:`~analysis.context.RunContext.training`); returns the best
    configuration, its validation tau and every trial."""
    context = inputs.context
    torch.set_num_threads(context.threads)
    zoo_path = inputs.zoo_paths[zoo]
    train, val, _ = protocol_splits(load_zoo(zoo_path), inputs.protocol, inputs.split, seed)
    journal = Path(inputs.out) / "tuning" / f"{encoder}.log"
    journal.parent.mkdir(parents=True, exist_ok=True)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(journal)))
    space = search_space(encoder)
    computes = context.computes_in(encoder, base.get("training", {}))
    refuse_another_precision(encoder, storage, computes, journal)

    def objective(trial: optuna.Trial) -> float:
        if computes is not None:
            trial.set_user_attr(PRECISION, computes)
        chosen = _suggest(trial, space)
        job = Job(
            "tune",
            encoder,
            "",
            (),
            seed,
            encoder_config={**base.get("config", {}), **chosen["config"]},
            training={**base.get("training", {}), **chosen["training"]},
        )
        history = make_predictor(job, context).fit(train, val, progress=False)
        return float(history["val_kendall_tau"].max())

    study = search(encoder, storage, seed, trials, objective)
    finished = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not finished:
        raise RuntimeError(f"tuning {encoder}: every trial failed; see {journal}")
    best = max(finished, key=lambda t: t.value)
    replay = optuna.trial.FixedTrial(best.params)
    chosen = _suggest(replay, space)
    return {
        "encoder": encoder,
        "config": {**base.get("config", {}), **chosen["config"]},
        "training": {**base.get("training", {}), **chosen["training"]},
        "val_kendall_tau": best.value,
        "trials": [
            {"number": t.number, "state": t.state.name, "value": t.value, "params": t.params}
            for t in study.trials
        ],
    }


PRECISION = "precision"
"""A trial's user attribute: what it trained in (``fp32``/``bf16``; absent in journals written by
older nnenc versions, and for predictors that are not an encoder plus a head)."""


def refuse_another_precision(
    name: str, storage: JournalStorage, computes: str | None, journal: Path
) -> None:
    """Refuse to go on with the search ``name`` in ``computes`` where its finished trials trained
    in another precision: their validation taus would be compared across precisions. Nothing to
    check (the journal is not read) where ``computes`` is ``None``."""
    if computes is None:
        return
    try:
        trials = optuna.load_study(study_name=name, storage=storage).trials
    except KeyError:  # no such study yet
        return
    began = {t.user_attrs[PRECISION] for t in trials if PRECISION in t.user_attrs}
    if began - {computes}:
        raise ValueError(
            f"{journal}: the search for {name} began in {', '.join(sorted(began))} and this run "
            f"trains in {computes}; finish it with --precision {min(began)}, or move the "
            "journal away to search again"
        )


def search(name: str, storage: JournalStorage, seed: int, trials: int, objective) -> optuna.Study:
    """Run what remains of the study ``name`` in ``storage``: trials of ``objective`` until
    ``trials`` distinct configurations have been tried (failed ones included)."""
    study = _study(name, storage, seed)
    for _ in range(3 * trials):  # bounded: a space of fewer configurations ends the search
        missing = trials - len(tried_configurations(study))
        if missing <= 0:
            break
        study.optimize(objective, n_trials=missing, catch=(ValueError, RuntimeError))
        study = _study(name, storage, seed)
    return study


def _study(name: str, storage: JournalStorage, seed: int) -> optuna.Study:
    """The study ``name``, its sampler seeded with ``seed`` when it has no trials yet, else
    with ``seed`` and the number of trials it has (a resumed search draws new configurations).
    Loading an existing study writes nothing to its journal."""
    try:
        done = len(optuna.load_study(study_name=name, storage=storage).trials)
    except KeyError:  # no such study yet
        return optuna.create_study(
            study_name=name,
            storage=storage,
            sampler=optuna.samplers.TPESampler(seed=seed),
            direction="maximize",
        )
    state = seed if done == 0 else int(np.random.SeedSequence([seed, done]).generate_state(1)[0])
    sampler = optuna.samplers.TPESampler(seed=state)
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler)


def tried_configurations(study: optuna.Study) -> set[str]:
    """The distinct configurations the finished trials tried (what a search's budget counts)."""
    return {json.dumps(t.params, sort_keys=True) for t in study.trials if t.state.is_finished()}


def tuned_config(config: BenchConfig, choices: dict[str, dict]) -> BenchConfig:
    """``config`` with each tuned encoder's ``config`` and ``training`` replaced by its choice."""
    encoders = copy.deepcopy(config.encoders)
    for encoder, choice in choices.items():
        encoders[encoder] = {"config": choice["config"], "training": choice["training"]}
    return BenchConfig(**{**config.__dict__, "encoders": encoders})


def tuning_arguments(config: BenchConfig, inputs: RunInputs) -> list[tuple]:
    """One :func:`tune_encoder` call per encoder of ``config`` (same trials, zoo and seed)."""
    spec = config.tuning
    trials, seed = int(spec["trials"]), int(spec.get("seed", 0))
    arguments = []
    for encoder, options in config.encoders.items():
        base = {
            "config": dict(options.get("config", {})),
            "training": {**config.training, **options.get("training", {})},
        }
        arguments.append((encoder, base, spec["zoo"], trials, seed, inputs))
    return arguments


def reuse_searches(config: BenchConfig, out: Path, zoo_path: str) -> list[str]:
    """Copy the journals of the searches ``config.tuning["reuse"]`` (a results folder) ran with
    the same spec, tuning zoo and encoder settings into ``out/tuning/``: the same searches, not
    run again, so the two folders' tables can be read as one (:mod:`analysis.combine`). A
    journal already in ``out`` is kept. Returns the encoders whose searches were copied."""
    source = config.tuning.get(REUSE)
    if not source:
        return []
    earlier = ResultsStore(source)  # refuses a folder that is not a results folder
    theirs = earlier.meta.get("config", {})
    problems = []
    if search_spec(theirs) != search_spec(config.raw):
        problems.append(
            f"its search spec {search_spec(theirs)} is not this one's {search_spec(config.raw)}"
        )
    tuning_zoo = earlier.meta.get("zoos", {}).get(config.tuning["zoo"])
    if tuning_zoo != str(zoo_path):
        problems.append(f"its tuning zoo is {tuning_zoo}, this run's {zoo_path}")
    if problems:
        raise ValueError(f"tuning.reuse: {source} ran other searches: " + "; ".join(problems))
    copied = []
    for encoder in config.encoders:
        journal = Path(source) / "tuning" / f"{encoder}.log"
        mine = Path(out) / "tuning" / f"{encoder}.log"
        same = (theirs.get("encoders") or {}).get(encoder) == config.raw["encoders"].get(
            encoder
        ) and theirs.get("training") == config.raw.get("training")
        if same and journal.is_file() and not mine.exists():
            with atomic_path(mine) as tmp:
                shutil.copyfile(journal, tmp)
            copied.append(encoder)
    return copied


def write_summary(out: Path, config: BenchConfig, choices: dict[str, dict]) -> None:
    write_json(
        {"tuning": config.tuning, "protocol": config.protocol, "choices": choices},
        out / TUNING,
    )
