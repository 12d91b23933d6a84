"""STATNN: the features equal the formula computed independently; the fixed-length summary for
any architecture; the trees' refusals."""

import numpy as np
import pytest
import torch

from baselines.statnn import StatnnTrees
from nnenc import NetworkParams, get_architecture
from nnenc.views.statistics import feature_names, layer_slots, weight_statistics


def _network(arch: str, seed: int = 0) -> NetworkParams:
    torch.manual_seed(seed)
    return NetworkParams.from_module(get_architecture(arch).build())


def _formula(tensor: np.ndarray) -> list[float]:
    values = tensor.astype(np.float64).ravel()
    return [
        values.mean(),
        values.var(ddof=1),
        *np.percentile(values, [0, 25, 50, 75, 100]),
    ]


def test_small_cnn_zoo_network_gives_the_56_features_of_the_formula():
    params = _network("cnn-small", seed=2)
    expected = []
    for layer in params:  # 4 layers fill the 2 front + 2 back slots in order
        expected += _formula(layer.weight.numpy()) + _formula(layer.bias.numpy())
    features = weight_statistics(params)
    assert features.shape == (56,) and len(feature_names()) == 56
    np.testing.assert_allclose(features.numpy(), expected, rtol=1e-12, atol=1e-15)


def test_the_summary_keeps_the_first_and_last_layers_whatever_the_depth():
    assert layer_slots(6, 2, 2) == [0, 1, 4, 5]
    assert layer_slots(4, 2, 2) == [0, 1, 2, 3]
    assert layer_slots(3, 2, 2) == [0, 1, None, 2]  # the output layer stays in the last slot
    assert layer_slots(1, 2, 2) == [0, None, None, None]
    mlp = _network("mlp")  # 3 layers
    features = weight_statistics(mlp).reshape(4, 2, 7)
    assert (features[2] == 0).all()
    np.testing.assert_allclose(features[3, 0].numpy(), _formula(mlp[2].weight.numpy()))


def test_trees_refuse_to_predict_before_fit_and_to_pickle():
    trees = StatnnTrees()
    with pytest.raises(RuntimeError, match="call fit before predict"):
        trees.predict([_network("cnn-small")])
    with pytest.raises(NotImplementedError, match="never pickles"):
        trees.save("anywhere")


def test_trees_rank_a_small_training_set_instead_of_predicting_a_constant(tmp_path):
    """36 training networks: scikit-learn's 20 per leaf allows no split (a constant, tau 0);
    the trees' leaf size follows the training set. Observed on this synthetic zoo: tau 0.67."""
    from nnenc import load_zoo
    from nnenc.metrics import kendall_tau
    from nnenc.zoo.synthetic import write_small_cnn_zoo

    zoo = load_zoo(write_small_cnn_zoo(tmp_path / "zoo", runs=8, seed=2)).filter(finite=True)
    train, val = zoo.take(np.arange(0, 72, 2)), zoo.take(np.arange(1, 72, 2))
    predicted = {}
    for leaf in (None, 20):
        trees = StatnnTrees(min_samples_leaf=leaf)
        trees.fit(train, val, progress=False)
        predicted[leaf] = trees.predict(val)
    assert np.ptp(predicted[20]) == 0  # what the fixed default did
    assert kendall_tau(val.metrics["test_accuracy"].to_numpy(), predicted[None]) > 0.4
