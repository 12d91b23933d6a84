"""SNE's view of a network: every layer cut into chunks of ``chunk_size`` scalars per output
unit (:func:`pad_chunk`), padded and masked."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from nnenc.params import LAYER_KINDS, Layer, NetworkParams
from nnenc.views import EncoderInputError

READABLE_KINDS = ("conv", "linear", "norm")


@dataclass(frozen=True)
class ChunkedNetwork:
    """A network cut into chunks (the SNE feature of one network).

    Attributes:
        values: ``(C, chunk_size)`` float32, padding zeroed.
        mask: ``(C, chunk_size)`` bool, True for real parameters.
        layer: ``(C,)`` long, the layer each chunk belongs to.
        unit: ``(C,)`` long, the output unit (neuron / channel) of the chunk in its layer.
        piece: ``(C,)`` long, which piece of the unit's row the chunk is.
        layer_kind: ``(L,)`` long, kind id (index in ``LAYER_KINDS``) per layer.
    """

    values: torch.Tensor
    mask: torch.Tensor
    layer: torch.Tensor
    unit: torch.Tensor
    piece: torch.Tensor
    layer_kind: torch.Tensor


def chunks_per_unit(layer: Layer, chunk_size: int) -> int:
    """Chunks one output unit's row (its weights, then its bias) is cut into."""
    return math.ceil((layer.weight[0].numel() + (layer.bias is not None)) / chunk_size)


def pad_chunk(params: NetworkParams, chunk_size: int) -> ChunkedNetwork:
    """Cut every layer of ``params`` into chunks of ``chunk_size`` scalars, per output unit."""
    values, masks, layers, units, pieces, kinds = [], [], [], [], [], []
    for index, layer in enumerate(params):
        if layer.kind not in READABLE_KINDS:
            raise EncoderInputError(
                f"network ({params.architecture}): layer {layer.name!r} is of kind "
                f"{layer.kind!r}; SNE reads {', '.join(READABLE_KINDS)} layers"
            )
        rows = layer.weight.reshape(layer.out_units, -1)
        if layer.bias is not None:
            rows = torch.cat([rows, layer.bias.reshape(-1, 1)], dim=1)
        n_units, width = rows.shape
        n_pieces = chunks_per_unit(layer, chunk_size)
        padded = torch.zeros(n_units, n_pieces * chunk_size)
        padded[:, :width] = rows
        mask = torch.zeros(n_units, n_pieces * chunk_size, dtype=torch.bool)
        mask[:, :width] = True
        values.append(padded.view(-1, chunk_size))
        masks.append(mask.view(-1, chunk_size))
        layers.append(torch.full((n_units * n_pieces,), index))
        units.append(torch.arange(n_units).repeat_interleave(n_pieces))
        pieces.append(torch.arange(n_pieces).repeat(n_units))
        kinds.append(LAYER_KINDS.index(layer.kind))
    return ChunkedNetwork(
        torch.cat(values),
        torch.cat(masks),
        torch.cat(layers),
        torch.cat(units),
        torch.cat(pieces),
        torch.tensor(kinds),
    )


def chunk_lengths(mask: torch.Tensor) -> torch.Tensor:
    """``(C, chunk_size)`` masks -> ``(C,)`` real parameters per chunk; a mask that is not a
    prefix (real values first, then padding, as :func:`pad_chunk` lays them out) is refused."""
    lengths = mask.sum(1)
    prefix = torch.arange(mask.shape[1]) < lengths[:, None]
    if not torch.equal(prefix, mask):
        raise EncoderInputError(
            "chunk masks must mark a prefix of each chunk (real values first, then padding), "
            "as pad_chunk lays them out"
        )
    return lengths
