"""The torch modules of the architecture families in :mod:`nnenc.architectures`.

:meth:`Architecture.build <nnenc.architectures.Architecture.build>` makes them; they take the
spec as it is given (its ``layer_shapes()`` and ``stride``), so this module does not import
the one that imports it.
"""

from __future__ import annotations

import torch
from torch import nn

ACTIVATION_MODULES: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "selu": nn.SELU,
    "elu": nn.ELU,
    "gelu": nn.GELU,
    "leaky_relu": nn.LeakyReLU,
    "linear": nn.Identity,
}


def activation_module(name: str) -> nn.Module:
    """The activation called ``name``; a clear error lists the known ones."""
    try:
        return ACTIVATION_MODULES[name]()
    except KeyError:
        raise ValueError(
            f"unknown activation {name!r}; known: {', '.join(sorted(ACTIVATION_MODULES))}"
        ) from None


class ConvNet(nn.Module):
    """The ``cnn`` family: strided valid convolutions, global average pooling, dense layers.

    Shapes:
        input: ``(B, in_channels, H, W)``, any size the convolutions leave a pixel of
        output: ``(B, num_classes)`` logits
    """

    def __init__(self, architecture, activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        self.architecture = architecture
        self.activation_name = activation
        shapes = architecture.layer_shapes()
        convs = [s for s in shapes if s.kind == "conv"]
        dense = [s for s in shapes if s.kind == "linear"]
        self.convs = nn.ModuleList(
            nn.Conv2d(s.weight[1], s.weight[0], s.weight[2], stride=architecture.stride)
            for s in convs
        )
        self.dense = nn.ModuleList(nn.Linear(s.weight[1], s.weight[0]) for s in dense)
        self.act = activation_module(activation)
        self.drop = nn.Dropout(dropout)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images``: ``(B, C, H, W)`` -> logits ``(B, num_classes)``."""
        x = images
        for conv in self.convs:
            x = self.drop(self.act(conv(x)))
        x = x.mean(dim=(2, 3))
        for layer in self.dense[:-1]:
            x = self.drop(self.act(layer(x)))
        return self.dense[-1](x)


class MLPNet(nn.Module):
    """The ``mlp`` family: flatten, dense layers with activation, dense logits.

    Shapes:
        input: ``(B, in_channels, input_size, input_size)``
        output: ``(B, num_classes)`` logits
    """

    def __init__(self, architecture, activation: str = "relu", dropout: float = 0.0):
        super().__init__()
        self.architecture = architecture
        self.activation_name = activation
        self.dense = nn.ModuleList(
            nn.Linear(s.weight[1], s.weight[0]) for s in architecture.layer_shapes()
        )
        self.act = activation_module(activation)
        self.drop = nn.Dropout(dropout)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``images``: ``(B, C, H, W)`` -> logits ``(B, num_classes)``."""
        x = images.flatten(1)
        for layer in self.dense[:-1]:
            x = self.drop(self.act(layer(x)))
        return self.dense[-1](x)
