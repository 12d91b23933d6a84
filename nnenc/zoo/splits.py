"""Deterministic train/val/test splits of a zoo's rows, grouped so no training run straddles two."""

from __future__ import annotations

import numpy as np
import pandas as pd

from nnenc.zoo.zoo import Zoo, ZooSplits


def small_cnn_zoo_split(
    zoo: Zoo, epoch: int | None = None, drop_nonfinite: bool = False
) -> ZooSplits:
    """The common Small CNN Zoo protocol (as in the NFN code): final epoch, 50% test, 80/20.

    Keeps the rows at ``epoch`` (default: each run's final checkpoint, :func:`final_checkpoints`;
    step 86 for every run of the published zoos, where both readings agree), in file order. The last half is the test split; the first half is shuffled with
    ``numpy.random.RandomState(0)`` and cut 80/20 into train/val. With one checkpoint per run
    kept, no run straddles two splits. ``drop_nonfinite`` drops diverged networks first, as the
    original study does.
    """
    final = final_checkpoints(zoo) if epoch is None else zoo.filter(epoch=epoch)
    if drop_nonfinite:
        final = final.filter(final.finite_mask())
    n = len(final)
    half = n // 2
    first = np.random.RandomState(0).permutation(half)
    n_train = round(0.8 * half)
    return ZooSplits(
        final.take(first[:n_train]), final.take(first[n_train:]), final.take(np.arange(half, n))
    )


PROTOCOLS = ("final", "all-checkpoints")
"""How networks are drawn from a zoo: each run's final checkpoint (as the published Small CNN
Zoo studies score), or every checkpoint of every run."""


def final_checkpoints(zoo: Zoo) -> Zoo:
    """Each run's final checkpoint: its row at its own largest epoch, so runs trained for
    different numbers of epochs keep one network each (runs that diverged by then are dropped
    later with the other non-finite networks, as the published studies drop them)."""
    epochs = pd.to_numeric(zoo.metrics["epoch"], errors="coerce")
    last = epochs.groupby(zoo.metrics["run_id"].astype(str).to_numpy()).transform("max")
    return zoo.filter((epochs == last).to_numpy())


TRANSFERS = ("held-out", "larger")
"""Splits that test transfer to architectures the training split never had: ``held-out``, a
quarter of the zoo's architectures drawn with the seed; ``larger``, the quarter with the most
parameters (training on the smaller ones)."""
HELD_OUT_SHARE = 0.25


def held_out_architectures(zoo: Zoo, transfer: str, seed: int = 0) -> list[str]:
    """The architectures a ``transfer`` split (:data:`TRANSFERS`) keeps for testing only."""
    if transfer not in TRANSFERS:
        raise ValueError(f"unknown transfer {transfer!r}; valid: {', '.join(TRANSFERS)}")
    names = sorted(zoo.architectures)
    if len(names) < 2:
        raise ValueError(
            f"zoo {zoo.name!r} has one architecture ({', '.join(names)}); a {transfer} split "
            "needs several: build a mixed zoo (nnenc zoo build --arch-space)"
        )
    count = min(len(names) - 1, max(1, round(HELD_OUT_SHARE * len(names))))
    if transfer == "held-out":
        order = np.random.default_rng(seed).permutation(len(names))
        return sorted(names[i] for i in order[:count])
    size = {name: zoo.stores[name].layout.size for name in names}
    return sorted(sorted(names, key=lambda n: (size[n], n))[-count:])


