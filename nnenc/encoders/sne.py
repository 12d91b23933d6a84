"""SNE: the Set-based Neural network Encoder (Andreis et al., "Set-based Neural Network
Encoding"), with pad-chunk-encode.

featurize (once per network): each layer's parameters are laid out per output unit (the unit's
weights, then its bias), each unit's row padded to a multiple of ``chunk_size`` and cut into
chunks of ``chunk_size`` scalars; a mask marks the padding. Layer kinds other than conv, linear
and norm are refused.

forward (three levels, one :class:`~nnenc.encoders.set_layers.SetEncoder` each):

1. chunk: each chunk is a set of scalars, embedded ``R -> R^d``, encoded set-to-set then
   set-to-vector into one vector.
2. layer: a layer's chunk vectors, plus positional encodings of each chunk's place (unit and
   piece index), the layer's index and the layer's type, are encoded into a layer vector.
3. network: the layer vectors (plus layer index and type encodings) are encoded into the network
   vector, projected to ``out_dim``.

At every level, the sets of one size (chunks of as many real values, layers of as many chunks,
networks of as many layers) go through together, unpadded, in groups sized for the device
(:class:`~nnenc.encoders.set_buckets.SetBuckets`, :mod:`nnenc.encoders.work`): neither the
chunk padding nor batching networks of different sizes changes an encoding, and no work is
spent on padding. In inference, a layer larger than one group is streamed, so memory is set by
``chunk_size``, not by the largest layer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import ClassVar

import torch
from torch import nn

from nnenc.encoders import work
from nnenc.encoders.base import WeightEncoder, register_encoder
from nnenc.encoders.chunk_sources import (
    BatchChunks,
    Chunks,
    ChunkSource,
    WeightChunks,
    chunk_buckets,
    join,
)
from nnenc.encoders.inputs import ValueEmbedding, sinusoidal
from nnenc.encoders.set_buckets import SetBuckets
from nnenc.encoders.set_layers import SetEncoder
from nnenc.encoders.work import WorkLayout
from nnenc.params import LAYER_KINDS, NetworkParams
from nnenc.views.chunks import ChunkedNetwork, chunk_lengths, chunks_per_unit, pad_chunk


@register_encoder
class SNE(WeightEncoder):
    """Set-based Neural network Encoder.

    Args:
        chunk_size: scalars per chunk.
        hidden: width ``d`` of every level.
        heads: attention heads.
        out_dim: size of the network encoding.
        chunk_depth, layer_depth, network_depth: set-to-set blocks per level.
        chunk_set, layer_set, network_set: set-to-set type per level: ``sab``, ``isab`` (for long
            sets: linear in set size) or ``none``.
        chunk_pool, layer_pool, network_pool: set-to-vector per level: ``pma``, ``mean``,
            ``max``, ``sum``. Mean by default: at initialisation PMA left encodings of
            different networks nearly equal (docs/encoders.md, "Design notes").
        positional: add positional encodings (chunk place, layer index) and layer-type
            embeddings; off, SNE sees each level as an unordered set.
        inducing: inducing points of ISAB blocks.
        max_group_elements: bound on the floats in the largest temporary of one group of sets
            (the working-memory bound); ``None`` sizes groups for the device
            (:mod:`nnenc.encoders.work`: 256 chunks at the defaults on a CPU,
            a whole batch on a GPU). Speed only: every value gives the same encodings.
        log_values: give each value as (scaled value, log-magnitude) rather than the
            scaled value alone (see :mod:`nnenc.encoders.inputs`).
    """

    name = "sne"
    accepts_mixed = True
    search_space: ClassVar[dict] = {
        "training.lr": ("log", 3e-4, 3e-3),
        "config.hidden": ("choice", [8, 16, 32, 64]),
        "config.chunk_depth": ("choice", [1, 2]),
    }
    trains_faster_in_bf16 = True  # 183 vs 152 networks/s on a 2-core AVX-512-BF16 EPYC

    @classmethod
    def test_config(cls) -> dict:
        return {"chunk_size": 8, "hidden": 16, "heads": 2, "out_dim": 8}

    def __init__(
        self,
        chunk_size: int = 32,
        hidden: int = 32,
        heads: int = 4,
        out_dim: int = 64,
        chunk_depth: int = 1,
        layer_depth: int = 1,
        network_depth: int = 1,
        chunk_set: str = "sab",
        layer_set: str = "isab",
        network_set: str = "sab",
        chunk_pool: str = "mean",
        layer_pool: str = "mean",
        network_pool: str = "mean",
        positional: bool = True,
        inducing: int = 16,
        max_group_elements: int | None = None,
        log_values: bool = True,
    ):
        super().__init__()
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if hidden % heads:
            raise ValueError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        self.chunk_size, self.hidden, self.heads, self.out_dim = chunk_size, hidden, heads, out_dim
        self.chunk_depth, self.layer_depth, self.network_depth = (
            chunk_depth,
            layer_depth,
            network_depth,
        )
        self.chunk_set, self.layer_set, self.network_set = chunk_set, layer_set, network_set
        self.chunk_pool, self.layer_pool, self.network_pool = chunk_pool, layer_pool, network_pool
        self.positional, self.inducing = positional, inducing
        self.max_group_elements, self.log_values = max_group_elements, log_values
        self.embed_value = ValueEmbedding(hidden, log_values)
        self.chunk_encoder = SetEncoder(hidden, heads, chunk_depth, chunk_set, chunk_pool, inducing)
        self.layer_encoder = SetEncoder(hidden, heads, layer_depth, layer_set, layer_pool, inducing)
        self.network_encoder = SetEncoder(
            hidden, heads, network_depth, network_set, network_pool, inducing
        )
        self.kind_embedding = nn.Embedding(len(LAYER_KINDS), hidden)
        self.to_layer = nn.Linear(hidden, hidden)
        self.to_network = nn.Linear(hidden, hidden)
        self.project = nn.Linear(hidden, out_dim)

    def fit_inputs(self, features: Sequence[ChunkedNetwork]) -> None:
        """Scale parameter values by ``1 / std`` of the training set's values (one scalar: the
        relative scale of layers and networks, which predicts accuracy, is kept)."""
        self.embed_value.fit(torch.cat([f.values[f.mask] for f in features]))

    def _featurize(self, params: NetworkParams) -> ChunkedNetwork:
        return pad_chunk(params, self.chunk_size)

    def _collate(self, features: list[ChunkedNetwork]) -> dict:
        """Join features into a batch, and group its chunks, layers and networks by size
        (:class:`~nnenc.encoders.set_buckets.SetBuckets`) so that every level runs unpadded."""
        layer_offset, chunk_layer, layer_network, layer_index = 0, [], [], []
        for n, f in enumerate(features):
            chunk_layer.append(f.layer + layer_offset if layer_offset else f.layer)
            n_layers = len(f.layer_kind)
            layer_network.append(torch.full((n_layers,), n))
            layer_index.append(torch.arange(n_layers))
            layer_offset += n_layers
        values = join([f.values for f in features])
        lengths = chunk_lengths(join([f.mask for f in features]))
        chunk_layer = join(chunk_layer)
        layer_network = join(layer_network)
        return {
            "values": values,
            "lengths": lengths,
            "chunk_layer": chunk_layer,
            "unit": join([f.unit for f in features]),
            "piece": join([f.piece for f in features]),
            "layer_kind": join([f.layer_kind for f in features]),
            "layer_network": layer_network,
            "layer_index": join(layer_index),
            "chunk_buckets": self.chunk_buckets(lengths, torch.arange(len(lengths))),
            "layer_buckets": SetBuckets.of(torch.bincount(chunk_layer, minlength=layer_offset)),
            "network_buckets": SetBuckets.of(torch.bincount(layer_network)),
        }

    def chunk_buckets(self, lengths: torch.Tensor, chunks: torch.Tensor) -> SetBuckets:
        """The chunks ``chunks`` of a batch, of ``lengths`` real values each, as sets of their
        values (rows of the batch's flattened ``values``)."""
        return chunk_buckets(lengths, chunks, self.chunk_size)

    def work_layout(self) -> WorkLayout:
        """How this encoder's sets run on its device (:mod:`nnenc.encoders.work`), with
        ``max_group_elements`` in place of the device's group bound where it is set."""
        first = next(self.parameters())
        layout = work.work_layout(first.device)
        if self.max_group_elements is None:
            return layout
        return replace(layout, group_elements=self.max_group_elements)

    @property
    def chunk_group(self) -> int:
        """Full chunks encoded at once on this encoder's device."""
        size = self.chunk_encoder.temporary_elements(self.chunk_size)
        return self.work_layout().sets_per_group(size)

    def layer_inputs(self, chunks: Chunks) -> torch.Tensor:
        """The layer level's inputs ``(n, hidden)`` for some chunks: their encodings plus the
        positional encodings of each chunk's place, layer index and layer type, projected."""
        encoded = chunks.buckets.encode(
            lambda values: self.chunk_encoder(self.embed_value(values)),
            chunks.values.view(-1),
            temporary_elements=self.chunk_encoder.temporary_elements,
            layout=self.work_layout(),
        )
        if self.positional:
            encoded = (
                encoded
                + sinusoidal(chunks.unit, self.hidden)
                + sinusoidal(chunks.piece, self.hidden)
                + sinusoidal(chunks.layer_index, self.hidden)
                + self.kind_embedding(chunks.layer_kind)
            )
        return self.to_layer(encoded)

    def encode_layers(self, source: ChunkSource, stream: bool) -> torch.Tensor:
        """``(n_layers, hidden)`` encodings of every layer ``source`` holds: the one loop over
        layers, whatever the chunks come from (a collated batch or a network's weights).

        Layers that fit in one chunk group go through the layer encoder together, a layer size
        at a time. With ``stream`` (and a layer encoder that streams), a larger layer is
        streamed instead: its chunks are made and encoded a group of output units at a time
        (:meth:`SetEncoder.encode_groups`), so memory does not grow with the layer (the chunk
        level runs once per pass: twice with the default one ISAB block).
        """
        counts = source.chunk_counts()
        group = self.chunk_group
        streamed = counts > group
        if not (stream and self.layer_encoder.streams and streamed.any()):
            streamed = torch.zeros_like(streamed)
        whole = ~streamed
        layout = self.work_layout()
        size_of = self.layer_encoder.temporary_elements
        if not streamed.any():
            inputs = self.layer_inputs(source.layers(whole))
            return source.layer_buckets().encode(
                self.layer_encoder, inputs, temporary_elements=size_of, layout=layout
            )
        # Pieces in any order, put back in layer order at the end: under autocast the
        # encodings come in the compute dtype, so there is no buffer to write them into.
        pieces, order = [], []
        if whole.any():
            inputs = self.layer_inputs(source.layers(whole))
            pieces.append(
                SetBuckets.of(counts[whole]).encode(
                    self.layer_encoder, inputs, temporary_elements=size_of, layout=layout
                )
            )
            order.append(whole.nonzero().flatten())
        for layer in streamed.nonzero().flatten().tolist():
            units, per_unit = source.units(layer)
            step = max(1, group // per_unit)

            def groups(layer=layer, units=units, step=step):
                for first in range(0, units, step):
                    yield self.layer_inputs(source.units_of(layer, first, min(first + step, units)))

            pieces.append(self.layer_encoder.encode_groups(groups)[None])
            order.append(torch.tensor([layer], device=streamed.device))
        return torch.cat(pieces)[torch.cat(order).argsort().to(pieces[0].device)]

    def encode_networks(
        self,
        layers: torch.Tensor,
        layer_index: torch.Tensor,
        layer_kind: torch.Tensor,
        network_buckets: SetBuckets,
    ) -> torch.Tensor:
        """Layer encodings ``(n_layers, hidden)`` -> network encodings ``(B, out_dim)``."""
        if self.positional:
            layers = layers + sinusoidal(layer_index, self.hidden) + self.kind_embedding(layer_kind)
        encoded = network_buckets.encode(
            self.network_encoder,
            self.to_network(layers),
            temporary_elements=self.network_encoder.temporary_elements,
            layout=self.work_layout(),
        )
        return self.project(encoded)

    def _encode(self, source: ChunkSource, stream: bool | None) -> torch.Tensor:
        stream = not self.training if stream is None else stream
        index, kind, networks = source.network_sets()
        return self.encode_networks(self.encode_layers(source, stream), index, kind, networks)

    def forward(self, batch: dict, stream: bool | None = None) -> torch.Tensor:
        """A collated batch -> ``(B, out_dim)``. ``stream``: stream layers larger than a chunk
        group (:meth:`encode_layers`); default: in eval mode, not in training mode. Either way
        the encodings are the same, up to float rounding."""
        return self._encode(BatchChunks(batch, self.chunk_size), stream)

    def encode(self, networks: Sequence[NetworkParams], stream: bool | None = None) -> torch.Tensor:
        """Featurize, collate and encode; a network with a layer larger than a chunk group is,
        when streaming (default: in eval mode), encoded straight from its weights, never
        chunked whole (:meth:`encode_streaming`)."""
        stream = not self.training if stream is None else stream
        large = {i for i, n in enumerate(networks) if stream and self._has_large_layer(n)}
        encoded = {i: self.encode_streaming(networks[i]) for i in large}
        rest = [i for i in range(len(networks)) if i not in large]
        if rest:
            batch = super().encode([networks[i] for i in rest])
            encoded.update(zip(rest, batch, strict=True))
        return torch.stack([encoded[i] for i in range(len(networks))])

    def _has_large_layer(self, params: NetworkParams) -> bool:
        group = self.chunk_group
        return self.layer_encoder.streams and any(
            layer.out_units * chunks_per_unit(layer, self.chunk_size) > group for layer in params
        )

    def encode_streaming(self, params: NetworkParams) -> torch.Tensor:
        """One network -> ``(out_dim,)``, its chunks made from its weights a group of units at a
        time (:class:`WeightChunks`): memory bounded by a chunk group beside the weights. The
        same loop over layers as :meth:`forward`, fed from the weights."""
        self.check_network(params)
        device = next(self.parameters()).device
        return self._encode(WeightChunks(params, self.chunk_size, device), stream=True)[0]
