"""The neuron-permutation symmetry of networks: a transformation that keeps a network's function.

Permuting the output units of a hidden layer, and the matching input units of the next layer,
leaves the function unchanged. SNE is not built to be invariant to this (a known criticism):
:func:`nnenc.predict.sensitivity.permutation_sensitivity` measures how far a predictor is, and
the predictor's logit-invariance regulariser trains it to be.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from nnenc.params import NetworkParams


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