def zoo_splits(
    zoo: Zoo,
    fractions: tuple[float, ...] | None = None,
    seed: int = 0,
    protocol: str = "all-checkpoints",
    transfer: str | None = None,
) -> tuple[ZooSplits, str]:
    """The one policy that cleans and splits a zoo for training, and a line saying what it did.

    Networks with non-finite weights are dropped. A zoo in the Small CNN Zoo's format, split
    with no ``fractions`` given, follows its published protocol (:func:`small_cnn_zoo_split`).
    Any other zoo keeps the checkpoints ``protocol`` names (:data:`PROTOCOLS`) and is split by
    training run with ``fractions`` (default 80/10/10) and ``seed``: no run straddles two splits.
    With ``transfer`` (:data:`TRANSFERS`), the test split is every run of the held-out
    architectures (:func:`held_out_architectures`) and the other architectures' runs are split
    into train and validation in the proportion of ``fractions``' first two. Used by ``nnenc
    train`` and by the benchmark.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid: {', '.join(PROTOCOLS)}")
    published = fractions is None and zoo.info.get("format") == "small-cnn-zoo"
    if protocol == "final" and not published:
        zoo = final_checkpoints(zoo)  # first: only the kept rows' weights are scanned
    finite = zoo.finite_mask()
    dropped = int((~finite).sum())
    notes = [f"dropped {dropped} networks with non-finite weights"] if dropped else []
    zoo = zoo.filter(finite) if dropped else zoo
    if published:
        final = final_checkpoints(zoo)
        earlier = len(zoo) - len(final)
        notes.insert(
            0,
            f"Small CNN Zoo protocol (each run's final checkpoint, 50% test, 80/20): "
            f"{len(final)} networks of {final.metrics['run_id'].nunique()} runs"
            + (f", {earlier} earlier checkpoints left out" if earlier else ""),
        )
        return small_cnn_zoo_split(final), "; ".join(notes)
    fractions = tuple(fractions or (0.8, 0.1, 0.1))
    what = "final checkpoints" if protocol == "final" else "all checkpoints"
    if transfer is not None:
        held = held_out_architectures(zoo, transfer, seed)
        tested = zoo.metrics["architecture"].isin(held).to_numpy()
        seen = zoo.filter(~tested)
        share = fractions[0] / (fractions[0] + fractions[1])
        train, val, _ = seen.split((share, 1 - share, 0.0), seed=seed)
        notes.insert(0, f"{what}; tested on {', '.join(held)} ({transfer}), trained on the rest")
        return ZooSplits(train, val, zoo.filter(tested)), "; ".join(notes)
    shown = "/".join(f"{100 * f:g}" for f in fractions)
    notes.insert(0, f"{what}, {shown} split by training run, seed {seed}")
    return zoo.split(fractions, seed=seed), "; ".join(notes)


LEARNING_CURVE_VAL_SHARE = 0.2
"""The share of a learning curve's drawn runs that validate (select the epoch) rather than train."""


def learning_curve_splits(
    zoo: Zoo, networks: int, test_runs: int, seed: int = 0, protocol: str = "final"
) -> tuple[ZooSplits, str]:
    """One point of a learning curve: ``networks`` training runs of ``zoo`` (train and
    validation, :data:`LEARNING_CURVE_VAL_SHARE` of them validating) and a test split of
    ``test_runs`` runs, and a line saying what it did.

    The test split is the same for every size and seed (drawn with seed 0), so every point of
    every curve is scored on the same networks. The ``networks`` runs are the first of the other
    runs shuffled with ``seed``: a larger size holds a smaller one's runs. Networks are cleaned
    as :func:`zoo_splits` cleans them (``protocol``'s checkpoints, finite weights).
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; valid: {', '.join(PROTOCOLS)}")
    if protocol == "final":
        zoo = final_checkpoints(zoo)
    zoo = zoo.filter(zoo.finite_mask())
    runs = np.unique(zoo.metrics["run_id"].astype(str).to_numpy())
    fixed = np.random.default_rng(0).permutation(len(runs))
    test, rest = runs[fixed[:test_runs]], np.sort(runs[fixed[test_runs:]])
    if networks > len(rest) or networks < 2:
        raise ValueError(
            f"zoo {zoo.name!r}: {len(runs)} runs with finite weights; a test split of "
            f"{test_runs} leaves {len(rest)} to draw {networks} training runs from: ask for "
            f"between 2 and {len(rest)}, or build more runs"
        )
    drawn = rest[np.random.default_rng(seed).permutation(len(rest))[:networks]]
    cut = max(1, round(LEARNING_CURVE_VAL_SHARE * networks))
    run_of = zoo.metrics["run_id"].astype(str)
    parts = [run_of.isin(part).to_numpy() for part in (drawn[cut:], drawn[:cut], test)]
    note = (
        f"learning curve: {networks} runs drawn with seed {seed} ({networks - cut} train, "
        f"{cut} val), tested on {test_runs} fixed runs"
    )
    return ZooSplits(*(zoo.filter(mask) for mask in parts)), note
