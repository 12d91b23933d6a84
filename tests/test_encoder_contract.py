"""The contract every registered encoder must pass (in the spirit of scikit-learn's
check_estimator): shapes, mixed batches or a clear refusal, determinism, batch invariance,
gradient flow, save/load, bad input."""

import math

import pytest
import torch
from safetensors.torch import load_file, save_file

from baselines.flat_mlp import layer_shapes
from nnenc import Layer, NetworkParams, get_architecture
from nnenc.encoders import EncoderInputError, create_encoder, encoder_names

SMALL = {
    "sne": {"chunk_size": 8, "hidden": 16, "heads": 2, "out_dim": 8},
    "mlp": {"hidden": [32], "out_dim": 8, "shapes": None},
    "deepsets": {"hidden": 16, "out_dim": 8},
    "gmn": {"hidden": 16, "depth": 2, "out_dim": 8},
}
"""Small configurations so the contract runs fast; encoders not listed use their defaults.
``shapes: None`` is replaced by the cnn-small shapes (an encoder sized by its data)."""


def _network(arch: str, seed: int) -> NetworkParams:
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        return NetworkParams.from_module(get_architecture(arch).build())


def _config(name: str) -> dict:
    config = dict(SMALL.get(name, {}))
    if "shapes" in config:
        network = _network("cnn-small", 0)
        config["shapes"] = [list(shape) for shape in layer_shapes(network)]
    return config


def _encoder(name: str, seed: int = 0):
    torch.manual_seed(seed)
    return create_encoder(name, **_config(name)).eval()


NAMES = encoder_names()


@pytest.mark.parametrize("name", NAMES)
def test_encodes_a_batch_to_out_dim(name):
    encoder = _encoder(name)
    out = encoder.encode([_network("cnn-small", s) for s in range(3)])
    assert out.shape == (3, encoder.out_dim) and torch.isfinite(out).all()
    assert not torch.allclose(out[0], out[1]), "different networks, same encoding"


@pytest.mark.parametrize("name", NAMES)
def test_mixed_architectures_are_encoded_or_refused_clearly(name):
    encoder = _encoder(name)
    mixed = [_network("cnn-small", 0), _network("mlp", 1), _network("cnn-dense", 2)]
    if encoder.accepts_mixed:
        assert encoder.encode(mixed).shape == (3, encoder.out_dim)
    else:
        with pytest.raises(EncoderInputError, match="architecture"):
            encoder.encode(mixed)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_encoder_and_encoding(name):
    networks = [_network("cnn-small", 0), _network("cnn-small", 1)]
    a, b = _encoder(name, seed=3), _encoder(name, seed=3)
    torch.testing.assert_close(a.encode(networks), b.encode(networks))
    assert not torch.allclose(a.encode(networks), _encoder(name, seed=4).encode(networks))


@pytest.mark.parametrize("name", NAMES)
def test_an_encoding_does_not_depend_on_the_rest_of_the_batch(name):
    encoder = _encoder(name)
    target = _network("cnn-small", 0)
    others = (
        [_network("cnn-dense", 5), _network("cnn-small", 6)]
        if encoder.accepts_mixed
        else [_network("cnn-small", 5), _network("cnn-small", 6)]
    )
    alone = encoder.encode([target])
    together = encoder.encode([others[0], target, others[1]])
    torch.testing.assert_close(together[1], alone[0], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", NAMES)
def test_gradients_reach_every_parameter(name):
    encoder = _encoder(name).train()
    encoder.encode([_network("cnn-small", s) for s in range(2)]).pow(2).sum().backward()
    for parameter_name, parameter in encoder.named_parameters():
        assert parameter.grad is not None, f"{parameter_name} gets no gradient"
        assert torch.isfinite(parameter.grad).all(), f"{parameter_name} has a non-finite gradient"
    assert any(p.grad.abs().sum() > 0 for p in encoder.parameters())


@pytest.mark.parametrize("name", NAMES)
def test_save_and_load_through_safetensors_keeps_the_encoding(name, tmp_path):
    encoder = _encoder(name, seed=1)
    save_file(
        {k: v.contiguous() for k, v in encoder.state_dict().items()}, tmp_path / "w.safetensors"
    )
    again = create_encoder(name, **encoder.config).eval()
    again.load_state_dict(load_file(tmp_path / "w.safetensors"))
    networks = [_network("cnn-small", 0)]
    torch.testing.assert_close(again.encode(networks), encoder.encode(networks))


@pytest.mark.parametrize("name", NAMES)
def test_bad_networks_get_a_clear_error(name):
    encoder = _encoder(name)
    with pytest.raises(EncoderInputError, match="no layers"):
        encoder.featurize(NetworkParams(()))
    good = _network("cnn-small", 0)
    broken = good.map(lambda t: t.clone())
    broken[1].weight[0, 0, 0, 0] = math.nan
    with pytest.raises(EncoderInputError, match="NaN or infinite"):
        encoder.featurize(broken)


def test_unknown_encoder_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"known: .*sne"):
        create_encoder("transformer-xl")


def test_an_unreadable_layer_kind_is_named():
    encoder = _encoder("sne")
    odd = NetworkParams((Layer("embed", "embedding", torch.randn(5, 3)),))
    with pytest.raises(EncoderInputError, match=r"'embed' is of kind 'embedding'"):
        encoder.featurize(odd)
