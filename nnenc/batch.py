"""Collating networks of possibly different architectures into one :class:`ParamsBatch`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

from nnenc.layout import LayerShape
from nnenc.params import LAYER_KINDS, Layer, NetworkParams


@dataclass(frozen=True, eq=False)
class ParamsBatch:
    """Many networks, their parameters in one flat tensor plus a table of layers.

    Attributes:
        values: ``(total,)`` float tensor, every network's :meth:`NetworkParams.to_flat` in turn.
        network_ptr: ``(B + 1,)`` long; network ``i`` is ``values[network_ptr[i]:network_ptr[i+1]]``.
        layer_table: ``(L, 5)`` long, one row per layer of every network:
            ``(network, position in network, kind id, start, stop)``; ``start:stop`` index
            ``values`` and cover the layer's weight then bias. Kind ids index ``LAYER_KINDS``.
        layer_specs: per network, per layer, its :class:`~nnenc.layout.LayerShape` (what is
            needed, beside the values, to split it back).
        architectures: per network, its architecture id.
        metadata: per network, its metadata.
    """

    values: torch.Tensor
    network_ptr: torch.Tensor
    layer_table: torch.Tensor
    layer_specs: tuple[tuple[LayerShape, ...], ...]
    architectures: tuple[str, ...]
    metadata: tuple[Mapping, ...]

    @classmethod
    def collate(cls, networks: Sequence[NetworkParams]) -> ParamsBatch:
        if not networks:
            raise ValueError("cannot collate an empty list of networks")
        flats, ptr, rows, specs = [], [0], [], []
        for n, net in enumerate(networks):
            if len(net) == 0:
                raise ValueError(f"network {n} ({net.architecture}) has no layers")
            offset = ptr[-1]
            net_specs = net.layer_shapes()
            for position, (layer, spec) in enumerate(zip(net.layers, net_specs, strict=True)):
                rows.append(
                    (n, position, LAYER_KINDS.index(layer.kind), offset, offset + spec.size)
                )
                offset += spec.size
            flats.append(net.to_flat())
            ptr.append(offset)
            specs.append(tuple(net_specs))
        return cls(
            values=torch.cat(flats),
            network_ptr=torch.tensor(ptr, dtype=torch.long),
            layer_table=torch.tensor(rows, dtype=torch.long),
            layer_specs=tuple(specs),
            architectures=tuple(net.architecture for net in networks),
            metadata=tuple(dict(net.metadata) for net in networks),
        )

    def __len__(self) -> int:
        return len(self.architectures)

    @property
    def is_mixed(self) -> bool:
        """Whether the batch holds more than one architecture."""
        return len(set(self.architectures)) > 1

    def network(self, i: int) -> NetworkParams:
        """Network ``i``, rebuilt exactly as it was collated."""
        layers = []
        for spec, row in zip(self.layer_specs[i], self._layer_rows(i), strict=True):
            start, stop = int(row[3]), int(row[4])
            chunk = self.values[start:stop]
            n_weight = chunk.numel() - spec.bias_size
            weight = chunk[:n_weight].reshape(spec.weight)
            bias = None if spec.bias is None else chunk[n_weight:].reshape(spec.bias)
            layers.append(Layer(spec.name, spec.kind, weight, bias, spec.activation))
        return NetworkParams(tuple(layers), self.architectures[i], self.metadata[i])

    def unbatch(self) -> list[NetworkParams]:
        return [self.network(i) for i in range(len(self))]

    def to(self, device: torch.device | str) -> ParamsBatch:
        return ParamsBatch(
            self.values.to(device),
            self.network_ptr.to(device),
            self.layer_table.to(device),
            self.layer_specs,
            self.architectures,
            self.metadata,
        )

    def _layer_rows(self, i: int) -> torch.Tensor:
        return self.layer_table[self.layer_table[:, 0] == i]

    def __repr__(self) -> str:
        return (
            f"ParamsBatch(networks={len(self)}, layers={self.layer_table.shape[0]}, "
            f"params={self.values.numel()}, architectures={sorted(set(self.architectures))})"
        )
