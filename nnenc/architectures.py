"""The architecture families nnenc knows how to build, by name.

An :class:`Architecture` is a small, frozen spec. Its ``name`` is the architecture id stored in
zoos and in :class:`~nnenc.params.NetworkParams`; :func:`get_architecture` resolves it through one
registry (the presets plus what the user registers with :func:`register_architecture`), in the
way ``timm`` creates models by name. Zoos do not register: a zoo's networks carry the spec its
manifest gives (:attr:`~nnenc.params.NetworkParams.spec`), so two zoos may use one name for
different architectures.

Families:

- ``cnn``: ``len(conv_channels)`` x [Conv ``kernel_size`` x ``kernel_size``, stride ``stride``,
  "valid" padding, activation, dropout], global average pooling, then ``hidden`` dense layers
  with activation, then a dense layer to ``num_classes`` logits. The ``cnn-small`` preset is
  exactly the Small CNN Zoo network (Unterthiner et al. 2020): 3 x Conv 3x3/2 with 16 channels,
  GAP, Dense 10; 4,970 parameters.
- ``mlp``: flatten the image, ``hidden`` dense layers with activation, dense to logits.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Literal

from nnenc.layout import FlatLayout, LayerShape

Family = Literal["cnn", "mlp"]

ACTIVATIONS = ("relu", "tanh", "sigmoid", "selu", "elu", "gelu", "leaky_relu", "linear")
"""The activations a spec's networks can use (their modules: :mod:`nnenc.networks`). Specs are
torch-free, so reading a zoo's manifest does not import torch."""


@dataclass(frozen=True)
class Architecture:
    """A buildable network spec; see the module docstring for the families."""

    name: str
    family: Family
    in_channels: int = 1
    input_size: int | None = 28
    """The side of the square images it takes; ``None`` where the zoo does not record it (a
    ``cnn`` runs on any size, but it was trained on one; an ``mlp``'s first layer fixes it)."""
    num_classes: int = 10
    conv_channels: tuple[int, ...] = ()
    hidden: tuple[int, ...] = ()
    kernel_size: int = 3
    stride: int = 2
    extra: dict = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.family not in ("cnn", "mlp"):
            raise ValueError(f"architecture {self.name!r}: unknown family {self.family!r}")
        if self.family == "cnn" and not self.conv_channels:
            raise ValueError(f"architecture {self.name!r}: a cnn needs conv_channels")
        if self.family == "mlp" and self.conv_channels:
            raise ValueError(f"architecture {self.name!r}: an mlp has no conv_channels")
        if self.family == "mlp" and self.input_size is None:
            raise ValueError(f"architecture {self.name!r}: an mlp needs its input_size")
        object.__setattr__(self, "conv_channels", tuple(int(c) for c in self.conv_channels))
        object.__setattr__(self, "hidden", tuple(int(h) for h in self.hidden))

    def layer_shapes(self) -> list[LayerShape]:
        """Every parametrised layer in network order, with PyTorch-layout shapes."""
        shapes: list[LayerShape] = []
        width = self.in_channels
        k = self.kernel_size
        for i, out in enumerate(self.conv_channels):
            shapes.append(LayerShape(f"convs.{i}", "conv", (out, width, k, k), (out,)))
            width = out
        if self.family == "mlp":
            width = self.in_channels * self.input_size * self.input_size
        for j, out in enumerate((*self.hidden, self.num_classes)):
            shapes.append(LayerShape(f"dense.{j}", "linear", (out, width), (out,)))
            width = out
        return shapes

    def layout(self) -> FlatLayout:
        """The native flat layout: PyTorch order, weight then bias per layer."""
        return FlatLayout.weight_then_bias(
            [(s.name, s.weight, s.bias) for s in self.layer_shapes()]
        )

    def check_resolution(self, resolution: int) -> None:
        """Refuse input images of ``resolution`` pixels a side that this network cannot take."""
        if self.family == "mlp":
            if resolution != self.input_size:
                raise ValueError(
                    f"architecture {self.name!r} takes {self.input_size} x {self.input_size} "
                    f"images (its first layer is sized for them), not {resolution}; use "
                    f"resolution {self.input_size}"
                )
            return
        size = resolution
        for _ in self.conv_channels:
            size = (size - self.kernel_size) // self.stride + 1
            if size < 1:
                raise ValueError(
                    f"resolution {resolution} is too small for architecture {self.name!r}: its "
                    f"{len(self.conv_channels)} unpadded {self.kernel_size}x{self.kernel_size} "
                    f"convolutions of stride {self.stride} leave no pixel"
                )

    @property
    def num_params(self) -> int:
        return self.layout().size

    def build(self, activation: str = "relu", dropout: float = 0.0):
        """A freshly initialised :class:`torch.nn.Module` of this architecture
        (:class:`~nnenc.networks.ConvNet` or :class:`~nnenc.networks.MLPNet`; torch is imported
        here, not with the spec)."""
        from nnenc.networks import ConvNet, MLPNet

        if self.family == "cnn":
            return ConvNet(self, activation, dropout)
        return MLPNet(self, activation, dropout)

    def to_dict(self) -> dict:
        spec = asdict(self)
        spec["conv_channels"] = list(self.conv_channels)
        spec["hidden"] = list(self.hidden)
        return spec

    @classmethod
    def from_dict(cls, spec: dict) -> Architecture:
        known = {f for f in cls.__dataclass_fields__}
        unknown = sorted(set(spec) - known)
        if unknown:
            raise ValueError(f"architecture spec has unknown field(s) {unknown}")
        return cls(**{**spec, "conv_channels": tuple(spec.get("conv_channels", ()))})


PRESETS: tuple[Architecture, ...] = (
    Architecture("cnn-small", "cnn", conv_channels=(16, 16, 16)),
    Architecture("cnn-dense", "cnn", conv_channels=(16, 16, 16), hidden=(32,)),
    Architecture("mlp", "mlp", hidden=(32, 32)),
)

_REGISTRY: dict[str, Architecture] = {a.name: a for a in PRESETS}


def register_architecture(architecture: Architecture) -> Architecture:
    """Make ``architecture`` resolvable by name; a different spec under a taken name is refused."""
    known = _REGISTRY.get(architecture.name)
    if known is not None and known != architecture:
        raise ValueError(
            f"architecture name {architecture.name!r} is already registered with a different "
            f"spec ({known.to_dict()}); choose another name"
        )
    _REGISTRY[architecture.name] = architecture
    return architecture


def get_architecture(name: str) -> Architecture:
    """The registered architecture called ``name``."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(
            f"unknown architecture {name!r}; known: {', '.join(sorted(_REGISTRY))}"
        ) from None


def architecture_names() -> list[str]:
    return sorted(_REGISTRY)


def find_architecture(
    tensors: list[tuple[tuple[int, ...], tuple[int, ...] | None]],
) -> Architecture | None:
    """The first registered architecture whose layers have these (weight, bias) shapes (each
    layer's :attr:`LayerShape.tensors`)."""
    for spec in _REGISTRY.values():
        if [s.tensors for s in spec.layer_shapes()] == list(tensors):
            return spec
    return None
