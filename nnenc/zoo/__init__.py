"""Model zoos: the :class:`Zoo` type, its native format, and readers for published formats."""

from nnenc.zoo.errors import ZooFormatError
from nnenc.zoo.loading import FORMATS, detect_format, load_zoo
from nnenc.zoo.native import ZooWriter, read_native, write_zoo
from nnenc.zoo.splits import small_cnn_zoo_split, split_by_group
from nnenc.zoo.zoo import REQUIRED_COLUMNS, STANDARD_COLUMNS, WeightStore, Zoo, ZooSplits

__all__ = [
    "FORMATS",
    "REQUIRED_COLUMNS",
    "STANDARD_COLUMNS",
    "WeightStore",
    "Zoo",
    "ZooFormatError",
    "ZooSplits",
    "ZooWriter",
    "detect_format",
    "load_zoo",
    "read_native",
    "small_cnn_zoo_split",
    "split_by_group",
    "write_zoo",
]
