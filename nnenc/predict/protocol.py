"""The ``Predictor`` protocol: what anything that predicts a network's metric from its weights
offers, so the command line and the benchmark use every predictor the same way.

nnenc's predictors: an encoder plus a head (:class:`~nnenc.predict.performance.PerformancePredictor`),
STATNN's gradient-boosted trees (``baselines.statnn.StatnnTrees``) and the label-noise reference
(:class:`~nnenc.predict.references.LabelNoiseReference`). They are found by name through
:mod:`nnenc.predict.registry`. This module imports neither torch nor the predictors.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from nnenc.zoo.zoo import Zoo

ROLES = ("predictor", "reference")
"""``predictor``: compared with the others. ``reference``: a yardstick printed beside them (the
label-noise reference: how well one half of a test set ranks networks for the other half)."""


@runtime_checkable
class Predictor(Protocol):
    """Fit on a zoo's train and validation splits, predict a metrics column of other networks.

    ``target`` is the metrics column its predictions are scored against; ``precision`` what it
    computes in (``fp32``, ``bf16``, ``fp64``; empty where it computes nothing); ``saveable``
    whether :meth:`save` writes it (then ``load`` reads it back); ``role`` one of
    :data:`ROLES`.
    """

    role: ClassVar[str]
    saveable: ClassVar[bool]

    @property
    def target(self) -> str: ...

    @property
    def precision(self) -> str: ...

    def fit(self, train: Zoo, val: Zoo, progress: bool = True) -> pd.DataFrame:
        """Train; returns one row per epoch with at least ``val_kendall_tau``."""
        ...

    def predict(self, source) -> np.ndarray:
        """One prediction per network of ``source`` (a zoo, or networks where it can)."""
        ...

    def evaluate(self, zoo: Zoo) -> dict[str, float]:
        """:func:`nnenc.metrics.prediction_metrics` of its predictions on ``zoo``."""
        ...

    def save(self, path: str | Path) -> Path:
        """Write it into the folder ``path`` (where ``saveable``; others raise
        ``NotImplementedError`` saying why)."""
        ...


@runtime_checkable
class EncodingPredictor(Predictor, Protocol):
    """A predictor whose predictions go through a vector per network (for embedding plots)."""

    def encode(self, source) -> np.ndarray: ...
