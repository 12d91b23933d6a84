"""Reading one checkpoint file into a state_dict, without ever executing code from it.

``.safetensors`` files are read with safetensors; ``.pt``/``.pth``/other files with
``torch.load(weights_only=True)``, which refuses pickled objects other than tensors and plain
containers. A checkpoint that needs arbitrary unpickling is refused with an error that says so.
"""

from __future__ import annotations

import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file

from nnenc.zoo.errors import ZooFormatError

NESTED_STATE_KEYS = ("model", "state_dict", "model_state_dict", "model_state")
"""Keys under which training checkpoints commonly nest the state_dict."""


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, keyed by parameter name.

    A checkpoint that is a dict holding the state_dict under one of :data:`NESTED_STATE_KEYS`
    (Ray Tune / CNN Wild Park style ``{"model": state_dict, "optimizer": ...}``) is unwrapped.
    """
    path = Path(path)
    if path.suffix == ".safetensors":
        try:
            return load_file(path, device="cpu")
        except (SafetensorError, OSError, ValueError) as err:
            raise ZooFormatError(path, f"not a readable safetensors file: {err}") from err
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        raise ZooFormatError(
            path,
            "refused: this checkpoint holds pickled objects that would need code execution to "
            "load. nnenc reads .pt files only with torch.load(weights_only=True) and never "
            "unpickles untrusted files. Re-save it from trusted code as a plain state_dict "
            f"(torch.save(model.state_dict(), ...)) or as .safetensors. ({err})",
        ) from err
    except (RuntimeError, EOFError, OSError) as err:
        raise ZooFormatError(path, f"not a readable PyTorch checkpoint: {err}") from err
    return _state_dict_in(loaded, path)


def _state_dict_in(loaded: object, path: Path) -> dict[str, torch.Tensor]:
    if isinstance(loaded, Mapping):
        if loaded and all(isinstance(v, torch.Tensor) for v in loaded.values()):
            return dict(loaded)
        for key in NESTED_STATE_KEYS:
            nested = loaded.get(key)
            if isinstance(nested, Mapping) and nested:
                return _state_dict_in(nested, path)
    raise ZooFormatError(
        path,
        f"holds a {type(loaded).__name__}, not a state_dict (a dict of tensors, possibly under "
        f"one of the keys {list(NESTED_STATE_KEYS)})",
    )
