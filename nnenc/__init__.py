"""nnenc: learning from the weights of trained neural networks."""

from nnenc.architectures import Architecture, get_architecture, register_architecture
from nnenc.batch import ParamsBatch
from nnenc.layout import FlatLayout, TensorSlot
from nnenc.params import Layer, NetworkParams
from nnenc.zoo import Zoo, ZooFormatError, load_zoo, small_cnn_zoo_split

__all__ = [
    "Architecture",
    "FlatLayout",
    "Layer",
    "NetworkParams",
    "ParamsBatch",
    "TensorSlot",
    "Zoo",
    "ZooFormatError",
    "get_architecture",
    "load_zoo",
    "register_architecture",
    "small_cnn_zoo_split",
]
