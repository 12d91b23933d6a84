"""``mlp``: the flattened parameter vector into an MLP, the simplest weight-space baseline.

The vector is every layer's weight then bias, in PyTorch order, each coordinate standardised by
the training set's mean and std. One architecture only: the input size and the meaning of each
coordinate are fixed by the first zoo it is fitted on. A batch that mixes architectures, or a
network of another architecture, is refused with :class:`~nnenc.encoders.EncoderInputError` (the
benchmark reports that as n/a).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import pairwise
from typing import ClassVar

import torch
from torch import nn

from nnenc.encoders import EncoderInputError, WeightEncoder, register_encoder
from nnenc.encoders.inputs import FeatureScaler
from nnenc.params import NetworkParams


@dataclass(frozen=True)
class FlatNetwork:
    vector: torch.Tensor
    shapes: tuple[tuple[int, ...], ...]
    architecture: str


def tensor_shapes(params: NetworkParams) -> tuple[tuple[int, ...], ...]:
    """Every weight and bias shape, in order (``()`` for a missing bias): what fixes the meaning
    of each coordinate of :meth:`~nnenc.params.NetworkParams.to_flat`."""
    return tuple(
        shape
        for layer in params.layer_shapes()
        for shape in (layer.weight, () if layer.bias is None else layer.bias)
    )


@register_encoder
class FlatMLP(WeightEncoder):
    """MLP on the flattened, standardised parameter vector.

    Args:
        hidden: widths of the hidden layers.
        out_dim: size of the encoding.
        shapes: the weight and bias shapes the encoder reads (set by ``fit_inputs`` from the
            training zoo when not given; saved in its config).
    """

    name = "mlp"
    search_space: ClassVar[dict] = {
        "training.lr": ("log", 3e-4, 3e-3),
        "config.hidden": ("choice", [[128, 64], [256, 128], [512, 256], [256, 128, 64]]),
        "training.weight_decay": ("log", 1e-3, 1e-1),
    }
    accepts_mixed = False

    @classmethod
    def test_config(cls) -> dict:
        """Sized for the cnn-small networks the contract checks feed it."""
        from nnenc.testing import network

        shapes = tensor_shapes(network("cnn-small", 0))
        return {"hidden": [32], "out_dim": 8, "shapes": [list(s) for s in shapes]}

    def __init__(
        self,
        hidden: Sequence[int] = (256, 128),
        out_dim: int = 64,
        shapes: Sequence[Sequence[int]] | None = None,
    ):
        super().__init__()
        self.hidden, self.out_dim = tuple(hidden), out_dim
        self.shapes = None if shapes is None else tuple(tuple(s) for s in shapes)
        self.mlp: nn.Sequential | None = None
        self.scaler: FeatureScaler | None = None
        if self.shapes is not None:
            self._build(self.shapes)

    def _build(self, shapes: tuple[tuple[int, ...], ...]) -> None:
        self.shapes = shapes
        n = sum(int(torch.Size(s).numel()) if s else 0 for s in shapes)
        self.scaler = FeatureScaler(n)
        widths = [2 * n, *self.hidden]
        layers: list[nn.Module] = []
        for a, b in pairwise(widths):
            layers += [nn.Linear(a, b), nn.GELU()]
        self.mlp = nn.Sequential(*layers, nn.Linear(widths[-1], self.out_dim))

    def _featurize(self, params: NetworkParams) -> FlatNetwork:
        shapes = tensor_shapes(params)
        if self.shapes is not None and shapes != self.shapes:
            raise EncoderInputError(
                f"network ({params.architecture}) is not the architecture this flat MLP reads: "
                f"its tensors are {list(shapes)}, the encoder's {list(self.shapes)}; a flat "
                "parameter vector has one meaning per architecture (use sne, deepsets, statnn or "
                "gmn across architectures)"
            )
        return FlatNetwork(params.to_flat(), shapes, params.architecture)

    def fit_inputs(self, features: Sequence[FlatNetwork]) -> None:
        """Fix the architecture (if not yet) and standardise each coordinate."""
        self.check_one_architecture(features)
        if self.shapes is None:
            self._build(features[0].shapes)
        self.scaler.fit(torch.stack([f.vector for f in features]))

    def _collate(self, features: list[FlatNetwork]) -> dict[str, torch.Tensor]:
        if self.shapes is None:
            raise EncoderInputError(
                "this flat MLP does not know its architecture yet: give shapes= or fit it on a zoo"
            )
        return {"vector": torch.stack([f.vector for f in features])}

    def forward(self, batch: dict[str, torch.Tensor]) -> torch.Tensor:
        if self.mlp is None:
            raise EncoderInputError("this flat MLP has no layers yet: fit it on a zoo first")
        return self.mlp(self.scaler(batch["vector"]))
