"""``K`` networks of one architecture held as stacked tensors and run in one pass.

Convolutions of all ``K`` networks run as one grouped convolution (``groups=K``; activations
kept as ``(B, K * C, H, W)`` between layers), dense layers as one batched matrix product
``(K, B, I) @ (K, I, O)``. Where all ``K`` networks see one batch of images, their first
convolutions are one ungrouped convolution with ``K * C`` output channels. The networks never mix: each group and each batch entry only sees
its own network's weights, so gradients are per network and a diverging network leaves the
others untouched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F

from nnenc.architectures import Architecture
from nnenc.builder.initializers import initial_weight
from nnenc.networks import activation_module


class StackedNetworks:
    """``K`` networks of ``architecture`` sharing one activation, each with its own weights
    and dropout rate.

    Attributes:
        params: ``(K, P)`` leaf tensor requiring grad, every network's flat vector in the
            architecture's native layout (weight then bias per layer); the per-layer weights
            and biases used in :meth:`forward` are views into it, so an optimiser steps one
            tensor.
        dropout: ``(K,)`` dropout rate per network.

    ``requires_grad=False`` holds the networks frozen, for runs that differentiate through them
    with respect to their inputs only (probing: :mod:`baselines.probe`).
    """

    def __init__(
        self,
        architecture: Architecture,
        flat: torch.Tensor,
        activation: str,
        dropout: torch.Tensor,
        requires_grad: bool = True,
    ):
        self.architecture = architecture
        self.layout = architecture.layout()
        self.shapes = architecture.layer_shapes()
        if flat.dim() != 2 or flat.shape[1] != self.layout.size:
            raise ValueError(
                f"expected (K, {self.layout.size}) flat weights for {architecture.name}, "
                f"got {tuple(flat.shape)}"
            )
        self.params = flat.detach().clone().float().requires_grad_(requires_grad)
        self.activation = activation
        self.act = activation_module(activation)
        self.dropout = dropout.detach().clone().float().to(flat.device)
        self.count = int(flat.shape[0])
        kernel = torch.zeros(self.layout.size, device=flat.device)
        for slot in self.layout.slots:
            if slot.role == "weight":
                kernel[slot.start : slot.stop] = 1
        self.kernel_mask = kernel

    def layer(self, index: int, count: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Weight ``(n, *shape)`` and bias ``(n, out)`` of layer ``index`` for the first
        ``count`` networks (default all): views of ``params``."""
        n = self.count if count is None else count
        shape = self.shapes[index]
        slots = self.layout.slots_of(shape.name)
        w, b = slots["weight"], slots["bias"]
        return (
            self.params[:n, w.start : w.stop].view(n, *shape.weight),
            self.params[:n, b.start : b.stop],
        )

    @classmethod
    def initialise(cls, architecture: Architecture, runs: pd.DataFrame) -> StackedNetworks:
        """Fresh weights per run from its ``w_init``, ``init_std`` and ``seed``; zero biases.

        A run's initial weights depend on its own seed only, not on the other runs.
        """
        activations = set(runs["activation"])
        if len(activations) != 1:
            raise ValueError(f"stacked networks share one activation; got {sorted(activations)}")
        rows = []
        for run in runs.itertuples(index=False):
            generator = torch.Generator().manual_seed(int(run.seed))
            parts = []
            for shape in architecture.layer_shapes():
                weight = initial_weight(run.w_init, shape.weight, float(run.init_std), generator)
                parts += [weight.reshape(-1), torch.zeros(shape.bias)]
            rows.append(torch.cat(parts))
        dropout = torch.tensor(runs["dropout"].to_numpy(dtype=np.float32))
        return cls(architecture, torch.stack(rows), activations.pop(), dropout)

    def to(self, device: torch.device | str) -> StackedNetworks:
        return StackedNetworks(
            self.architecture, self.params.to(device), self.activation, self.dropout.to(device)
        )

    def flat(self) -> torch.Tensor:
        """A copy of the ``(K, P)`` flat vectors in the native layout (weight then bias per
        layer); a copy, since training updates ``params`` in place."""
        return self.params.detach().clone()

    def l2_gradient(self, l2: torch.Tensor, count: int | None = None) -> torch.Tensor:
        """``(n, P)``: the gradient of ``l2_k * sum(kernel ** 2)`` (biases excluded) for the
        first ``n = count`` networks (default all)."""
        n = self.count if count is None else count
        return 2 * l2[:n].view(-1, 1) * self.kernel_mask * self.params.detach()[:n]

    def _keep_mask(
        self,
        h: torch.Tensor,
        per_channel: int,
        generator: torch.Generator,
        count: int | None = None,
    ):
        """Dropout's keep mask for ``h`` (``(B, K*C, ...)`` or ``(K, B, C)``), 1 or 0 in ``h``'s
        dtype (a bool mask multiplied in is converted to floats in the forward and again in
        the backward pass), and the ``(K,)`` scale ``1 / (1 - p)`` that inverted dropout
        applies to the survivors.

        Masks come from random bytes (8 per 64-bit draw, 7x cheaper than ``torch.rand`` on a
        CPU), so a rate ``p`` acts as ``round(256 p) / 256``; the scale uses that quantised rate,
        keeping the expected activation exact.
        """
        threshold = torch.round(self.dropout[:count] * 256)
        scale = 256 / (256 - threshold)
        if h.dim() == 3:  # (K, B, C)
            view = (-1, 1, 1)
        else:  # (B, K*C, H, W)
            threshold = threshold.repeat_interleave(per_channel)
            view = (1, -1, *([1] * (h.dim() - 2)))
        words = torch.empty((h.numel() + 7) // 8, dtype=torch.int64, device=h.device)
        # the full 64-bit range: random_() alone draws [0, 2**63), whose top byte never
        # reaches 128 and would bias every eighth mask entry
        words.random_(-(2**63), None, generator=generator)
        random_bytes = words.view(torch.uint8)[: h.numel()]
        if h.dim() == 4 and h.is_contiguous(memory_format=torch.channels_last):
            random_bytes = random_bytes.view(h.shape[0], *h.shape[2:], h.shape[1]).permute(
                0, 3, 1, 2
            )
        else:
            random_bytes = random_bytes.view(h.shape)
        return (random_bytes >= threshold.view(view).to(torch.uint8)).to(h.dtype), scale

    def _dropping(self, generator: torch.Generator | None, count: int) -> bool:
        return generator is not None and bool((self.dropout[:count] >= 0.5 / 256).any())

    def forward(
        self,
        images: torch.Tensor,
        dropout_generator: torch.Generator | None = None,
        count: int | None = None,
    ) -> torch.Tensor:
        """Logits ``(n, B, classes)`` of the first ``n = count`` networks (default all).

        Args:
            images: ``(n, B, C, H, W)`` (a batch per network) or ``(B, C, H, W)`` (one batch
                for all).
            dropout_generator: draws dropout masks; ``None`` means evaluation (no dropout).
            count: run only the first ``count`` networks (the others sit this step out).
        """
        k = self.count if count is None else count
        shared = images.dim() == 4
        spec = self.architecture
        n_conv = len(spec.conv_channels)
        dropping = self._dropping(dropout_generator, k)
        scale = None  # dropout's survivor scale, (K,), still owed to the current activations
        if spec.family == "cnn":
            if shared:  # one batch for all: the first layer is one ungrouped convolution
                h = images
            else:
                _, b, c, hgt, wid = images.shape
                h = images.transpose(0, 1).reshape(b, k * c, hgt, wid)
            h = h.contiguous(memory_format=torch.channels_last)  # 1.45x faster grouped convs
            for i in range(n_conv):
                w, bias = self.layer(i, k)
                if scale is not None:  # conv(h * s, W) = conv(h, W * s): scale the small tensor
                    w = w * scale.view(-1, 1, 1, 1, 1)
                groups = 1 if shared and i == 0 else k
                h = F.conv2d(
                    h,
                    w.reshape(-1, *w.shape[2:]),
                    bias.reshape(-1),
                    stride=spec.stride,
                    groups=groups,
                )
                h = self.act(h)
                if dropping:
                    keep, scale = self._keep_mask(h, w.shape[1], dropout_generator, k)
                    h = h * keep
            h = h.mean(dim=(2, 3)).view(h.shape[0], k, -1).transpose(0, 1)  # (K, B, C)
            if scale is not None:
                h = h * scale.view(-1, 1, 1)
        else:
            h = images.flatten(1).expand(k, -1, -1) if shared else images.flatten(2)
        dense = [self.layer(i, k) for i in range(n_conv, len(self.shapes))]
        for j, (w, bias) in enumerate(dense):
            h = torch.baddbmm(bias.unsqueeze(1), h, w.transpose(1, 2))
            if j < len(dense) - 1:
                h = self.act(h)
                if dropping:
                    keep, scale = self._keep_mask(h, w.shape[1], dropout_generator, k)
                    h = h * keep * scale.view(-1, 1, 1)
        return h
