"""A predictor's training options as one frozen dataclass, :class:`TrainingConfig`, and the
settings a predictor really runs with, :class:`EffectiveSettings`, which compare as dataclasses
and hash into a training's key. No torch: a preset is checked, and a report reads recorded
options, without it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields

from nnenc.budget import SCHEDULE_DEFAULTS, budget_problems, effective_budget

LOSSES = ("bce", "mse")


@dataclass(frozen=True)
class TrainingConfig:
    """How an encoder plus a head trains (:class:`~nnenc.predict.performance.PerformancePredictor`).

    Attributes:
        target: the metrics column it predicts.
        loss: ``bce`` (targets in [0, 1]) or ``mse``.
        epochs, batch_size, lr, weight_decay, patience: the budget (:mod:`nnenc.budget`); left
            out, ``patience`` is 10 or the epochs, whichever is fewer.
        seed: initial weights and batch order.
        logit_invariance: weight of the hidden-neuron permutation regulariser.
        head_hidden: the head's width.
        device, precision: where and in what it computes (``auto``/``fp32``/``bf16``).
        schedule, schedule_patience, schedule_factor: the learning-rate schedule
            (:data:`nnenc.budget.SCHEDULES`).
    """

    target: str = "test_accuracy"
    loss: str = "bce"
    epochs: int = 50
    batch_size: int = 32
    lr: float = 1e-3
    weight_decay: float = 1e-2
    patience: int = 10
    seed: int = 0
    logit_invariance: float = 0.0
    head_hidden: int = 64
    device: str = "cpu"
    precision: str = "auto"
    schedule: str = SCHEDULE_DEFAULTS["schedule"]
    schedule_patience: int = SCHEDULE_DEFAULTS["schedule_patience"]
    schedule_factor: float = SCHEDULE_DEFAULTS["schedule_factor"]

    @classmethod
    def from_options(cls, options: Mapping | None = None) -> TrainingConfig:
        """``options`` (a preset's or a caller's keywords) over the defaults; an unknown key is
        refused, naming the valid ones. Values are checked by :meth:`problems`."""
        options = dict(options or {})
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(options) - set(names))
        if unknown:
            raise ValueError(f"unknown training option(s) {unknown}; valid: {', '.join(names)}")
        epochs = options.get("epochs", cls.epochs)
        if "patience" not in options and isinstance(epochs, int) and epochs >= 1:
            options["patience"] = min(cls.patience, epochs)
        return cls(**options)

    def as_dict(self) -> dict:
        return asdict(self)

    def problems(self) -> list[str]:
        """What would stop this training from running, each naming its key; empty if none."""
        problems = budget_problems(self.as_dict())
        if self.loss not in LOSSES:
            problems.append(f"loss must be one of {', '.join(LOSSES)}, got {self.loss!r}")
        return problems

    def check(self, where: str = "training options") -> TrainingConfig:
        """Refuse a training that cannot run (:meth:`problems`); returns itself."""
        problems = self.problems()
        if problems:
            raise ValueError(f"{where}: " + "; ".join(problems))
        return self


TRAINING_DEFAULTS = TrainingConfig().as_dict()
"""Every training option and its default (:class:`TrainingConfig`)."""


@dataclass(frozen=True)
class EffectiveSettings:
    """What a predictor really runs with (:func:`nnenc.predict.registry.settings`): its
    encoder's full config and its training options, the precision resolved for its device and
    the schedule's options dropped where the schedule is ``none``
    (:func:`nnenc.budget.effective_budget`: a training from before schedules keeps its key)."""

    encoder: dict
    training: dict

    @classmethod
    def of(cls, encoder: dict, training: TrainingConfig | Mapping) -> EffectiveSettings:
        if isinstance(training, TrainingConfig):
            training = effective_budget(training.as_dict())
        return cls(dict(encoder), dict(training))

    def canonical(self) -> str:
        """One string for equal settings (a training's key hashes it)."""
        return json.dumps([self.encoder, self.training], sort_keys=True, default=str)
