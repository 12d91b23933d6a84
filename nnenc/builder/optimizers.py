"""One optimiser for ``K`` stacked networks: per-network learning rates and state.

The parameters are one ``(K, P)`` tensor (a row per network). Updates follow ``torch.optim``
(SGD; SGD with momentum 0.9, no dampening; Adam with betas (0.9, 0.999), eps 1e-8, bias
correction), so a stacked chunk trains like ``K`` separate networks. A step may cover only the
first ``count`` networks (the others, with smaller train fractions, have finished their epoch):
the rest keep their weights and state untouched.
"""

from __future__ import annotations

import torch

MOMENTUM = 0.9
BETAS = (0.9, 0.999)
EPS = 1e-8


class StackedOptimizer:
    def __init__(self, kind: str, learning_rate: torch.Tensor, params: torch.Tensor):
        if kind not in ("sgd", "momentum", "adam"):
            raise ValueError(f"unknown optimizer {kind!r}; valid: sgd, momentum, adam")
        self.kind = kind
        self.params = params
        self.lr = learning_rate.detach().float().to(params.device).view(-1, 1)
        self.steps = torch.zeros_like(self.lr)
        self.first = torch.zeros_like(params) if kind != "sgd" else None
        self.second = torch.zeros_like(params) if kind == "adam" else None

    @torch.no_grad()
    def step(self, gradient: torch.Tensor, count: int | None = None) -> None:
        """One step for the first ``count`` networks (default all); ``gradient`` is
        ``(count, P)``."""
        n = len(self.lr) if count is None else count
        params, lr = self.params[:n], self.lr[:n]
        self.steps[:n] += 1
        if self.kind == "sgd":
            params.sub_(lr * gradient)
        elif self.kind == "momentum":
            buffer = self.first[:n].mul_(MOMENTUM).add_(gradient)
            params.sub_(lr * buffer)
        else:
            b1, b2 = BETAS
            m = self.first[:n].mul_(b1).add_(gradient, alpha=1 - b1)
            v = self.second[:n].mul_(b2).addcmul_(gradient, gradient, value=1 - b2)
            t = self.steps[:n]
            denom = (v.sqrt() / (1 - b2**t).sqrt()).add_(EPS)
            params.sub_(lr / (1 - b1**t) * m / denom)
