"""SNE: the Set-based Neural network Encoder (Andreis et al., "Set-based Neural Network
Encoding"), with pad-chunk-encode.

featurize (once per network): each layer's parameters are laid out per output unit (the unit's
weights, then its bias), each unit's row padded to a multiple of ``chunk_size`` and cut into
chunks of ``chunk_size`` scalars; a mask marks the padding. Layer kinds other than conv, linear
and norm are refused.

forward (three levels, one :class:`~nnenc.encoders.set_layers.SetEncoder` each):

1. chunk: each chunk is a set of scalars, embedded ``R -> R^d``, encoded set-to-set then
   set-to-vector into one vector. Chunks are processed in groups of bounded size, so memory is
   set by ``chunk_size``, not by the largest layer.
2. layer: a layer's chunk vectors, plus positional encodings of each chunk's place (unit and
   piece index), the layer's index and the layer's type, are encoded into a layer vector.
3. network: the layer vectors (plus layer index and type encodings) are encoded into the network
   vector, projected to ``out_dim``.

Padding is masked at every level, so neither the chunk padding nor the padding that batching
networks of different sizes needs changes an encoding.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from nnenc.encoders.base import EncoderInputError, WeightEncoder, register_encoder
from nnenc.encoders.inputs import ValueEmbedding, sinusoidal
from nnenc.encoders.set_layers import SetEncoder
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


def _pad_segments(x: torch.Tensor, segment: torch.Tensor, n_segments: int):
    """Rows of ``x`` grouped by sorted ``segment`` ids -> ``(n_segments, longest, d)`` + mask."""
    counts = torch.bincount(segment, minlength=n_segments)
    starts = torch.cumsum(counts, 0) - counts
    position = torch.arange(len(segment), device=x.device) - starts[segment]
    longest = int(counts.max())
    out = x.new_zeros(n_segments, longest, x.shape[-1])
    mask = torch.zeros(n_segments, longest, dtype=torch.bool, device=x.device)
    out[segment, position] = x
    mask[segment, position] = True
    return out, mask


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
        max_group_elements: bound on ``chunks x chunk_size x width`` processed at once at the
            chunk level (the working-memory bound; 2**19 is 256 chunks at the defaults, and was
            faster than 2**22 on a 2-core CPU: the group stays in cache).
        log_values: give each value as (scaled value, log-magnitude) rather than the
            scaled value alone (see :mod:`nnenc.encoders.inputs`).
    """

    name = "sne"
    accepts_mixed = True

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
        max_group_elements: int = 2**19,
        log_values: bool = True,
    ):
        super().__init__()
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
        if hidden % heads:
            raise ValueError(f"hidden ({hidden}) must be a multiple of heads ({heads})")
        self.config = {k: v for k, v in locals().items() if k not in ("self", "__class__")}
        self.chunk_size = chunk_size
        self.hidden = hidden
        self.out_dim = out_dim
        self.positional = positional
        self.max_group_elements = max_group_elements
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

    def featurize(self, params: NetworkParams) -> ChunkedNetwork:
        self.check_network(params)
        return pad_chunk(params, self.chunk_size)

    def collate(self, features: Sequence[ChunkedNetwork]) -> dict[str, torch.Tensor]:
        if not features:
            raise EncoderInputError("cannot collate an empty list of networks")
        layer_offset, chunk_layer, layer_network, layer_index = 0, [], [], []
        for n, f in enumerate(features):
            chunk_layer.append(f.layer + layer_offset if layer_offset else f.layer)
            n_layers = len(f.layer_kind)
            layer_network.append(torch.full((n_layers,), n))
            layer_index.append(torch.arange(n_layers))
            layer_offset += n_layers
        return {
            "values": _join([f.values for f in features]),
            "mask": _join([f.mask for f in features]),
            "chunk_layer": _join(chunk_layer),
            "unit": _join([f.unit for f in features]),
            "piece": _join([f.piece for f in features]),
            "layer_kind": _join([f.layer_kind for f in features]),
            "layer_network": _join(layer_network),
            "layer_index": _join(layer_index),
        }

    @property
    def chunk_group(self) -> int:
        """Chunks encoded at once: ``max_group_elements`` over one chunk's working set."""
        per_chunk = self.chunk_size * max(self.chunk_size, 2 * self.hidden)
        return max(1, self.max_group_elements // per_chunk)

    def encode_chunks(self, values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """``(C, chunk_size)`` -> ``(C, hidden)``, in groups of bounded size.

        The output is allocated once and filled group by group: small per-group results kept
        between the large freed temporaries fragmented the heap (2.3 GB resident for one
        10.7M-parameter network, against ~0.1 GB for one group).
        """
        group = self.chunk_group
        if len(values) <= group:
            return self.chunk_encoder(self.embed_value(values), mask)
        chunks = [
            (start, values[start : start + group], mask[start : start + group])
            for start in range(0, len(values), group)
        ]
        if torch.is_grad_enabled():  # autograd keeps every group's activations anyway
            return torch.cat([self.chunk_encoder(self.embed_value(v), m) for _, v, m in chunks])
        out = values.new_empty(len(values), self.hidden)
        for start, v, m in chunks:
            out[start : start + len(v)] = self.chunk_encoder(self.embed_value(v), m)
        return out

    def _encode_segments(
        self, encoder: SetEncoder, x: torch.Tensor, segment: torch.Tensor, n_segments: int
    ) -> torch.Tensor:
        """Encode the sets ``x`` grouped by sorted ``segment``, padding together only as many
        consecutive sets as fit in ``max_group_elements`` (one huge layer is encoded alone)."""
        counts = torch.bincount(segment, minlength=n_segments).tolist()
        out, first, start = [], 0, 0
        while first < n_segments:
            last, longest = first, 0
            while last < n_segments:
                longer = max(longest, counts[last])
                if (
                    last > first
                    and (last - first + 1) * longer * self.hidden > self.max_group_elements
                ):
                    break
                longest, last = longer, last + 1
            size = sum(counts[first:last])
            rows = x[start : start + size]
            padded, mask = _pad_segments(rows, segment[start : start + size] - first, last - first)
            out.append(encoder(padded, mask))
            first, start = last, start + size
        return torch.cat(out)

    def layer_inputs(self, batch: dict[str, torch.Tensor], rows: slice | torch.Tensor):
        """The layer level's inputs for chunk ``rows`` of a batch: chunk encodings plus the
        positional encodings of the chunk's place, layer index and layer type, projected."""
        chunks = self.encode_chunks(batch["values"][rows], batch["mask"][rows])
        if self.positional:
            layer_of_chunk = batch["chunk_layer"][rows]
            chunks = (
                chunks
                + sinusoidal(batch["unit"][rows], self.hidden)
                + sinusoidal(batch["piece"][rows], self.hidden)
                + sinusoidal(batch["layer_index"][layer_of_chunk], self.hidden)
                + self.kind_embedding(batch["layer_kind"][layer_of_chunk])
            )
        return self.to_layer(chunks)

    def encode_layers(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(n_layers, hidden)`` layer encodings of a collated batch.

        In inference, a layer of more chunks than one chunk group is streamed: its chunks are
        encoded group by group into the layer encoder (:meth:`SetEncoder.encode_groups`), so
        memory does not grow with the layer (the chunk level runs once per pass: twice with the
        default one ISAB block). Other layers are padded together in bounded groups.
        """
        chunk_layer = batch["chunk_layer"]
        n_layers = len(batch["layer_kind"])
        counts = torch.bincount(chunk_layer, minlength=n_layers)
        group = self.chunk_group
        streamed = counts > group
        if torch.is_grad_enabled() or not self.layer_encoder.streams or not streamed.any():
            return self._encode_segments(
                self.layer_encoder, self.layer_inputs(batch, slice(None)), chunk_layer, n_layers
            )
        out = batch["values"].new_empty(n_layers, self.hidden)
        padded = ~streamed
        if padded.any():
            rows = padded[chunk_layer].nonzero().squeeze(1)
            segment = torch.unique_consecutive(chunk_layer[rows], return_inverse=True)[1]
            out[padded] = self._encode_segments(
                self.layer_encoder, self.layer_inputs(batch, rows), segment, int(padded.sum())
            )
        starts = (torch.cumsum(counts, 0) - counts).tolist()
        for layer in streamed.nonzero().flatten().tolist():
            first, last = starts[layer], starts[layer] + int(counts[layer])

            def groups(first=first, last=last):
                for start in range(first, last, group):
                    yield self.layer_inputs(batch, slice(start, min(start + group, last)))

            out[layer] = self.layer_encoder.encode_groups(groups)
        return out

    def encode_networks(
        self,
        layers: torch.Tensor,
        layer_index: torch.Tensor,
        layer_kind: torch.Tensor,
        layer_network: torch.Tensor,
    ) -> torch.Tensor:
        """Layer encodings ``(n_layers, hidden)`` -> network encodings ``(B, out_dim)``."""
        if self.positional:
            layers = layers + sinusoidal(layer_index, self.hidden) + self.kind_embedding(layer_kind)
        n_networks = int(layer_network.max()) + 1
        padded, mask = _pad_segments(self.to_network(layers), layer_network, n_networks)
        return self.project(self.network_encoder(padded, mask))

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """A collated batch -> ``(B, out_dim)``."""
        return self.encode_networks(
            self.encode_layers(batch),
            batch["layer_index"],
            batch["layer_kind"],
            batch["layer_network"],
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
                    batch = {
                        "values": chunks.values,
                        "mask": chunks.mask,
                        "chunk_layer": chunks.layer,
                        "unit": chunks.unit + first,
                        "piece": chunks.piece,
                        "layer_kind": chunks.layer_kind,
                        "layer_index": torch.tensor([index]),
                    }
                    yield self.layer_inputs(self.batch_to(batch, device), slice(None))

            vectors.append(self.layer_encoder.encode_groups(groups))
        n_layers = len(params)
        kinds = torch.tensor([LAYER_KINDS.index(layer.kind) for layer in params], device=device)
        return self.encode_networks(
            torch.stack(vectors),
            torch.arange(n_layers, device=device),
            kinds,
            torch.zeros(n_layers, dtype=torch.long, device=device),
        )[0]
