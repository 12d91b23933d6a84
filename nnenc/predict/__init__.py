"""Predicting a network's metric from its weights: the :class:`Predictor` protocol
(:mod:`~nnenc.predict.protocol`), :class:`PerformancePredictor`, an encoder plus a head
(:mod:`~nnenc.predict.performance`), the registry that finds every predictor by name
(:mod:`~nnenc.predict.registry`), and the references that bound them
(:mod:`~nnenc.predict.references`).

Names are imported on first use (PEP 562), so the protocol is read without torch.
"""

from nnenc.lazy_exports import attach

_EXPORTS = {
    "ROLES": "nnenc.predict.protocol",
    "Predictor": "nnenc.predict.protocol",
    "PerformancePredictor": "nnenc.predict.performance",
    "TRAINING_DEFAULTS": "nnenc.predict.training",
    "TrainingConfig": "nnenc.predict.training",
    "LabelNoiseReference": "nnenc.predict.references",
    "create_predictor": "nnenc.predict.registry",
    "load_predictor": "nnenc.predict.registry",
    "predictor_names": "nnenc.predict.registry",
    "register_predictor": "nnenc.predict.registry",
}
__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
