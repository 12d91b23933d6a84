"""How encoders see scalars and positions: the value features every learned encoder shares, and
sinusoidal position encodings.

Weights of one zoo span orders of magnitude (initial scales from 1e-3 to 0.5 in the Small CNN
Zoo's space), and their scale predicts accuracy. A value ``x`` is therefore given as two
features: ``x * scale`` (``scale`` = 1 / std of the training set's values, fitted once) and
``log1p(|x * scale| * LOG_RESOLUTION)``, its log-magnitude, which keeps the small-weight
networks apart and lets a linear layer read a network's scale directly (signs are in the first
feature). With the value alone, SNE's predictions collapsed on small zoos (the measurements
are in docs/encoders.md, "Design notes").
"""

from __future__ import annotations

import math

import torch
from torch import nn

LOG_RESOLUTION = 1000.0
"""Values below ``1 / LOG_RESOLUTION`` of the zoo's weight std are where the log feature turns
linear."""


def value_features(values: torch.Tensor, scale: torch.Tensor, log: bool = True) -> torch.Tensor:
    """``values`` of any shape -> ``(*shape, 2)`` (scaled value, log-magnitude), or
    ``(*shape, 1)`` with ``log=False``."""
    x = values.unsqueeze(-1) * scale
    if not log:
        return x
    return torch.cat([x, torch.log1p(x.abs() * LOG_RESOLUTION)], dim=-1)


def value_scale(values: torch.Tensor) -> float:
    """1 / std of ``values`` (the training set's real parameters), guarded against zero."""
    return 1.0 / max(float(values.double().std()), 1e-12)


class ValueEmbedding(nn.Module):
    """Scalars ``(...)`` -> ``(..., dim)``: :func:`value_features` through a two-layer MLP.

    ``scale`` is a buffer set by :meth:`fit` on the training values, so it is saved with the
    weights.

    Shapes:
        input: ``(*)`` float
        output: ``(*, dim)``
    """

    def __init__(self, dim: int, log: bool = True):
        super().__init__()
        self.log = log
        self.register_buffer("scale", torch.ones(()))
        self.mlp = nn.Sequential(nn.Linear(2 if log else 1, dim), nn.GELU(), nn.Linear(dim, dim))

    def fit(self, values: torch.Tensor) -> None:
        self.scale.fill_(value_scale(values))

    def forward(self, values: torch.Tensor) -> torch.Tensor:
        return self.mlp(value_features(values, self.scale, self.log))


def sinusoidal(positions: torch.Tensor, dim: int) -> torch.Tensor:
    """``(n,)`` integer positions -> ``(n, dim)`` sine/cosine encodings (Vaswani et al.)."""
    half = dim // 2
    frequencies = torch.exp(
        -math.log(10_000.0)
        * torch.arange(half, device=positions.device, dtype=torch.float32)
        / half
    )
    angles = positions.float().unsqueeze(-1) * frequencies
    encoding = torch.cat([angles.sin(), angles.cos()], dim=-1)
    return nn.functional.pad(encoding, (0, dim - 2 * half))


class FeatureScaler(nn.Module):
    """Fixed-length feature vectors ``(B, n)`` -> ``(B, 2n)``: each feature standardised by the
    training set's mean and std, beside its log-magnitude (features such as variances
    span orders of magnitude). Mean and std are buffers set by :meth:`fit`.

    Shapes:
        input: ``(B, n_features)``
        output: ``(B, 2 * n_features)``
    """

    def __init__(self, n_features: int):
        super().__init__()
        self.register_buffer("mean", torch.zeros(n_features))
        self.register_buffer("inv_std", torch.ones(n_features))

    def fit(self, table: torch.Tensor) -> None:
        table = table.double()
        self.mean.copy_(table.mean(0))
        std = table.std(0) if len(table) > 1 else torch.ones_like(self.mean)
        self.inv_std.copy_(1.0 / std.clamp_min(1e-12))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        scaled = features * self.inv_std
        log = torch.log1p(scaled.abs() * LOG_RESOLUTION)
        return torch.cat([scaled - self.mean * self.inv_std, log], dim=-1)
