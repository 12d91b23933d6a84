"""Reading one checkpoint file into a state_dict, without ever executing code from it.

``.safetensors`` files are read with safetensors, after their header's declared sizes are
checked against the file (a damaged header cannot make nnenc allocate what the file does not
hold), and their layers put back in network order (:mod:`nnenc.zoo.layer_order`): safetensors
sorts tensors by name. ``.pt``/``.pth``/other files are read with
``torch.load(weights_only=True)``, which refuses pickled objects other than tensors and plain
containers; their key order is the network's. A checkpoint that needs arbitrary unpickling is
refused with an error that says so, and every other failure to decode a file becomes a
:class:`ZooFormatError` that names it.
"""

from __future__ import annotations

import json
import math
import os
import pickle
from collections.abc import Mapping
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from nnenc.architectures import architecture_names, get_architecture
from nnenc.io.decoding import member_path, read_json
from nnenc.io.errors import ZooFormatError
from nnenc.params import NetworkParams
from nnenc.zoo.layer_order import (
    ORDER_KEY,
    LayerOrderError,
    chained_order,
    check_chain,
    layer_names,
    reorder,
)

NESTED_STATE_KEYS = ("model", "state_dict", "model_state_dict", "model_state")
"""Keys under which training checkpoints commonly nest the state_dict."""


def load_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """The tensors of a checkpoint file, keyed by parameter name.

    A checkpoint that is a dict holding the state_dict under one of :data:`NESTED_STATE_KEYS`
    (Ray Tune / CNN Wild Park style ``{"model": state_dict, "optimizer": ...}``) is unwrapped.
    """
    path = Path(path)
    if path.is_dir():
        return _load_model_folder(path)
    if path.suffix == ".safetensors":
        return _load_safetensors(path)
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
    except Exception as err:  # torch.load's decoders raise many types on damaged input
        raise ZooFormatError(
            path, f"not a readable PyTorch checkpoint ({type(err).__name__}: {err})"
        ) from err
    return _state_dict_in(loaded, path)


def load_network(path: str | Path, architecture: str = "unknown") -> NetworkParams:
    """The network in a checkpoint file; a state_dict that is not a network (no weights, a
    scalar weight, a bias that does not fit its weight) is refused naming the file.

    A ``architecture`` that names a registered architecture is checked against the tensors:
    a file whose layers have other shapes is refused rather than labelled wrongly.
    """
    path = Path(path)
    try:
        network = NetworkParams.from_state_dict(load_state_dict(path), architecture=architecture)
    except (ValueError, TypeError) as err:
        if isinstance(err, ZooFormatError):
            raise
        raise ZooFormatError(path, f"not a network's state_dict: {err}") from err
    if architecture in architecture_names():
        expected = [s.tensors for s in get_architecture(architecture).layer_shapes()]
        found = [s.tensors for s in network.layer_shapes()]
        if found != expected:
            raise ZooFormatError(
                path,
                f"declared architecture {architecture!r} has layers {expected}, but this file's "
                f"layers are {found}: correct the declared architecture (or leave it empty to "
                "have it recognised from the shapes)",
            )
    return network


MODEL_FOLDER_FILES = (
    "model.safetensors",
    "model.safetensors.index.json",
    "pytorch_model.bin",
    "pytorch_model.bin.index.json",
)
"""What a Hugging Face-style model folder holds its weights in, first found wins."""


