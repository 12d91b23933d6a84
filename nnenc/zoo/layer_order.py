"""The order of a network's layers, for checkpoint files that do not keep it.

A ``torch.save``'d state_dict keeps its modules' registration order, which is the network's
order. A ``.safetensors`` file does not: it stores its tensors sorted by name, so a CNN whose
hidden dense layer is ``hidden`` and whose head is ``fc`` reads as ``..., fc, hidden``, and
``layers.10`` sorts before ``layers.2``. Its order is recovered here, first found wins:

1. the order nnenc writes into the file's metadata (:data:`ORDER_KEY`, by
   :func:`nnenc.zoo.checkpoints.save_state_dict`), checked to chain (:func:`check_chain`): a
   damaged order is refused, not trusted;
2. chaining: layers whose names differ only in their numbers (``convs.0``, ``convs.1``) keep
   their natural numeric order, and the sequences are interleaved in the one way in which every
   layer takes what the layer before it gives (a convolution's input channels are the previous
   layer's output channels, or divide them for grouped convolutions; a dense layer's inputs are
   the previous dense layer's outputs, or a multiple of the previous convolution's channels once
   flattened or pooled; a norm layer keeps its width; nothing convolves after a dense layer).

When no interleaving chains, or more than one does, the file is refused with a message that says
how to state the order.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch

ORDER_KEY = "nnenc.layer_order"
"""Safetensors metadata key: the layer names (module paths) in network order, comma-separated."""
SEARCH_LIMIT = 100_000
"""Interleavings examined at most before an order is called ambiguous."""


class LayerOrderError(ValueError):
    """The layer order cannot be recovered; the message says why and how to state it."""


@dataclass(frozen=True)
class _Layer:
    name: str
    kind: str  # conv, linear, norm, embedding
    inputs: int
    outputs: int


def layer_names(state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """The module paths that own a ``.weight``, in the state_dict's key order."""
    return [key.rpartition(".")[0] for key in state_dict if key.rpartition(".")[2] == "weight"]


def reorder(state_dict: Mapping[str, torch.Tensor], order: Sequence[str]) -> dict:
    """``state_dict`` with each layer's entries (weight, bias, running stats) in ``order``;
    entries of no listed layer keep their place at the end."""
    known = set(layer_names(state_dict))
    if sorted(order) != sorted(known):
        raise LayerOrderError(
            f"the stated layer order {list(order)} does not name the file's layers {sorted(known)}"
        )
    rank = {name: i for i, name in enumerate(order)}
    keys = sorted(state_dict, key=lambda k: rank.get(k.rpartition(".")[0], len(rank)))
    return {key: state_dict[key] for key in keys}


def chained_order(state_dict: Mapping[str, torch.Tensor]) -> list[str]:
    """The one order of the layers that chains (see the module docstring)."""
    layers = [_describe(name, state_dict[f"{name}.weight"]) for name in layer_names(state_dict)]
    sequences: dict[str, list[_Layer]] = {}
    for layer in sorted(layers, key=lambda la: _natural(la.name)):
        sequences.setdefault(re.sub(r"\d+", "#", layer.name), []).append(layer)
    found: list[list[str]] = []
    budget = [SEARCH_LIMIT]

    def extend(order: list[_Layer], heads: dict[str, int]) -> None:
        if len(found) > 1 or budget[0] <= 0:
            return
        budget[0] -= 1
        if len(order) == len(layers):
            found.append([la.name for la in order])
            return
        for stem, position in heads.items():
            if position < len(sequences[stem]):
                nxt = sequences[stem][position]
                if not order or _follows(order, nxt):
                    extend([*order, nxt], {**heads, stem: position + 1})

    extend([], dict.fromkeys(sequences, 0))
    if len(found) == 1 and budget[0] > 0:
        return found[0]
    if not found:
        problem = "no order of its layers chains (each taking what the one before gives)"
    elif len(found) > 1:
        problem = f"more than one order chains, for example {found[0]} and {found[1]}"
    else:
        problem = f"more than {SEARCH_LIMIT} candidate orders; too many to decide among"
    raise LayerOrderError(
        f"the layer order is lost (safetensors stores tensors sorted by name) and cannot be "
        f"recovered: {problem}. State it: save the file with "
        "nnenc.zoo.checkpoints.save_state_dict (which records the order), or as a .pt "
        "state_dict (torch.save keeps it)"
    )


def check_chain(state_dict: Mapping[str, torch.Tensor]) -> None:
    """Refuse a layer order (the state_dict's key order) in which some layer does not take what
    the one before it gives (see the module docstring), naming the pair."""
    layers = [_describe(name, state_dict[f"{name}.weight"]) for name in layer_names(state_dict)]
    for i in range(1, len(layers)):
        if not _follows(layers[:i], layers[i]):
            raise LayerOrderError(
                f"the stated layer order does not chain: {layers[i].name!r} ({layers[i].kind}, "
                f"{layers[i].inputs} inputs) cannot follow {layers[i - 1].name!r} "
                f"({layers[i - 1].outputs} outputs); the file's {ORDER_KEY} metadata is damaged: "
                "re-copy the file, or save it again with nnenc.zoo.checkpoints.save_state_dict"
            )


def _describe(name: str, weight: torch.Tensor) -> _Layer:
    if weight.ndim >= 3:
        return _Layer(name, "conv", int(weight.shape[1]), int(weight.shape[0]))
    if weight.ndim == 2:
        if "embed" in name.lower():  # (vocabulary, width): it gives width
            return _Layer(name, "embedding", int(weight.shape[0]), int(weight.shape[1]))
        return _Layer(name, "linear", int(weight.shape[1]), int(weight.shape[0]))
    width = int(weight.shape[0]) if weight.ndim == 1 else 0
    return _Layer(name, "norm", width, width)


def _follows(order: list[_Layer], nxt: _Layer) -> bool:
    prev = order[-1]
    if prev.outputs <= 0 or nxt.inputs <= 0:
        return False
    # the kind of map a norm layer passes on is the kind of the last layer before it that is
    # not a norm
    shaped = next((la.kind for la in reversed(order) if la.kind != "norm"), "norm")
    if nxt.kind == "embedding":
        return False
    if nxt.kind == "norm":
        return nxt.inputs == prev.outputs
    if nxt.kind == "conv":
        return shaped != "linear" and prev.outputs % nxt.inputs == 0
    if shaped == "conv":
        return nxt.inputs % prev.outputs == 0
    return nxt.inputs == prev.outputs


def _natural(name: str) -> tuple:
    """``layers.2`` before ``layers.10``."""
    return tuple(int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name))
