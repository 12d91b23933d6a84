"""How much a predictor's output moves under the neuron permutations that keep each network's
function (:mod:`nnenc.symmetry`): 0 for a predictor invariant to them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from nnenc.metrics import kendall_tau
from nnenc.params import NetworkParams
from nnenc.predict.protocol import Predictor
from nnenc.symmetry import permute_hidden_neurons


def permutation_sensitivity(
    predictor: Predictor,
    networks: Sequence[NetworkParams],
    permutations: int = 4,
    seed: int = 0,
) -> dict[str, float]:
    """How much predictions change under random neuron permutations of the same networks.

    Returns ``mean_abs_change`` (mean |prediction(permuted) - prediction(original)|, in the
    target's units), ``relative_change`` (that over the standard deviation of the original
    predictions: 0 = invariant, ~1 = as large as the spread between networks) and
    ``kendall_tau_original_vs_permuted``.
    """
    generator = torch.Generator().manual_seed(seed)
    original = predictor.predict(list(networks))
    changes, taus = [], []
    for _ in range(permutations):
        permuted = predictor.predict([permute_hidden_neurons(n, generator) for n in networks])
        changes.append(np.abs(permuted - original))
        taus.append(kendall_tau(original, permuted))
    mean_change = float(np.mean(changes))
    spread = float(np.std(original))
    return {
        "mean_abs_change": mean_change,
        "relative_change": mean_change / spread if spread > 0 else float("inf"),
        "kendall_tau_original_vs_permuted": float(np.mean(taus)),
    }
