"""``load_zoo``: open any zoo nnenc can read, recognising its format from the files present."""

from __future__ import annotations

from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING

from nnenc.io.errors import ZooFormatError

if TYPE_CHECKING:
    from nnenc.zoo.zoo import Zoo

FORMATS = {
    "native": "nnenc.zoo.native_reader:read_native",
    "small-cnn-zoo": "nnenc.zoo.formats.small_cnn_zoo:read_small_cnn_zoo",
    "model-zoos": "nnenc.zoo.formats.model_zoos:read_model_zoos",
    "checkpoint-folder": "nnenc.zoo.formats.checkpoint_folder:read_checkpoint_folder",
}
"""Each format's name and its reader (``module:function``, imported when a zoo is opened, so the
command line lists the names without importing the readers)."""


def detect_format(path: str | Path) -> str:
    """The name of the format of the zoo at ``path`` (a key of :data:`FORMATS`)."""
    from nnenc.zoo.native import MANIFEST, PLAN

    path = Path(path)
    if not path.is_dir():
        raise ZooFormatError(path, "not a folder; a zoo is a folder")
    if (path / MANIFEST).is_file() or (path / PLAN).is_file():
        return "native"
    # the readers of the other formats build networks (torch): imported only when needed
    from nnenc.zoo.formats.checkpoint_folder import is_checkpoint_folder
    from nnenc.zoo.formats.model_zoos import is_model_zoos
    from nnenc.zoo.formats.small_cnn_zoo import is_small_cnn_zoo

    if is_small_cnn_zoo(path):
        return "small-cnn-zoo"
    if is_model_zoos(path):
        return "model-zoos"
    if is_checkpoint_folder(path):
        return "checkpoint-folder"
    raise ZooFormatError(
        path,
        "not a zoo nnenc recognises. Expected one of: manifest.json (native nnenc zoo); "
        "weights.npy + layout.csv + metrics.csv.gz (Small CNN Zoo); model folders with "
        "result.json and checkpoint_<epoch>/checkpoints (Model Zoos); .safetensors/.pt "
        "checkpoints + metrics.csv (checkpoint folder)",
    )


def load_zoo(path: str | Path, format: str | None = None) -> Zoo:
    """Open the zoo at ``path``; ``format`` overrides detection (a key of :data:`FORMATS`)."""
    name = format or detect_format(path)
    if name not in FORMATS:
        raise ValueError(f"unknown zoo format {name!r}; known: {', '.join(FORMATS)}")
    module, _, reader = FORMATS[name].partition(":")
    return getattr(import_module(module), reader)(path)
