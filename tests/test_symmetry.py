import pytest
import torch
from torch import nn

from nnenc import NetworkParams, get_architecture
from nnenc.symmetry import permute_hidden_neurons


@pytest.mark.parametrize("arch", ["cnn-small", "cnn-dense", "mlp"])
def test_neuron_permutation_keeps_the_function_and_changes_the_weights(arch):
    torch.manual_seed(0)
    net = NetworkParams.from_module(get_architecture(arch).build("tanh"))
    permuted = permute_hidden_neurons(net, torch.Generator().manual_seed(1))
    images = torch.randn(4, 1, 28, 28)
    torch.testing.assert_close(
        permuted.to_module()(images), net.to_module()(images), atol=1e-5, rtol=1e-5
    )
    assert not torch.equal(permuted.to_flat(), net.to_flat())
    assert torch.equal(permuted[-1].bias, net[-1].bias)  # output units stay in place


def test_a_chain_without_one_to_one_units_is_refused():
    module = nn.Sequential(nn.Conv2d(1, 4, 3), nn.Flatten(), nn.Linear(4 * 26 * 26, 10))
    net = NetworkParams.from_module(module)
    with pytest.raises(ValueError, match="no one-to-one neuron permutation"):
        permute_hidden_neurons(net, torch.Generator().manual_seed(0))
