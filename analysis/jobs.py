"""Benchmark jobs: what to train and where to score it (:func:`plan_jobs`), and one job run in a
worker process or Ray task (:func:`run_job`), which returns its result rows.

A job trains one predictor (any name :mod:`nnenc.predict.registry` knows: an encoder plus a head,
STATNN's trees, the label-noise reference) on one source zoo with one seed, selects it on the source's validation split, and
scores it on the test split of each target zoo. A target the encoder cannot read (the flat MLP
on another architecture) gives a row with status ``n/a`` and the reason. Trained predictors are
saved in the results folder and reused by any later job that would train the same one (another
experiment with the same encoder, settings, source and seed), so ``in-dist`` after
``cross-dataset`` trains nothing.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from analysis.config import BenchConfig
from analysis.context import RunContext, RunInputs
from analysis.protocol import TRANSFER
from analysis.results import job_key, output_name
from nnenc import load_zoo
from nnenc.encoders import EncoderInputError
from nnenc.io.atomic import write_csv, write_json
from nnenc.metrics import prediction_metrics
from nnenc.predict.protocol import EncodingPredictor, Predictor
from nnenc.predict.registry import (
    create_predictor,
    load_predictor,
    predictor_names,
    predictor_role,
    settings,
)
from nnenc.version import package_version
from nnenc.zoo.splits import learning_curve_splits, zoo_splits
from nnenc.zoo.zoo import Zoo, ZooSplits

FIT = "fit.json"


@dataclass(frozen=True)
class Job:
    experiment: str
    encoder: str
    source: str
    targets: tuple[str, ...]
    seed: int
    variant: str = ""
    encoder_config: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    """Other variant names with the same settings (an ablation's base value appears under every
    factor): trained once, reported under each."""
    networks: int = 0
    """A learning-curve run's training networks (train and validation); 0 for the others."""
    test_runs: int = 0
    """A learning-curve run's fixed test split, in runs; 0 for the others."""

    @property
    def key(self) -> str:
        return self.key_for(self.variant)

    def key_for(self, variant: str) -> str:
        return job_key(self.experiment, self.encoder, variant, self.source, self.seed)

    @property
    def settings(self) -> str:
        """The encoder config and training options its rows record (their ``config`` cell)."""
        return json.dumps({"encoder": self.encoder_config, "training": self.training})

    @property
    def keys(self) -> list[str]:
        return [self.key_for(v) for v in (self.variant, *self.aliases)]

    def output_name(self, target: str) -> str:
        """File stem of this job's predictions and encodings for ``target``."""
        cells = (self.experiment, self.encoder, self.variant, self.source, self.seed)
        return output_name(*cells, target)


def _variants(config: BenchConfig, experiment: str, encoder: str):
    """(variant name, encoder config, training) for each run of ``encoder``."""
    spec = config.encoders[encoder]
    base_config = dict(spec.get("config", {}))
    base_training = {**config.training, **spec.get("training", {})}
    if experiment != "ablate":  # a learning curve's sizes are jobs of their own (plan_jobs)
        return [("", base_config, base_training)]
    variants = []
    for factor, values in config.experiment("ablate").get("factors", {}).items():
        for value in values:
            cfg, training = dict(base_config), dict(base_training)
            if factor == "pooling":
                cfg.update(chunk_pool=value, layer_pool=value, network_pool=value)
            elif factor == "logit_invariance":
                training["logit_invariance"] = float(value)
            else:
                cfg[factor] = value
            variants.append((f"{factor}={value}", cfg, training))
    return variants


def plan_jobs(config: BenchConfig, experiment: str, architectures: dict[str, str]) -> list[Job]:
    """Every job of ``experiment`` (each reference of :mod:`nnenc.predict.registry` on each target
    included), references first (they train nothing, so a run cut short still has them), then
    the configuration's order of encoders.

    ``architectures`` maps each zoo name to its architecture (cross-arch pairs zoos of
    different ones).
    """
    pairs = config.experiment_pairs(experiment, architectures)
    encoders = config.experiment_encoders(experiment)
    references = [n for n in predictor_names() if predictor_role(n) == "reference"]
    jobs = [
        Job(experiment, name, target, (target,), seed)
        for target in sorted({t for _, targets in pairs for t in targets})
        for name in references
        for seed in config.seeds
    ]
    if experiment == "learning-curve":  # its test split is its own: no reference beside it
        return _learning_curve_jobs(config, encoders)
    for source, targets in pairs:
        for encoder in encoders:
            same: list[tuple] = []  # (settings, [cfg, training, variant names]), first seen first
            for variant, cfg, training in _variants(config, experiment, encoder):
                effective = settings(encoder, cfg, training)
                for known, group in same:
                    if known == effective:
                        group.append(variant)
                        break
                else:
                    same.append((effective, [cfg, training, variant]))
            for cfg, training, variant, *aliases in (group for _, group in same):
                jobs += [
                    Job(
                        experiment,
                        encoder,
                        source,
                        targets,
                        seed,
                        variant,
                        cfg,
                        training,
                        tuple(aliases),
                    )
                    for seed in config.seeds
                ]
    return jobs


