"""What a results folder still lacks: the trainings of its preset that have no rows yet.

The tables of a run in progress leave out what some encoder has not reached (and say so), but a
zoo no encoder has reached yet leaves no trace in them at all. This names it: per experiment
asked of the folder, each source zoo and the encoders with runs still to do, read from the
preset the folder's ``meta.json`` records and the rows it holds. Nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from analysis.protocol import EXPERIMENTS, BenchSpec
from analysis.results import requested_experiments


@dataclass(frozen=True)
class Missing:
    """One experiment's source zoo: ``runs`` of its ``total`` (encoder, variant, seed) runs have
    no rows yet, those of ``encoders`` (of the experiment's ``of_encoders``)."""

    experiment: str
    source: str
    encoders: tuple[str, ...]
    of_encoders: int
    runs: int
    total: int

    def describe(self) -> str:
        """``shapes (all runs)``, ``mnist (12 of 30 runs: sne, gmn)``."""
        runs = "all runs" if self.runs == self.total else f"{self.runs} of {self.total} runs"
        if len(self.encoders) < self.of_encoders:
            runs += f": {', '.join(self.encoders)}"
        return f"{self.source} ({runs})"


def missing_runs(meta: dict, rows: pd.DataFrame) -> list[Missing]:
    """The preset's runs of every experiment asked of the folder
    (:func:`~analysis.results.requested_experiments`) with no row in ``rows`` (label-noise
    references aside), grouped by experiment and source zoo; empty for a finished folder or a
    ``meta.json`` older than the presets."""
    try:
        config = BenchSpec.read(meta.get("config", {}))
    except (ValueError, TypeError):
        return []
    architectures = {name: str(spec.get("architecture")) for name, spec in config.zoos.items()}
    present = set()
    if not rows.empty:
        variant = rows["variant"].astype(object).where(rows["variant"].notna(), "").astype(str)
        cells = (rows["experiment"], rows["encoder"], variant, rows["source"], rows["seed"])
        present = set(zip(*cells, strict=True))
    missing = []
    for experiment in requested_experiments(meta):
        if experiment not in EXPERIMENTS:  # a folder of an older protocol
            continue
        encoders = config.experiment_encoders(experiment)
        variants = config.experiment_variants(experiment)
        try:
            pairs = config.experiment_pairs(experiment, architectures)
        except KeyError:
            continue
        for source, _ in pairs:
            lacking = {
                encoder: sum(
                    (experiment, encoder, variant, source, seed) not in present
                    for variant in variants
                    for seed in config.seeds
                )
                for encoder in encoders
            }
            runs = sum(lacking.values())
            if runs:
                total = len(encoders) * len(variants) * len(config.seeds)
                names = tuple(e for e, n in lacking.items() if n)
                missing.append(Missing(experiment, source, names, len(encoders), runs, total))
    return missing


def progress_note(missing: list[Missing], resume: str) -> str:
    """One paragraph: what is still to run, per experiment, and the command that runs it."""
    experiments: dict[str, list[str]] = {}
    for m in missing:
        experiments.setdefault(m.experiment, []).append(m.describe())
    still = "; ".join(f"{e} from {', '.join(parts)}" for e, parts in experiments.items())
    return (
        f"Incomplete (results still being computed): no rows yet for {still}. `{resume}` runs them."
    )
