import pytest
import torch

from nnenc.architectures import (
    Architecture,
    find_architecture,
    get_architecture,
    register_architecture,
)


def test_cnn_small_is_the_small_cnn_zoo_network():
    spec = get_architecture("cnn-small")
    assert spec.num_params == 4970
    shapes = [(s.kind, s.weight) for s in spec.layer_shapes()]
    assert shapes == [
        ("conv", (16, 1, 3, 3)),
        ("conv", (16, 16, 3, 3)),
        ("conv", (16, 16, 3, 3)),
        ("linear", (10, 16)),
    ]
    out = spec.build("relu")(torch.zeros(3, 1, 28, 28))
    assert out.shape == (3, 10)


@pytest.mark.parametrize("name", ["cnn-small", "cnn-dense", "mlp"])
def test_built_module_has_the_declared_parameter_count(name):
    spec = get_architecture(name)
    module = spec.build()
    assert sum(p.numel() for p in module.parameters()) == spec.num_params
    assert module(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_unknown_names_list_the_known_ones():
    with pytest.raises(KeyError, match="known: cnn-dense, cnn-small"):
        get_architecture("resnet50")
    with pytest.raises(ValueError, match="known: elu, gelu"):
        get_architecture("cnn-small").build("swishy")


def test_a_different_spec_under_a_taken_name_is_refused():
    with pytest.raises(ValueError, match="already registered"):
        register_architecture(Architecture("cnn-small", "cnn", conv_channels=(8, 8)))


def test_spec_round_trips_through_a_dict_and_is_found_by_shapes():
    spec = Architecture("cnn-8-8-test", "cnn", conv_channels=(8, 8), hidden=(12,))
    assert Architecture.from_dict(spec.to_dict()) == spec
    register_architecture(spec)
    shapes = [(s.weight, s.bias) for s in spec.layer_shapes()]
    assert find_architecture(shapes) == spec


def test_every_activation_name_has_a_module():
    from nnenc.architectures import ACTIVATIONS
    from nnenc.networks import ACTIVATION_MODULES, activation_module

    assert tuple(ACTIVATION_MODULES) == ACTIVATIONS
    assert type(activation_module("selu")).__name__ == "SELU"