def _load_model_folder(path: Path) -> dict[str, torch.Tensor]:
    """A model folder's weights: one file, or shards listed by an ``*.index.json`` whose
    ``weight_map`` names each tensor's shard (kept inside the folder)."""
    found = next((path / name for name in MODEL_FOLDER_FILES if (path / name).is_file()), None)
    if found is None:
        raise ZooFormatError(
            path,
            f"a folder, but not a model folder: expected one of {list(MODEL_FOLDER_FILES)} "
            "(or give a checkpoint file)",
        )
    if not found.name.endswith(".index.json"):
        return load_state_dict(found)
    index = read_json(found, "shard index")
    weight_map = index.get("weight_map") if isinstance(index, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise ZooFormatError(found, "needs a 'weight_map' of tensor name -> shard file")
    state: dict[str, torch.Tensor] = {}
    for shard in dict.fromkeys(weight_map.values()):
        state.update(_raw_tensors(member_path(path, shard, found)))
    missing = sorted(set(weight_map) - set(state))
    if missing:
        raise ZooFormatError(found, f"tensors {missing[:5]} are in no shard it lists")
    if found.name.startswith("model.safetensors"):
        return _in_network_order(state, {}, found)
    return state


def _raw_tensors(path: Path) -> dict[str, torch.Tensor]:
    """A shard's tensors as stored (a shard alone is not a network: no order is inferred)."""
    if path.suffix != ".safetensors":
        return load_state_dict(path)
    return _read_safetensors(path)[0]


def save_state_dict(state_dict: Mapping[str, torch.Tensor], path: str | Path) -> None:
    """Write ``state_dict`` as ``.safetensors`` with its layer order in the metadata
    (:data:`~nnenc.zoo.layer_order.ORDER_KEY`), so that reading it back keeps the order."""
    tensors = {key: value.detach().contiguous() for key, value in state_dict.items()}
    save_file(tensors, path, metadata={ORDER_KEY: ",".join(layer_names(state_dict))})


SAFETENSORS_DTYPE_BYTES = {
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U64": 8,
    "U32": 4, "U16": 2, "U8": 1, "BOOL": 1, "F8_E4M3": 1, "F8_E5M2": 1,
}  # fmt: skip


def _read_safetensors(path: Path) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """The tensors and metadata of a safetensors file, its header checked first."""
    _check_safetensors_header(path)
    try:
        with safe_open(path, framework="pt", device="cpu") as handle:
            metadata = handle.metadata() or {}
        return load_file(path, device="cpu"), metadata
    except (SafetensorError, OSError, ValueError, RuntimeError) as err:
        raise ZooFormatError(path, f"not a readable safetensors file: {err}") from err


def _load_safetensors(path: Path) -> dict[str, torch.Tensor]:
    """The network in a safetensors file, its layers in network order."""
    return _in_network_order(*_read_safetensors(path), path)


def _in_network_order(
    state: dict[str, torch.Tensor], metadata: dict[str, str], source: Path
) -> dict[str, torch.Tensor]:
    """Safetensors tensors (stored sorted by name) in network order: the order nnenc recorded
    in the metadata, else the one that chains (:mod:`nnenc.zoo.layer_order`)."""
    try:
        if ORDER_KEY in metadata:
            ordered = reorder(state, [n for n in metadata[ORDER_KEY].split(",") if n])
            check_chain(ordered)
            return ordered
        return reorder(state, chained_order(state))
    except LayerOrderError as err:
        raise ZooFormatError(source, str(err)) from err


def _check_safetensors_header(path: Path) -> None:
    """Refuse a header whose tensors the file cannot hold (before anything is allocated)."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(8)
            length = int.from_bytes(head, "little") if len(head) == 8 else -1
            if not 0 < length <= size - 8:
                raise ZooFormatError(
                    path,
                    f"not a safetensors file: its first 8 bytes declare a {length}-byte header "
                    f"in a {size}-byte file (truncated or not safetensors)",
                )
            header = json.loads(handle.read(length))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ZooFormatError(path, f"not a readable safetensors header ({err})") from err
    data = size - 8 - length
    if not isinstance(header, dict):
        raise ZooFormatError(path, "not a safetensors file: its header is not a JSON object")
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            start, end = (int(v) for v in entry["data_offsets"])
            count = math.prod(int(d) for d in entry["shape"])
            width = SAFETENSORS_DTYPE_BYTES.get(entry["dtype"])
        except (KeyError, TypeError, ValueError) as err:
            raise ZooFormatError(path, f"tensor {name!r}: damaged header entry ({err})") from err
        if not 0 <= start <= end <= data or (width is not None and end - start != count * width):
            raise ZooFormatError(
                path,
                f"tensor {name!r} declares bytes {start}..{end} ({entry['dtype']} "
                f"{entry['shape']}) of a {data}-byte data section: the file is truncated or "
                "damaged; re-copy it",
            )
    allocated = os.stat(path).st_blocks * 512
    if data > 1 << 20 and allocated < data // 2:
        raise ZooFormatError(
            path,
            f"a sparse file: {size} bytes long but only {allocated} bytes were ever written, so "
            "its tensors are holes, not weights (a damaged or pre-allocated copy); re-copy it",
        )


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
