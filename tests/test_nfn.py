"""NFN_NP and NFN_HNP (baselines/nfn.py, through the ``nfn`` package): the encoder contract,
invariance to hidden-neuron permutations on networks nnenc trained, and clear refusals."""

from dataclasses import replace
from pathlib import Path

import pytest
import torch

from baselines.nfn import NFNHNP, NFNNP
from nnenc.encoders import EncoderInputError
from nnenc.symmetry import permute_hidden_neurons
from nnenc.testing import check_encoder, network

NFNS = [NFNNP, NFNHNP]


@pytest.mark.parametrize("cls", NFNS, ids=lambda c: c.name)
def test_nfn_meets_the_encoder_contract(cls):
    check_encoder(cls)


@pytest.mark.parametrize("cls", NFNS, ids=lambda c: c.name)
def test_nfn_is_invariant_to_hidden_neuron_permutations_of_trained_networks(
    cls, trained_zoo_splits
):
    """Networks trained by nnenc's builder, their hidden neurons permuted (nnenc.symmetry): the
    same encodings, to float rounding. The same permutation applied to one layer's outputs
    alone (the next layer's inputs left as they were) is another function, and changes them:
    the check can fail."""
    networks = list(trained_zoo_splits.train)[:6]
    torch.manual_seed(0)
    encoder = cls(hchannels=[8, 4], hidden=32, out_dim=8)
    encoder.fit_inputs([encoder.featurize(n) for n in networks])
    encoder.eval()
    generator = torch.Generator().manual_seed(1)
    permuted = [permute_hidden_neurons(n, generator) for n in networks]
    assert not torch.equal(permuted[0][1].weight, networks[0][1].weight)
    order = torch.randperm(networks[0][1].out_units, generator=generator)
    broken = [
        replace(n, layers=(n[0], n[1].map(lambda t: t[order]), *n.layers[2:])) for n in networks
    ]
    with torch.no_grad():
        original = encoder.encode(networks)
        same = (encoder.encode(permuted) - original).abs().max()
        other = (encoder.encode(broken) - original).abs().max()
    assert same < 1e-5, f"a permuted network encodes {same:.2g} away"
    # an untrained NFN pools, so another function moves its encoding little (4e-5 to 1e-3 on
    # these networks), but far more than float rounding moves a permuted one (~1e-8)
    assert other > 1e-5 and other > 100 * same, (same, other)


@pytest.mark.parametrize("cls", NFNS, ids=lambda c: c.name)
def test_nfn_refuses_another_architecture_with_the_reason(cls):
    encoder = cls(**cls.test_config())
    first = network("mlp", 0)[0]
    with pytest.raises(EncoderInputError, match=rf"not the architecture this {cls.name} reads"):
        encoder.featurize(network("cnn-dense", 0))
    with pytest.raises(EncoderInputError, match="NFN reads chains of conv and linear layers"):
        encoder.featurize(replace(network("mlp", 0), layers=(replace(first, bias=None),)))


def test_the_nfn_wheels_tests_package_does_not_shadow_ours():
    """The ``nfn`` wheel installs a top-level ``tests`` package. Ours has no ``__init__.py``:
    pytest imports its files by path (conftest.py included), never as ``tests.*``."""
    import conftest

    here = Path(__file__).parent
    assert Path(conftest.__file__).parent == here
    assert not (here / "__init__.py").exists()
