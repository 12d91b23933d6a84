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
