import numpy as np
import pytest
import torch
from torch import nn

from nnenc import Layer, NetworkParams, get_architecture


@pytest.fixture
def cnn() -> nn.Module:
    torch.manual_seed(0)
    return get_architecture("cnn-dense").build("tanh").eval()


def test_from_module_reads_layers_in_order_with_kinds(cnn):
    params = NetworkParams.from_module(cnn)
    assert params.architecture == "cnn-dense"
    assert [la.kind for la in params] == ["conv", "conv", "conv", "linear", "linear"]
    assert params.num_params == get_architecture("cnn-dense").num_params
    assert params[0].activation == "tanh" and params[-1].activation is None


def test_module_round_trip_gives_the_same_logits(cnn):
    images = torch.randn(5, 1, 28, 28)
    rebuilt = NetworkParams.from_module(cnn).to_module()
    assert torch.equal(rebuilt(images), cnn(images))


def test_flat_and_state_dict_round_trips_are_exact(cnn):
    params = NetworkParams.from_module(cnn)
    flat = params.to_flat()
    again = NetworkParams.from_flat(flat, params.layout(), params.architecture)
    assert torch.equal(again.to_flat(), flat)
    from_state = NetworkParams.from_state_dict(cnn.state_dict(), "cnn-dense")
    assert torch.equal(from_state.to_flat(), flat)


def test_slicing_shares_tensors_and_keeps_the_architecture(cnn):
    params = NetworkParams.from_module(cnn)
    head = params[3:]
    assert isinstance(head, NetworkParams) and len(head) == 2
    assert head[0].weight.data_ptr() == params["dense.0"].weight.data_ptr()
    assert head.architecture == "cnn-dense"


def test_network_params_are_immutable(cnn):
    params = NetworkParams.from_module(cnn, metadata={"seed": 1})
    with pytest.raises(AttributeError):
        params.architecture = "other"
    with pytest.raises(TypeError):
        params.metadata["seed"] = 2


def test_state_dict_skips_buffers_and_infers_norm_layers():
    module = nn.Sequential(nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(4, 2))
    params = NetworkParams.from_state_dict(module.state_dict())
    assert [(la.name, la.kind) for la in params] == [("0", "conv"), ("1", "norm"), ("3", "linear")]
    assert params.num_params == sum(p.numel() for p in module.parameters())


def test_to_module_refuses_shapes_that_do_not_fit_the_architecture(cnn):
    params = NetworkParams.from_module(cnn)
    wrong = NetworkParams(params.layers, architecture="cnn-small")
    with pytest.raises(ValueError, match="architecture 'cnn-small' has 4 layers"):
        wrong.to_module()
    unknown = NetworkParams(params.layers, architecture="no-such-net")
    with pytest.raises(KeyError, match="unknown architecture 'no-such-net'"):
        unknown.to_module()


def test_bias_that_does_not_match_the_weight_is_refused():
    with pytest.raises(ValueError, match="does not match 3 output units"):
        Layer("l", "linear", torch.zeros(3, 2), torch.zeros(4))


def test_flat_vector_of_the_wrong_length_is_refused(cnn):
    params = NetworkParams.from_module(cnn)
    with pytest.raises(ValueError, match="needs"):
        NetworkParams.from_flat(np.zeros(10, dtype=np.float32), params.layout())


def test_non_finite_weights_are_detected(cnn):
    params = NetworkParams.from_module(cnn)
    assert params.is_finite()
    broken = params.map(lambda t: t.clone().fill_(float("nan")))
    assert not broken.is_finite()
