"""Set Transformer blocks (Lee et al. 2019), written once and used at every level of SNE.

All take ``x``: ``(N, n, d)`` and ``mask``: ``(N, n)`` bool (True = a real element), so sets of
different sizes are padded into one tensor and padding never changes a result.

- ``MAB(X, Y) = H + rFF(H)``, ``H = X + Multihead(X, Y, Y)`` (no LayerNorm, as the original's
  default: normalising the embedding of a single scalar would erase its magnitude, and weight
  magnitudes are what predicts accuracy);
- ``SAB(X) = MAB(X, X)``: set-to-set, O(n^2);
- ``ISAB(X) = MAB(X, MAB(I, X))`` with ``m`` learned inducing points: set-to-set, O(n m);
- ``PMA(X) = MAB(S, rFF(X))`` with one learned seed: set-to-vector.

:meth:`SetEncoder.encode_groups` encodes one set whose elements arrive in groups, in memory
bounded by a group (inference): a few learned queries attending to every element (ISAB's first
stage, PMA) is computed with a running softmax, as FlashAttention does; what each element does
next is row-wise. SAB (every element attending to every other) cannot be streamed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

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


def attend_over_groups(mab: MAB, queries: torch.Tensor, groups: Iterable[torch.Tensor]):
    """``MAB(queries, Y)`` for ``queries`` ``(m, d)`` and a set ``Y`` given as groups of rows
    ``(g, d)``, equal to ``mab`` on the whole set, in memory bounded by one group."""
    attention = mab.attention
    m, dim = queries.shape
    heads = attention.num_heads
    head_dim = dim // heads
    w_q, w_k, w_v = attention.in_proj_weight.chunk(3)
    b_q, b_k, b_v = attention.in_proj_bias.chunk(3)

    def split(x: torch.Tensor) -> torch.Tensor:  # (n, d) -> (heads, n, head_dim)
        return x.view(len(x), heads, head_dim).transpose(0, 1)

    q = split(nn.functional.linear(queries, w_q, b_q)) * head_dim**-0.5
    best = queries.new_full((heads, m, 1), float("-inf"))
    total = queries.new_zeros(heads, m, 1)
    weighted = queries.new_zeros(heads, m, head_dim)
    for y in groups:
        k = split(nn.functional.linear(y, w_k, b_k))
        v = split(nn.functional.linear(y, w_v, b_v))
        scores = q @ k.transpose(1, 2)
        new_best = torch.maximum(best, scores.amax(-1, keepdim=True))
        rescale = torch.exp(best - new_best)
        p = torch.exp(scores - new_best)
        total = total * rescale + p.sum(-1, keepdim=True)
        weighted = weighted * rescale + p @ v
        best = new_best
    attended = (weighted / total).transpose(0, 1).reshape(m, dim)
    h = queries + attention.out_proj(attended)
    return h + mab.feed_forward(h)


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

    @property
    def streams(self) -> bool:
        """Whether :meth:`encode_groups` can encode a set group by group (no SAB block)."""
        return not any(isinstance(block, SAB) for block in self.blocks)

    def encode_groups(self, groups: Callable[[], Iterator[torch.Tensor]]) -> torch.Tensor:
        """One set, whose elements ``groups()`` yields as ``(g, d)`` blocks (and can yield again),
        -> ``(d,)``: equal to :meth:`forward` on the whole set, with memory bounded by a group.

        The groups are produced ``depth + 1`` times (each ISAB's inducing points must see every
        element before the elements can go on), so the producer's work repeats that often.
        """
        if not self.streams:
            raise ValueError("a SAB block needs the whole set at once; use forward")
        inducing: list[torch.Tensor] = []

        def transformed() -> Iterator[torch.Tensor]:
            for y in groups():
                for block, h in zip(self.blocks, inducing, strict=False):
                    y = block.from_inducing(y.unsqueeze(0), h.unsqueeze(0), None)[0]
                yield y

        for block in self.blocks:
            inducing.append(attend_over_groups(block.to_inducing, block.inducing[0], transformed()))
        pool = self.pool
        if pool.kind == "pma":
            pre = (pool.pre(y) for y in transformed())
            return attend_over_groups(pool.block, pool.seed[0], pre)[0]
        total, count, largest = None, 0, None
        for y in transformed():
            count += len(y)
            total = y.sum(0) if total is None else total + y.sum(0)
            top = y.amax(0)
            largest = top if largest is None else torch.maximum(largest, top)
        if pool.kind == "max":
            return largest
        return total if pool.kind == "sum" else total / count
