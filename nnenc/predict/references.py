"""References: predictors that read no weights and bound what any predictor can reach.

:class:`LabelNoiseReference` (``label-noise``) ranks each zoo's networks by the accuracy on one
half of their test set against the other half. Registered through the ``nnenc.predict.registry``
entry-point group, as other packages' predictors are.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from nnenc.metrics import kendall_tau, prediction_metrics
from nnenc.predict.registry import register_predictor
from nnenc.zoo.zoo import Zoo


@register_predictor
class LabelNoiseReference:
    """How well the accuracy on one half of each network's test set ranks the networks by the
    other half's: the Kendall tau no predictor can be expected to beat on that test set.

    Scored against ``test_accuracy_half1``; its "prediction" is ``test_accuracy_half2``. It
    reads a zoo's metrics table, not weights, so it takes only zoos.
    """

    name = "label-noise"
    role: ClassVar[str] = "reference"
    saveable: ClassVar[bool] = False
    search_space: ClassVar[dict] = {}
    target = "test_accuracy_half1"
    precision = ""
    other_half = "test_accuracy_half2"

    @classmethod
    def from_settings(cls, config: dict, training: dict, seed: int = 0, device: str = "cpu"):
        if config:
            raise ValueError(f"label-noise has no options; got {sorted(config)}")
        return cls()

    def _half(self, zoo, column: str) -> np.ndarray:
        if not isinstance(zoo, Zoo):
            raise TypeError("the label-noise reference reads a zoo's metrics, not weights")
        if column not in zoo.metrics.columns:
            raise KeyError(
                f"zoo {zoo.name!r} has no {column!r}: the label-noise reference needs the "
                "half-test-set accuracies that nnenc zoo build records"
            )
        return zoo.metrics[column].to_numpy(float)

    def fit(self, train: Zoo, val: Zoo, progress: bool = True) -> pd.DataFrame:
        started = time.perf_counter()
        tau = kendall_tau(self._half(val, self.target), self._half(val, self.other_half))
        seconds = time.perf_counter() - started
        return pd.DataFrame([{"epoch": 0, "val_kendall_tau": tau, "seconds": seconds}])

    def predict(self, source) -> np.ndarray:
        return self._half(source, self.other_half)

    def evaluate(self, zoo: Zoo) -> dict[str, float]:
        return prediction_metrics(self._half(zoo, self.target), self.predict(zoo))

    def save(self, path: str | Path) -> Path:
        raise NotImplementedError("the label-noise reference has nothing to save")

    def __repr__(self) -> str:
        return json.dumps({"predictor": self.name})
