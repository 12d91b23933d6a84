"""Weight encoders: the contract, the registry, the set layers and SNE."""

from nnenc.encoders.base import (
    EncoderInputError,
    WeightEncoder,
    create_encoder,
    encoder_names,
    register_encoder,
)
from nnenc.encoders.sne import SNE

__all__ = [
    "SNE",
    "EncoderInputError",
    "WeightEncoder",
    "create_encoder",
    "encoder_names",
    "register_encoder",
]
