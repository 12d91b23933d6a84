import numpy as np
import pytest
from scipy import stats

from nnenc.metrics import kendall_tau, mae, prediction_metrics, r_squared, spearman


def test_metrics_agree_with_their_definitions():
    rng = np.random.default_rng(0)
    true = rng.uniform(size=50)
    predicted = true + rng.normal(0, 0.1, 50)
    assert kendall_tau(true, predicted) == pytest.approx(stats.kendalltau(true, predicted)[0])
    assert spearman(true, predicted) == pytest.approx(stats.spearmanr(true, predicted)[0])
    assert mae(true, predicted) == pytest.approx(np.mean(np.abs(true - predicted)))
    assert r_squared(true, true) == 1.0
    assert r_squared(true, np.full(50, true.mean())) == pytest.approx(0.0)


def test_a_constant_prediction_has_zero_rank_correlation():
    assert kendall_tau(np.arange(5.0), np.ones(5)) == 0.0
    assert spearman(np.arange(5.0), np.ones(5)) == 0.0


def test_mismatched_lengths_are_refused():
    with pytest.raises(ValueError, match="one length"):
        prediction_metrics(np.arange(3.0), np.arange(4.0))
