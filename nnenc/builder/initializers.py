"""Weight initialisers by name, each drawing from one run's own generator.

``he_normal`` (std ``sqrt(2 / fan_in)``), ``glorot_normal`` (``sqrt(2 / (fan_in + fan_out))``),
``orthogonal`` (gain 1, on the ``(out, in * kh * kw)`` matrix), and three that use the run's
``init_std``: ``normal``, ``truncated_normal`` (cut at 2 std) and ``uniform`` (same std).
Biases start at zero, as in the Small CNN Zoo.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

Initializer = Callable[[tuple[int, ...], float, torch.Generator], torch.Tensor]


def _fans(shape: tuple[int, ...]) -> tuple[int, int]:
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _he_normal(shape, std, generator):
    return torch.randn(shape, generator=generator) * math.sqrt(2.0 / _fans(shape)[0])


def _glorot_normal(shape, std, generator):
    fan_in, fan_out = _fans(shape)
    return torch.randn(shape, generator=generator) * math.sqrt(2.0 / (fan_in + fan_out))


def _orthogonal(shape, std, generator):
    weight = torch.empty(shape)
    torch.nn.init.orthogonal_(weight, generator=generator)
    return weight


def _normal(shape, std, generator):
    return torch.randn(shape, generator=generator) * std


def _truncated_normal(shape, std, generator):
    weight = torch.empty(shape)
    torch.nn.init.trunc_normal_(weight, 0.0, std, -2 * std, 2 * std, generator=generator)
    return weight


def _uniform(shape, std, generator):
    return (torch.rand(shape, generator=generator) * 2 - 1) * std * math.sqrt(3.0)


INITIALIZERS: dict[str, Initializer] = {
    "he_normal": _he_normal,
    "glorot_normal": _glorot_normal,
    "orthogonal": _orthogonal,
    "normal": _normal,
    "truncated_normal": _truncated_normal,
    "uniform": _uniform,
}


def initial_weight(name: str, shape: tuple[int, ...], std: float, generator: torch.Generator):
    """A weight of ``shape`` drawn by initialiser ``name``."""
    try:
        return INITIALIZERS[name](shape, std, generator)
    except KeyError:
        raise ValueError(
            f"unknown initialiser {name!r}; valid: {', '.join(INITIALIZERS)}"
        ) from None
