import numpy as np
import pytest

from nnenc.builder.hyperparameters import HyperparameterSpace


def test_sampling_is_deterministic_and_within_the_space():
    space = HyperparameterSpace()
    runs = space.sample(500, seed=4)
    assert runs.equals(space.sample(500, seed=4))
    assert not runs.equals(space.sample(500, seed=5))
    assert set(runs["activation"]) == set(space.activation)
    assert set(runs["optimizer"]) == set(space.optimizer)
    assert runs["learning_rate"].between(*space.learning_rate).all()
    assert runs["init_std"].between(*space.init_std).all()
    assert runs["dropout"].between(*space.dropout).all()
    assert set(runs["train_fraction"]) <= set(space.train_fraction)
    # log-uniform: about half the learning rates below the geometric midpoint
    midpoint = np.sqrt(space.learning_rate[0] * space.learning_rate[1])
    assert 0.4 < (runs["learning_rate"] < midpoint).mean() < 0.6


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"activation": ()}, "activation: no choices"),
        ({"optimizer": ("sgd", "lbfgs")}, r"optimizer: unknown \['lbfgs'\]"),
        ({"learning_rate": (0.1, 0.01)}, "learning_rate: needs 0 < low <= high"),
        ({"l2": (0.0, 1e-3)}, "l2: needs 0 < low"),
        ({"dropout": (0.2, 1.0)}, "dropout: needs 0 <= low <= high < 1"),
        ({"train_fraction": (0.001,)}, "fewer than one batch of 32"),
    ],
)
def test_a_space_that_cannot_be_satisfied_is_refused(change, message):
    space = HyperparameterSpace(**change)
    with pytest.raises(ValueError, match=message):
        space.validate(train_size=4000)


def test_space_round_trips_through_a_dict_and_refuses_unknown_keys():
    space = HyperparameterSpace(activation=("relu",), learning_rate=(1e-3, 1e-2))
    assert HyperparameterSpace.from_dict(space.to_dict()) == space
    with pytest.raises(ValueError, match=r"unknown key\(s\) \['lr'\]"):
        HyperparameterSpace.from_dict({"lr": [0.1, 0.2]})
