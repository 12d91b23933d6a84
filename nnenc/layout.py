"""Flat parameter vectors and how their slices map onto layers.

A model zoo stores each network as one row of a 2-D array. A :class:`FlatLayout` says which
slice of that row is which tensor, in which shape and in which memory order:

- ``"torch"``: PyTorch layout (conv ``(O, I, kh, kw)``, linear ``(O, I)``);
- ``"tf"``: TensorFlow/Keras layout (conv ``HWIO = (kh, kw, I, O)``, dense ``(I, O)``), as in the
  Small CNN Zoo, whose rows also put each layer's bias *before* its kernel.

Converting a slice to PyTorch layout is the only place that knows about TensorFlow order.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

TensorOrder = Literal["torch", "tf"]
TensorRole = Literal["weight", "bias"]


@dataclass(frozen=True)
class LayerShape:
    """One parametrised layer's name, kind (``conv``, ``linear``, ``norm``) and tensor shapes
    (PyTorch layout; ``bias`` ``None`` where it has none), and its activation where a network
    records one: the one description of a layer without its values, for architecture specs,
    networks and batches alike."""

    name: str
    kind: str
    weight: tuple[int, ...]
    bias: tuple[int, ...] | None
    activation: str | None = None

    @property
    def tensors(self) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
        """(weight shape, bias shape): what the layer is, to an encoder."""
        return self.weight, self.bias

    @property
    def bias_size(self) -> int:
        return 0 if self.bias is None else math.prod(self.bias)

    @property
    def size(self) -> int:
        """Its parameters: weight and bias."""
        return math.prod(self.weight) + self.bias_size


class LayoutError(ValueError):
    """A flat layout that does not describe its parameter vector."""


@dataclass(frozen=True)
class TensorSlot:
    """One tensor inside a flat vector: ``vector[start:stop]`` reshaped to ``shape``.

    Args:
        layer: name of the layer the tensor belongs to.
        role: ``"weight"`` or ``"bias"``.
        start: first index in the flat vector.
        stop: one past the last index.
        shape: the stored shape, in ``order``.
        order: memory layout of the stored tensor, ``"torch"`` or ``"tf"``.
    """

    layer: str
    role: TensorRole
    start: int
    stop: int
    shape: tuple[int, ...]
    order: TensorOrder = "torch"

    @property
    def size(self) -> int:
        return self.stop - self.start

    @property
    def torch_shape(self) -> tuple[int, ...]:
        """The shape of this tensor in PyTorch layout."""
        if self.order == "torch" or self.role == "bias":
            return self.shape
        if len(self.shape) == 2:  # dense (I, O) -> (O, I)
            return (self.shape[1], self.shape[0])
        if len(self.shape) >= 3:  # conv (*spatial, I, O) -> (O, I, *spatial)
            return (self.shape[-1], self.shape[-2], *self.shape[:-2])
        return self.shape

    def to_torch_order(self, values: np.ndarray) -> np.ndarray:
        """Reshape a slice (``(..., size)``, leading batch dims allowed) to PyTorch layout."""
        lead = values.shape[:-1]
        tensor = values.reshape(*lead, *self.shape)
        if self.order == "torch" or self.role == "bias" or len(self.shape) < 2:
            return tensor
        k = len(lead)
        if len(self.shape) == 2:
            axes = (*range(k), k + 1, k)
        else:  # (*spatial, I, O) -> (O, I, *spatial)
            n_spatial = len(self.shape) - 2
            axes = (*range(k), k + n_spatial + 1, k + n_spatial, *range(k, k + n_spatial))
        return tensor.transpose(axes)

    def from_torch_order(self, tensor: np.ndarray) -> np.ndarray:
        """The inverse of :meth:`to_torch_order` for one tensor: PyTorch layout -> flat slice."""
        tensor = np.asarray(tensor)
        if self.order == "torch" or self.role == "bias" or tensor.ndim < 2:
            return tensor.reshape(-1)
        if tensor.ndim == 2:
            return tensor.T.reshape(-1)
        n_spatial = tensor.ndim - 2  # (O, I, *spatial) -> (*spatial, I, O)
        return tensor.transpose(*range(2, 2 + n_spatial), 1, 0).reshape(-1)


@dataclass(frozen=True)
class FlatLayout:
    """An ordered description of every tensor in a flat parameter vector.

    Slots are kept in the order of their ``start``; layers appear in the order of their first
    slot. The layout must tile ``[0, size)`` exactly: no gaps, no overlaps.
    """

    slots: tuple[TensorSlot, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "slots", tuple(sorted(self.slots, key=lambda s: s.start)))

    @property
    def size(self) -> int:
        return self.slots[-1].stop if self.slots else 0

    @property
    def layer_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(slot.layer for slot in self.slots))

    def slots_of(self, layer: str) -> dict[str, TensorSlot]:
        """The slots of one layer, keyed by role."""
        return {slot.role: slot for slot in self.slots if slot.layer == layer}

    def validate(self, n_params: int | None = None, source: str = "layout") -> None:
        """Check that the slots tile the vector; raise :class:`LayoutError` naming ``source``."""
        if not self.slots:
            raise LayoutError(f"{source}: the layout has no tensors")
        position = 0
        for slot in self.slots:
            expected = int(np.prod(slot.shape, dtype=np.int64))
            if slot.size != expected:
                raise LayoutError(
                    f"{source}: {slot.layer} {slot.role} spans [{slot.start}, {slot.stop}) = "
                    f"{slot.size} values but its shape {slot.shape} holds {expected}"
                )
            if slot.start != position:
                what = "gap" if slot.start > position else "overlap"
                raise LayoutError(
                    f"{source}: {what} before {slot.layer} {slot.role}: it starts at {slot.start}, "
                    f"the previous tensor ends at {position}"
                )
            position = slot.stop
        seen: set[tuple[str, str]] = set()
        for slot in self.slots:
            if (slot.layer, slot.role) in seen:
                raise LayoutError(f"{source}: {slot.layer} has two {slot.role} tensors")
            seen.add((slot.layer, slot.role))
        if n_params is not None and position != n_params:
            raise LayoutError(
                f"{source}: the layout covers {position} parameters but each row has {n_params}; "
                "the layout rows do not cover the vector"
            )

    @property
    def signature(self) -> tuple:
        """The layout without layer names: equal signatures mean the same tensors in the same places."""
        return tuple((s.role, s.start, s.stop, s.shape, s.order) for s in self.slots)

    def torch_layout(self) -> FlatLayout:
        """The PyTorch-order layout of the same tensors: per layer weight then bias."""
        rows = []
        for name in self.layer_names:
            slots = self.slots_of(name)
            bias = slots.get("bias")
            weight = slots["weight"].torch_shape if "weight" in slots else None
            rows.append((name, weight, None if bias is None else bias.shape))
        return FlatLayout.weight_then_bias(rows)

    def rows_to_torch_order(self, rows: np.ndarray) -> np.ndarray:
        """``(B, size)`` rows in this layout -> ``(B, size)`` rows in :meth:`torch_layout`."""
        if self == self.torch_layout():
            return rows
        parts = []
        for name in self.layer_names:
            slots = self.slots_of(name)
            for role in ("weight", "bias"):
                if role in slots:
                    slot = slots[role]
                    parts.append(
                        slot.to_torch_order(rows[:, slot.start : slot.stop]).reshape(len(rows), -1)
                    )
        return np.ascontiguousarray(np.concatenate(parts, axis=1))

    def to_dicts(self) -> list[dict]:
        return [
            {
                "layer": s.layer,
                "role": s.role,
                "start": s.start,
                "stop": s.stop,
                "shape": list(s.shape),
                "order": s.order,
            }
            for s in self.slots
        ]

    @classmethod
    def from_dicts(cls, rows: Iterable[dict]) -> FlatLayout:
        return cls(
            tuple(
                TensorSlot(
                    layer=r["layer"],
                    role=r["role"],
                    start=int(r["start"]),
                    stop=int(r["stop"]),
                    shape=tuple(int(d) for d in r["shape"]),
                    order=r.get("order", "torch"),
                )
                for r in rows
            )
        )

    @classmethod
    def weight_then_bias(
        cls, layers: Sequence[tuple[str, tuple[int, ...] | None, tuple[int, ...] | None]]
    ) -> FlatLayout:
        """PyTorch-order layout: per layer its weight then its bias (``None`` if it has none).

        Args:
            layers: ``(name, weight_shape, bias_shape)`` per layer, in network order; ``None``
                for a tensor the layer does not have.
        """
        slots: list[TensorSlot] = []
        position = 0
        for name, weight_shape, bias_shape in layers:
            for role, shape in (("weight", weight_shape), ("bias", bias_shape)):
                if shape is None:
                    continue
                size = int(np.prod(shape, dtype=np.int64))
                slots.append(TensorSlot(name, role, position, position + size, tuple(shape)))
                position += size
        return cls(tuple(slots))


def read_layout_csv(path: str | Path) -> FlatLayout:
    """Read a Small CNN Zoo ``layout.csv`` (``varname, start_idx, end_idx, shape``).

    ``varname`` ends in ``kernel:0`` or ``bias:0`` (exact prefixes are not published; any
    ``<layer>/kernel:0`` form is accepted). ``shape`` is a Python tuple literal, parsed with
    :func:`ast.literal_eval`. Extra columns (an index, say) are ignored. Kernels are in
    TensorFlow order.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as err:
        raise LayoutError(f"{path}: cannot read the layout table: {err}") from err
    missing = [c for c in ("varname", "start_idx", "end_idx", "shape") if c not in table.columns]
    if missing:
        raise LayoutError(
            f"{path}: missing column(s) {missing}; a Small CNN Zoo layout.csv has "
            "varname, start_idx, end_idx, shape"
        )
    slots = []
    for line, row in enumerate(table.itertuples(index=False), start=2):
        varname = str(row.varname)
        layer, _, tensor = varname.rpartition("/")
        tensor = tensor.split(":")[0]
        if tensor not in ("kernel", "bias"):
            raise LayoutError(
                f"{path} line {line}: varname {varname!r} names neither a kernel nor a bias"
            )
        try:
            shape = ast.literal_eval(str(row.shape))
            shape = (shape,) if isinstance(shape, int) else tuple(int(d) for d in shape)
        except (ValueError, SyntaxError, TypeError) as err:
            raise LayoutError(
                f"{path} line {line}: shape {row.shape!r} is not a tuple literal"
            ) from err
        slots.append(
            TensorSlot(
                layer=layer or varname,
                role="weight" if tensor == "kernel" else "bias",
                start=int(row.start_idx),
                stop=int(row.end_idx),
                shape=shape,
                order="tf",
            )
        )
    return FlatLayout(tuple(slots))


def write_layout_csv(layout: FlatLayout, path: str | Path) -> None:
    """Write a layout in the Small CNN Zoo ``layout.csv`` form (TensorFlow names)."""
    rows = [
        {
            "varname": f"{s.layer}/{'kernel' if s.role == 'weight' else 'bias'}:0",
            "start_idx": s.start,
            "end_idx": s.stop,
            "shape": str(tuple(s.shape)),
        }
        for s in layout.slots
    ]
    pd.DataFrame(rows).to_csv(path, index=False)
