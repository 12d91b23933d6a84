"""The encoder contract (``nnenc.testing.check_encoder``, in the spirit of scikit-learn's
check_estimator) over every registered encoder, and the check itself on a broken encoder."""

import pytest
import torch

from nnenc import Layer, NetworkParams
from nnenc.encoders import EncoderInputError, WeightEncoder, create_encoder
from nnenc.testing import EncoderContractError, check_encoder, parametrize_encoders


@parametrize_encoders()
def test_every_registered_encoder_meets_the_contract(encoder_cls):
    check_encoder(encoder_cls)


class BatchDependent(WeightEncoder):
    """A deliberately broken encoder: its output has the wrong width, depends on the rest of
    the batch, ignores the seed, and does not keep its ``width`` argument (so its config cannot
    rebuild it). The checks on bad networks it cannot break: the base class makes them."""

    name = "batch-dependent"

    def __init__(self, out_dim: int = 4, width: int = 50):
        super().__init__()
        self.out_dim = out_dim
        self.size = width
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.unused = torch.nn.Parameter(torch.ones(3))

    def _featurize(self, params):
        return params.to_flat()[: self.size]

    def _collate(self, features):
        return {"x": torch.stack(features)}

    def forward(self, batch):
        x = batch["x"] * self.scale
        return (x - x.mean(dim=0))[:, : self.out_dim + 1]


def test_a_broken_encoder_fails_with_messages_that_name_what_is_wrong():
    with pytest.raises(EncoderContractError) as caught:
        check_encoder(BatchDependent)
    message = str(caught.value)
    assert message.startswith("BatchDependent (batch-dependent) fails 6 of 7 ")
    for expected in (
        "encodes a batch to (n, out_dim): AssertionError: 3 networks gave shape (3, 5), "
        "not (3, out_dim=4)",
        "an encoding does not depend on its batch: AssertionError: a network's encoding changed "
        "with the rest of its batch",
        "same seed, same encoding: AssertionError: another seed gave the same encoding",
        "gradients reach every parameter: AssertionError: parameters that get no gradient: "
        "['unused']",
        "config and safetensors restore it: TypeError: BatchDependent keeps no attribute "
        "'width' for its constructor argument 'width'",
    ):
        assert expected in message, message
    assert "bad networks get a clear error" not in message  # WeightEncoder.featurize checks


def test_the_base_class_owns_featurize_collate_and_config():
    """A subclass that defines what the base class owns is refused when it is defined."""
    with pytest.raises(TypeError, match=r"Sloppy defines featurize, config: WeightEncoder owns"):

        class Sloppy(WeightEncoder):
            config = None

            def featurize(self, params):
                return params

    encoder = create_encoder("sne", chunk_size=8, hidden=16, heads=2, out_dim=8)
    with pytest.raises(EncoderInputError, match="cannot collate an empty list"):
        encoder.collate([])
    assert encoder.config["chunk_size"] == 8 and encoder.config["layer_set"] == "isab"
    assert create_encoder("sne", **encoder.config).config == encoder.config


def test_check_encoder_refuses_what_is_not_an_encoder():
    with pytest.raises(EncoderContractError, match="not a WeightEncoder subclass"):
        check_encoder(torch.nn.Linear)


def test_unknown_encoder_lists_the_known_ones():
    with pytest.raises(KeyError, match=r"known: .*sne"):
        create_encoder("transformer-xl")


def test_an_unreadable_layer_kind_is_named():
    encoder = create_encoder("sne", chunk_size=8, hidden=16, heads=2, out_dim=8)
    odd = NetworkParams((Layer("embed", "embedding", torch.randn(5, 3)),))
    with pytest.raises(EncoderInputError, match=r"'embed' is of kind 'embedding'"):
        encoder.featurize(odd)
