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


def draw_counts(index: np.ndarray, units: int) -> np.ndarray:
    """``(R, units)``: how many times each of ``R`` resamples (rows of ``index``, the units
    drawn) draws each unit."""
    index = np.atleast_2d(index)
    counts = np.zeros((len(index), units))
    np.add.at(counts, (np.arange(len(index))[:, None], index), 1)
    return counts


def resampled_kendall_tau(
    true: np.ndarray, predicted: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Kendall's tau-b of each resample of the pairs ``(true[i], predicted[i])``, a resample
    given by how many times it draws each pair: ``counts`` ``(R, n)`` -> ``(R,)``.

    Equal to :func:`kendall_tau` of each resample's pairs written out (a pair drawn twice is tied
    with itself on both sides), without writing them out: the concordant-minus-discordant count
    and the tie counts are quadratic forms of the counts, ``counts @ M @ counts.T``'s diagonal
    for ``n x n`` sign and tie matrices, so a bootstrap's resamples are scored in a few matrix
    products instead of one scipy call each. 0 where a resample is constant on either side (or
    draws fewer than two pairs), as :func:`kendall_tau`.
    """
    true, predicted = np.asarray(true, float), np.asarray(predicted, float)
    weights = np.atleast_2d(np.asarray(counts, float))
    true_order = np.sign(true[:, None] - true[None, :])
    predicted_order = np.sign(predicted[:, None] - predicted[None, :])

    def form(matrix: np.ndarray) -> np.ndarray:  # w^T M w for every resample's w
        return np.einsum("rj,rj->r", weights @ matrix, weights)

    square = weights.sum(1) ** 2
    score = form(true_order * predicted_order) / 2
    untied_true = (square - form((true_order == 0).astype(float))) / 2
    untied_predicted = (square - form((predicted_order == 0).astype(float))) / 2
    denominator = np.sqrt(untied_true * untied_predicted)
    safe = np.where(denominator > 0, denominator, 1.0)
    return np.where(denominator > 0, score / safe, 0.0)


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


def undefined_ranking(true: np.ndarray, predicted: np.ndarray) -> str | None:
    """Why Kendall tau says nothing here (``"constant predictions"``, ``"constant targets"``,
    ``"fewer than 2 networks"``), or ``None`` where it is defined. :func:`kendall_tau` scores such
    cases 0 (what model selection needs); a report says they are undefined instead."""
    true, predicted = np.asarray(true, float), np.asarray(predicted, float)
    if len(true) < 2:
        return "fewer than 2 networks"
    if _constant(predicted):
        return "constant predictions"
    if _constant(true):
        return "constant targets"
    return None


def reported_metrics(true: np.ndarray, predicted: np.ndarray, runs: np.ndarray) -> dict:
    """:func:`prediction_metrics` with the bootstrap interval over ``runs``
    (``kendall_tau_low``/``_high``), as a report gives them: where the ranking is undefined
    (:func:`undefined_ranking`), tau, its interval and Spearman are ``None`` and ``undefined``
    says why; any other value that is not a finite number is ``None`` too."""
    reason = undefined_ranking(true, predicted)
    if len(true) == 0:
        return {"kendall_tau": None, "undefined": reason}
    metrics: dict = prediction_metrics(true, predicted)
    low, high = kendall_tau_interval(true, predicted, runs)
    metrics.update(kendall_tau_low=low, kendall_tau_high=high)
    if reason:
        metrics.update(kendall_tau=None, kendall_tau_low=None, kendall_tau_high=None)
        metrics.update(spearman=None, undefined=reason)
    return {
        k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in metrics.items()
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
    (``scipy.stats.bootstrap``, ``resamples`` times, ``numpy.random.default_rng(seed)``); the
    interval is the central ``level`` of the resampled taus. With one run, or fewer than two
    networks, it is (nan, nan).
    """
    true, predicted = np.asarray(true, float), np.asarray(predicted, float)
    groups, members = np.unique(np.asarray(runs), return_inverse=True)
    if len(groups) < 2 or len(true) < 2:
        return float("nan"), float("nan")

    def statistic(index: np.ndarray, axis: int = -1) -> np.ndarray:
        return resampled_kendall_tau(true, predicted, draw_counts(index, len(groups))[:, members])

    result = stats.bootstrap(
        (np.arange(len(groups)),),
        statistic,
        vectorized=True,
        n_resamples=resamples,
        confidence_level=level,
        method="percentile",
        random_state=np.random.default_rng(seed),
    )
    low, high = result.confidence_interval
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
