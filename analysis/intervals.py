"""95% intervals for Kendall tau and for paired differences of Kendall tau: a bootstrap over
the test split's training runs, combined over seeds (and over the zoo pairs a task averages).

A task's score is the mean, over its groups (one per seed and scored (source, target) pair),
of Kendall tau between true and predicted accuracies on that group's test networks. The
bootstrap (``scipy.stats.bootstrap``, percentile intervals) resamples the training runs of all
groups together, with replacement; every encoder and every difference is computed on the same
resample, so differences are paired (the same networks, the same label noise). With the
all-checkpoints protocol a run's networks are resampled together. Seeds enter as groups: the
interval covers the test networks' sampling and, through the seeds' different splits and
trainings, some of the training's variance.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from nnenc.metrics import draw_counts, resampled_kendall_tau

CONFIDENCE = 0.95
RESAMPLES = 1000
BATCH = 250
"""Resamples scored at once (each a row of network counts per group)."""
POWER_FACTOR = 2.8
"""``z(0.975) + z(0.8)``: a true difference of this many standard errors is detected (its 95%
interval excludes 0) four times in five."""


def excludes_zero(low: float, high: float) -> bool:
    """Whether the interval ``[low, high]`` lies wholly on one side of 0 (NaN: no)."""
    return bool(low > 0 or high < 0)


@dataclass(frozen=True)
class Interval:
    estimate: float
    low: float
    high: float
    standard_error: float

    @property
    def excludes_zero(self) -> bool:
        return excludes_zero(self.low, self.high)


@dataclass(frozen=True)
class Group:
    """One seed's test networks of one scored pair: ``units`` (the training run of each
    network), the ``true`` accuracies (under ``"accuracy"``, or per scorer where they differ:
    the label-noise reference scores one half of the test set against the other), and each
    scorer's ``predicted`` ones."""

    units: np.ndarray
    true: dict[str, np.ndarray]
    predicted: dict[str, np.ndarray]


def task_intervals(
    groups: list[Group],
    scorers: list[str],
    differences: list[tuple[str, str]] = (),
    seed: int = 0,
    resamples: int = RESAMPLES,
) -> dict:
    """Intervals of each scorer's mean tau over ``groups`` and of each ``(a, b)`` difference
    ``tau(a) - tau(b)``, from one paired bootstrap; keys are scorer names and ``(a, b)``.

    Every scorer must have predictions in every group (a scorer that cannot read a target has
    no interval for the task).
    """
    # one bootstrap unit per (group, training run); each group's rows name their unit
    row_units, first = [], 0
    for group in groups:
        _, inverse = np.unique(group.units, return_inverse=True)
        row_units.append(first + inverse)
        first += int(inverse.max()) + 1 if len(inverse) else 0

    def statistic(index: np.ndarray, axis: int = -1) -> np.ndarray:
        """``(len(keys), R)`` for ``R`` resamples of the units, ``index`` ``(R, units)``."""
        counts = draw_counts(index, first)
        taus = {name: np.zeros((len(counts), len(groups))) for name in scorers}
        present = np.zeros((len(counts), len(groups)))
        for g, group in enumerate(groups):
            drawn = counts[:, row_units[g]]  # how often each of the group's networks is drawn
            present[:, g] = drawn.sum(1) > 0
            for name in scorers:
                true = group.true[name] if name in group.true else group.true["accuracy"]
                taus[name][:, g] = resampled_kendall_tau(true, group.predicted[name], drawn)
        means = {name: (taus[name] * present).sum(1) / present.sum(1) for name in scorers}
        return np.array(
            [means[name] for name in scorers] + [means[a] - means[b] for a, b in differences]
        )

    everything = np.arange(first)
    estimate = statistic(everything)[:, 0]
    result = stats.bootstrap(
        (everything,),
        statistic,
        vectorized=True,
        batch=BATCH,
        n_resamples=resamples,
        confidence_level=CONFIDENCE,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    keys = [*scorers, *differences]
    low, high = result.confidence_interval
    return {
        key: Interval(float(estimate[i]), float(low[i]), float(high[i]), result.standard_error[i])
        for i, key in enumerate(keys)
    }


def detectable_difference(intervals: dict) -> float:
    """The smallest tau difference the run would detect four times in five: ``POWER_FACTOR``
    times the median standard error of its paired differences (NaN without differences)."""
    errors = [v.standard_error for k, v in intervals.items() if isinstance(k, tuple)]
    return POWER_FACTOR * float(np.median(errors)) if errors else float("nan")
