"""``probe`` and ``probegen``: read a network by running it (Kahana, Horwitz, Shuval, Hoshen,
"Deep Linear Probe Generators for Weight Space Learning", ICLR 2025).

Both pass ``probes`` learned inputs through every network and give the networks' outputs on
them (their logits, ``probes x outputs``, flattened) to an MLP. The probes are trained end to
end through the frozen networks. They differ in where the probes come from:

- ``probe`` (vanilla probing): each probe is a free parameter of the input's shape, squashed by
  a tanh into [-1, 1].
- ``probegen`` (ProbeGen): each probe is generated from a learned latent code (``latent``
  numbers) by one shared *deep linear* generator: transposed convolutions with no nonlinearity
  between them and a final tanh (:class:`DeepLinearGenerator`).

Networks are run as they are: a hidden-neuron permutation leaves their function, so their
encoding, unchanged. A batch's networks of one architecture and activation run as one grouped
call (:class:`~nnenc.builder.stacked.StackedNetworks`, the stacking the zoo builder trains
with), group by group, never a Python loop over networks.

The input contract: every network's input shape and output width come from its architecture
spec (the zoo's, else the registered one of its name, else the registered one with its layer
shapes), and its activation from its layers (the zoo's ``activation`` column). A network whose
input shape or activation cannot be known is refused, as are networks whose input shape or
number of outputs differ from the encoder's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

import torch
from torch import nn

from nnenc.architectures import (
    ACTIVATIONS,
    Architecture,
    architecture_names,
    find_architecture,
    get_architecture,
)
from nnenc.builder.stacked import StackedNetworks
from nnenc.encoders import EncoderInputError, WeightEncoder, register_encoder, work
from nnenc.params import NetworkParams

InputShape = tuple[int, int, int]


@dataclass(frozen=True, eq=False)
class ProbedNetwork:
    """What a probe encoder keeps of one network: its flat parameters (in its spec's layout),
    its spec and activation (which fix the function that runs it), its input shape
    ``(C, H, W)`` and its number of outputs."""

    flat: torch.Tensor  # (P,)
    spec: Architecture
    activation: str
    input_shape: InputShape
    outputs: int

    @property
    def runs_as(self) -> tuple[Architecture, str]:
        """Networks with the same spec and activation run as one grouped call."""
        return self.spec, self.activation


def network_spec(params: NetworkParams) -> Architecture | None:
    """The spec ``params`` runs as: its own (from its zoo), else the registered architecture of
    its name, else the registered one whose layers have its shapes."""
    if params.spec is not None:
        return params.spec
    if params.architecture in architecture_names():
        return get_architecture(params.architecture)
    return find_architecture([s.tensors for s in params.layer_shapes()])


def probed_network(params: NetworkParams) -> ProbedNetwork:
    """``params`` as a probe encoder reads it; a network that cannot be run as it was trained
    (unknown spec, input size or activation; layers that are not its spec's) is refused."""
    where = f"network ({params.architecture})"
    spec = network_spec(params)
    if spec is None:
        raise EncoderInputError(
            f"{where}: no architecture spec, so its input shape is unknown and it cannot be "
            "run: name a registered architecture for it (a checkpoint table's 'architecture' "
            "column) or register its spec (nnenc.architectures.register_architecture)"
        )
    if spec.input_size is None:
        raise EncoderInputError(
            f"{where}: its zoo records no input size (no build resolution, no known dataset), "
            "so probes cannot be shaped for it: give the zoo's dataset (the Small CNN Zoo's "
            "'config.dataset' column) or its architecture spec's input_size"
        )
    activation = params.activation
    if activation not in ACTIVATIONS:
        raise EncoderInputError(
            f"{where}: its activation is unknown (its zoo's 'activation' column is missing, "
            "mixed or unrecognised); probing runs the network and will not guess it: give the "
            f"activation ({', '.join(ACTIVATIONS)})"
        )
    found = [s.tensors for s in params.layer_shapes()]
    expected = [s.tensors for s in spec.layer_shapes()]
    if found != expected:
        raise EncoderInputError(
            f"{where}: its layers {found} are not those of its architecture {spec.name!r} "
            f"{expected}, so it cannot be run as that architecture"
        )
    input_shape = (spec.in_channels, spec.input_size, spec.input_size)
    return ProbedNetwork(params.to_flat(), spec, activation, input_shape, spec.num_classes)


@dataclass(frozen=True, eq=False)
class NetworkGroup:
    """Networks of one batch that run as one call: ``flat`` ``(n, P)`` stacked parameters of
    one spec and activation, and ``index`` ``(n,)``, their positions in the batch."""

    spec: Architecture
    activation: str
    flat: torch.Tensor
    index: torch.Tensor

    def to(self, device: torch.device | str) -> NetworkGroup:
        return NetworkGroup(self.spec, self.activation, self.flat.to(device), self.index)


@dataclass(frozen=True, eq=False)
class ProbeBatch:
    """A collated batch: its networks in groups that each run as one call.

    Attributes:
        groups: one :class:`NetworkGroup` per (spec, activation) in the batch.
        size: ``B``, the number of networks.
        order: ``(B,)``, where each network's output sits in the groups' concatenated outputs.
    """

    groups: tuple[NetworkGroup, ...]
    size: int
    order: torch.Tensor

    @classmethod
    def of(cls, features: Sequence[ProbedNetwork]) -> ProbeBatch:
        members: dict[tuple[Architecture, str], list[int]] = {}
        for i, f in enumerate(features):
            members.setdefault(f.runs_as, []).append(i)
        groups = tuple(
            NetworkGroup(
                spec,
                activation,
                torch.stack([features[i].flat for i in index]),
                torch.tensor(index),
            )
            for (spec, activation), index in members.items()
        )
        order = torch.empty(len(features), dtype=torch.long)
        order[torch.cat([g.index for g in groups])] = torch.arange(len(features))
        return cls(groups, len(features), order)

    def to(self, device: torch.device | str) -> ProbeBatch:
        return ProbeBatch(tuple(g.to(device) for g in self.groups), self.size, self.order)


def activation_floats(spec: Architecture, side: int) -> int:
    """The floats in one input's largest activation as ``spec`` runs on ``side``-pixel inputs:
    what one network adds to a grouped call's largest temporary, per probe."""
    sizes = [spec.in_channels * side * side]
    for channels in spec.conv_channels:
        side = (side - spec.kernel_size) // spec.stride + 1
        sizes.append(channels * side * side)
    return max(*sizes, *spec.hidden, spec.num_classes)


def probe_outputs(batch: ProbeBatch, probes: torch.Tensor) -> torch.Tensor:
    """Every network's outputs on ``probes`` ``(K, C, H, W)``: ``(B, K, outputs)``, grouped
    calls per (spec, activation); gradients reach ``probes``, not the networks.

    A group runs in calls of as many networks as keep the largest temporary within the device's
    bound (:mod:`nnenc.encoders.work`), as the set encoders' groups do, so a large batch's
    temporaries stay bounded (what grouping buys on a CPU: docs/speed.md, "Probing")."""
    layout = work.work_layout(probes.device)
    outputs = []
    for group in batch.groups:
        per_call = layout.sets_per_group(
            len(probes) * activation_floats(group.spec, probes.shape[-1])
        )
        for flat in group.flat.split(per_call):
            no_dropout = torch.zeros(len(flat), device=flat.device)
            networks = StackedNetworks(
                group.spec, flat, group.activation, no_dropout, requires_grad=False
            )
            outputs.append(networks.forward(probes))
    return torch.cat(outputs).index_select(0, batch.order.to(probes.device))


def looped_probe_outputs(networks: Sequence[NetworkParams], probes: torch.Tensor) -> torch.Tensor:
    """The same as :func:`probe_outputs`, one network at a time through its own module (as
    the published code runs them): the reference the grouped call is tested and timed
    against."""
    features = [probed_network(n) for n in networks]
    modules = [n.to_module(f.activation) for n, f in zip(networks, features, strict=True)]
    for module in modules:
        module.requires_grad_(False)
    return torch.stack([module(probes) for module in modules])


def _upsampling_plan(size: int, doublings: int) -> tuple[int, int]:
    """The first layer's output side and how many stride-2 layers double it to ``size``: the
    paper's 4 -> 8 -> 16 -> 32 where ``size`` is 32, 7 -> 14 -> 28 for 28, at most
    ``doublings`` doublings and a first side of at least 4 (a side the halvings do not divide
    evenly starts at full size)."""
    steps = 0
    while steps < doublings and size % (2 ** (steps + 1)) == 0 and size // 2 ** (steps + 1) >= 4:
        steps += 1
    return size // 2**steps, steps


class DeepLinearGenerator(nn.Sequential):
    """ProbeGen's generator: ``latent`` numbers (as a 1 x 1 image) to a ``(C, H, W)`` probe in
    [-1, 1] through ``layers`` transposed convolutions with no nonlinearity between them, then
    a tanh.

    As in the paper's 5-layer generator for 32 x 32 inputs: the first layer (a 4 x 4 kernel)
    maps the code to a 4 x 4 image of ``8 * width`` channels, three 4 x 4 stride-2 layers double
    its side while halving the channels (to ``width``), and a 3 x 3 layer maps to the input's
    channels. nnenc's inputs are 16-28 pixels a side, so the first layer's kernel is the side
    the doublings start from (7 for 28 pixels, 4 for 16), and where fewer doublings fit, 3 x 3
    stride-1 layers take their place, so the depth stays ``layers``.

    Shapes:
        input: ``(K, latent, 1, 1)``
        output: ``(K, C, H, W)``, ``H == W``
    """

    def __init__(self, latent: int, shape: InputShape, width: int = 16, layers: int = 5):
        channels, height, side = shape
        if height != side:
            raise ValueError(f"the generator draws square probes; the input shape is {shape}")
        if layers < 2:
            raise ValueError(f"a deep linear generator has at least 2 layers, got {layers}")
        start, doublings = _upsampling_plan(side, layers - 2)
        widths = [latent] + [width * 2 ** max(3 - i, 0) for i in range(layers - 1)] + [channels]
        modules: list[nn.Module] = []
        for i, (a, b) in enumerate(pairwise(widths)):
            if i == 0:
                modules.append(nn.ConvTranspose2d(a, b, start))
            elif i <= doublings:
                modules.append(nn.ConvTranspose2d(a, b, 4, stride=2, padding=1))
            else:
                modules.append(nn.ConvTranspose2d(a, b, 3, padding=1))
        super().__init__(*modules, nn.Tanh())


class ProbeEncoder(WeightEncoder):
    """The shared part of ``probe`` and ``probegen``: run the networks on the probes, flatten
    their outputs, an MLP. Subclasses say where the probes come from (:meth:`_build_probes`
    and :meth:`probe_images`).

    Args:
        probes: how many probe inputs (the paper's K: 64 or 128).
        hidden: width of the MLP on the outputs.
        layers: linear layers of that MLP (the paper's 6).
        out_dim: size of the encoding.
        input_shape: ``(C, H, W)`` of the networks' input (set by ``fit_inputs`` from the
            training zoo when not given; saved in its config).
        outputs: the networks' number of outputs (set with ``input_shape``).

    Shapes:
        input: a :class:`ProbeBatch` of ``B`` networks of input ``input_shape``
        output: ``(B, out_dim)``
    """

    accepts_mixed = True
    search_space: ClassVar[dict] = {
        "training.lr": ("log", 3e-4, 3e-3),
        "config.probes": ("choice", [64, 128]),
        "config.hidden": ("choice", [64, 128, 256]),
        "config.layers": ("choice", [2, 4, 6]),
    }

    @classmethod
    def test_config(cls) -> dict:
        """Sized for the 1 x 28 x 28, 10-class preset networks the contract checks feed it."""
        return {"probes": 4, "hidden": 16, "layers": 2, "out_dim": 8,
                "input_shape": [1, 28, 28], "outputs": 10}  # fmt: skip

    def __init__(
        self,
        probes: int = 64,
        hidden: int = 128,
        layers: int = 6,
        out_dim: int = 64,
        input_shape: Sequence[int] | None = None,
        outputs: int | None = None,
    ):
        super().__init__()
        if probes < 1 or hidden < 1 or out_dim < 1:
            raise ValueError(
                f"probes, hidden and out_dim must be at least 1; got {probes}, {hidden}, {out_dim}"
            )
        if layers < 1:
            raise ValueError(f"layers must be at least 1, got {layers}")
        if (input_shape is None) != (outputs is None):
            raise ValueError("give input_shape and outputs together, or neither")
        self.probes, self.hidden, self.layers, self.out_dim = probes, hidden, layers, out_dim
        self.input_shape: InputShape | None = None
        self.outputs: int | None = None
        self.mixer: nn.Sequential | None = None
        if input_shape is not None:
            if len(input_shape) != 3:
                raise ValueError(f"input_shape is (C, H, W), got {list(input_shape)}")
            self._build(tuple(int(s) for s in input_shape), int(outputs))

    def _build(self, input_shape: InputShape, outputs: int) -> None:
        self.input_shape, self.outputs = input_shape, outputs
        self._build_probes(input_shape)
        widths = [self.probes * outputs] + [self.hidden] * (self.layers - 1) + [self.out_dim]
        modules: list[nn.Module] = []
        for a, b in pairwise(widths):
            modules += [nn.Linear(a, b), nn.ReLU()]
        self.mixer = nn.Sequential(*modules[:-1])

    def _build_probes(self, input_shape: InputShape) -> None:
        raise NotImplementedError

    def probe_images(self) -> torch.Tensor:
        """The probes, ``(K, C, H, W)`` in [-1, 1]."""
        raise NotImplementedError

    def _featurize(self, params: NetworkParams) -> ProbedNetwork:
        feature = probed_network(params)
        if self.input_shape is not None:
            self._check_fits(feature)
        return feature

    def _check_fits(self, feature: ProbedNetwork) -> None:
        if feature.input_shape != self.input_shape or feature.outputs != self.outputs:
            raise EncoderInputError(
                f"network ({feature.spec.name}) takes inputs {list(feature.input_shape)} and "
                f"gives {feature.outputs} outputs; this {self.name} probes inputs "
                f"{list(self.input_shape)} with {self.outputs} outputs: one predictor reads "
                "networks of one input shape and one output width"
            )

    def fit_inputs(self, features: Sequence[ProbedNetwork]) -> None:
        """Fix the input shape and output width (if not yet) from the training networks, which
        must share them."""
        kinds = {(f.input_shape, f.outputs) for f in features}
        if len(kinds) > 1:
            shown = "; ".join(f"inputs {list(s)} with {o} outputs" for s, o in sorted(kinds))
            raise EncoderInputError(
                f"the training networks take different inputs or give different outputs "
                f"({shown}): one {self.name} predictor probes networks of one input shape "
                "and output width"
            )
        if self.input_shape is None:
            self._build(*kinds.pop())

    def _collate(self, features: list[ProbedNetwork]) -> ProbeBatch:
        if self.mixer is None:
            raise EncoderInputError(
                f"this {self.name} does not know its input shape yet: give input_shape= and "
                "outputs=, or fit it on a zoo"
            )
        for feature in features:
            self._check_fits(feature)
        return ProbeBatch.of(features)

    def batch_to(self, batch: ProbeBatch, device: torch.device | str) -> ProbeBatch:
        return batch.to(device)

    def forward(self, batch: ProbeBatch) -> torch.Tensor:
        if self.mixer is None:
            raise EncoderInputError(f"this {self.name} has no probes yet: fit it on a zoo first")
        outputs = probe_outputs(batch, self.probe_images())
        return self.mixer(outputs.flatten(1))


@register_encoder
class Probing(ProbeEncoder):
    """Vanilla probing: ``probes`` free inputs, each ``tanh`` of a learned tensor of the input's
    shape (the paper's baseline without a generator). See :class:`ProbeEncoder`."""

    name = "probe"

    def _build_probes(self, input_shape: InputShape) -> None:
        self.probe_values = nn.Parameter(torch.randn(self.probes, *input_shape))

    def probe_images(self) -> torch.Tensor:
        return torch.tanh(self.probe_values)


@register_encoder
class ProbeGen(ProbeEncoder):
    """ProbeGen: ``probes`` learned latent codes through one shared
    :class:`DeepLinearGenerator`. See :class:`ProbeEncoder` for the other arguments.

    Args:
        latent: numbers in each probe's code (the paper's 32).
        generator_width: the generator's narrowest width (the paper's 16; its first layer has
            8 times as many channels).
        generator_layers: the generator's transposed convolutions (the paper's 5).
    """

    name = "probegen"

    @classmethod
    def test_config(cls) -> dict:
        return {**super().test_config(), "latent": 4, "generator_width": 2}

    def __init__(
        self,
        probes: int = 64,
        hidden: int = 128,
        layers: int = 6,
        out_dim: int = 64,
        input_shape: Sequence[int] | None = None,
        outputs: int | None = None,
        latent: int = 32,
        generator_width: int = 16,
        generator_layers: int = 5,
    ):
        self.latent = latent
        self.generator_width = generator_width
        self.generator_layers = generator_layers
        super().__init__(probes, hidden, layers, out_dim, input_shape, outputs)

    def _build_probes(self, input_shape: InputShape) -> None:
        self.codes = nn.Parameter(torch.randn(self.probes, self.latent, 1, 1))
        self.generator = DeepLinearGenerator(
            self.latent, input_shape, self.generator_width, self.generator_layers
        )

    def probe_images(self) -> torch.Tensor:
        return self.generator(self.codes)
