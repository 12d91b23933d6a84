"""nnenc: learning from the weights of trained neural networks.

The names below are imported on first use (PEP 562), so that ``import nnenc`` and the command
line's ``--help`` do not pay for torch, pandas and scikit-learn before they are needed.
"""

from nnenc.lazy_exports import attach

_EXPORTS = {
    "Architecture": "nnenc.architectures",
    "FlatLayout": "nnenc.layout",
    "Layer": "nnenc.params",
    "NetworkParams": "nnenc.params",
    "PerformancePredictor": "nnenc.predict.performance",
    "TensorSlot": "nnenc.layout",
    "Zoo": "nnenc.zoo.zoo",
    "ZooFormatError": "nnenc.io.errors",
    "create_encoder": "nnenc.encoders.base",
    "get_architecture": "nnenc.architectures",
    "load_zoo": "nnenc.zoo.loading",
    "register_architecture": "nnenc.architectures",
    "small_cnn_zoo_split": "nnenc.zoo.splits",
}
__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
