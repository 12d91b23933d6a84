"""``deepsets``: every parameter of the network as one element of a set (Zaheer et al., "Deep
Sets"), ``rho(pool(phi(element)))``.

An element is a scalar with what is known of its place: its value (as the value features of
:mod:`nnenc.encoders.inputs`), its layer's index (sinusoidal) and kind (embedding), whether it is a
weight or a bias, and the layer's relative depth (0 at the first layer, 1 at the last). ``phi`` is
an MLP on each element; the pooling (``mean`` or ``sum``) runs per network; ``rho`` is batch norm
then an MLP. The batch norm matters: the pooled vectors of different networks differ by ~1 % of
their size, and without it training stalls (docs/encoders.md, "Design notes").
Accepts any architecture. Memory grows with the number of parameters in a batch (every element
is embedded at once): this baseline is for zoos of small networks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import nn

from nnenc.encoders import WeightEncoder, register_encoder, work
from nnenc.encoders.inputs import ValueEmbedding, sinusoidal
from nnenc.encoders.set_buckets import SetBuckets
from nnenc.params import LAYER_KINDS, NetworkParams

POOLINGS = ("mean", "sum")
LIVE_PER_ELEMENT = 8
"""Tensors of ``hidden`` floats one element keeps alive through a training step (its value
embedding's hidden layer and output, phi's three steps, their gradients): a group of networks is
sized by all of them (:mod:`nnenc.encoders.work`), not by the largest alone, which made
groups that page-faulted (docs/speed.md, "Why the code is shaped so")."""


@dataclass(frozen=True)
class ParameterSet:
    values: torch.Tensor  # (N,) every weight and bias
    layer: torch.Tensor  # (N,) layer index
    is_bias: torch.Tensor  # (N,) long, 1 for biases
    layer_kind: torch.Tensor  # (L,) index in LAYER_KINDS


def parameter_set(params: NetworkParams) -> ParameterSet:
    values, layers, is_bias = [], [], []
    for index, layer in enumerate(params):
        for tensor, flag in ((layer.weight, 0), (layer.bias, 1)):
            if tensor is None:
                continue
            values.append(tensor.reshape(-1))
            layers.append(torch.full((tensor.numel(),), index))
            is_bias.append(torch.full((tensor.numel(),), flag))
    kinds = torch.tensor([LAYER_KINDS.index(layer.kind) for layer in params])
    return ParameterSet(torch.cat(values), torch.cat(layers), torch.cat(is_bias), kinds)


@register_encoder
class DeepSets(WeightEncoder):
    """phi per parameter, pooling per network, rho.

    Args:
        hidden: width of phi and rho.
        out_dim: size of the encoding.
        pooling: ``mean`` or ``sum``.
        log_values: value features with the log-magnitude.
    """

    name = "deepsets"
    search_space: ClassVar[dict] = {
        "training.lr": ("log", 3e-4, 3e-3),
        "config.hidden": ("choice", [32, 64, 128]),
        "training.head_hidden": ("choice", [32, 64, 128]),
    }
    accepts_mixed = True

    @classmethod
    def test_config(cls) -> dict:
        return {"hidden": 16, "out_dim": 8}

    def __init__(
        self, hidden: int = 64, out_dim: int = 64, pooling: str = "mean", log_values: bool = True
    ):
        super().__init__()
        if pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
        self.hidden, self.out_dim, self.pooling, self.log_values = (
            hidden,
            out_dim,
            pooling,
            log_values,
        )
        self.embed_value = ValueEmbedding(hidden, log_values)
        self.kind = nn.Embedding(len(LAYER_KINDS), hidden)
        self.role = nn.Embedding(2, hidden)
        self.depth = nn.Linear(1, hidden)
        self.phi = nn.Sequential(nn.GELU(), nn.Linear(hidden, hidden), nn.GELU())
        self.rho = nn.Sequential(
            nn.BatchNorm1d(hidden), nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, out_dim)
        )

    def _featurize(self, params: NetworkParams) -> ParameterSet:
        return parameter_set(params)

    def fit_inputs(self, features: Sequence[ParameterSet]) -> None:
        self.embed_value.fit(torch.cat([f.values for f in features]))

    def _collate(self, features: list[ParameterSet]) -> dict[str, torch.Tensor]:
        """Join features into a batch. What an element knows of its place (layer index and
        kind, weight or bias, relative depth) is the same for every element of one
        (network, layer, role) *slot*: the batch gives each element its slot, and each slot its
        place, so the place encodings are computed per slot, not per element."""
        slot, slot_layer, slot_kind, slot_bias, slot_depth, first = [], [], [], [], [], 0
        for f in features:
            n_layers = len(f.layer_kind)
            slot.append(f.layer * 2 + f.is_bias + first)
            slot_layer.append(torch.arange(n_layers).repeat_interleave(2))
            slot_kind.append(f.layer_kind.repeat_interleave(2))
            slot_bias.append(torch.tensor([0, 1]).repeat(n_layers))
            slot_depth.append(slot_layer[-1] / max(n_layers - 1, 1))
            first += 2 * n_layers
        sizes = torch.tensor([len(f.values) for f in features])
        return {
            "values": torch.cat([f.values for f in features]),
            "slot": torch.cat(slot),
            "slot_layer": torch.cat(slot_layer),
            "slot_kind": torch.cat(slot_kind),
            "slot_is_bias": torch.cat(slot_bias),
            "slot_depth": torch.cat(slot_depth),
            "networks": SetBuckets.of(sizes),
        }

    def places(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        """``(n_slots, hidden)``: layer kind, role, layer index and relative depth, encoded."""
        return (
            self.kind(batch["slot_kind"])
            + self.role(batch["slot_is_bias"])
            + sinusoidal(batch["slot_layer"], self.hidden)
            + self.depth(batch["slot_depth"].unsqueeze(-1).float())
        )

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        places = self.places(batch)
        pool = torch.mean if self.pooling == "mean" else torch.sum

        def encode(values: torch.Tensor, slot: torch.Tensor) -> torch.Tensor:
            # index_select, not places[slot]: its gradient is summed by index_add, far faster
            # on a CPU than the accumulating index_put of advanced indexing (docs/speed.md)
            placed = places.index_select(0, slot.reshape(-1)).view(*slot.shape, -1)
            return pool(self.phi(self.embed_value(values) + placed), dim=1)

        pooled = batch["networks"].encode(
            encode,
            batch["values"],
            batch["slot"],
            temporary_elements=lambda size: size * self.hidden * LIVE_PER_ELEMENT,
            layout=work.work_layout(batch["values"].device),
        )
        return self.rho(pooled)
