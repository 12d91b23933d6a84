"""The stacked trainer against a plain per-model loop, and the independence of stacked networks."""

import numpy as np
import pandas as pd
import pytest
import torch

from nnenc.architectures import get_architecture
from nnenc.builder.hyperparameters import HyperparameterSpace
from nnenc.builder.stacked import StackedNetworks
from nnenc.builder.training import run_batches, train_chunk, train_plain
from nnenc.datasets import get_dataset
from nnenc.params import NetworkParams

TOLERANCE = 1e-4
"""Max abs weight difference allowed between the stacked and the plain loop after 2 epochs of
11 steps: both are float32 with different summation orders (grouped vs single convolutions),
and Adam's normalisation amplifies the last bits of tiny gradients."""


def _runs(optimizer: str, count: int = 3, **space) -> pd.DataFrame:
    # Glorot init and learning rates up to 5e-3: a large init std saturates tanh units, and a
    # large Adam step makes training chaotic; either way float-noise differences grow without
    # bound and neither loop is "the right one". In this regime they agree to ~1e-7.
    defaults = {
        "activation": ("tanh",),
        "optimizer": (optimizer,),
        "dropout": (0.0, 0.0),
        "train_fraction": (0.25,),
        "l2": (1e-4, 1e-2),
        "w_init": ("glorot_normal",),
        "learning_rate": (5e-4, 5e-3),
    }
    return HyperparameterSpace(**{**defaults, **space}).sample(count, seed=11)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
@pytest.mark.parametrize("arch", ["cnn-small", "cnn-dense", "mlp"])
def test_stacked_training_equals_a_plain_loop_from_the_same_weights(arch, optimizer):
    torch.set_num_threads(1)
    data, spec = get_dataset("digits"), get_architecture(arch)
    runs = _runs(optimizer)
    _, weights = train_chunk(spec, runs, data, epochs=2, checkpoints=[0, 2])
    steps = len(run_batches(runs["seed"][0], len(data.train_labels), 0.25, 0, 32))
    assert steps == 11
    for k in range(len(runs)):
        plain = train_plain(
            spec, runs.iloc[k], data, epochs=2, initial=torch.from_numpy(weights[k])
        )
        stacked = torch.from_numpy(weights[len(runs) + k])
        assert not torch.equal(stacked, torch.from_numpy(weights[k])), "training changed nothing"
        assert (stacked - plain).abs().max() < TOLERANCE


def test_a_network_trains_the_same_alone_or_in_a_chunk():
    data, spec = get_dataset("digits"), get_architecture("cnn-small")
    runs = _runs("adam", count=4, dropout=(0.0, 0.0))
    _, together = train_chunk(spec, runs, data, epochs=1, checkpoints=[1])
    _, alone = train_chunk(spec, runs.iloc[[2]], data, epochs=1, checkpoints=[1])
    np.testing.assert_allclose(together[2], alone[0], atol=1e-5)


def test_networks_with_fewer_steps_are_frozen_once_their_epoch_ends():
    data, spec = get_dataset("digits"), get_architecture("mlp")
    runs = pd.concat(
        [_runs("adam", 1, train_fraction=(0.25,)), _runs("adam", 1, train_fraction=(1.0,))]
    )
    runs = runs.reset_index(drop=True).assign(seed=[5, 6])
    _, mixed = train_chunk(spec, runs, data, epochs=2, checkpoints=[2])
    _, small_alone = train_chunk(spec, runs.iloc[[0]], data, epochs=2, checkpoints=[2])
    np.testing.assert_allclose(mixed[0], small_alone[0], atol=1e-5)


