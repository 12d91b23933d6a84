import pytest
import torch

from nnenc import NetworkParams, get_architecture
from nnenc.encoders import create_encoder
from nnenc.encoders.sne import pad_chunk


def _network(arch: str = "cnn-small", seed: int = 0) -> NetworkParams:
    torch.manual_seed(seed)
    return NetworkParams.from_module(get_architecture(arch).build())


def _sne(**config):
    torch.manual_seed(0)
    return create_encoder("sne", **{"hidden": 16, "heads": 2, "out_dim": 8, **config}).eval()


def test_pad_chunk_lays_out_each_unit_and_masks_the_padding():
    net = _network()
    chunks = pad_chunk(net, chunk_size=32)
    # conv1: 16 units x (16*9 + 1 = 145 values) -> 5 chunks per unit
    first_conv1 = (chunks.layer == 1).nonzero()[0, 0]
    unit_row = torch.cat([net[1].weight[0].reshape(-1), net[1].bias[:1]])
    got = chunks.values[first_conv1 : first_conv1 + 5][chunks.mask[first_conv1 : first_conv1 + 5]]
    assert torch.equal(got, unit_row)
    assert int(chunks.mask.sum()) == net.num_params
    assert len(chunks.values) == 16 + 80 + 80 + 10
    assert (chunks.values[~chunks.mask] == 0).all()


def test_padding_does_not_change_the_encoding():
    encoder = _sne(chunk_size=32)
    features = encoder.featurize(_network())
    batch = encoder.collate([features])
    noisy = dict(batch)
    noisy["values"] = torch.where(
        batch["mask"], batch["values"], torch.randn_like(batch["values"]) * 100
    )
    torch.testing.assert_close(encoder(noisy), encoder(batch))


@pytest.mark.parametrize(
    "layer_config",
    [
        {},
        {"layer_pool": "pma"},
        {"layer_pool": "max", "layer_depth": 2},
        {"layer_pool": "sum", "layer_set": "none"},
        {"layer_set": "sab"},  # not streamable: padded in bounded groups instead
    ],
)
@pytest.mark.parametrize("grad", [False, True])
def test_processing_chunks_in_small_groups_gives_the_same_encoding(layer_config, grad):
    """Groups of 3 chunks: in inference every layer of more chunks is streamed through the layer
    encoder (running softmax); with gradients, chunk groups are concatenated."""
    big = _sne(chunk_size=16, **layer_config)
    small = _sne(chunk_size=16, max_group_elements=16 * 32 * 3, **layer_config)
    small.load_state_dict(big.state_dict())
    assert small.chunk_group == 3
    networks = [_network("cnn-small", 0), _network("mlp", 1)]
    batch = small.collate([small.featurize(n) for n in networks])
    with torch.set_grad_enabled(grad):
        expected = big.encode(networks)
        # encode() streams each network from its weights; forward() streams the batch's layers
        torch.testing.assert_close(small.encode(networks), expected, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(small(batch), expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(
    "config",
    [
        {"chunk_pool": "mean", "layer_pool": "max", "network_pool": "sum"},
        {"chunk_set": "none", "layer_set": "sab", "network_set": "isab"},
        {"positional": False},
        {"chunk_size": 8, "chunk_depth": 2},
        {"chunk_size": 256},
    ],
)
def test_ablation_options_build_and_encode(config):
    encoder = _sne(**config)
    out = encoder.encode([_network("cnn-small", 0), _network("cnn-dense", 1)])
    assert out.shape == (2, 8) and torch.isfinite(out).all()


def test_positional_encodings_tell_layer_order_apart():
    net = _network("mlp")
    swapped = NetworkParams((net[1], net[0], net[2]), "mlp")  # same sets, other order
    with_positions, without = _sne(), _sne(positional=False)
    without.load_state_dict(with_positions.state_dict(), strict=False)
    a, b = with_positions.encode([net, swapped])
    assert not torch.allclose(a, b, atol=1e-4)


def test_unknown_options_are_refused():
    with pytest.raises(ValueError, match="unknown pooling 'median'"):
        _sne(layer_pool="median")
    with pytest.raises(ValueError, match="unknown set-to-set type 'lstm'"):
        _sne(chunk_set="lstm")


def test_isab_in_slices_equals_isab_at_once():
    from nnenc.encoders.set_layers import ISAB

    torch.manual_seed(0)
    whole, sliced = ISAB(16, 2, inducing=4), ISAB(16, 2, inducing=4, slice_rows=7)
    sliced.load_state_dict(whole.state_dict())
    x, mask = torch.randn(3, 40, 16), torch.rand(3, 40) > 0.2
    torch.testing.assert_close(sliced(x, mask), whole(x, mask))
