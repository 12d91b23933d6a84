"""``gmn``: a graph metanetwork on the neural-graph view (:mod:`nnenc.views.graph`).

Nodes are embedded from their features (bias, norm scale/shift), their layer index and their type
(input, hidden, output); edges from their kernel values and layer index. ``depth`` GINE
message-passing layers (torch-geometric's ``GINEConv``: edge features enter every message) run
over the graph with its edges in both directions (a learned direction embedding tells them
apart), then mean and max pooling over each graph's nodes give the network's encoding.

Accepts any architecture the neural graph can draw (conv / linear stacks, norm layers folded into
node features); kernels longer than ``edge_dim`` are refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import GINEConv, global_max_pool, global_mean_pool

from nnenc.encoders import EncoderInputError, WeightEncoder, register_encoder
from nnenc.encoders.inputs import sinusoidal, value_features, value_scale
from nnenc.params import NetworkParams
from nnenc.views.graph import NODE_FEATURES, neural_graph


@register_encoder
class GraphMetanetwork(WeightEncoder):
    """GINE message passing on neural graphs (a graph metanetwork), mean and max pooled.

    Args:
        hidden: node and edge embedding width.
        depth: GINE layers.
        out_dim: size of the network encoding.
        edge_dim: kernel length every edge is padded to (9: 3x3 kernels).
        log_values: value features with the log-magnitude (see
            :mod:`nnenc.encoders.inputs`).
    """

    name = "gmn"
    search_space: ClassVar[dict] = {
        "training.lr": ("log", 3e-4, 3e-3),
        "config.hidden": ("choice", [16, 32, 64]),
        "config.depth": ("choice", [2, 3, 4]),
    }
    accepts_mixed = True

    @classmethod
    def test_config(cls) -> dict:
        return {"hidden": 16, "depth": 2, "out_dim": 8}

    def __init__(
        self,
        hidden: int = 32,
        depth: int = 3,
        out_dim: int = 64,
        edge_dim: int = 9,
        log_values: bool = True,
    ):
        super().__init__()
        self.hidden, self.depth, self.out_dim = hidden, depth, out_dim
        self.edge_dim, self.log_values = edge_dim, log_values
        per_value = 2 if log_values else 1
        self.register_buffer("scale", torch.ones(()))
        self.embed_node = nn.Linear(len(NODE_FEATURES) * per_value, hidden)
        self.node_type = nn.Embedding(3, hidden)
        self.embed_edge = nn.Sequential(
            nn.Linear(edge_dim * per_value, hidden), nn.GELU(), nn.Linear(hidden, hidden)
        )
        self.direction = nn.Embedding(2, hidden)
        self.convs = nn.ModuleList(
            GINEConv(
                nn.Sequential(nn.Linear(hidden, hidden), nn.GELU(), nn.Linear(hidden, hidden)),
                edge_dim=hidden,
            )
            for _ in range(depth)
        )
        self.project = nn.Linear(2 * hidden, out_dim)

    def _featurize(self, params: NetworkParams) -> Data:
        try:
            return neural_graph(params, self.edge_dim)
        except ValueError as err:
            raise EncoderInputError(str(err)) from err

    def fit_inputs(self, features: Sequence[Data]) -> None:
        """Scale weights and biases by 1 / std of the training graphs' edge values."""
        values = torch.cat([g.edge_attr[g.edge_attr != 0] for g in features])
        self.scale.fill_(value_scale(values))

    def _collate(self, features: list[Data]) -> Batch:
        return Batch.from_data_list(features)

    def batch_to(self, batch: Batch, device: torch.device | str) -> Batch:
        return batch.to(device)

    def forward(self, batch: Batch) -> torch.Tensor:
        def features(values: torch.Tensor) -> torch.Tensor:
            return value_features(values, self.scale, self.log_values).flatten(-2)

        h = (
            self.embed_node(features(batch.x))
            + self.node_type(batch.node_type)
            + sinusoidal(batch.node_layer, self.hidden)
        )
        edges = self.embed_edge(features(batch.edge_attr)) + sinusoidal(
            batch.edge_layer, self.hidden
        )
        n_edges = edges.shape[0]
        edge_index = torch.cat([batch.edge_index, batch.edge_index.flip(0)], dim=1)
        direction = torch.cat(
            [edges.new_zeros(n_edges, dtype=torch.long), edges.new_ones(n_edges, dtype=torch.long)]
        )
        edges = torch.cat([edges, edges]) + self.direction(direction)
        for conv in self.convs:
            h = h + conv(h, edge_index, edges)
        pooled = torch.cat(
            [global_mean_pool(h, batch.batch), global_max_pool(h, batch.batch)], dim=-1
        )
        return self.project(pooled)