def test_checkpoints_record_metrics_per_epoch():
    data, spec = get_dataset("digits"), get_architecture("mlp")
    runs = _runs("adam", count=2, learning_rate=(3e-3, 3e-3), train_fraction=(1.0,))
    table, weights = train_chunk(spec, runs, data, epochs=3, checkpoints=[0, 1, 3])
    assert list(table["epoch"]) == [0, 0, 1, 1, 3, 3] and weights.shape == (6, spec.num_params)
    for column in ("test_accuracy", "test_accuracy_half1", "test_accuracy_half2", "train_accuracy"):
        assert table[column].between(0, 1).all()
    half_mean = (table["test_accuracy_half1"] + table["test_accuracy_half2"]) / 2
    np.testing.assert_allclose(half_mean, table["test_accuracy"], atol=2 / len(data.test_labels))
    assert (table.loc[table["epoch"] == 3, "test_accuracy"].to_numpy() > 0.7).all()
    assert (table.loc[table["epoch"] == 0, "test_accuracy"].to_numpy() < 0.3).all()

    net = NetworkParams.from_flat(weights[4], spec.layout(), spec.name).to_module("tanh")
    with torch.no_grad():
        accuracy = (net(data.test_images).argmax(1) == data.test_labels).float().mean().item()
    assert accuracy == pytest.approx(table["test_accuracy"][4], abs=1e-6)


def test_a_diverging_network_does_not_touch_its_neighbours():
    data, spec = get_dataset("digits"), get_architecture("mlp")
    runs = _runs("sgd", count=2, learning_rate=(1e-2, 1e-2), train_fraction=(1.0,))
    runs.loc[0, "learning_rate"] = 1e12
    _, weights = train_chunk(spec, runs, data, epochs=1, checkpoints=[1])
    _, alone = train_chunk(spec, runs.iloc[[1]], data, epochs=1, checkpoints=[1])
    assert not np.isfinite(weights[0]).all()
    np.testing.assert_allclose(weights[1], alone[0], atol=1e-5)


def test_dropout_keeps_the_expected_activation_with_quantised_rates():
    spec = get_architecture("mlp")
    flat = torch.zeros(2, spec.num_params)
    net = StackedNetworks(spec, flat, "relu", torch.tensor([0.3, 0.0]))
    h = torch.ones(2, 4000, 32)
    keep, scale = net._keep_mask(h, 32, torch.Generator().manual_seed(0))
    dropped = h * keep * scale.view(-1, 1, 1)
    kept = (dropped[0] > 0).float().mean().item()
    assert kept == pytest.approx(1 - round(0.3 * 256) / 256, abs=0.005)
    assert dropped[0].mean().item() == pytest.approx(1.0, abs=0.01)
    assert torch.equal(dropped[1], h[1])


def test_dropout_with_folded_scales_equals_explicit_inverted_dropout():
    spec = get_architecture("cnn-dense")
    runs = HyperparameterSpace(activation=("tanh",), dropout=(0.2, 0.5)).sample(3, seed=2)
    net = StackedNetworks.initialise(spec, runs)
    masks = []
    draw = net._keep_mask

    def recording(h, per_channel, generator, count):
        keep, scale = draw(h, per_channel, generator, count)
        masks.append((keep, scale))
        return keep, scale

    net._keep_mask = recording
    images = torch.randn(3, 5, 1, 28, 28)
    out = net.forward(images, torch.Generator().manual_seed(0))
    flat = net.flat()
    for k in range(3):
        w = [flat[k, s.start : s.stop] for s in spec.layout().slots]
        shapes = spec.layer_shapes()
        h = images[k]
        for i in range(3):
            h = torch.tanh(
                torch.nn.functional.conv2d(
                    h, w[2 * i].view(shapes[i].weight), w[2 * i + 1], stride=2
                )
            )
            keep, scale = masks[i]
            h = h * keep[:, k * 16 : (k + 1) * 16] * scale[k]
        h = h.mean(dim=(2, 3))
        h = torch.tanh(h @ w[6].view(shapes[3].weight).T + w[7])
        keep, scale = masks[3]
        h = h * keep[k] * scale[k]
        logits = h @ w[8].view(shapes[4].weight).T + w[9]
        torch.testing.assert_close(out[k], logits, atol=1e-5, rtol=1e-5)
