"""How well predicted values match true ones: Kendall tau (the headline), Spearman, R^2, MAE."""

from __future__ import annotations

import numpy as np
from scipy import stats


def _constant(*arrays: np.ndarray) -> bool:
    return any(np.ptp(np.asarray(a, float)) == 0 for a in arrays)


def kendall_tau(true: np.ndarray, predicted: np.ndarray) -> float:
    """Kendall's tau-b (``scipy.stats.kendalltau``); 0 where either side is constant."""
    if _constant(true, predicted):
        return 0.0
    return float(stats.kendalltau(true, predicted).statistic)


def spearman(true: np.ndarray, predicted: np.ndarray) -> float:
    """Spearman's rho; 0 where either side is constant."""
    if _constant(true, predicted):
        return 0.0
    return float(stats.spearmanr(true, predicted).statistic)


def r_squared(true: np.ndarray, predicted: np.ndarray) -> float:
    true, predicted = np.asarray(true, float), np.asarray(predicted, float)
    total = ((true - true.mean()) ** 2).sum()
    return float(1 - ((true - predicted) ** 2).sum() / total) if total > 0 else 0.0


def mae(true: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.abs(np.asarray(true, float) - np.asarray(predicted, float)).mean())


def prediction_metrics(true: np.ndarray, predicted: np.ndarray) -> dict[str, float]:
    """All four, keyed ``kendall_tau``, ``spearman``, ``r2``, ``mae``."""
    true, predicted = np.asarray(true, float), np.asarray(predicted, float)
    if true.shape != predicted.shape or true.ndim != 1:
        raise ValueError(
            f"need two 1-D arrays of one length, got {true.shape} and {predicted.shape}"
        )
    return {
        "kendall_tau": kendall_tau(true, predicted),
        "spearman": spearman(true, predicted),
        "r2": r_squared(true, predicted),
        "mae": mae(true, predicted),
    }


def kendall_tau_interval(
    true: np.ndarray,
    predicted: np.ndarray,
    runs: np.ndarray,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float]:
    """A percentile bootstrap interval for Kendall tau, resampling training runs.

    Checkpoints of one run are not independent, so whole runs are drawn with replacement
    (``resamples`` times, ``numpy.random.default_rng(seed)``); the interval is the central
    ``level`` of the resampled taus. With one run, or fewer than two networks, it is (nan, nan).
    """
    true, predicted = np.asarray(true, float), np.asarray(predicted, float)
    groups, members = np.unique(np.asarray(runs), return_inverse=True)
    if len(groups) < 2 or len(true) < 2:
        return float("nan"), float("nan")
    rows_of = [np.flatnonzero(members == g) for g in range(len(groups))]
    rng = np.random.default_rng(seed)
    taus = np.empty(resamples)
    for i in range(resamples):
        rows = np.concatenate([rows_of[g] for g in rng.integers(0, len(groups), len(groups))])
        taus[i] = kendall_tau(true[rows], predicted[rows])
    tail = 100 * (1 - level) / 2
    low, high = np.percentile(taus, [tail, 100 - tail])
    return float(low), float(high)


SMALL_SAMPLE_NETWORKS, SMALL_SAMPLE_RUNS = 30, 10
"""Below these, a Kendall tau is too noisy to rank predictors by."""


def small_sample_caveat(networks: int, runs: int, what: str) -> str | None:
    """A warning for scores over fewer than 30 networks or 10 runs, else ``None``."""
    if networks >= SMALL_SAMPLE_NETWORKS and runs >= SMALL_SAMPLE_RUNS:
        return None
    return (
        f"{what} holds {networks} networks from {runs} runs: scores over fewer than "
        f"{SMALL_SAMPLE_NETWORKS} networks or {SMALL_SAMPLE_RUNS} runs are too noisy to rank "
        "predictors by (see the interval beside tau)"
    )
