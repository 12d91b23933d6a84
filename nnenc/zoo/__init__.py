"""Model zoos: the :class:`Zoo` type, its native format, and readers for published formats.

Names are imported on first use (PEP 562): the command line imports this package for its error
types without loading torch and pandas.
"""

from nnenc.lazy_exports import attach

_EXPORTS = {
    "FORMATS": "nnenc.zoo.loading",
    "REQUIRED_COLUMNS": "nnenc.zoo.columns",
    "STANDARD_COLUMNS": "nnenc.zoo.columns",
    "WeightStore": "nnenc.zoo.zoo",
    "Zoo": "nnenc.zoo.zoo",
    "ZooFormatError": "nnenc.io.errors",
    "ZooSplits": "nnenc.zoo.zoo",
    "ZooWriter": "nnenc.zoo.native",
    "detect_format": "nnenc.zoo.loading",
    "load_zoo": "nnenc.zoo.loading",
    "read_native": "nnenc.zoo.native_reader",
    "small_cnn_zoo_split": "nnenc.zoo.splits",
    "split_by_group": "nnenc.zoo.zoo",
}
__getattr__, __dir__, __all__ = attach(__name__, _EXPORTS)
