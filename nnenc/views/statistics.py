"""Weight statistics: fixed-length summaries of a network's parameters, for any architecture.

:func:`weight_statistics` is STATNN's input (Unterthiner et al., "Predicting Neural Network
Accuracy from Weights"): for each weight and each bias tensor, its mean, variance and the 0, 25,
50, 75 and 100 % quantiles (:data:`STATISTICS`, 7 numbers). The first ``front`` and the last
``back`` layers (by position from the input and from the output) each fill one slot of 14
numbers (weight statistics, then bias statistics). Layers between them are left out; when a
network has fewer than ``front + back`` layers, its first layers fill the front slots, the rest
fill the back slots from the output end, and the empty slots (and missing biases) are zeros. The
Small CNN Zoo's 4-layer network fills all four default slots: its 8 tensors give the 56 features
of the original.

:func:`domain_statistics` is the coarser summary of all parameters together that a predictor's
training domain records (:mod:`nnenc.applicability`).
"""

from __future__ import annotations

import numpy as np
import torch

from nnenc.params import NetworkParams

STATISTICS = ("mean", "var", "q0", "q25", "q50", "q75", "q100")
QUANTILES = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64)


def tensor_statistics(tensor: torch.Tensor) -> torch.Tensor:
    """The 7 statistics of one tensor (float64; variance with Bessel's correction, 0 for one
    element)."""
    values = tensor.reshape(-1).double()
    variance = values.var() if values.numel() > 1 else values.new_zeros(())
    return torch.cat([values.mean().reshape(1), variance.reshape(1), values.quantile(QUANTILES)])


def layer_slots(n_layers: int, front: int, back: int) -> list[int | None]:
    """Which layer fills each of the ``front + back`` slots (``None``: empty)."""
    if n_layers >= front + back:
        return [*range(front), *range(n_layers - back, n_layers)]
    head = list(range(min(n_layers, front)))
    tail = list(range(len(head), n_layers))
    return head + [None] * (front - len(head)) + [None] * (back - len(tail)) + tail


def weight_statistics(params: NetworkParams, front: int = 2, back: int = 2) -> torch.Tensor:
    """``(front + back) * 14`` float64 features of ``params`` (see the module docstring)."""
    empty = torch.zeros(len(STATISTICS), dtype=torch.float64)
    features = []
    for index in layer_slots(len(params), front, back):
        if index is None:
            features += [empty, empty]
            continue
        layer = params[index]
        features.append(tensor_statistics(layer.weight))
        features.append(empty if layer.bias is None else tensor_statistics(layer.bias))
    return torch.cat(features)


def feature_names(front: int = 2, back: int = 2) -> list[str]:
    slots = [f"front{i}" for i in range(front)] + [f"back{back - i}" for i in range(back)]
    return [f"{s}.{t}.{stat}" for s in slots for t in ("weight", "bias") for stat in STATISTICS]


DOMAIN_STATISTICS = ("mean", "log10_std", "log10_max_abs")


def domain_statistics(network: NetworkParams) -> np.ndarray:
    """:data:`DOMAIN_STATISTICS` of all of ``network``'s parameters together (float64)."""
    values = network.to_flat().double().numpy()
    return np.array(
        [
            values.mean(),
            np.log10(values.std() + 1e-12),
            np.log10(np.abs(values).max() + 1e-12),
        ]
    )
