"""Set Transformer blocks (Lee et al. 2019), written once and used at every level of SNE.

All take ``x``: ``(N, n, d)`` and ``mask``: ``(N, n)`` bool (True = a real element), or
``None`` where no set is padded (sets of one size, as :class:`~nnenc.encoders.set_buckets.SetBuckets`
feeds them); padding never changes a result.

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

from nnenc.encoders import work


class _SoftmaxAttention(torch.autograd.Function):
    """``softmax(q k^T) v`` for ``q`` ``(B, n_q, e)``, ``k``, ``v`` ``(B, n, e)`` and an optional
    ``(B, 1, n)`` key mask, by batched matrix products whose outputs are ``n_q`` or ``n`` wide,
    never ``e`` wide: on a CPU such narrow products run several times slower than the same
    products transposed (docs/speed.md, "Why the code is shaped so"), so each product with an
    ``e``-wide result is computed as its transpose."""

    @staticmethod
    def forward(ctx, q, k, v, mask):
        scores = torch.bmm(q, k.transpose(1, 2))
        if mask is not None:
            scores.masked_fill_(~mask, float("-inf"))
        p = scores.softmax(-1)
        ctx.save_for_backward(q, k, v, p)
        return torch.bmm(v.transpose(1, 2), p.transpose(1, 2)).transpose(1, 2)

    @staticmethod
    def backward(ctx, grad):
        q, k, v, p = ctx.saved_tensors
        grad_p = torch.bmm(grad, v.transpose(1, 2))
        grad_scores = torch._softmax_backward_data(grad_p, p, -1, p.dtype)
        grad_q = torch.bmm(k.transpose(1, 2), grad_scores.transpose(1, 2)).transpose(1, 2)
        grad_k = torch.bmm(q.transpose(1, 2), grad_scores).transpose(1, 2)
        grad_v = torch.bmm(grad.transpose(1, 2), p).transpose(1, 2)
        return grad_q, grad_k, grad_v, None


def multihead_attention(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    heads: int,
    mask: torch.Tensor | None = None,
) -> torch.Tensor:
    """Attention of ``heads`` heads: ``q`` ``(N, q, d)`` (already scaled by ``1/sqrt(d/heads)``)
    attends to ``k``, ``v`` ``(N, n, d)``; ``mask`` ``(N, n)`` marks the real keys (``None``: all
    are real) -> ``(N, q, d)``.

    Where the device's :class:`~nnenc.encoders.work.WorkLayout` says so (GPUs), through the fused
    :func:`torch.nn.functional.scaled_dot_product_attention`; otherwise by
    :class:`_SoftmaxAttention` (on a CPU, for heads of 8 and sets of 32, 2x faster in training
    than the fused kernel).
    """
    n, queries, dim = q.shape
    head_dim = dim // heads
    split = (n, -1, heads, head_dim)
    q, k, v = (t.reshape(split).transpose(1, 2) for t in (q, k, v))
    if work.work_layout(q.device).fused_attention:
        bias = None if mask is None else mask[:, None, None, :]
        out = nn.functional.scaled_dot_product_attention(q, k, v, attn_mask=bias, scale=1.0)
    else:
        flat = [t.reshape(n * heads, -1, head_dim) for t in (q, k, v)]
        key_mask = None if mask is None else mask.repeat_interleave(heads, 0)[:, None, :]
        out = _SoftmaxAttention.apply(*flat, key_mask).view(n, heads, queries, head_dim)
    return out.transpose(1, 2).reshape(n, queries, dim)


class MAB(nn.Module):
    """Multihead attention block: queries ``x`` ``(N, q, d)`` attend to ``y`` ``(N, n, d)``.

    The attention's parameters live in an :class:`torch.nn.MultiheadAttention` (its names in
    saved weights); the attention itself runs through :func:`multihead_attention`, with the
    ``1/sqrt(head_dim)`` scale folded into the query projection.

    Shapes:
        input: ``x`` ``(N, q, d)``, ``y`` ``(N, n, d)``, mask ``(N, n)`` bool (True: a real
        element) or ``None``
        output: ``(N, q, d)``
    """

    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, batch_first=True)
        self.feed_forward = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.GELU(), nn.Linear(2 * dim, dim)
        )

    def projections(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The ``(3d, d)`` in-projection weight and ``(3d,)`` bias, query rows pre-scaled."""
        attention = self.attention
        dim = attention.embed_dim
        scale = torch.ones(3 * dim, device=attention.in_proj_bias.device)
        scale[:dim] = (dim // attention.num_heads) ** -0.5
        return attention.in_proj_weight * scale[:, None], attention.in_proj_bias * scale

    def forward(
        self, x: torch.Tensor, y: torch.Tensor, y_mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        h, hidden = self.parts(x, y, y_mask)
        return h + self.output(hidden)

    def parts(
        self, x: torch.Tensor, y: torch.Tensor, y_mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``H`` and the feed-forward's hidden activations ``GELU(W1 H + b1)``: the block's
        output is ``H + output(hidden)``, and a mean of it over elements can take the means
        of both first (the last step is linear)."""
        weight, bias = self.projections()
        dim = x.shape[-1]
        if x is y:
            q, k, v = nn.functional.linear(x, weight, bias).split(dim, dim=-1)
        else:
            q = nn.functional.linear(x, weight[:dim], bias[:dim])
            k, v = nn.functional.linear(y, weight[dim:], bias[dim:]).split(dim, dim=-1)
        attended = multihead_attention(q, k, v, self.attention.num_heads, y_mask)
        h = x + self.attention.out_proj(attended)
        return h, self.feed_forward[1](self.feed_forward[0](h))

    def output(self, hidden: torch.Tensor) -> torch.Tensor:
        """The feed-forward's last, linear, step ``W2 hidden + b2``."""
        return self.feed_forward[2](hidden)


class SetBlock(nn.Module):
    """A set-to-set block whose last step is an :class:`MAB` (:attr:`last`):
    ``forward = H + last.output(hidden)`` from :meth:`parts`.

    Shapes:
        input: ``(N, n, d)``, mask ``(N, n)`` bool or ``None``
        output: ``(N, n, d)``
    """

    last: MAB

    def parts(
        self, x: torch.Tensor, mask: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        h, hidden = self.parts(x, mask)
        return h + self.last.output(hidden)


class SAB(SetBlock):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        self.block = MAB(dim, heads)

    @property
    def last(self) -> MAB:
        return self.block

    def parts(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        return self.block.parts(x, x, mask)


class ISAB(SetBlock):
    """Set-to-set through ``inducing`` learned points; the second stage (every element attends to
    the inducing points) is row-independent and runs in slices of ``slice_rows`` elements, so
    memory stays bounded for sets of any length."""

    def __init__(self, dim: int, heads: int, inducing: int = 16, slice_rows: int = 16384):
        super().__init__()
        self.inducing = nn.Parameter(torch.randn(1, inducing, dim) * dim**-0.5)
        self.to_inducing = MAB(dim, heads)
        self.from_inducing = MAB(dim, heads)
        self.slice_rows = slice_rows

    @property
    def last(self) -> MAB:
        return self.from_inducing

    def parts(self, x: torch.Tensor, mask: torch.Tensor | None = None):
        h = self.to_inducing(self.inducing.expand(x.shape[0], -1, -1), x, mask)
        if x.shape[1] <= self.slice_rows:
            return self.from_inducing.parts(x, h)
        pieces = [
            self.from_inducing.parts(x[:, start : start + self.slice_rows], h)
            for start in range(0, x.shape[1], self.slice_rows)
        ]
        return tuple(torch.cat(part, dim=1) for part in zip(*pieces, strict=True))


class SetPool(nn.Module):
    """Set-to-vector: ``(N, n, d)`` + mask (``None``: no padding) -> ``(N, d)`` by ``pma``,
    ``mean``, ``max`` or ``sum``.

    Shapes:
        input: ``(N, n, d)``, mask ``(N, n)`` bool (True: a real element) or ``None``
        output: ``(N, d)``
    """

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

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.kind == "pma":
            return self.block(self.seed.expand(x.shape[0], -1, -1), self.pre(x), mask)[:, 0]
        if mask is None:
            return {"sum": torch.sum, "mean": torch.mean, "max": torch.amax}[self.kind](x, dim=1)
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
    """``depth`` set-to-set blocks (``sab``, ``isab`` or ``none``) then one :class:`SetPool`.

    Shapes:
        input: ``(N, n, d)``, mask ``(N, n)`` bool (True: a real element) or ``None``
        output: ``(N, d)``
    """

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
        self.blocks: nn.ModuleList = nn.ModuleList(blocks)
        self.pool = SetPool(dim, heads, pooling)
        self.dim, self.heads = dim, heads

    def temporary_elements(self, size: int) -> int:
        """Floats in the largest temporary of one set of ``size`` elements: its projections
        (``3 d`` per element) or its attention scores (``heads`` x keys per element)."""
        keys = [size if isinstance(b, SAB) else b.inducing.shape[1] for b in self.blocks]
        return size * max(3 * self.dim, self.heads * max(keys, default=1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if not self.blocks:
            return self.pool(x, mask)
        *first, last = self.blocks
        for block in first:
            x = block(x, mask)
        if self.pool.kind != "mean":
            return self.pool(last(x, mask), mask)
        # mean(H + W2 hidden + b2) = mean(H) + W2 mean(hidden) + b2: the last block's final
        # linear step runs once per set instead of once per element
        h, hidden = last.parts(x, mask)
        return self.pool(h, mask) + last.last.output(self.pool(hidden, mask))

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
