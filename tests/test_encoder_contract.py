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
    the batch, ignores the seed, and featurizes NaN weights without a word."""

    name = "batch-dependent"

    def __init__(self, out_dim: int = 4):
        super().__init__()
        self.out_dim = out_dim
        self.config = {"out_dim": out_dim}
        self.scale = torch.nn.Parameter(torch.ones(()))
        self.unused = torch.nn.Parameter(torch.ones(3))

    def featurize(self, params):
        if len(params) == 0:
            raise ValueError("empty")
        return params.to_flat()[:50]

    def collate(self, features):
        return {"x": torch.stack(features)}

    def forward(self, batch):
        x = batch["x"] * self.scale
        return (x - x.mean(dim=0))[:, : self.out_dim + 1]


def test_a_broken_encoder_fails_with_messages_that_name_what_is_wrong():
    with pytest.raises(EncoderContractError) as caught:
        check_encoder(BatchDependent)
    message = str(caught.value)
    assert message.startswith("BatchDependent (batch-dependent) fails ")
    for expected in (
        "encodes a batch to (n, out_dim): AssertionError: 3 networks gave shape (3, 5), "
        "not (3, out_dim=4)",
        "an encoding does not depend on its batch: AssertionError: a network's encoding changed "
        "with the rest of its batch",
        "same seed, same encoding: AssertionError: another seed gave the same encoding",
        "gradients reach every parameter: AssertionError: parameters that get no gradient: "
        "['unused']",
        "bad networks get a clear error: ValueError: empty",
    ):
        assert expected in message, message


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
