"""The neural-graph view: exact nodes and edges, checked against the network's own tensors."""

import pytest
import torch
from torch import nn

from nnenc import NetworkParams, get_architecture
from nnenc.views.graph import INPUT, OUTPUT, graph_to_networkx, neural_graph


def _network(arch: str, seed: int = 0) -> NetworkParams:
    torch.manual_seed(seed)
    return NetworkParams.from_module(get_architecture(arch).build())


def _edge_map(graph):
    return {
        (int(s), int(t)): graph.edge_attr[e]
        for e, (s, t) in enumerate(graph.edge_index.t().tolist())
    }


def test_small_cnn_zoo_network_has_the_known_sizes():
    graph = neural_graph(_network("cnn-small"))
    assert graph.num_nodes == 59  # 1 + 16 + 16 + 16 + 10
    assert graph.edge_index.shape == (2, 688)  # 1*16 + 16*16 + 16*16 + 16*10
    assert graph.edge_attr.shape == (688, 9)
    assert (graph.node_type == INPUT).sum() == 1 and (graph.node_type == OUTPUT).sum() == 10
    assert graph.node_layer.tolist() == [0] + [1] * 16 + [2] * 16 + [3] * 16 + [4] * 10


def test_every_edge_carries_its_weight_and_every_node_its_bias():
    params = _network("cnn-small", seed=3)
    graph = neural_graph(params)
    edges = _edge_map(graph)
    assert len(edges) == sum(layer.out_units * layer.weight.shape[1] for layer in params)
    offsets = [0, 1, 17, 33, 49]
    for position, layer in enumerate(params):
        weight = layer.weight.reshape(layer.out_units, layer.weight.shape[1], -1)
        for o in range(weight.shape[0]):
            for i in range(weight.shape[1]):
                kernel = edges[(offsets[position] + i, offsets[position + 1] + o)]
                size = weight.shape[2]
                torch.testing.assert_close(kernel[:size], weight[o, i], rtol=0, atol=0)
                assert (kernel[size:] == 0).all()
        start = offsets[position + 1]
        torch.testing.assert_close(graph.x[start : start + layer.out_units, 0], layer.bias)
    assert (graph.x[0] == torch.tensor([0.0, 1.0, 0.0])).all()  # input node: no bias, no norm


def test_edge_count_is_the_weight_count_for_every_preset():
    for arch in ("cnn-small", "cnn-dense", "mlp"):
        params = _network(arch)
        graph = neural_graph(params, edge_dim=9)
        weights = sum(layer.weight.numel() for layer in params)
        assert int((graph.edge_attr != 0).sum()) == weights  # random weights are never 0
        units = [params[0].weight.shape[1]] + [layer.out_units for layer in params]
        assert graph.num_nodes == sum(units)


def test_a_flattened_feature_map_becomes_the_kernel_and_norm_layers_fold_into_nodes():
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(2, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 2 * 2, 3)
    )
    with torch.no_grad():
        module[1].weight.uniform_(0.5, 1.5)
        module[1].bias.uniform_(-1, 1)
    params = NetworkParams.from_module(module)
    graph = neural_graph(params)
    assert graph.num_nodes == 2 + 4 + 3 and graph.edge_attr.shape == (2 * 4 + 4 * 3, 9)
    edges = _edge_map(graph)
    linear = module[4].weight.detach()
    for o in range(3):
        for c in range(4):  # channel c's 2x2 map, channel-major as nn.Flatten lays it out
            torch.testing.assert_close(edges[(2 + c, 6 + o)][:4], linear[o, 4 * c : 4 * c + 4])
    torch.testing.assert_close(graph.x[2:6, 1], module[1].weight.detach())
    torch.testing.assert_close(graph.x[2:6, 2], module[1].bias.detach())


def test_networkx_export_keeps_nodes_edges_and_weights():
    params = _network("mlp", seed=1)
    graph = neural_graph(params)
    nx_graph = graph_to_networkx(graph)
    assert nx_graph.number_of_nodes() == graph.num_nodes
    assert nx_graph.number_of_edges() == graph.edge_index.shape[1]
    first = params[0].weight
    n_inputs = first.shape[1]
    data = nx_graph.edges[(5, n_inputs + 2)]
    assert data["edge_attr"][0] == pytest.approx(float(first[2, 5]))
    assert nx_graph.nodes[n_inputs]["node_layer"] == 1


def test_unreadable_networks_are_refused_with_the_layer_named():
    odd = NetworkParams.from_module(nn.Sequential(nn.Embedding(5, 3), nn.Linear(3, 2)))
    with pytest.raises(ValueError, match="'0' is of kind 'embedding'"):
        neural_graph(odd)
    with pytest.raises(ValueError, match="does not fit edge_dim=4"):
        neural_graph(_network("cnn-small"), edge_dim=4)
    mismatch = NetworkParams.from_module(nn.Sequential(nn.Linear(4, 3), nn.Linear(5, 2)))
    with pytest.raises(ValueError, match="'1' takes 5 inputs"):
        neural_graph(mismatch)


def test_a_small_kernel_sits_in_the_middle_of_a_larger_one():
    """A zoo of 3x3 and 5x5 convolutions (the mixed preset's) reads with ``edge_dim=25``: as the
    published code pads, a 3x3 kernel is the centre of a 5x5 grid, so the same spatial place is
    the same edge feature in both; a linear layer's weight stays in the first slot. With
    ``edge_dim=9`` a 3x3 kernel is unpadded, as before (the full preset's graphs)."""
    torch.manual_seed(0)
    module = nn.Sequential(
        nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Conv2d(2, 2, 5), nn.Flatten(), nn.Linear(2, 3)
    )
    params = NetworkParams.from_module(module)
    edges = _edge_map(neural_graph(params, edge_dim=25))
    small = module[0].weight.detach()
    for o in range(2):
        grid = edges[(0, 1 + o)].reshape(5, 5)
        torch.testing.assert_close(grid[1:4, 1:4], small[o, 0], rtol=0, atol=0)
        assert grid.abs().sum() == grid[1:4, 1:4].abs().sum()  # zeros all around
        for i in range(2):
            large = edges[(1 + i, 3 + o)].reshape(5, 5)
            torch.testing.assert_close(large, module[2].weight.detach()[o, i], rtol=0, atol=0)
    linear = edges[(3, 5)]
    assert linear[0] == module[4].weight[0, 0] and (linear[1:] == 0).all()
    alone = NetworkParams.from_module(nn.Sequential(module[0], nn.Flatten(), nn.Linear(2, 3)))
    unpadded = _edge_map(neural_graph(alone, edge_dim=9))
    torch.testing.assert_close(unpadded[(0, 1)], small[0, 0].reshape(-1), rtol=0, atol=0)
