import pytest
import torch

from nnenc import NetworkParams, ParamsBatch, get_architecture
from nnenc.params import LAYER_KINDS


def _network(name: str, seed: int) -> NetworkParams:
    torch.manual_seed(seed)
    return NetworkParams.from_module(
        get_architecture(name).build(), metadata={"seed": seed, "name": name}
    )


def test_a_batch_of_three_architectures_splits_back_losslessly():
    networks = [
        _network("cnn-small", 0),
        _network("mlp", 1),
        _network("cnn-dense", 2),
        _network("cnn-small", 3),
    ]
    batch = ParamsBatch.collate(networks)
    assert len(batch) == 4 and batch.is_mixed
    for original, back in zip(networks, batch.unbatch(), strict=True):
        assert back.architecture == original.architecture
        assert dict(back.metadata) == dict(original.metadata)
        assert [(la.name, la.kind, la.activation) for la in back] == [
            (la.name, la.kind, la.activation) for la in original
        ]
        for a, b in zip(original, back, strict=True):
            assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)


def test_layer_table_indexes_each_layers_values():
    networks = [_network("mlp", 0), _network("cnn-small", 1)]
    batch = ParamsBatch.collate(networks)
    n, position, kind, start, stop = batch.layer_table[-1].tolist()
    last = networks[1][-1]
    assert (n, position, LAYER_KINDS[kind]) == (1, 3, "linear")
    assert torch.equal(batch.values[start:stop], torch.cat([last.weight.reshape(-1), last.bias]))
    assert batch.network_ptr[-1] == batch.values.numel() == sum(x.num_params for x in networks)


def test_collating_nothing_is_refused():
    with pytest.raises(ValueError, match="empty"):
        ParamsBatch.collate([])
