"""The neuron-permutation symmetry of networks: a transformation that keeps a network's function,
and a diagnostic of how much a predictor's output moves under it.

Permuting the output units of a hidden layer, and the matching input units of the next layer,
leaves the function unchanged. SNE is not built to be invariant to this (a known criticism);
:func:`permutation_sensitivity` measures how far it is, and the predictor's logit-invariance
regulariser trains it to be.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from nnenc.params import NetworkParams

if TYPE_CHECKING:
    from nnenc.prediction import Predictor


def permute_hidden_neurons(params: NetworkParams, generator: torch.Generator) -> NetworkParams:
    """A random neuron permutation of ``params``: same function, reordered hidden units.

    Layers are taken as a chain: each conv/linear layer's outputs feed the next conv/linear
    layer's inputs (global average pooling between convolution and dense layers keeps channels
    one-to-one); norm layers follow their layer's permutation. Networks whose next layer does not
    take the previous layer's units one-to-one (a flatten of feature maps, say) are refused.
    """
    layers = list(params.layers)
    main = [i for i, la in enumerate(layers) if la.kind in ("conv", "linear")]
    for position, i in enumerate(main[:-1]):
        nxt = main[position + 1]
        units = layers[i].out_units
        if layers[nxt].weight.shape[1] != units:
            raise ValueError(
                f"layer {layers[nxt].name!r} takes {layers[nxt].weight.shape[1]} inputs, not the "
                f"{units} units of {layers[i].name!r}: no one-to-one neuron permutation"
            )
        order = torch.randperm(units, generator=generator)
        layers[i] = layers[i].map(lambda t, o=order: t[o])
        for j in range(i + 1, nxt):  # norm layers between the two
            layers[j] = layers[j].map(lambda t, o=order: t[o])
        weight = layers[nxt].weight[:, order]
        layers[nxt] = replace(layers[nxt], weight=weight)
    return replace(params, layers=tuple(layers))


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
    from nnenc.metrics import kendall_tau

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
