"""``statnn``: weight statistics (Unterthiner et al., "Predicting Neural Network Accuracy from
Weights"), with an MLP (the ``statnn`` encoder + the predictor's head) or gradient-boosted trees
(:class:`StatnnTrees`, as in the original). The features are
:func:`nnenc.views.statistics.weight_statistics`: 14 numbers for each of the first ``front`` and
the last ``back`` layers.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import ClassVar

import numpy as np
import pandas as pd
import torch
from sklearn.ensemble import HistGradientBoostingRegressor
from torch import nn

from nnenc.encoders import WeightEncoder, register_encoder
from nnenc.encoders.inputs import FeatureScaler
from nnenc.metrics import kendall_tau, prediction_metrics
from nnenc.params import NetworkParams
from nnenc.predict.performance import networks_of, target_values
from nnenc.predict.registry import register_predictor
from nnenc.views.statistics import STATISTICS, weight_statistics
from nnenc.zoo.zoo import Zoo


@register_encoder
class StatNN(WeightEncoder):
    """Weight statistics, standardised on the training set, through an MLP.

    Each feature is given as its standardised value and its log-magnitude
    (:class:`~nnenc.encoders.inputs.FeatureScaler`): variances span orders of magnitude.
    """

    name = "statnn"
    search_space: ClassVar[dict] = {
        "training.lr": ("log", 3e-4, 3e-3),
        "config.hidden": ("choice", [32, 64, 128]),
        "training.weight_decay": ("log", 1e-3, 1e-1),
    }
    accepts_mixed = True

    def __init__(self, front: int = 2, back: int = 2, hidden: int = 64, out_dim: int = 64):
        super().__init__()
        if front < 0 or back < 0 or front + back == 0:
            raise ValueError(f"need front, back >= 0 and front + back >= 1; got {front}, {back}")
        self.front, self.back, self.hidden, self.out_dim = front, back, hidden, out_dim
        n_features = (front + back) * 2 * len(STATISTICS)
        self.scaler = FeatureScaler(n_features)
        self.mlp = nn.Sequential(
            nn.Linear(2 * n_features, hidden), nn.GELU(), nn.Linear(hidden, out_dim)
        )

    def _featurize(self, params: NetworkParams) -> torch.Tensor:
        return weight_statistics(params, self.front, self.back).float()

    def fit_inputs(self, features: Sequence[torch.Tensor]) -> None:
        self.scaler.fit(torch.stack(list(features)))

    def _collate(self, features: list[torch.Tensor]) -> dict[str, torch.Tensor]:
        return {"statistics": torch.stack(features)}

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        return self.mlp(self.scaler(batch["statistics"]))


@register_predictor
class StatnnTrees:
    """Weight statistics with gradient-boosted trees (scikit-learn's
    ``HistGradientBoostingRegressor``): a :class:`~nnenc.predict.protocol.Predictor` registered as
    ``statnn-trees``.

    Not saveable: scikit-learn models can only be pickled, and nnenc never pickles; refitting
    takes seconds.
    """

    name = "statnn-trees"
    role: ClassVar[str] = "predictor"
    saveable: ClassVar[bool] = False
    precision = "fp64"
    search_space: ClassVar[dict] = {
        "config.learning_rate": ("log", 0.02, 0.3),
        "config.max_leaf_nodes": ("choice", [15, 31, 63]),
        "config.l2_regularization": ("choice", [0.0, 0.1, 1.0]),
    }
    """As the encoders' (see ``WeightEncoder.search_space``): the trees' own settings."""

    def __init__(
        self,
        front: int = 2,
        back: int = 2,
        target: str = "test_accuracy",
        seed: int = 0,
        learning_rate: float = 0.1,
        max_leaf_nodes: int = 31,
        l2_regularization: float = 0.0,
        min_samples_leaf: int | None = None,
    ):
        self.front, self.back, self.target, self.seed = front, back, target, seed
        self.trees = {
            "learning_rate": learning_rate,
            "max_leaf_nodes": max_leaf_nodes,
            "l2_regularization": l2_regularization,
        }
        self.min_samples_leaf = min_samples_leaf
        self.model: HistGradientBoostingRegressor | None = None
        self.history: pd.DataFrame | None = None

    @classmethod
    def from_settings(cls, config: dict, training: dict, seed: int = 0, device: str = "cpu"):
        """The trees with ``config`` (this class's arguments) for the target that ``training``
        names; the other training settings are for gradient descent and do not apply."""
        target = training.get("target", "test_accuracy")
        return cls(**{**config, "target": target, "seed": seed})

    def _features(self, networks: Sequence[NetworkParams]) -> np.ndarray:
        return np.stack([weight_statistics(n, self.front, self.back).numpy() for n in networks])

    def _leaf_size(self, n_train: int) -> int:
        """scikit-learn's 20 networks per leaf, or a tenth of the training set where that is
        fewer (at least 2): with 20 per leaf, 38 training networks allow no split at all, and
        the trees predict a constant."""
        if self.min_samples_leaf is not None:
            return self.min_samples_leaf
        return max(2, min(20, n_train // 10))

    def fit(self, train: Zoo, val: Zoo, progress: bool = True) -> pd.DataFrame:
        started = time.perf_counter()
        self.model = HistGradientBoostingRegressor(
            random_state=self.seed,
            min_samples_leaf=self._leaf_size(len(train)),
            **self.trees,
        )
        self.model.fit(self._features(list(train)), target_values(train, self.target))
        val_tau = kendall_tau(target_values(val, self.target), self.predict(val))
        self.history = pd.DataFrame(
            [{"epoch": 0, "val_kendall_tau": val_tau, "seconds": time.perf_counter() - started}]
        )
        return self.history

    def predict(self, source) -> np.ndarray:
        if self.model is None:
            raise RuntimeError("StatnnTrees: call fit before predict")
        return self.model.predict(self._features(networks_of(source)))

    def evaluate(self, zoo: Zoo) -> dict[str, float]:
        return prediction_metrics(target_values(zoo, self.target), self.predict(zoo))

    def save(self, path) -> None:
        raise NotImplementedError(
            "StatnnTrees is not saved: scikit-learn models can only be pickled, and nnenc never "
            "pickles. Refit it (seconds) from the same zoo and seed."
        )
