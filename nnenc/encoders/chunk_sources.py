"""Where SNE's one loop over layers takes its chunks from (:class:`ChunkSource`): a collated
batch (:class:`BatchChunks`) or a network's weights, a range of output units at a time
(:class:`WeightChunks`, for networks too large to chunk whole). How a network is cut into
chunks is its view, :mod:`nnenc.views.chunks`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch

from nnenc.encoders.set_buckets import SetBuckets
from nnenc.params import LAYER_KINDS, Layer, NetworkParams
from nnenc.views.chunks import chunk_lengths, chunks_per_unit, pad_chunk


def join(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """``torch.cat``, without the copy for one tensor (one huge network is not duplicated)."""
    return tensors[0] if len(tensors) == 1 else torch.cat(list(tensors))


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
