"""PerformancePredictor: learning, determinism, save/load, input checks.

The zoo here is synthetic (nnenc.zoo.synthetic): cnn-small weights whose test accuracy is a noisy
function of their scale and the epoch, so these tests check the mechanics (an encoder + head
learn a property the weights carry). Learning on a real trained zoo is tests/test_learning.py.
"""

import json

import numpy as np
import pytest

from nnenc import get_architecture, load_zoo
from nnenc.predict.performance import PerformancePredictor
from nnenc.predict.sensitivity import permutation_sensitivity

TINY_SNE = {"chunk_size": 16, "hidden": 16, "heads": 2, "out_dim": 16}


@pytest.fixture(scope="module")
def trained_zoo(tmp_path_factory):
    """24 synthetic cnn-small runs x 9 checkpoints, split by run 60/20/20."""
    from nnenc.zoo.synthetic import write_small_cnn_zoo

    path = write_small_cnn_zoo(tmp_path_factory.mktemp("zoo") / "synthetic", runs=24, seed=3)
    return load_zoo(path).split((0.6, 0.2, 0.2), seed=0)


def _predictor(**training):
    return PerformancePredictor("sne", TINY_SNE, batch_size=16, lr=3e-3, **training)


def test_sne_learns_a_property_the_weights_carry(trained_zoo):
    predictor = _predictor(epochs=6, patience=6)
    history = predictor.fit(trained_zoo.train, trained_zoo.val, progress=False)
    assert history["val_kendall_tau"].max() > 0.6
    assert predictor.evaluate(trained_zoo.test)["kendall_tau"] > 0.6


def test_same_seed_same_training(trained_zoo):
    a = _predictor(epochs=2, seed=5)
    b = _predictor(epochs=2, seed=5)
    a.fit(trained_zoo.train, trained_zoo.val, progress=False)
    b.fit(trained_zoo.train, trained_zoo.val, progress=False)
    np.testing.assert_array_equal(a.predict(trained_zoo.test), b.predict(trained_zoo.test))


def test_save_and_load_give_the_same_predictions(trained_zoo, tmp_path):
    predictor = _predictor(epochs=1)
    predictor.fit(trained_zoo.train, trained_zoo.val, progress=False)
    path = predictor.save(tmp_path / "model")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "weights.safetensors"]
    config = json.loads((path / "config.json").read_text())
    assert config["encoder"] == "sne"
    assert config["encoder_config"] == {**config["encoder_config"], **TINY_SNE}  # + defaults
    loaded = PerformancePredictor.load(path)
    np.testing.assert_allclose(
        loaded.predict(trained_zoo.test), predictor.predict(trained_zoo.test)
    )


def test_predicts_a_plain_module_and_any_numeric_column(trained_zoo):
    predictor = _predictor(epochs=1, target="train_loss", loss="mse")
    predictor.fit(trained_zoo.train, trained_zoo.val, progress=False)
    module = get_architecture("cnn-small").build()
    prediction = predictor.predict(module)
    assert prediction.shape == (1,) and np.isfinite(prediction).all()
    low, high = trained_zoo.train.metrics["train_loss"].agg(["min", "max"])
    assert low - 1 < prediction[0] < high + 1  # in the target's units, not a fraction


def test_bad_targets_are_refused_with_advice(trained_zoo):
    with pytest.raises(ValueError, match="BCE needs targets in \\[0, 1\\]: use loss='mse'"):
        _predictor(epochs=1, target="train_loss").fit(
            trained_zoo.train, trained_zoo.val, progress=False
        )
    with pytest.raises(KeyError, match="no column 'flops'"):
        _predictor(epochs=1, target="flops").fit(trained_zoo.train, trained_zoo.val, progress=False)
    with pytest.raises(ValueError, match="unknown training option"):
        PerformancePredictor("sne", TINY_SNE, learning_rate=1)


def test_logit_invariance_regulariser_trains_and_the_diagnostic_reports(trained_zoo):
    predictor = _predictor(epochs=2, logit_invariance=10.0)
    history = predictor.fit(trained_zoo.train, trained_zoo.val, progress=False)
    assert np.isfinite(history["train_loss"]).all()
    report = permutation_sensitivity(predictor, list(trained_zoo.test), permutations=2)
    assert set(report) == {"mean_abs_change", "relative_change", "kendall_tau_original_vs_permuted"}
    assert report["mean_abs_change"] >= 0


def test_hub_style_save_pretrained_and_from_pretrained_round_trip(trained_zoo, tmp_path):
    """Through huggingface_hub's PyTorchModelHubMixin (the ``hub`` extra), on a local folder:
    nothing is downloaded."""
    pytest.importorskip("huggingface_hub")
    train, val, test = trained_zoo
    predictor = PerformancePredictor("statnn", epochs=1, precision="fp32")
    predictor.fit(train, val, progress=False)
    predictor.save_pretrained(tmp_path / "model")
    assert {p.name for p in (tmp_path / "model").iterdir()} == {
        "config.json", "weights.safetensors", "README.md"
    }  # fmt: skip
    loaded = PerformancePredictor.from_pretrained(tmp_path / "model")
    assert np.array_equal(loaded.predict(test), predictor.predict(test))
    assert loaded.provenance == json.loads(json.dumps(predictor.provenance))
