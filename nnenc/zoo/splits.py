"""Deterministic train/val/test splits of a zoo's rows, grouped so no training run straddles two."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nnenc.zoo.zoo import Zoo, ZooSplits


def split_by_group(
    groups: np.ndarray, fractions: tuple[float, ...] = (0.8, 0.1, 0.1), seed: int = 0
) -> list[np.ndarray]:
    """Row indices per split; all rows of one group (training run) fall in the same split.

    Groups are sorted, shuffled with ``numpy.random.default_rng(seed)`` and cut so that each
    split gets ``fractions`` of the groups (rounded; the last split takes the rest). Same groups
    and seed give the same split, whatever the row order.
    """
    fractions = tuple(float(f) for f in fractions)
    if any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"split fractions must be non-negative and sum to 1; got {fractions}")
    unique, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    cuts = np.round(np.cumsum(fractions)[:-1] * len(unique)).astype(int)
    split_of_group = np.empty(len(unique), dtype=np.int64)
    for split, members in enumerate(np.split(order, cuts)):
        split_of_group[members] = split
    split_of_row = split_of_group[inverse]
    return [np.flatnonzero(split_of_row == s) for s in range(len(fractions))]


def small_cnn_zoo_split(
    zoo: Zoo, epoch: int | None = None, drop_nonfinite: bool = False
) -> ZooSplits:
    """The common Small CNN Zoo protocol (as in the NFN code): final epoch, 50% test, 80/20.

    Keeps the rows at ``epoch`` (default: the zoo's last epoch, 86 in the published zoos), in
    file order. The last half is the test split; the first half is shuffled with
    ``numpy.random.RandomState(0)`` and cut 80/20 into train/val. With one checkpoint per run
    kept, no run straddles two splits. ``drop_nonfinite`` drops diverged networks first, as the
    original study does.
    """
    from nnenc.zoo.zoo import ZooSplits

    epoch = int(zoo.metrics["epoch"].max()) if epoch is None else epoch
    final = zoo.filter(epoch=epoch)
    if drop_nonfinite:
        final = final.filter(final.finite_mask())
    n = len(final)
    half = n // 2
    first = np.random.RandomState(0).permutation(half)
    n_train = round(0.8 * half)
    return ZooSplits(
        final.take(first[:n_train]), final.take(first[n_train:]), final.take(np.arange(half, n))
    )
