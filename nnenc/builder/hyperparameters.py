"""The hyperparameter space a zoo build samples from, as the Small CNN Zoo does.

Per run: activation, weight initialiser and init std, optimiser, learning rate, L2, dropout and
train fraction. Ranges are log-uniform for scales (init std, learning rate, L2), uniform for
dropout, and choices for the rest. A space that cannot be satisfied is refused before any
training starts.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd

from nnenc.architectures import ACTIVATIONS
from nnenc.builder.initializers import INITIALIZERS

OPTIMIZERS = ("sgd", "momentum", "adam")


@dataclass(frozen=True)
class HyperparameterSpace:
    activation: tuple[str, ...] = ("relu", "tanh", "sigmoid", "selu")
    w_init: tuple[str, ...] = (
        "he_normal",
        "glorot_normal",
        "orthogonal",
        "normal",
        "truncated_normal",
    )
    init_std: tuple[float, float] = (1e-3, 0.5)
    optimizer: tuple[str, ...] = OPTIMIZERS
    learning_rate: tuple[float, float] = (5e-4, 5e-2)
    l2: tuple[float, float] = (1e-8, 1e-2)
    dropout: tuple[float, float] = (0.0, 0.5)
    train_fraction: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
    batch_size: int = 32

    def validate(self, train_size: int | None = None) -> None:
        """Raise ``ValueError`` naming every way this space cannot be sampled or trained."""
        problems = self._shape_problems()
        if problems:  # the checks below need each key in its shape
            raise ValueError("hyperparameter space cannot be satisfied: " + "; ".join(problems))
        for name, known in (
            ("activation", ACTIVATIONS),
            ("w_init", INITIALIZERS),
            ("optimizer", OPTIMIZERS),
        ):
            values = getattr(self, name)
            if not values:
                problems.append(f"{name}: no choices")
            unknown = [v for v in values if v not in known]
            if unknown:
                problems.append(f"{name}: unknown {unknown}; valid: {', '.join(known)}")
        for name in ("init_std", "learning_rate", "l2"):
            low, high = getattr(self, name)
            if not 0 < low <= high:
                problems.append(f"{name}: needs 0 < low <= high (log-uniform), got {(low, high)}")
        low, high = self.dropout
        if not 0 <= low <= high < 1:
            problems.append(f"dropout: needs 0 <= low <= high < 1, got {(low, high)}")
        if not self.train_fraction or any(not 0 < f <= 1 for f in self.train_fraction):
            problems.append(f"train_fraction: needs values in (0, 1], got {self.train_fraction}")
        if self.batch_size < 1:
            problems.append(f"batch_size: needs >= 1, got {self.batch_size}")
        elif train_size is not None:
            for f in self.train_fraction:
                if round(f * train_size) < self.batch_size:
                    problems.append(
                        f"train_fraction {f} leaves {round(f * train_size)} of {train_size} "
                        f"training images, fewer than one batch of {self.batch_size}"
                    )
        if problems:
            raise ValueError("hyperparameter space cannot be satisfied: " + "; ".join(problems))

    def _shape_problems(self) -> list[str]:
        """Each key in the shape its sampling needs: ranges as two numbers, choices as a list."""
        problems = []

        def number(value) -> bool:
            return isinstance(value, int | float) and not isinstance(value, bool)

        for name in ("init_std", "learning_rate", "l2", "dropout"):
            value = getattr(self, name)
            if not (isinstance(value, tuple) and len(value) == 2 and all(map(number, value))):
                problems.append(f"{name}: needs [low, high], two numbers; got {value!r}")
        for name in ("activation", "w_init", "optimizer", "train_fraction"):
            if not isinstance(getattr(self, name), tuple):
                problems.append(f"{name}: needs a list of choices; got {getattr(self, name)!r}")
        if not isinstance(self.train_fraction, tuple) or not all(map(number, self.train_fraction)):
            problems.append(f"train_fraction: needs a list of numbers; got {self.train_fraction!r}")
        if not isinstance(self.batch_size, int) or isinstance(self.batch_size, bool):
            problems.append(f"batch_size: needs a whole number; got {self.batch_size!r}")
        return problems

    def sample(self, runs: int, seed: int) -> pd.DataFrame:
        """One row per run: ``run_index``, ``seed`` (the run's own) and every hyperparameter."""
        rng = np.random.default_rng(seed)

        def log_uniform(bounds):
            return np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]), runs))

        return pd.DataFrame(
            {
                "run_index": np.arange(runs),
                "seed": rng.integers(0, 2**31 - 1, runs),
                "activation": rng.choice(self.activation, runs),
                "w_init": rng.choice(self.w_init, runs),
                "init_std": log_uniform(self.init_std),
                "optimizer": rng.choice(self.optimizer, runs),
                "learning_rate": log_uniform(self.learning_rate),
                "l2": log_uniform(self.l2),
                "dropout": rng.uniform(*self.dropout, runs),
                "train_fraction": rng.choice(self.train_fraction, runs),
            }
        )

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, spec: dict) -> HyperparameterSpace:
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(
                f"hyperparameter space: unknown key(s) {unknown}; valid: {', '.join(sorted(known))}"
            )
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in spec.items()})
