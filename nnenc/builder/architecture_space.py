"""The architectures a mixed zoo draws from, declared as the hyperparameter space is (YAML:
``nnenc zoo build --arch-space SPACE.yaml``), today's equivalent of the neural-graphs paper's
"CNN Wild Park".

A build draws ``architectures`` distinct architectures from the space, then spreads its runs
over them evenly, so that runs of one architecture train stacked, as in a single-architecture
build. Families, each drawn in proportion to its ``weight``:

- ``cnn``: ``conv_layers`` unpadded convolutions, each of ``channels`` output channels (drawn
  per layer), with one ``kernel`` and one ``stride`` per network; global average pooling;
  ``dense_layers`` dense layers of ``dense_width`` units; a dense layer to the classes.
- ``mlp``: ``hidden_layers`` dense layers of ``width`` units (drawn per layer) on the
  flattened image.

Ranges ``[low, high]`` are inclusive integers; ``kernel`` and ``stride`` are lists of choices.
Convolutions that leave no pixel at the build's resolution are never drawn: a CNN is drawn
among the (layers, kernel, stride) combinations that fit. A space in which no architecture
fits, or whose ranges are empty, is refused before any training, with the reason.

::

    architectures: 16
    cnn: {weight: 1, conv_layers: [2, 4], channels: [4, 32], kernel: [3, 5], stride: [1, 2],
          dense_layers: [0, 1], dense_width: [16, 64]}
    mlp: {weight: 1, hidden_layers: [1, 4], width: [16, 256]}
"""

from __future__ import annotations

import itertools
from dataclasses import asdict, dataclass, fields

import numpy as np

from nnenc.architectures import Architecture

Range = tuple[int, int]


@dataclass(frozen=True)
class CNNSpace:
    weight: float = 1.0
    conv_layers: Range = (2, 4)
    channels: Range = (4, 32)
    kernel: tuple[int, ...] = (3, 5)
    stride: tuple[int, ...] = (1, 2)
    dense_layers: Range = (0, 1)
    dense_width: Range = (16, 64)

    def fitting(self, resolution: int) -> list[tuple[int, int, int]]:
        """The (conv layers, kernel, stride) combinations that leave a pixel at
        ``resolution``."""
        combos = itertools.product(
            range(self.conv_layers[0], self.conv_layers[1] + 1), self.kernel, self.stride
        )
        return [c for c in combos if _pixels_left(resolution, *c) >= 1]


@dataclass(frozen=True)
class MLPSpace:
    weight: float = 1.0
    hidden_layers: Range = (1, 4)
    width: Range = (16, 256)


def _pixels_left(resolution: int, layers: int, kernel: int, stride: int) -> int:
    size = resolution
    for _ in range(layers):
        size = (size - kernel) // stride + 1
        if size < 1:
            return 0
    return size


