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

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import torch
from torch import nn

from nnenc.encoders import work
from nnenc.encoders.base import EncoderInputError, WeightEncoder, register_encoder
from nnenc.encoders.inputs import ValueEmbedding, sinusoidal
from nnenc.encoders.set_buckets import SetBuckets
from nnenc.encoders.set_layers import SetEncoder
from nnenc.encoders.work import WorkLayout
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


def _join(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
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
            ``max``, ``sum``. Mean by default: at initialisation, PMA at all three levels left
            encodings of different networks only ~2e-5 apart (mean: ~1e-2) and training on a
            digits zoo barely moved; measured on 2026-11-27, to revisit in the ablations.
        positional: add positional encodings (chunk place, layer index) and layer-type
            embeddings; off, SNE sees each level as an unordered set.
        inducing: inducing points of ISAB blocks.
        max_group_elements: bound on the floats in the largest temporary of one group of sets
            (the working-memory bound); ``None`` sizes groups for the device
            (:mod:`nnenc.encoders.work`: 1,024 chunks at the defaults on a CPU, a whole batch on
            a GPU). Speed only: every value gives the same encodings.
        log_values: give each value as (scaled value, log-magnitude) rather than the
            scaled value alone (see :mod:`nnenc.encoders.inputs`).
    """

    name = "sne"
    accepts_mixed = True
    search_space: ClassVar[dict] = {
        "training.lr": ("log", 3e-4, 3e-3),
        "config.hidden": ("choice", [16, 32, 64]),
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
        values = _join([f.values for f in features])
        lengths = chunk_lengths(_join([f.mask for f in features]))
        chunk_layer = _join(chunk_layer)
        layer_network = _join(layer_network)
        return {
            "values": values,
            "lengths": lengths,
            "chunk_layer": chunk_layer,
            "unit": _join([f.unit for f in features]),
            "piece": _join([f.piece for f in features]),
            "layer_kind": _join([f.layer_kind for f in features]),
            "layer_network": layer_network,
            "layer_index": _join(layer_index),
            "chunk_buckets": self.chunk_buckets(lengths, torch.arange(len(lengths))),
            "layer_buckets": SetBuckets.of(torch.bincount(chunk_layer, minlength=layer_offset)),
            "network_buckets": SetBuckets.of(torch.bincount(layer_network)),
        }

    def chunk_buckets(self, lengths: torch.Tensor, chunks: torch.Tensor) -> SetBuckets:
        """The chunks ``chunks`` of a batch, of ``lengths`` real values each, as sets of their
        values (rows of the batch's flattened ``values``)."""
        return SetBuckets.of(lengths, chunks * self.chunk_size)

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

    def encode_chunks(self, values: torch.Tensor, buckets: SetBuckets) -> torch.Tensor:
        """Chunk encodings ``(C, hidden)`` of the chunks ``buckets`` indexes in the padded
        ``values`` ``(C_batch, chunk_size)``: a chunk length at a time, in device-sized groups."""
        return buckets.encode(
            lambda chunk_values: self.chunk_encoder(self.embed_value(chunk_values)),
            values.view(-1),
            temporary_elements=self.chunk_encoder.temporary_elements,
            layout=self.work_layout(),
        )

    def layer_inputs(self, batch: dict, chunks: torch.Tensor | None = None) -> torch.Tensor:
        """The layer level's inputs for the batch's chunks ``chunks`` (default all, in order):
        chunk encodings plus the positional encodings of each chunk's place, layer index and
        layer type, projected."""
        if chunks is None:
            rows: slice | torch.Tensor = slice(None)
            buckets = batch["chunk_buckets"]
        else:
            rows = chunks
            buckets = self.chunk_buckets(batch["lengths"][chunks], chunks)
        encoded = self.encode_chunks(batch["values"], buckets)
        if self.positional:
            layer_of_chunk = batch["chunk_layer"][rows]
            encoded = (
                encoded
                + sinusoidal(batch["unit"][rows], self.hidden)
                + sinusoidal(batch["piece"][rows], self.hidden)
                + sinusoidal(batch["layer_index"][layer_of_chunk], self.hidden)
                + self.kind_embedding(batch["layer_kind"][layer_of_chunk])
            )
        return self.to_layer(encoded)

    def encode_layers(self, batch: dict) -> torch.Tensor:
        """``(n_layers, hidden)`` layer encodings of a collated batch.

        In inference, a layer of more chunks than one chunk group is streamed: its chunks are
        encoded group by group into the layer encoder (:meth:`SetEncoder.encode_groups`), so
        memory does not grow with the layer (the chunk level runs once per pass: twice with the
        default one ISAB block). Other layers go through a layer size at a time.
        """
        chunk_layer = batch["chunk_layer"]
        n_layers = len(batch["layer_kind"])
        counts = torch.bincount(chunk_layer, minlength=n_layers)
        group = self.chunk_group
        streamed = counts > group
        layout = self.work_layout()
        size_of = self.layer_encoder.temporary_elements
        if torch.is_grad_enabled() or not self.layer_encoder.streams or not streamed.any():
            return batch["layer_buckets"].encode(
                self.layer_encoder,
                self.layer_inputs(batch),
                temporary_elements=size_of,
                layout=layout,
            )
        out = batch["values"].new_empty(n_layers, self.hidden)
        whole = ~streamed
        if whole.any():
            chunks = whole[chunk_layer].nonzero().squeeze(1)
            buckets = SetBuckets.of(counts[whole])
            out[whole] = buckets.encode(
                self.layer_encoder,
                self.layer_inputs(batch, chunks),
                temporary_elements=size_of,
                layout=layout,
            )
        starts = (torch.cumsum(counts, 0) - counts).tolist()
        device = chunk_layer.device
        for layer in streamed.nonzero().flatten().tolist():
            first, last = starts[layer], starts[layer] + int(counts[layer])

            def groups(first=first, last=last):
                for start in range(first, last, group):
                    chunks = torch.arange(start, min(start + group, last), device=device)
                    yield self.layer_inputs(batch, chunks)

            out[layer] = self.layer_encoder.encode_groups(groups)
        return out

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

    def forward(self, batch: dict) -> torch.Tensor:
        """A collated batch -> ``(B, out_dim)``."""
        return self.encode_networks(
            self.encode_layers(batch),
            batch["layer_index"],
            batch["layer_kind"],
            batch["network_buckets"],
        )

    def _streams(self, params: NetworkParams) -> bool:
        """Whether :meth:`encode` streams ``params``: in inference, a network with a layer of
        more chunks than one chunk group."""
        if torch.is_grad_enabled() or not self.layer_encoder.streams:
            return False
        return any(
            layer.out_units * chunks_per_unit(layer, self.chunk_size) > self.chunk_group
            for layer in params
        )

    def encode(self, networks: Sequence[NetworkParams]) -> torch.Tensor:
        """Featurize, collate and encode; in inference, a network with a layer larger than one
        chunk group is encoded straight from its weights (:meth:`encode_streaming`)."""
        streamed = {i: self.encode_streaming(n) for i, n in enumerate(networks) if self._streams(n)}
        rest = [i for i in range(len(networks)) if i not in streamed]
        if rest:
            encoded = super().encode([networks[i] for i in rest])
            streamed.update(zip(rest, encoded, strict=True))
        return torch.stack([streamed[i] for i in range(len(networks))])

    @torch.no_grad()
    def encode_streaming(self, params: NetworkParams) -> torch.Tensor:
        """One network -> ``(out_dim,)``, in memory bounded by a chunk group beside the weights.

        Each layer is cut into chunks a group of output units at a time and streamed through the
        layer encoder (:meth:`SetEncoder.encode_groups`); the network is never chunked whole.
        Equal to :meth:`forward` on the featurized network.
        """
        self.check_network(params)
        device = next(self.parameters()).device
        group = self.chunk_group
        vectors = []
        for index, layer in enumerate(params):
            units = max(1, group // chunks_per_unit(layer, self.chunk_size))

            def groups(index=index, layer=layer, units=units):
                for first in range(0, layer.out_units, units):
                    part = replace(
                        layer,
                        weight=layer.weight[first : first + units],
                        bias=None if layer.bias is None else layer.bias[first : first + units],
                    )
                    chunks = pad_chunk(NetworkParams((part,), params.architecture), self.chunk_size)
                    batch = self.collate([chunks])
                    batch["unit"] = chunks.unit + first
                    batch["layer_index"] = torch.tensor([index])
                    yield self.layer_inputs(self.batch_to(batch, device))

            vectors.append(self.layer_encoder.encode_groups(groups))
        n_layers = len(params)
        kinds = torch.tensor([LAYER_KINDS.index(layer.kind) for layer in params], device=device)
        return self.encode_networks(
            torch.stack(vectors),
            torch.arange(n_layers, device=device),
            kinds,
            SetBuckets.of(torch.tensor([n_layers])).to(device),
        )[0]
