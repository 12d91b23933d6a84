"""``ng-pna``: the neural-graph network as published (Kofinas et al. 2024, "Graph Neural Networks
for Learning Equivariant Representations of Neural Networks"), for predicting accuracy.

On the neural graph (:mod:`nnenc.views.graph`: a node per neuron, an edge per weight), as the
paper's CNN-generalization model is set up:

- biases (with norm scales and shifts) are node features; each weight, or a convolution's
  kernel flattened (zero-padded to ``edge_dim``), is an edge feature;
- learned positional embeddings tell the input neurons apart, and the output neurons (the only
  neurons whose order means something); hidden neurons get none, so the encoder is invariant to
  their permutations;
- ``depth`` layers of PNA message passing (PyG's ``PNAConv``: mean, min, max and std
  aggregators, identity and amplification scalers, the training graphs' in-degree histogram)
  along the network's edges, with layer norm, SiLU and residual connections;
- the paper's readout: the output neurons' features, concatenated in order, through an MLP.

It reads any architecture the neural graph draws, with at most ``max_inputs`` input channels
and exactly ``num_outputs`` outputs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

import torch
from torch import nn
from torch_geometric.data import Batch, Data
from torch_geometric.nn import PNAConv
from torch_geometric.utils import degree

from nnenc.encoders import EncoderInputError, WeightEncoder, register_encoder
from nnenc.encoders.inputs import value_features, value_scale
from nnenc.params import NetworkParams
from nnenc.views.graph import INPUT, NODE_FEATURES, OUTPUT, neural_graph

AGGREGATORS = ("mean", "min", "max", "std")
SCALERS = ("identity", "amplification")


@register_encoder
class NeuralGraphPNA(WeightEncoder):
    """PNA message passing on neural graphs, with input/output position embeddings and the
    output-neuron readout (see the module docstring).

    Args:
        hidden: node and edge width (the paper's 32).
        depth: PNA layers (the paper's 4).
        out_dim: size of the network encoding.
        edge_dim: kernel length every edge is padded to (9: 3x3 kernels).
        max_inputs: input neurons with a position embedding (1,024: a flattened 28 x 28
            image for MLPs; a CNN's inputs are its channels).
        num_outputs: output neurons (the readout concatenates them).
        max_degree: the largest in-degree of the degree histogram (larger ones count there).
    """

    name = "ng-pna"
    accepts_mixed = True
    search_space: ClassVar[dict] = {
        "training.lr": ("log", 3e-4, 3e-3),
        "config.hidden": ("choice", [16, 32, 64]),
        "config.depth": ("choice", [2, 3, 4]),
    }

    @classmethod
    def test_config(cls) -> dict:
        return {"hidden": 8, "depth": 2, "out_dim": 8}

    def __init__(
        self,
        hidden: int = 32,
        depth: int = 4,
        out_dim: int = 64,
        edge_dim: int = 9,
        max_inputs: int = 1024,
        num_outputs: int = 10,
        max_degree: int = 512,
    ):
        super().__init__()
        self.hidden, self.depth, self.out_dim, self.edge_dim = hidden, depth, out_dim, edge_dim
        self.max_inputs, self.num_outputs, self.max_degree = max_inputs, num_outputs, max_degree
        self.register_buffer("scale", torch.ones(()))
        self.embed_node = nn.Linear(2 * len(NODE_FEATURES), hidden)
        self.input_position = nn.Embedding(max_inputs, hidden)
        self.output_position = nn.Embedding(num_outputs, hidden)
        self.embed_edge = nn.Sequential(
            nn.Linear(2 * edge_dim, hidden), nn.SiLU(), nn.Linear(hidden, hidden)
        )
        self._build_convs(torch.ones(max_degree + 1))
        self.readout = nn.Sequential(
            nn.Linear(num_outputs * hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_dim),
        )

    def _build_convs(self, histogram: torch.Tensor) -> None:
        """PNA layers whose scalers use the in-degree ``histogram`` (its averages are buffers,
        saved with the weights)."""
        self.convs = nn.ModuleList(
            PNAConv(
                self.hidden,
                self.hidden,
                list(AGGREGATORS),
                list(SCALERS),
                deg=histogram,
                edge_dim=self.hidden,
            )
            for _ in range(self.depth)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(self.hidden) for _ in range(self.depth))

    def _featurize(self, params: NetworkParams) -> Data:
        try:
            graph = neural_graph(params, self.edge_dim)
        except ValueError as err:
            raise EncoderInputError(str(err)) from err
        inputs = int((graph.node_type == INPUT).sum())
        outputs = int((graph.node_type == OUTPUT).sum())
        if inputs > self.max_inputs or outputs != self.num_outputs:
            raise EncoderInputError(
                f"network ({params.architecture}) has {inputs} inputs and {outputs} outputs; "
                f"this ng-pna reads at most {self.max_inputs} inputs (max_inputs) and exactly "
                f"{self.num_outputs} outputs (num_outputs)"
            )
        first_output = graph.num_nodes - outputs
        position = torch.arange(graph.num_nodes)
        graph.position = torch.where(graph.node_type == OUTPUT, position - first_output, position)
        return graph

    def fit_inputs(self, features: Sequence[Data]) -> None:
        """The training graphs' value scale and in-degree histogram (PNA's scalers)."""
        values = torch.cat([g.edge_attr[g.edge_attr != 0] for g in features])
        self.scale.fill_(value_scale(values))
        histogram = torch.zeros(self.max_degree + 1)
        for graph in features:
            counts = degree(graph.edge_index[1], graph.num_nodes).long()
            histogram += torch.bincount(counts.clamp(max=self.max_degree), minlength=len(histogram))
        self._build_convs(histogram)

    def _collate(self, features: list[Data]) -> Batch:
        return Batch.from_data_list(features)

    def batch_to(self, batch: Batch, device: torch.device | str) -> Batch:
        return batch.to(device)

    def forward(self, batch: Batch) -> torch.Tensor:
        nodes = value_features(batch.x, self.scale).flatten(-2)
        h = self.embed_node(nodes)
        is_input, is_output = batch.node_type == INPUT, batch.node_type == OUTPUT
        h = h + torch.where(
            is_input[:, None], self.input_position(batch.position.clamp(max=self.max_inputs - 1)), 0
        )
        h = h + torch.where(
            is_output[:, None],
            self.output_position(batch.position.clamp(max=self.num_outputs - 1)),
            0,
        )
        edges = self.embed_edge(value_features(batch.edge_attr, self.scale).flatten(-2))
        for conv, norm in zip(self.convs, self.norms, strict=True):
            h = h + nn.functional.silu(norm(conv(h, batch.edge_index, edges)))
        outputs = h[is_output].reshape(batch.num_graphs, self.num_outputs * self.hidden)
        return self.readout(outputs)