@dataclass(frozen=True)
class ArchitectureSpace:
    """See the module docstring. ``None`` leaves a family out."""

    architectures: int = 16
    cnn: CNNSpace | None = CNNSpace()
    mlp: MLPSpace | None = MLPSpace()

    def validate(self, resolution: int) -> None:
        """Raise ``ValueError`` naming every way this space cannot give an architecture."""
        problems = []
        if self.architectures < 1:
            problems.append(f"architectures: needs >= 1, got {self.architectures}")
        families = [f for f in (self.cnn, self.mlp) if f is not None]
        if not families:
            problems.append("no family: give cnn, mlp or both")
        if any(f.weight < 0 for f in families) or (
            families and sum(f.weight for f in families) == 0
        ):
            problems.append("family weights: need >= 0 and one > 0")
        ranges = []
        if self.cnn is not None:
            cnn = self.cnn
            ranges += [("cnn.conv_layers", cnn.conv_layers, 1), ("cnn.channels", cnn.channels, 1)]
            ranges += [("cnn.dense_layers", cnn.dense_layers, 0)]
            ranges += [("cnn.dense_width", cnn.dense_width, 1)]
            for name, choices in (("cnn.kernel", cnn.kernel), ("cnn.stride", cnn.stride)):
                if not choices or min(choices) < 1:
                    problems.append(f"{name}: needs choices >= 1, got {list(choices)}")
        if self.mlp is not None:
            ranges += [("mlp.hidden_layers", self.mlp.hidden_layers, 0)]
            ranges += [("mlp.width", self.mlp.width, 1)]
        for name, (low, high), least in ranges:
            if not least <= low <= high:
                problems.append(f"{name}: needs {least} <= low <= high, got [{low}, {high}]")
        if not problems and self.cnn is not None and not self.cnn.fitting(resolution):
            cnn = self.cnn
            problems.append(
                f"cnn: no combination of conv_layers {list(cnn.conv_layers)}, kernel "
                f"{list(cnn.kernel)} and stride {list(cnn.stride)} leaves a pixel at resolution "
                f"{resolution} (unpadded convolutions); allow fewer layers, a smaller kernel or "
                "stride, or a larger resolution"
            )
        if problems:
            raise ValueError("architecture space cannot be satisfied: " + "; ".join(problems))

    def sample(
        self, seed: int, resolution: int, in_channels: int = 1, num_classes: int = 10
    ) -> list[Architecture]:
        """``architectures`` distinct architectures (by name), the same for the same seed."""
        self.validate(resolution)
        rng = np.random.default_rng(seed)
        families = [(n, f) for n, f in (("cnn", self.cnn), ("mlp", self.mlp)) if f is not None]
        weights = np.array([f.weight for _, f in families], dtype=float)
        drawn: dict[str, Architecture] = {}
        for _ in range(100 * self.architectures):
            if len(drawn) == self.architectures:
                break
            name, family = families[rng.choice(len(families), p=weights / weights.sum())]
            if name == "cnn":
                spec = _draw_cnn(family, rng, resolution, in_channels, num_classes)
            else:
                spec = _draw_mlp(family, rng, resolution, in_channels, num_classes)
            drawn.setdefault(spec.name, spec)
        if len(drawn) < self.architectures:
            raise ValueError(
                f"architecture space: only {len(drawn)} distinct architectures in "
                f"{100 * self.architectures} draws, fewer than architectures="
                f"{self.architectures}; widen the ranges or ask for fewer"
            )
        return list(drawn.values())

    def to_dict(self) -> dict:
        spec: dict = {"architectures": self.architectures}
        for name in ("cnn", "mlp"):
            family = getattr(self, name)
            spec[name] = (
                None
                if family is None
                else {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(family).items()}
            )
        return spec

    @classmethod
    def from_dict(cls, spec: dict) -> ArchitectureSpace:
        """A space from its mapping (YAML); an unknown key is refused, naming the valid ones."""
        _check_keys("architecture space", spec, {"architectures", "cnn", "mlp"})
        families = {}
        for name, family in (("cnn", CNNSpace), ("mlp", MLPSpace)):
            given = spec.get(name)
            if given is None:
                families[name] = None
                continue
            _check_keys(f"architecture space {name}", given, {f.name for f in fields(family)})
            families[name] = family(
                **{k: tuple(v) if isinstance(v, list) else v for k, v in given.items()}
            )
        return cls(int(spec.get("architectures", 16)), families["cnn"], families["mlp"])


def _draw(rng: np.random.Generator, bounds: Range) -> int:
    return int(rng.integers(bounds[0], bounds[1] + 1))


def _draw_cnn(space: CNNSpace, rng, resolution, in_channels, num_classes) -> Architecture:
    combos = space.fitting(resolution)
    layers, kernel, stride = combos[rng.choice(len(combos))]
    channels = tuple(_draw(rng, space.channels) for _ in range(layers))
    dense = tuple(_draw(rng, space.dense_width) for _ in range(_draw(rng, space.dense_layers)))
    name = "cnn-" + ".".join(map(str, channels)) + f"-k{kernel}-s{stride}"
    name += "".join(f"-d{w}" for w in dense)
    return Architecture(
        name,
        "cnn",
        in_channels=in_channels,
        input_size=resolution,
        num_classes=num_classes,
        conv_channels=channels,
        hidden=dense,
        kernel_size=kernel,
        stride=stride,
    )


def _draw_mlp(space: MLPSpace, rng, resolution, in_channels, num_classes) -> Architecture:
    widths = tuple(_draw(rng, space.width) for _ in range(_draw(rng, space.hidden_layers)))
    return Architecture(
        "mlp-" + (".".join(map(str, widths)) or "linear"),
        "mlp",
        in_channels=in_channels,
        input_size=resolution,
        num_classes=num_classes,
        hidden=widths,
    )


def _check_keys(what: str, spec, known: set[str]) -> None:
    if not isinstance(spec, dict):
        raise ValueError(f"{what}: needs a mapping, got {type(spec).__name__}")
    unknown = sorted(set(spec) - known)
    if unknown:
        raise ValueError(f"{what}: unknown key(s) {unknown}; valid: {', '.join(sorted(known))}")
