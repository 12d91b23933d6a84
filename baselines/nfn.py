"""``nfn-np`` and ``nfn-hnp``: neural functionals (Zhou et al. 2023, "Permutation Equivariant
Neural Functionals") through the authors' layers (the ``nfn`` package), set up as the paper's
Small CNN Zoo predictors are: three NF layers of 16, 16 and 5 channels with ReLU, the mode's
invariant pooling (NP: every row and column averaged; HNP: the first layer's inputs and the last
layer's outputs kept), then an MLP.

The two modes, as in the paper's configurations:

- ``nfn-np``: :class:`nfn.layers.NPLinear` with learned input and output position embeddings
  (NP layers treat the input and output neurons as exchangeable; the embeddings tell them
  apart), inputs standardised.
- ``nfn-hnp``: :class:`nfn.layers.HNPLinear` (input and output neurons keep their order), raw
  inputs.

Standardising is one mean and one standard deviation per weight and per bias tensor, fitted on
the training networks: a scalar per tensor keeps the hidden-neuron permutation symmetry exact.

An NF layer is built for one network shape: both encoders read one architecture (chains of
convolutions, global average pooling, dense layers; no norm layers) and refuse any other with
the reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from nfn.common import ArraySpec, NetworkSpec, WeightSpaceFeatures
from nfn.layers import HNPLinear, HNPPool, NPLinear, NPPool, TupleOp
from torch import nn

from nnenc.encoders import EncoderInputError, WeightEncoder, register_encoder
from nnenc.params import NetworkParams


@dataclass(frozen=True)
class WeightSpace:
    """One network's weights ``(1, out, in, *kernel)`` and biases ``(1, out)`` per layer, and
    its tensor shapes (what an NF layer is built for)."""

    weights: tuple[torch.Tensor, ...]
    biases: tuple[torch.Tensor, ...]
    shapes: tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]
    architecture: str


def weight_space(params: NetworkParams) -> WeightSpace:
    """``params`` as NF layers read it; a network that is not a chain of conv and linear layers
    with biases is refused with the reason."""
    where = f"network ({params.architecture})"
    weights, biases, shapes = [], [], []
    previous = None
    for layer in params:
        if layer.kind not in ("conv", "linear") or layer.bias is None:
            raise EncoderInputError(
                f"{where}: layer {layer.name!r} ({layer.kind}, bias "
                f"{'none' if layer.bias is None else 'present'}): NFN reads chains of conv and "
                "linear layers with biases"
            )
        out_units, in_units = layer.weight.shape[:2]
        if previous is not None and in_units != previous:
            raise EncoderInputError(
                f"{where}: layer {layer.name!r} takes {in_units} inputs, not the {previous} "
                "units of the layer before: NFN needs each layer to read the previous one's "
                "units one-to-one"
            )
        previous = out_units
        weights.append(layer.weight.unsqueeze(0))
        biases.append(layer.bias.unsqueeze(0))
        shapes.append((tuple(layer.weight.shape), tuple(layer.bias.shape)))
    return WeightSpace(tuple(weights), tuple(biases), tuple(shapes), params.architecture)


class NeuralFunctional(WeightEncoder):
    """An invariant NFN (see the module docstring); subclasses choose the mode.

    Args:
        hchannels: channels of the NF layers.
        hidden: width of the MLP after the pooling.
        out_dim: size of the encoding.
        shapes: per layer, its (weight, bias) shapes (set by ``fit_inputs`` from the training
            zoo when not given; saved in its config).
    """

    accepts_mixed = False
    mode: ClassVar[str] = ""
    search_space: ClassVar[dict] = {
        "training.lr": ("log", 3e-4, 3e-3),
        "config.hidden": ("choice", [256, 1000]),
        "training.weight_decay": ("log", 1e-3, 1e-1),
    }

    @classmethod
    def test_config(cls) -> dict:
        """Sized for the cnn-small networks the contract checks feed it."""
        from nnenc.testing import network

        shapes = weight_space(network("cnn-small", 0)).shapes
        return {"hchannels": [4, 3], "hidden": 16, "out_dim": 8, "shapes": shapes}

    def __init__(
        self,
        hchannels: Sequence[int] = (16, 16, 5),
        hidden: int = 1000,
        out_dim: int = 64,
        shapes: Sequence[Sequence[Sequence[int]]] | None = None,
    ):
        super().__init__()
        self.hchannels, self.hidden, self.out_dim = tuple(hchannels), hidden, out_dim
        self.shapes = None if shapes is None else _shape_tuple(shapes)
        self.layers: nn.Sequential | None = None
        self.head: nn.Sequential | None = None
        if self.shapes is not None:
            self._build(self.shapes)

    def _build(self, shapes) -> None:
        self.shapes = shapes
        spec = NetworkSpec([ArraySpec(w) for w, _ in shapes], [ArraySpec(b) for _, b in shapes])
        pool = NPPool if self.mode == "NP" else HNPPool
        layers: list[nn.Module] = []
        channels = 1
        for width in self.hchannels:
            if self.mode == "NP":
                layers.append(NPLinear(spec, channels, width, io_embed=True))
            else:
                layers.append(HNPLinear(spec, channels, width))
            layers.append(TupleOp(nn.ReLU()))
            channels = width
        self.layers = nn.Sequential(*layers)
        pooled = channels * pool.get_num_outs(spec)
        self.head = nn.Sequential(
            pool(spec),
            nn.Flatten(start_dim=-2),
            nn.Linear(pooled, self.hidden),
            nn.ReLU(),
            nn.Linear(self.hidden, self.out_dim),
        )
        n = len(shapes)
        self.register_buffer("mean", torch.zeros(2, n))
        self.register_buffer("std", torch.ones(2, n))

    def _featurize(self, params: NetworkParams) -> WeightSpace:
        space = weight_space(params)
        if self.shapes is not None and space.shapes != self.shapes:
            raise EncoderInputError(
                f"network ({params.architecture}) is not the architecture this {self.name} "
                f"reads: its layers are {list(space.shapes)}, the encoder's {list(self.shapes)}; "
                "an NF layer is built for one network shape (use sne, deepsets, statnn or gmn "
                "across architectures)"
            )
        return space

    def fit_inputs(self, features: Sequence[WeightSpace]) -> None:
        """Fix the architecture (if not yet) and, in NP mode, each tensor's mean and std."""
        self.check_one_architecture(features)
        if self.shapes is None:
            self._build(features[0].shapes)
        if self.mode != "NP":
            return
        for i in range(len(self.shapes)):
            weights = [f.weights[i] for f in features]
            biases = [f.biases[i] for f in features]
            for row, tensors in enumerate((weights, biases)):
                values = torch.cat([t.reshape(-1) for t in tensors])
                self.mean[row, i] = values.mean()
                self.std[row, i] = values.std().clamp_min(1e-5)

    def _collate(self, features: list[WeightSpace]) -> dict:
        if self.shapes is None:
            raise EncoderInputError(
                f"this {self.name} does not know its architecture yet: give shapes= or fit it "
                "on a zoo"
            )
        if any(f.shapes != self.shapes for f in features):
            raise EncoderInputError(
                f"these networks are not the architecture this {self.name} reads "
                f"({list(self.shapes)}): featurize them with this encoder"
            )
        n = len(self.shapes)
        return {
            "weights": [torch.stack([f.weights[i] for f in features]) for i in range(n)],
            "biases": [torch.stack([f.biases[i] for f in features]) for i in range(n)],
        }

    def batch_to(self, batch: dict, device: torch.device | str) -> dict:
        return {key: [t.to(device) for t in tensors] for key, tensors in batch.items()}

    def forward(self, batch: dict) -> torch.Tensor:
        if self.layers is None:
            raise EncoderInputError(f"this {self.name} has no layers yet: fit it on a zoo first")
        weights = [(w - self.mean[0, i]) / self.std[0, i] for i, w in enumerate(batch["weights"])]
        biases = [(b - self.mean[1, i]) / self.std[1, i] for i, b in enumerate(batch["biases"])]
        return self.head(self.layers(WeightSpaceFeatures(weights, biases)))


def _shape_tuple(shapes) -> tuple[tuple[tuple[int, ...], tuple[int, ...]], ...]:
    return tuple((tuple(int(d) for d in w), tuple(int(d) for d in b)) for w, b in shapes)


@register_encoder
class NFNNP(NeuralFunctional):
    """NFN_NP: NP layers with learned input and output position embeddings, standardised
    inputs."""

    name = "nfn-np"
    mode = "NP"


@register_encoder
class NFNHNP(NeuralFunctional):
    """NFN_HNP: HNP layers (input and output neurons keep their order), raw inputs."""

    name = "nfn-hnp"
    mode = "HNP"