def _learning_curve_jobs(config: BenchConfig, encoders: list[str]) -> list[Job]:
    """A job per encoder, size and seed of the ``learning-curve`` experiment: each trains on
    ``networks=N`` runs of its zoo and is scored on the fixed test split."""
    spec = config.experiment("learning-curve")
    zoo, test_runs = spec["zoo"], int(spec["test_runs"])
    variants = config.experiment_variants("learning-curve")
    return [
        Job(
            "learning-curve",
            encoder,
            zoo,
            (zoo,),
            seed,
            variant,
            cfg,
            training,
            networks=int(size),
            test_runs=test_runs,
        )
        for encoder in encoders
        for (_, cfg, training) in _variants(config, "learning-curve", encoder)
        for variant, size in zip(variants, spec["sizes"], strict=True)
        for seed in config.seeds
    ]


def _peak_reset() -> None:
    try:  # Linux: restart the high-water mark so VmHWM is this job's own peak
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    try:
        with open("/proc/self/status") as handle:
            for line in handle:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_predictor(job: Job, context: RunContext) -> Predictor:
    """The predictor a job trains (:func:`nnenc.predict.registry.create_predictor`), in the
    context's precision where its preset leaves it at ``auto``
    (:meth:`~analysis.context.RunContext.training`)."""
    training = context.training(job.encoder, job.training)
    return create_predictor(job.encoder, job.encoder_config, training, job.seed, context.device)


def protocol_splits(
    zoo: Zoo, protocol: str, split: tuple, seed: int, transfer: str | None = None
) -> ZooSplits:
    """Train/val/test of ``zoo`` by :func:`nnenc.zoo.splits.zoo_splits`: the checkpoints
    ``protocol`` names, split by training run with ``seed`` (and, for an experiment of
    :data:`TRANSFER`, tested on architectures the training split never had)."""
    return zoo_splits(zoo, tuple(split), seed, protocol, transfer)[0]


def job_splits(job: Job, zoo: Zoo, protocol: str, split: tuple) -> ZooSplits:
    """The splits ``job`` trains and tests on: a learning curve's point
    (:func:`nnenc.zoo.splits.learning_curve_splits`), else :func:`protocol_splits`."""
    if job.networks:
        return learning_curve_splits(zoo, job.networks, job.test_runs, job.seed, protocol)[0]
    return protocol_splits(zoo, protocol, split, job.seed, TRANSFER.get(job.experiment))


