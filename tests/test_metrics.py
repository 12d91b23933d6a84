import numpy as np
import pytest
from scipy import stats

from nnenc.metrics import (
    kendall_tau,
    mae,
    prediction_metrics,
    r_squared,
    resampled_kendall_tau,
    spearman,
)


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


@pytest.mark.parametrize("n", [2, 5, 40, 200])
def test_resampled_tau_is_the_tau_of_the_resample_written_out(n):
    """Ties on both sides (accuracies in steps of 0.2, predictions rounded), pairs drawn
    several times, a resample of one pair drawn n times (constant: 0) and one of every pair."""
    rng = np.random.default_rng(n)
    true = rng.integers(0, 6, n) / 5.0
    predicted = np.round(rng.normal(size=n), 1)
    counts = rng.multinomial(n, np.ones(n) / n, size=40)
    counts[0] = 0
    counts[0, 0] = n
    counts[1] = 1
    got = resampled_kendall_tau(true, predicted, counts)
    want = [kendall_tau(np.repeat(true, c), np.repeat(predicted, c)) for c in counts]
    assert got[0] == 0.0
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
