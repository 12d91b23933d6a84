"""Every registered encoder, and STATNN's trees, learns to rank real trained networks.

The zoo is built here by the zoo builder (tests/conftest.py: 64 cnn-small runs on digits, 320
networks, split by run). Each predictor gets a short training; its validation Kendall tau must be
clearly above 0 (the validation split's 80 networks put the standard error of tau near 0.08).
Longer runs and their comparison are in the README.
"""

import pytest

from baselines.statnn import StatnnTrees
from nnenc.encoders import encoder_names
from nnenc.predictor import PerformancePredictor

SHORT = {
    "sne": ({"chunk_size": 16, "hidden": 16, "heads": 2, "out_dim": 16}, {"lr": 3e-3}),
    "deepsets": ({"hidden": 32}, {"lr": 3e-3}),
    "gmn": ({}, {"lr": 3e-3}),
    "mlp": ({}, {"lr": 1e-3}),
    "statnn": ({}, {"lr": 3e-3}),
}
"""Per encoder: small encoder config, training overrides."""
TRAINING = {"epochs": 10, "batch_size": 16, "precision": "fp32"}
"""Every predictor's training: fp32 on every CPU (``auto`` would train in bf16 where the CPU has
it natively, a different computation)."""


def _check_learned(predictor, splits):
    history = predictor.fit(splits.train, splits.val, progress=False)
    assert history["val_kendall_tau"].max() > 0.3, history
    assert predictor.evaluate(splits.test)["kendall_tau"] > 0.3


@pytest.mark.parametrize("name", encoder_names())
def test_encoder_learns_on_a_real_zoo(name, trained_zoo_splits):
    config, training = SHORT.get(name, ({}, {}))
    predictor = PerformancePredictor(name, config, **TRAINING, **training)
    _check_learned(predictor, trained_zoo_splits)


def test_statnn_trees_learn_on_a_real_zoo(trained_zoo_splits):
    _check_learned(StatnnTrees(seed=0), trained_zoo_splits)
