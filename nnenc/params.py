"""One network's parameters: :class:`Layer` and :class:`NetworkParams`.

The one representation every encoder, loader and builder shares, in the role of nfn's
``WeightSpaceFeatures``: small, immutable, with no training logic inside. Tensors are in
PyTorch layout (out first: conv ``(O, I, kh, kw)``, linear ``(O, I)``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Literal, overload

import numpy as np
import torch
from torch import nn

from nnenc.architectures import Architecture, get_architecture
from nnenc.layout import FlatLayout, LayerShape

LayerKind = Literal["conv", "linear", "norm", "embedding", "other"]
LAYER_KINDS: tuple[str, ...] = ("conv", "linear", "norm", "embedding", "other")

FINITE_CHECK_BLOCK = 2**20

_NORM_MODULES = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm)


def _as_tensor(values: torch.Tensor | np.ndarray) -> torch.Tensor:
    if isinstance(values, np.ndarray):
        values = torch.from_numpy(np.array(values, dtype=np.float32))
    return values.detach().to(torch.float32)


BUFFERS = ("running_mean", "running_var", "num_batches_tracked")
"""State-dict entries of norm layers that are not parameters: skipped when networks are read."""


@dataclass(frozen=True, eq=False)
class Layer:
    """One parametrised layer.

    Args:
        name: the layer's name in its network (a module path such as ``convs.0``).
        kind: ``conv``, ``linear``, ``norm``, ``embedding`` or ``other``.
        weight: the weight in PyTorch layout; ``weight.shape[0]`` is the number of output units.
        bias: ``(O,)`` or ``None``.
        activation: the activation applied after the layer, where known (``None`` for the
            logits layer).
    """

    name: str
    kind: LayerKind
    weight: torch.Tensor
    bias: torch.Tensor | None = None
    activation: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in LAYER_KINDS:
            raise ValueError(
                f"layer {self.name!r}: unknown kind {self.kind!r}; known: {', '.join(LAYER_KINDS)}"
            )
        object.__setattr__(self, "weight", _as_tensor(self.weight))
        if self.bias is not None:
            bias = _as_tensor(self.bias)
            object.__setattr__(self, "bias", bias)
            if self.kind in ("conv", "linear") and bias.shape != (self.weight.shape[0],):
                raise ValueError(
                    f"layer {self.name!r}: bias shape {tuple(bias.shape)} does not match "
                    f"{self.weight.shape[0]} output units of weight {tuple(self.weight.shape)}"
                )

    @property
    def num_params(self) -> int:
        return self.weight.numel() + (0 if self.bias is None else self.bias.numel())

    @property
    def out_units(self) -> int:
        return self.weight.shape[0]

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> Layer:
        """A copy with ``fn`` applied to the weight and the bias."""
        bias = None if self.bias is None else fn(self.bias)
        return replace(self, weight=fn(self.weight), bias=bias)

    def is_finite(self) -> bool:
        """No NaN or infinity in the weight or bias (checked in blocks: no full-size mask)."""
        tensors = (self.weight,) if self.bias is None else (self.weight, self.bias)
        return all(
            bool(torch.isfinite(block).all())
            for tensor in tensors
            for block in tensor.reshape(-1).split(FINITE_CHECK_BLOCK)
        )

    def __repr__(self) -> str:
        bias = "None" if self.bias is None else tuple(self.bias.shape)
        return (
            f"Layer({self.name!r}, {self.kind}, weight={tuple(self.weight.shape)}, "
            f"bias={bias}, activation={self.activation!r})"
        )


def _logits_last(layers: list[Layer]) -> tuple[Layer, ...]:
    """The last layer gives the logits: it has no activation after it."""
    if layers and layers[-1].activation is not None:
        layers[-1] = replace(layers[-1], activation=None)
    return tuple(layers)


@dataclass(frozen=True, eq=False)
class NetworkParams:
    """The parameters of one network: ordered layers, an architecture id, free metadata.

    Immutable and cheap to slice: ``params[0]`` and ``params["convs.0"]`` are layers,
    ``params[1:3]`` is a ``NetworkParams`` of those layers (tensors shared, not copied).
    """

    layers: tuple[Layer, ...]
    architecture: str = "unknown"
    metadata: Mapping = field(default_factory=dict)
    spec: Architecture | None = None
    """The architecture spec the network came with (a zoo gives each network its own zoo's
    spec); :meth:`to_module` builds it, else the registered architecture of that name."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(self.layers))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        names = [layer.name for layer in self.layers]
        if len(set(names)) != len(names):
            raise ValueError(f"network has duplicate layer names: {names}")

    # --- construction -------------------------------------------------------------------
    @classmethod
    def from_module(
        cls,
        module: nn.Module,
        architecture: str | None = None,
        activation: str | None = None,
        metadata: Mapping | None = None,
    ) -> NetworkParams:
        """Read the parametrised leaf modules of ``module`` in registration order.

        Only parameters are read (norm layers' running statistics are buffers, not parameters).
        ``architecture`` defaults to the module's own spec's name where nnenc built it; the
        network then carries that spec.
        """
        spec = getattr(module, "architecture", None)
        spec = spec if isinstance(spec, Architecture) else None
        architecture = architecture or getattr(spec, "name", "unknown")
        activation = activation or getattr(module, "activation_name", None)
        layers = []
        for name, sub in module.named_modules():
            weight = getattr(sub, "weight", None)
            if not isinstance(weight, nn.Parameter) or any(True for _ in sub.children()):
                continue
            if isinstance(sub, nn.modules.conv._ConvNd):
                kind = "conv"
            elif isinstance(sub, nn.Linear):
                kind = "linear"
            elif isinstance(sub, _NORM_MODULES):
                kind = "norm"
            elif isinstance(sub, nn.Embedding):
                kind = "embedding"
            else:
                kind = "other"
            bias = getattr(sub, "bias", None)
            layers.append(
                Layer(
                    name,
                    kind,
                    weight,
                    bias if isinstance(bias, torch.Tensor) else None,
                    activation if kind in ("conv", "linear") else None,
                )
            )
        if not layers:
            raise ValueError(f"{type(module).__name__} has no parametrised layers")
        own = spec if spec is not None and spec.name == architecture else None
        return cls(_logits_last(layers), architecture, metadata or {}, own)

    @classmethod
    def from_state_dict(
        cls,
        state_dict: Mapping[str, torch.Tensor],
        architecture: str = "unknown",
        activation: str | None = None,
        metadata: Mapping | None = None,
    ) -> NetworkParams:
        """Group ``<layer>.weight`` / ``<layer>.bias`` entries into layers, in key order.

        The kind is inferred from the weight's rank (4-D/3-D/5-D conv, 2-D linear or, for names
        containing ``embed``, embedding, 1-D norm). A norm layer's running statistics and
        counter (:data:`BUFFERS`) are not parameters and are skipped; any other entry is refused,
        naming it: a key nnenc does not know (a damaged ``convs.0.bics``) is never dropped
        silently. A 1-D weight after a layer of another width is refused too: a norm layer keeps
        the width of the layer it follows.
        """
        weights: dict[str, torch.Tensor] = {}
        biases: dict[str, torch.Tensor] = {}
        unknown: list[str] = []
        for key, value in state_dict.items():
            prefix, _, leaf = key.rpartition(".")
            if not isinstance(value, torch.Tensor | np.ndarray):
                raise TypeError(
                    f"state_dict entry {key!r} is a {type(value).__name__}, not a tensor"
                )
            if leaf in ("weight", "bias") and value.ndim == 0:
                raise ValueError(
                    f"state_dict entry {key!r} is a 0-d scalar; a layer's {leaf} has at least "
                    "one dimension (units)"
                )
            if leaf == "weight":
                weights[prefix] = _as_tensor(value)
            elif leaf == "bias":
                biases[prefix] = _as_tensor(value)
            elif leaf not in BUFFERS:
                unknown.append(key)
        if unknown:
            raise ValueError(
                f"state_dict entries {unknown[:5]} are neither a layer's weight or bias nor a "
                f"norm layer's {'/'.join(BUFFERS)}: nnenc reads conv, linear, norm and embedding "
                "layers; a damaged file can show such names (re-copy it), and entries that are "
                "not parameters should be removed before saving"
            )
        orphans = sorted(set(biases) - set(weights))
        if orphans:
            raise ValueError(f"state_dict has biases without weights: {orphans}")
        if not weights:
            raise ValueError("state_dict holds no '<layer>.weight' entries")
        layers = []
        for name, weight in weights.items():
            if weight.ndim >= 3:
                kind = "conv"
            elif weight.ndim == 2:
                kind = "embedding" if "embed" in name.lower() else "linear"
            else:
                kind = "norm"
            if kind == "norm" and layers and layers[-1].weight.shape[0] != weight.shape[0]:
                raise ValueError(
                    f"{name!r} has a 1-d weight of {weight.shape[0]} values, read as a norm "
                    f"layer, but the layer before it ({layers[-1].name!r}) gives "
                    f"{layers[-1].weight.shape[0]} outputs: a norm layer keeps its width, so "
                    "this weight has lost its shape (a damaged or reshaped file)"
                )
            act = activation if kind in ("conv", "linear") else None
            layers.append(Layer(name, kind, weight, biases.get(name), act))
        return cls(_logits_last(layers), architecture, metadata or {})

    @classmethod
    def from_flat(
        cls,
        vector: torch.Tensor | np.ndarray,
        layout: FlatLayout,
        architecture: str = "unknown",
        activation: str | None = None,
        metadata: Mapping | None = None,
    ) -> NetworkParams:
        """Cut a flat vector into layers by ``layout``, converting TensorFlow order to PyTorch.

        Layer kinds follow the weight's rank as in :meth:`from_state_dict`.
        """
        values = vector.detach().cpu().numpy() if isinstance(vector, torch.Tensor) else vector
        values = np.asarray(values)
        if values.ndim != 1 or values.shape[0] != layout.size:
            raise ValueError(
                f"flat vector has shape {values.shape}; the layout needs ({layout.size},)"
            )
        state: dict[str, np.ndarray] = {}
        for name in layout.layer_names:
            for role, slot in layout.slots_of(name).items():
                state[f"{name}.{role}"] = slot.to_torch_order(values[slot.start : slot.stop])
        return cls.from_state_dict(state, architecture, activation, metadata)

    # --- views ------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self.layers)

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers)

    @overload
    def __getitem__(self, key: int | str) -> Layer: ...
    @overload
    def __getitem__(self, key: slice) -> NetworkParams: ...
    def __getitem__(self, key):
        if isinstance(key, slice):
            return replace(self, layers=self.layers[key])
        if isinstance(key, str):
            for layer in self.layers:
                if layer.name == key:
                    return layer
            raise KeyError(f"no layer {key!r}; layers: {[la.name for la in self.layers]}")
        return self.layers[key]

    @property
    def num_params(self) -> int:
        return sum(layer.num_params for layer in self.layers)

    @property
    def activation(self) -> str | None:
        acts = {layer.activation for layer in self.layers if layer.activation is not None}
        return acts.pop() if len(acts) == 1 else None

    def layer_shapes(self) -> list[LayerShape]:
        """Each layer's :class:`~nnenc.layout.LayerShape`, in order (their ``tensors`` are what
        an architecture is, to an encoder: :func:`~nnenc.architectures.find_architecture`)."""
        return [
            LayerShape(
                la.name,
                la.kind,
                tuple(la.weight.shape),
                None if la.bias is None else tuple(la.bias.shape),
                la.activation,
            )
            for la in self.layers
        ]

    def layout(self) -> FlatLayout:
        """The PyTorch-order layout of :meth:`to_flat` (weight then bias per layer)."""
        return FlatLayout.weight_then_bias([(s.name, *s.tensors) for s in self.layer_shapes()])

    def to_flat(self) -> torch.Tensor:
        """All parameters as one float32 vector, weight then bias per layer (PyTorch order)."""
        parts = []
        for layer in self.layers:
            parts.append(layer.weight.reshape(-1))
            if layer.bias is not None:
                parts.append(layer.bias.reshape(-1))
        return torch.cat(parts)

    def state_dict(self) -> dict[str, torch.Tensor]:
        state = {}
        for layer in self.layers:
            state[f"{layer.name}.weight"] = layer.weight
            if layer.bias is not None:
                state[f"{layer.name}.bias"] = layer.bias
        return state

    def map(self, fn: Callable[[torch.Tensor], torch.Tensor]) -> NetworkParams:
        """A copy with ``fn`` applied to every tensor."""
        return replace(self, layers=tuple(layer.map(fn) for layer in self.layers))

    def is_finite(self) -> bool:
        return all(layer.is_finite() for layer in self.layers)

    def to_module(self, activation: str | None = None, dropout: float = 0.0) -> nn.Module:
        """A runnable module (eval mode) of the network's :attr:`spec` (from its zoo), or of
        the registered architecture ``self.architecture`` where it has none.

        Layers are matched to the architecture's layers by position, so names need not agree
        (a Small CNN Zoo row's ``sequential/conv2d`` fills ``convs.0``); shapes must.
        """
        spec = self.spec or get_architecture(self.architecture)
        activation = activation or self.activation or "relu"
        expected = spec.layer_shapes()
        if len(expected) != len(self.layers):
            raise ValueError(
                f"architecture {spec.name!r} has {len(expected)} layers, this network {len(self)}"
            )
        state = {}
        for want, layer in zip(expected, self.layers, strict=True):
            got_bias = None if layer.bias is None else tuple(layer.bias.shape)
            if tuple(layer.weight.shape) != want.weight or got_bias != want.bias:
                raise ValueError(
                    f"layer {layer.name!r} has weight {tuple(layer.weight.shape)}, bias {got_bias}; "
                    f"architecture {spec.name!r} expects {want.weight}, {want.bias} at {want.name!r}"
                )
            state[f"{want.name}.weight"] = layer.weight
            if layer.bias is not None:
                state[f"{want.name}.bias"] = layer.bias
        module = spec.build(activation=activation, dropout=dropout)
        module.load_state_dict(state)
        return module.eval()

    def __repr__(self) -> str:
        return (
            f"NetworkParams(architecture={self.architecture!r}, layers={len(self)}, "
            f"params={self.num_params})"
        )
