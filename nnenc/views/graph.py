"""The neural-graph view of a network (Kofinas et al., "Graph Neural Networks for Learning
Equivariant Representations of Neural Networks"): one node per neuron, one edge per weight.

- Nodes: the input channels of the first layer, then the output units of every conv / linear
  layer, in order. Node features: ``[bias, norm scale, norm shift]`` (input nodes have bias 0; a
  norm layer after a layer sets the scale and shift of that layer's nodes, 1 and 0 otherwise).
  ``node_layer`` holds the node's layer (0 = inputs) and ``node_type`` input (0), hidden (1) or
  output (2).
- Edges: from unit ``i`` of one layer to unit ``o`` of the next, one per ``(o, i)`` pair of the
  weight, carrying the kernel ``weight[o, i]`` zero-padded to ``edge_dim`` and flattened. As the
  published code pads every kernel to the zoo's largest, a conv kernel is padded around, centred,
  to ``s x s`` where ``edge_dim = s * s``: a 3x3 kernel is the middle of a 5x5 one. Other weights
  (a linear layer's, a 1x1 kernel; a linear layer reading a flattened feature map, whose
  ``in_features`` are a multiple of the previous layer's channels, gets the map's positions as
  the kernel) fill the first slots.
  ``edge_layer`` holds the layer of the edge's weight (1 = first layer).

The Small CNN Zoo's ``[1, 16, 16, 16, 10]`` network has 59 nodes and 688 edges of dimension 9.
"""

from __future__ import annotations

import math

import networkx as nx
import torch
from torch_geometric.data import Data
from torch_geometric.utils import to_networkx

from nnenc.params import Layer, NetworkParams

NODE_FEATURES = ("bias", "norm_scale", "norm_shift")
INPUT, HIDDEN, OUTPUT = 0, 1, 2


def _kernels(params: NetworkParams, index: int, units_before: int):
    """Layer ``index``'s weight as ``(O, units_before, k)``."""
    layer = params[index]
    weight = layer.weight.reshape(layer.out_units, layer.weight.shape[1], -1)
    inputs = weight.shape[1]
    if inputs == units_before:
        return weight
    if inputs % units_before == 0:  # a flattened feature map, channel-major as nn.Flatten
        return layer.weight.reshape(layer.out_units, units_before, -1)
    raise ValueError(
        f"network ({params.architecture}): layer {layer.name!r} takes {inputs} inputs, which the "
        f"{units_before} units before it cannot feed (not equal, not a flattened map of them)"
    )


def _edge_features(layer: Layer, kernel: torch.Tensor, edge_dim: int) -> torch.Tensor:
    """A layer's kernels ``(O, I, k)`` as ``(O * I, edge_dim)`` edge features (see the module
    docstring: conv kernels centred in ``s x s``, other weights in the first slots)."""
    n_out, n_in, size = kernel.shape
    side = math.isqrt(edge_dim)
    if layer.kind == "conv" and layer.weight.dim() == 4 and side * side == edge_dim:
        kh, kw = layer.weight.shape[2:]
        if kh <= side and kw <= side and kh * kw == size:
            top, left = (side - kh) // 2, (side - kw) // 2
            grid = kernel.reshape(n_out * n_in, kh, kw)
            padding = (left, side - kw - left, top, side - kh - top)
            return torch.nn.functional.pad(grid, padding).reshape(-1, edge_dim)
    return torch.nn.functional.pad(kernel.reshape(-1, size), (0, edge_dim - size))


def neural_graph(params: NetworkParams, edge_dim: int | None = None) -> Data:
    """``params`` as a ``torch_geometric.data.Data`` neural graph (see the module docstring).

    Args:
        edge_dim: pad every kernel to this length (default: the network's largest kernel);
            a larger kernel is refused. A square ``s * s`` centres conv kernels in ``s x s``.
    """
    main = [i for i, layer in enumerate(params) if layer.kind in ("conv", "linear")]
    others = [layer for layer in params if layer.kind not in ("conv", "linear", "norm")]
    if not main:
        raise ValueError(f"network ({params.architecture}): no conv or linear layer to draw")
    if others:
        raise ValueError(
            f"network ({params.architecture}): layer {others[0].name!r} is of kind "
            f"{others[0].kind!r}; the neural graph has nodes for conv and linear units only"
        )
    first = params[main[0]]
    units = [first.weight.shape[1]]
    kernels = []
    for index in main:
        kernels.append(_kernels(params, index, units[-1]))
        units.append(params[index].out_units)
    longest = max(k.shape[-1] for k in kernels)
    edge_dim = longest if edge_dim is None else edge_dim
    if longest > edge_dim:
        raise ValueError(
            f"network ({params.architecture}): a kernel of {longest} weights does not fit "
            f"edge_dim={edge_dim}"
        )
    offsets = torch.tensor([0, *units]).cumsum(0)
    n_nodes = int(offsets[-1])
    x = torch.zeros(n_nodes, len(NODE_FEATURES))
    x[:, 1] = 1.0
    node_layer = torch.repeat_interleave(torch.arange(len(units)), torch.tensor(units))
    node_type = torch.full((n_nodes,), HIDDEN)
    node_type[: units[0]] = INPUT
    node_type[int(offsets[-2]) :] = OUTPUT
    sources, targets, attrs, edge_layer = [], [], [], []
    for position, (index, kernel) in enumerate(zip(main, kernels, strict=True)):
        n_out, n_in, _ = kernel.shape
        start_in, start_out = int(offsets[position]), int(offsets[position + 1])
        out_idx, in_idx = torch.meshgrid(torch.arange(n_out), torch.arange(n_in), indexing="ij")
        sources.append(start_in + in_idx.reshape(-1))
        targets.append(start_out + out_idx.reshape(-1))
        attrs.append(_edge_features(params[index], kernel, edge_dim))
        edge_layer.append(torch.full((n_out * n_in,), position + 1))
        layer = params[index]
        if layer.bias is not None:
            x[start_out : start_out + n_out, 0] = layer.bias
        following = main[position + 1] if position + 1 < len(main) else len(params)
        for norm in params.layers[index + 1 : following]:
            x[start_out : start_out + n_out, 1] = norm.weight.reshape(-1)
            if norm.bias is not None:
                x[start_out : start_out + n_out, 2] = norm.bias.reshape(-1)
    return Data(
        x=x,
        edge_index=torch.stack([torch.cat(sources), torch.cat(targets)]),
        edge_attr=torch.cat(attrs),
        node_layer=node_layer,
        node_type=node_type,
        edge_layer=torch.cat(edge_layer),
        num_nodes=n_nodes,
    )


def graph_to_networkx(graph: Data) -> nx.DiGraph:
    """A ``networkx.DiGraph`` of a neural graph, for inspection and drawing: node attributes
    ``x``, ``node_layer``, ``node_type``; edge attributes ``edge_attr`` (the kernel) and
    ``edge_layer``."""
    return to_networkx(
        graph,
        node_attrs=["x", "node_layer", "node_type"],
        edge_attrs=["edge_attr", "edge_layer"],
    )
