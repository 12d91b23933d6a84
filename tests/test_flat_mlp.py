"""The flat MLP: sized by the zoo it is fitted on, and refusing any other architecture."""

import numpy as np
import pytest
import torch

from nnenc import NetworkParams, get_architecture, load_zoo
from nnenc.encoders import EncoderInputError, create_encoder
from nnenc.predict.performance import PerformancePredictor


def _network(arch: str, seed: int = 0) -> NetworkParams:
    torch.manual_seed(seed)
    return NetworkParams.from_module(get_architecture(arch).build())


def test_fitting_fixes_the_architecture_and_others_are_refused():
    encoder = create_encoder("mlp", hidden=[8], out_dim=4)
    with pytest.raises(EncoderInputError, match="does not know its architecture yet"):
        encoder.encode([_network("cnn-small")])
    encoder.fit_inputs([encoder.featurize(_network("cnn-small", s)) for s in range(3)])
    assert encoder.encode([_network("cnn-small", 5)]).shape == (1, 4)
    assert encoder.config["shapes"][0] == [16, 1, 3, 3]
    with pytest.raises(EncoderInputError, match=r"network \(mlp\) is not the architecture"):
        encoder.featurize(_network("mlp"))


def test_a_saved_flat_mlp_predictor_loads_with_its_size(small_cnn_zoo_dir, tmp_path):
    zoo = load_zoo(small_cnn_zoo_dir).filter(finite=True)
    train, val, test = zoo.split((0.5, 0.25, 0.25), seed=0)
    predictor = PerformancePredictor("mlp", {"hidden": [16]}, epochs=1, batch_size=4)
    predictor.fit(train, val, progress=False)
    loaded = PerformancePredictor.load(predictor.save(tmp_path / "model"))
    np.testing.assert_allclose(loaded.predict(test), predictor.predict(test), rtol=1e-6)
