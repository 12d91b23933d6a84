"""Set Transformer blocks (Lee et al. 2019), written once and used at every level of SNE.

All take ``x``: ``(N, n, d)`` and ``mask``: ``(N, n)`` bool (True = a real element), so sets of
different sizes are padded into one tensor and padding never changes a result.

- ``MAB(X, Y) = H + rFF(H)``, ``H = X + Multihead(X, Y, Y)`` (no LayerNorm, as the original's
  default: normalising the embedding of a single scalar would erase its magnitude, and weight
  magnitudes are what predicts accuracy);
- ``SAB(X) = MAB(X, X)``: set-to-set, O(n^2);
- ``ISAB(X) = MAB(X, MAB(I, X))`` with ``m`` learned inducing points: set-to-set, O(n m);
- ``PMA(X) = MAB(S, rFF(X))`` with one learned seed: set-to-vector.
"""

from __future__ import annotations

import torch
from torch import nn


class MAB(nn.Module):
    """Multihead attention block: queries ``x`` ``(N, q, d)`` attend to ``y`` ``(N, n, d)``."""

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.feed_forward = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim)
        )

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, y_mask: torch.Tensor | None
    ) -> torch.Tensor:
        padding = None if y_mask is None else ~y_mask
        h = x + self.attention(x, y, y, key_padding_mask=padding, need_weights=False)[0]
        return h + self.feed_forward(h)


class SAB(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.block = MAB(dim, heads)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.block(x, x, mask)


class ISAB(nn.Module):
    """Set-to-set through ``inducing`` learned points; the second stage (every element attends to
    the inducing points) is row-independent and runs in slices of ``slice_rows`` elements, so
    memory stays bounded for sets of any length."""

    def __init__(self, dim: int, heads: int, inducing: int = 16, slice_rows: int = 16384):
        super().__init__()
        self.inducing = nn.Parameter(torch.randn(1, inducing, dim) * dim**-0.5)
        self.to_inducing = MAB(dim, heads)
        self.from_inducing = MAB(dim, heads)
        self.slice_rows = slice_rows

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        h = self.to_inducing(self.inducing.expand(x.shape[0], -1, -1), x, mask)
        if x.shape[1] <= self.slice_rows:
            return self.from_inducing(x, h, None)
        return torch.cat(
            [
                self.from_inducing(x[:, start : start + self.slice_rows], h, None)
                for start in range(0, x.shape[1], self.slice_rows)
            ],
            dim=1,
        )


class SetPool(nn.Module):
    """Set-to-vector: ``(N, n, d)`` + mask -> ``(N, d)`` by ``pma``, ``mean``, ``max`` or ``sum``."""

    KINDS = ("pma", "mean", "max", "sum")

    def __init__(self, dim: int, heads: int, kind: str = "pma"):
        super().__init__()
        if kind not in self.KINDS:
            raise ValueError(f"unknown pooling {kind!r}; valid: {', '.join(self.KINDS)}")
        self.kind = kind
        if kind == "pma":
            self.seed = nn.Parameter(torch.randn(1, 1, dim) * dim**-0.5)
            self.block = MAB(dim, heads)
            self.pre = nn.Sequential(nn.Linear(dim, dim), nn.GELU())

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if self.kind == "pma":
            return self.block(self.seed.expand(x.shape[0], -1, -1), self.pre(x), mask)[:, 0]
        weight = mask.unsqueeze(-1).to(x.dtype)
        if self.kind == "sum":
            return (x * weight).sum(1)
        if self.kind == "mean":
            return (x * weight).sum(1) / weight.sum(1).clamp(min=1)
        return x.masked_fill(~mask.unsqueeze(-1), float("-inf")).amax(1)


class SetEncoder(nn.Module):
    """``depth`` set-to-set blocks (``sab``, ``isab`` or ``none``) then one :class:`SetPool`."""

    def __init__(
        self, dim: int, heads: int, depth: int, kind: str, pooling: str, inducing: int = 16
    ):
        super().__init__()
        if kind not in ("sab", "isab", "none"):
            raise ValueError(f"unknown set-to-set type {kind!r}; valid: sab, isab, none")
        blocks = (
            []
            if kind == "none"
            else [
                SAB(dim, heads) if kind == "sab" else ISAB(dim, heads, inducing)
                for _ in range(depth)
            ]
        )
        self.blocks = nn.ModuleList(blocks)
        self.pool = SetPool(dim, heads, pooling)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x, mask)
        return self.pool(x, mask)
