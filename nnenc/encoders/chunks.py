"""SNE's chunks: how a network is cut into chunks (:func:`pad_chunk`), and where the encoder's
one loop over layers takes them from (:class:`ChunkSource`): a collated batch
(:class:`BatchChunks`) or a network's weights, a range of output units at a time
(:class:`WeightChunks`, for networks too large to chunk whole)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from nnenc.encoders.base import EncoderInputError
from nnenc.encoders.set_buckets import SetBuckets
from nnenc.params import LAYER_KINDS, Layer, NetworkParams

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


def join(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.cat``, without the copy for one tensor (one huge network is not duplicated)."""
    return tensors[0] if len(tensors) == 1 else torch.cat(list(tensors))


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


def chunk_buckets(lengths: torch.Tensor, chunks: torch.Tensor, chunk_size: int) -> SetBuckets:
    """The chunks ``chunks`` of a batch, of ``lengths`` real values each, as sets of their
    values (rows of the batch's flattened ``(C, chunk_size)`` values)."""
    return SetBuckets.of(lengths, chunks * chunk_size)


@dataclass(frozen=True)
class Chunks:
    """Some chunks on their way to the layer level: ``buckets`` groups them by length as sets
    of rows of ``values.view(-1)`` (``values``: ``(C, chunk_size)``, padded), and ``unit``,
    ``piece``, ``layer_index``, ``layer_kind`` give each chunk's place, in ``buckets``' set
    order."""

    values: torch.Tensor
    buckets: SetBuckets
    unit: torch.Tensor
    piece: torch.Tensor
    layer_index: torch.Tensor
    layer_kind: torch.Tensor


class ChunkSource:
    """Where :meth:`~nnenc.encoders.sne.SNE.encode_layers` takes its chunks from: the chunks of whole layers, or of a
    range of one layer's output units."""

    def chunk_counts(self) -> torch.Tensor:
        """``(n_layers,)`` chunks per layer."""
        raise NotImplementedError

    def units(self, layer: int) -> tuple[int, int]:
        """(output units, chunks per unit) of ``layer``."""
        raise NotImplementedError

    def layers(self, mask: torch.Tensor) -> Chunks:
        """Every chunk of the layers in ``mask``, layer by layer."""
        raise NotImplementedError

    def units_of(self, layer: int, first: int, stop: int) -> Chunks:
        """The chunks of output units ``first:stop`` of ``layer``."""
        raise NotImplementedError

    def layer_buckets(self) -> SetBuckets:
        """The layers as sets of their chunks (all of them: none streamed)."""
        return SetBuckets.of(self.chunk_counts())

    def network_sets(self) -> tuple[torch.Tensor, torch.Tensor, SetBuckets]:
        """Per layer, its index and kind in its network; the networks as sets of layers."""
        raise NotImplementedError


class BatchChunks(ChunkSource):
    """The chunks of a collated batch (:meth:`~nnenc.encoders.sne.SNE.collate`): a layer's chunks are contiguous,
    unit by unit."""

    def __init__(self, batch: dict, chunk_size: int):
        self.batch, self.chunk_size = batch, chunk_size
        self.counts = torch.bincount(batch["chunk_layer"], minlength=len(batch["layer_kind"]))
        self.starts = torch.cumsum(self.counts, 0) - self.counts

    def chunk_counts(self) -> torch.Tensor:
        return self.counts

    def units(self, layer: int) -> tuple[int, int]:
        last = int(self.starts[layer] + self.counts[layer]) - 1
        units = int(self.batch["unit"][last]) + 1
        return units, int(self.counts[layer]) // units

    def _rows(self, rows: torch.Tensor | None) -> Chunks:
        batch = self.batch
        if rows is None:  # the whole batch, bucketed when it was collated
            selected: slice | torch.Tensor = slice(None)
            buckets = batch["chunk_buckets"]
        else:
            selected = rows
            buckets = chunk_buckets(batch["lengths"][rows], rows, self.chunk_size)
        layer = batch["chunk_layer"][selected]
        return Chunks(
            batch["values"],
            buckets,
            batch["unit"][selected],
            batch["piece"][selected],
            batch["layer_index"][layer],
            batch["layer_kind"][layer],
        )

    def layers(self, mask: torch.Tensor) -> Chunks:
        if mask.all():
            return self._rows(None)
        return self._rows(mask[self.batch["chunk_layer"]].nonzero().squeeze(1))

    def units_of(self, layer: int, first: int, stop: int) -> Chunks:
        per_unit = self.units(layer)[1]
        start = int(self.starts[layer])
        rows = torch.arange(
            start + first * per_unit, start + stop * per_unit, device=self.counts.device
        )
        return self._rows(rows)

    def layer_buckets(self) -> SetBuckets:
        return self.batch["layer_buckets"]

    def network_sets(self) -> tuple[torch.Tensor, torch.Tensor, SetBuckets]:
        batch = self.batch
        return batch["layer_index"], batch["layer_kind"], batch["network_buckets"]


class WeightChunks(ChunkSource):
    """The chunks of one network, made from its weights (:func:`pad_chunk`) as they are asked
    for: the network is never chunked whole."""

    def __init__(self, params: NetworkParams, chunk_size: int, device: torch.device | str):
        self.params, self.chunk_size, self.device = params, chunk_size, device
        self.per_unit = [chunks_per_unit(layer, chunk_size) for layer in params]
        self.counts = torch.tensor(
            [la.out_units * n for la, n in zip(params, self.per_unit, strict=True)]
        )
        self.kinds = torch.tensor([LAYER_KINDS.index(layer.kind) for layer in params])

    def chunk_counts(self) -> torch.Tensor:
        return self.counts

    def units(self, layer: int) -> tuple[int, int]:
        return self.params[layer].out_units, self.per_unit[layer]

    def _chunks(self, parts: list[tuple[int, Layer, int]]) -> Chunks:
        """Chunks of ``(layer index, layer or a slice of its units, first unit)`` parts."""
        size, device = self.chunk_size, self.device
        made = [
            (index, first, pad_chunk(NetworkParams((part,), self.params.architecture), size))
            for index, part, first in parts
        ]
        values = join([c.values for _, _, c in made]).to(device)
        lengths = chunk_lengths(join([c.mask for _, _, c in made])).to(device)
        n = len(lengths)
        return Chunks(
            values,
            chunk_buckets(lengths, torch.arange(n, device=device), size),
            join([c.unit + first for _, first, c in made]).to(device),
            join([c.piece for _, _, c in made]).to(device),
            join([torch.full((len(c.unit),), i) for i, _, c in made]).to(device),
            join([torch.full((len(c.unit),), int(self.kinds[i])) for i, _, c in made]).to(device),
        )

    def layers(self, mask: torch.Tensor) -> Chunks:
        chosen = mask.nonzero().flatten().tolist()
        return self._chunks([(i, self.params[i], 0) for i in chosen])

    def units_of(self, layer: int, first: int, stop: int) -> Chunks:
        whole = self.params[layer]
        part = replace(
            whole,
            weight=whole.weight[first:stop],
            bias=None if whole.bias is None else whole.bias[first:stop],
        )
        return self._chunks([(layer, part, first)])

    def network_sets(self) -> tuple[torch.Tensor, torch.Tensor, SetBuckets]:
        n_layers = len(self.params)
        device = self.device
        buckets = SetBuckets.of(torch.tensor([n_layers])).to(device)
        return torch.arange(n_layers, device=device), self.kinds.to(device), buckets
