"""Whether a network is like the ones a predictor was trained on, and where a predictor came from.

A predictor extrapolates silently: an SNE trained on ``cnn-small`` networks gave an MLP a
confident 0.33, and a network whose every weight was 100 a confident 0.998. The
:class:`TrainingDomain` recorded at fit time lets ``predict`` say so. A network is outside the
domain when either

- its layer shapes match none of the training networks' (an architecture never seen), or
- one of its :data:`DOMAIN_STATISTICS` (computed over all its parameters) lies outside the
  training networks' range, widened on each side by :data:`MARGIN` of the range's width.

This is a screen for the obvious, not a guarantee: a network inside every range can still be
unlike the training networks in ways the statistics do not see.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from nnenc.params import NetworkParams
from nnenc.views.statistics import DOMAIN_STATISTICS, domain_statistics

MARGIN = 0.1


def shape_signature(network: NetworkParams) -> str:
    """The layers' weight and bias shapes, in order (what an architecture is, to an encoder)."""
    return hashlib.sha1(repr([s.tensors for s in network.layer_shapes()]).encode()).hexdigest()[:12]


@dataclass(frozen=True)
class TrainingDomain:
    """The layer-shape signatures and weight-statistic ranges of a predictor's training set."""

    signatures: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]

    @classmethod
    def of(cls, networks: Sequence[NetworkParams]) -> TrainingDomain:
        stats = np.stack([domain_statistics(n) for n in networks])
        return cls(
            tuple(sorted({shape_signature(n) for n in networks})),
            tuple(float(v) for v in stats.min(axis=0)),
            tuple(float(v) for v in stats.max(axis=0)),
        )

    def to_dict(self) -> dict:
        return {
            "signatures": list(self.signatures),
            "statistics": list(DOMAIN_STATISTICS),
            "low": list(self.low),
            "high": list(self.high),
            "margin": MARGIN,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TrainingDomain:
        return cls(tuple(data["signatures"]), tuple(data["low"]), tuple(data["high"]))

    def outside(self, network: NetworkParams) -> str:
        """Why ``network`` is outside the domain, or ``""`` when it is inside."""
        if shape_signature(network) not in self.signatures:
            shapes = [tuple(la.weight.shape) for la in network.layers]
            return f"an architecture never seen in training (layer weights {shapes})"
        stats = domain_statistics(network)
        low, high = np.array(self.low), np.array(self.high)
        pad = MARGIN * (high - low)
        reasons = [
            f"{name} {value:.3g} outside the training range [{lo:.3g}, {hi:.3g}]"
            for name, value, lo, hi, margin in zip(
                DOMAIN_STATISTICS, stats, low, high, pad, strict=True
            )
            if not lo - margin <= value <= hi + margin
        ]
        return "; ".join(reasons)