def run_job(job: Job, inputs: RunInputs) -> list[dict]:
    """Run one job with the context's torch threads, training on its device in its precision
    where the preset says ``auto``, networks drawn from the zoos by the run's protocol
    (:func:`job_splits`); returns its rows, one per target."""
    context = inputs.context
    torch.set_num_threads(context.threads)
    _peak_reset()
    started = time.perf_counter()
    splits = {}

    def split_of(name: str):
        if name not in splits:
            zoo = load_zoo(inputs.zoo_paths[name])
            splits[name] = job_splits(job, zoo, inputs.protocol, inputs.split)
        return splits[name]

    base = {
        "experiment": job.experiment,
        "encoder": job.encoder,
        "variant": job.variant,
        "source": job.source,
        "seed": job.seed,
        "config": job.settings,
        "nnenc_version": package_version(),
        "device": context.device,
        "protocol": inputs.protocol,
        "role": predictor_role(job.encoder),
    }
    try:
        predictor, fitted = _trained(job, split_of, inputs)
    except EncoderInputError as err:  # it cannot read its training zoo (one architecture only)
        reason = f"cannot train on {job.source}: {str(err).splitlines()[0]}"
        predictor, fitted = None, {"reason": reason}
    row, out = {**base, **fitted}, Path(inputs.out)
    rows = [_target_row(job, predictor, row, split_of(t).test, t, out) for t in job.targets]
    ended = {
        "peak_rss_mb": _peak_mb(),
        "wall_seconds": time.perf_counter() - started,
        "finished_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    for row in rows:
        row.update(ended)
    return rows + [{**row, "variant": alias} for alias in job.aliases for row in rows]


def _target_row(job: Job, predictor, row: dict, test, target: str, out: Path) -> dict:
    """``row`` (the job's cells) completed with ``predictor``'s scores on ``target``'s test
    split, whose predictions are saved under every name the job's rows carry; ``n/a`` with the
    reason where it cannot read the target, or could not train."""
    row = {**row, "target": target, "n_test": len(test)}
    row["test_architectures"] = " ".join(sorted(set(test.metrics["architecture"])))
    if predictor is None:
        return {**row, "status": "n/a"}
    try:
        predicted = predictor.predict(test)
    except EncoderInputError as err:
        return {**row, "status": "n/a", "reason": str(err).splitlines()[0]}
    true = test.metrics[predictor.target].to_numpy(float)
    _save_outputs(out, job, target, test, true, predicted, predictor)
    for alias in job.aliases:  # the same predictions, under each name the rows carry
        _save_outputs(out, replace(job, variant=alias), target, test, true, predicted)
    return {**row, "status": "ok", **prediction_metrics(true, predicted)}


def training_key(job: Job, inputs: RunInputs) -> str:
    """What a job's training depends on (encoder, its effective settings with the precision
    resolved for the context's device, the source zoo, the split and protocol, the seed),
    hashed: jobs of any experiment with the same key train the same predictor (training is
    deterministic), so one trains it and the others reuse it."""
    context = inputs.context
    training = context.training(job.encoder, job.training)
    effective = settings(job.encoder, job.encoder_config, training, context.device).canonical()
    splitting = [list(inputs.split), inputs.protocol]
    if job.experiment in TRANSFER:  # keys of the other experiments stay what they were
        splitting.append(TRANSFER[job.experiment])
    if job.networks:
        splitting.append(["learning-curve", job.networks, job.test_runs])
    spec = [job.encoder, effective, inputs.zoo_paths[job.source], splitting, job.seed]
    return hashlib.sha256(json.dumps(spec).encode()).hexdigest()[:12]


def _trained(job: Job, split_of, inputs: RunInputs):
    """(predictor, fit figures): loaded from ``out/predictors/`` when a job with the same
    :func:`training_key` trained it before, else trained (and saved where the predictor is
    ``saveable``; the others, STATNN's trees and the reference, fit in seconds)."""
    key = training_key(job, inputs)
    device = inputs.context.device
    folder = Path(inputs.out) / "predictors" / f"{job.encoder}_{job.source}_s{job.seed}_{key}"
    if (folder / FIT).is_file():  # written last: present = the predictor is complete
        fitted = json.loads((folder / FIT).read_text())
        try:
            return load_predictor(job.encoder, folder, device=device), fitted
        except FileNotFoundError:  # a clone without the weights, which git does not track:
            pass  # trained again, to the same weights (training is deterministic)
    train, val, _ = split_of(job.source)
    predictor = make_predictor(job, inputs.context)
    started = time.perf_counter()
    history = predictor.fit(train, val, progress=False)
    fitted = {
        "precision": predictor.precision,
        "val_kendall_tau": float(history["val_kendall_tau"].max()),
        "epochs_run": len(history),
        "train_seconds": time.perf_counter() - started,
        "n_train": len(train),
    }
    if "epochs" in getattr(predictor, "settings", {}):  # an encoder plus a head: a budget
        fitted["best_epoch"] = predictor.best_epoch + 1
        fitted["epochs_cap"] = predictor.settings["epochs"]
        fitted["ended_improving"] = predictor.ended_improving
    if predictor.saveable:
        predictor.save(folder)
        write_json(fitted, folder / FIT)
    return predictor, fitted


def _save_outputs(out: Path, job: Job, target: str, test, true, predicted, predictor=None) -> None:
    """Predictions (for intervals and scatter plots; the label-noise reference's are the two
    halves' accuracies) and, for predictors that encode, the encodings of the target's test
    networks (for embedding plots)."""
    name = job.output_name(target)
    table = pd.DataFrame(
        {
            "model_id": test.metrics["model_id"].to_numpy(),
            "run_id": test.metrics["run_id"].to_numpy(),
            "true": true,
            "predicted": predicted,
        }
    )
    write_csv(table, out / "predictions" / f"{name}.csv.gz")
    if isinstance(predictor, EncodingPredictor):
        folder = out / "encodings"
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / f"{name}.npy", predictor.encode(test).astype(np.float32))


def job_arguments(jobs: list[Job], inputs: RunInputs) -> list[tuple[Job, RunInputs]]:
    """:func:`run_job`'s arguments for each of ``jobs``: the job itself and the run's inputs."""
    return [(job, inputs) for job in jobs]
