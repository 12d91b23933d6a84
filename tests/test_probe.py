"""The probing encoders (baselines/probe.py): the grouped forward is the per-network one, the
encoding ignores hidden-neuron order, and what cannot be probed is refused by name.

Their learning test is in tests/test_learning.py, with every encoder's.
"""

import dataclasses

import pytest
import torch

from baselines.probe import (
    DeepLinearGenerator,
    ProbeBatch,
    looped_probe_outputs,
    probe_outputs,
    probed_network,
)
from nnenc import load_zoo
from nnenc.architectures import Architecture
from nnenc.builder.architecture_space import ArchitectureSpace
from nnenc.builder.build import BuildConfig, build_zoo
from nnenc.encoders import EncoderInputError, create_encoder
from nnenc.params import NetworkParams
from nnenc.symmetry import permute_hidden_neurons
from nnenc.testing import network

SPACE = {
    "architectures": 2,
    "cnn": {"weight": 1, "conv_layers": [2, 2], "channels": [3, 6], "kernel": [3], "stride": [2],
            "dense_layers": [0, 1], "dense_width": [8, 12]},
    "mlp": {"weight": 1, "hidden_layers": [1, 2], "width": [8, 16]},
}  # fmt: skip


@pytest.fixture(scope="module")
def two_architectures(tmp_path_factory):
    """A real mixed zoo: 2 architectures, 4 runs each, one epoch on 16 x 16 digits."""
    config = BuildConfig("digits", "mixed", runs=8, epochs=1, resolution=16, chunk_size=4,
                         precision="fp32",
                         architecture_space=ArchitectureSpace.from_dict(SPACE))  # fmt: skip
    zoo = load_zoo(
        build_zoo(config, tmp_path_factory.mktemp("probe") / "zoo", workers=1, progress=False)
    )
    assert len(zoo.architectures) == 2
    return zoo


def test_the_grouped_forward_is_the_per_network_loop_on_two_architectures(two_architectures):
    """Every network of a batch mixing the zoo's two architectures (and its activations) gets
    the outputs its own module gives, in its own place, to float32 rounding (1e-5)."""
    networks = list(two_architectures)
    assert len({(n.architecture, n.activation) for n in networks}) >= 3  # several groups
    probes = torch.rand(5, 1, 16, 16) * 2 - 1
    grouped = probe_outputs(ProbeBatch.of([probed_network(n) for n in networks]), probes)
    looped = looped_probe_outputs(networks, probes)
    assert grouped.shape == (len(networks), 5, 10)
    torch.testing.assert_close(grouped, looped, rtol=1e-5, atol=1e-5)


def test_gradients_reach_the_probes_not_the_networks(two_architectures):
    networks = list(two_architectures)[:3]
    batch = ProbeBatch.of([probed_network(n) for n in networks])
    probes = torch.zeros(2, 1, 16, 16, requires_grad=True)
    probe_outputs(batch, probes).square().sum().backward()
    assert probes.grad is not None and probes.grad.abs().sum() > 0
    assert all(not g.flat.requires_grad for g in batch.groups)


@pytest.mark.parametrize("name", ["probe", "probegen"])
def test_the_encoding_ignores_the_order_of_hidden_neurons(name, two_architectures):
    """By construction (a permuted network computes the same function); this checks the
    wiring: the permuted networks' parameters do differ, their encodings do not."""
    torch.manual_seed(0)
    encoder = create_encoder(name, probes=6, hidden=16, layers=2, out_dim=8,
                             input_shape=[1, 16, 16], outputs=10).eval()  # fmt: skip
    networks = list(two_architectures)
    generator = torch.Generator().manual_seed(1)
    permuted = [permute_hidden_neurons(n, generator) for n in networks]
    assert not torch.equal(networks[0].to_flat(), permuted[0].to_flat())
    with torch.no_grad():
        torch.testing.assert_close(
            encoder.encode(networks), encoder.encode(permuted), rtol=1e-5, atol=1e-5
        )


@pytest.mark.parametrize("size", [16, 28, 32])
def test_the_generator_draws_probes_of_the_input_shape_in_tanh_range(size):
    generator = DeepLinearGenerator(32, (1, size, size), width=4)
    probes = generator(torch.randn(3, 32, 1, 1))
    assert probes.shape == (3, 1, size, size)
    assert probes.abs().max() <= 1
    convs = [m for m in generator if isinstance(m, torch.nn.ConvTranspose2d)]
    assert len(convs) == 5  # the paper's depth at every size
    assert not any(isinstance(m, torch.nn.ReLU) for m in generator)  # deep linear


def test_a_network_whose_activation_is_unknown_is_refused():
    net = network("cnn-small", 0)
    unknown = dataclasses.replace(
        net, layers=tuple(dataclasses.replace(la, activation=None) for la in net)
    )
    with pytest.raises(EncoderInputError, match="activation is unknown"):
        create_encoder("probe").featurize(unknown)


def test_a_network_whose_input_shape_cannot_be_known_is_refused():
    unknown = NetworkParams.from_state_dict(
        {"a.weight": torch.randn(5, 3, 3, 3), "a.bias": torch.zeros(5),
         "b.weight": torch.randn(4, 5), "b.bias": torch.zeros(4)},
        architecture="unknown",
    )  # fmt: skip
    with pytest.raises(EncoderInputError, match="no architecture spec, so its input shape"):
        create_encoder("probegen").featurize(unknown)
    spec = dataclasses.replace(network("cnn-small", 0).spec, input_size=None)
    no_size = dataclasses.replace(network("cnn-small", 0), spec=spec)
    with pytest.raises(EncoderInputError, match="records no input size"):
        create_encoder("probe").featurize(no_size)


def test_networks_of_other_outputs_or_inputs_are_refused_naming_both():
    five = Architecture("cnn-5", "cnn", conv_channels=(4,), num_classes=5)
    small = dataclasses.replace(Architecture("cnn-32", "cnn", conv_channels=(4,)), input_size=32)
    encoder = create_encoder("probe", probes=2, hidden=4, layers=1)
    features = [encoder.featurize(network("cnn-small", 0))]
    features.append(encoder.featurize(NetworkParams.from_module(five.build())))
    with pytest.raises(EncoderInputError, match=r"inputs \[1, 28, 28\] with 5 outputs.*10 out"):
        encoder.fit_inputs(features)
    encoder.fit_inputs(features[:1])
    with pytest.raises(EncoderInputError, match=r"takes inputs \[1, 32, 32\].*\[1, 28, 28\]"):
        encoder.featurize(NetworkParams.from_module(small.build()))


def test_the_small_cnn_zoo_gives_the_input_size_of_its_dataset(small_cnn_zoo_dir):
    zoo = load_zoo(small_cnn_zoo_dir)
    feature = probed_network(zoo[0])
    assert feature.input_shape == (1, 28, 28) and feature.outputs == 10  # the fixture's mnist
