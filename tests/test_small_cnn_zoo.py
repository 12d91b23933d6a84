"""The Small CNN Zoo reader, on fixtures in the published layout (shared/reference/zoo-formats.md)."""

import gzip

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import folder_digest

from nnenc import ZooFormatError, load_zoo, small_cnn_zoo_split
from nnenc.zoo.formats.small_cnn_zoo import read_small_cnn_zoo

# Published flat layout: (bias start, bias stop, kernel start, kernel stop, TF kernel shape)
PUBLISHED = [
    (0, 16, 16, 160, (3, 3, 1, 16)),
    (160, 176, 176, 2480, (3, 3, 16, 16)),
    (2480, 2496, 2496, 4800, (3, 3, 16, 16)),
    (4800, 4810, 4810, 4970, (16, 10)),
]

NUMPY_ACTIVATIONS = {
    "relu": lambda x: np.maximum(x, 0),
    "tanh": np.tanh,
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)),
    "selu": lambda x: (
        1.0507009873554805 * np.where(x > 0, x, 1.6732632423543772 * (np.exp(np.minimum(x, 0)) - 1))
    ),
}


def tf_reference_logits(row: np.ndarray, images_nhwc: np.ndarray, activation: str) -> np.ndarray:
    """The Keras network computed straight from the TensorFlow-order flat row, in float64."""
    act = NUMPY_ACTIVATIONS[activation]
    x = images_nhwc.astype(np.float64)
    row = row.astype(np.float64)
    for b0, b1, k0, k1, shape in PUBLISHED[:3]:
        kernel, bias = row[k0:k1].reshape(shape), row[b0:b1]
        out_h, out_w = (x.shape[1] - 3) // 2 + 1, (x.shape[2] - 3) // 2 + 1
        out = np.zeros((x.shape[0], out_h, out_w, shape[3]))
        for kh in range(3):
            for kw in range(3):
                patch = x[:, kh : kh + 2 * out_h - 1 : 2, kw : kw + 2 * out_w - 1 : 2, :]
                out += np.einsum("bijc,co->bijo", patch, kernel[kh, kw])
        x = act(out + bias)
    b0, b1, k0, k1, shape = PUBLISHED[3]
    return x.mean(axis=(1, 2)) @ row[k0:k1].reshape(shape) + row[b0:b1]


def test_fixture_layout_is_the_published_one(small_cnn_zoo_dir):
    layout = pd.read_csv(small_cnn_zoo_dir / "layout.csv")
    spans = [tuple(r) for r in layout[["start_idx", "end_idx"]].itertuples(index=False)]
    expected = [span for b0, b1, k0, k1, _ in PUBLISHED for span in ((b0, b1), (k0, k1))]
    assert spans == expected
    assert layout["varname"].str.endswith(":0").all()
    with gzip.open(small_cnn_zoo_dir / "metrics.csv.gz", "rt") as handle:
        columns = pd.read_csv(handle, nrows=1).columns
    assert {"config.activation", "config.w_init", "modeldir", "step", "test_accuracy"} <= set(
        columns
    )


@pytest.mark.parametrize("activation", ["relu", "tanh", "sigmoid", "selu"])
def test_loaded_row_gives_the_logits_of_the_tensorflow_order_network(small_cnn_zoo_dir, activation):
    zoo = load_zoo(small_cnn_zoo_dir)
    raw = np.load(small_cnn_zoo_dir / "weights.npy")
    images = np.random.default_rng(0).uniform(-1, 1, (6, 28, 28, 1)).astype(np.float32)
    for index in (0, 17, len(zoo) - 1):
        if index == 4:  # the fixture's diverged row
            continue
        module = zoo[index].to_module(activation=activation)
        with torch.no_grad():
            logits = module(torch.from_numpy(images).permute(0, 3, 1, 2)).numpy()
        expected = tf_reference_logits(raw[index], images, activation)
        np.testing.assert_allclose(logits, expected, atol=1e-5, rtol=0)


def test_metrics_are_renamed_and_rows_line_up(small_cnn_zoo_dir):
    zoo = load_zoo(small_cnn_zoo_dir)
    raw = pd.read_csv(small_cnn_zoo_dir / "metrics.csv.gz")
    assert len(zoo) == len(raw) == 54
    assert (zoo.metrics["epoch"] == raw["step"]).all()
    assert (zoo.metrics["run_id"] == raw["modeldir"]).all()
    assert (zoo.metrics["activation"] == raw["config.activation"]).all()
    assert zoo[3].activation == raw["config.activation"][3]
    assert zoo.architectures == ["cnn-small"]


def test_common_protocol_keeps_the_final_epoch_and_splits_half_test(small_cnn_zoo_dir):
    zoo = load_zoo(small_cnn_zoo_dir)
    splits = small_cnn_zoo_split(zoo)
    assert all((part.metrics["epoch"] == 86).all() for part in splits)
    assert len(splits.test) == 3 and len(splits.train) + len(splits.val) == 3
    runs = [set(part.metrics["run_id"]) for part in splits]
    assert not (runs[0] & runs[1] or runs[0] & runs[2] or runs[1] & runs[2])
    again = small_cnn_zoo_split(zoo)
    assert list(again.train.metrics["model_id"]) == list(splits.train.metrics["model_id"])


def test_non_finite_rows_are_flagged_counted_and_filterable(small_cnn_zoo_dir):
    zoo = load_zoo(small_cnn_zoo_dir)
    assert zoo.summary()["nonfinite_weights"] == 1
    assert not zoo.finite_mask()[4] and zoo.finite_mask().sum() == len(zoo) - 1
    kept = zoo.filter(finite=True)
    assert len(kept) == len(zoo) - 1 and 4 not in set(kept.metrics["model_id"])
    flagged = zoo.flag_nonfinite()
    assert not flagged.metrics.loc[4, "finite"]


def _refused(path, match):
    before = folder_digest(path)
    with pytest.raises(ZooFormatError, match=match):
        read_small_cnn_zoo(path)
    assert folder_digest(path) == before, "a failed load must not change any file"


def test_truncated_weights_are_refused_naming_the_file(small_cnn_zoo_dir):
    weights = small_cnn_zoo_dir / "weights.npy"
    weights.write_bytes(weights.read_bytes()[:-1000])
    _refused(small_cnn_zoo_dir, r"weights\.npy: truncated")


def test_weights_of_the_wrong_width_are_refused(small_cnn_zoo_dir):
    np.save(small_cnn_zoo_dir / "weights.npy", np.zeros((54, 4960), dtype=np.float32))
    _refused(small_cnn_zoo_dir, r"layout\.csv: .*covers 4970 parameters but each row has 4960")


def test_one_dimensional_weights_are_refused(small_cnn_zoo_dir):
    np.save(small_cnn_zoo_dir / "weights.npy", np.zeros(4970, dtype=np.float32))
    _refused(small_cnn_zoo_dir, r"weights\.npy: expected a 2-D array")


def test_layout_rows_that_do_not_cover_the_vector_are_refused(small_cnn_zoo_dir):
    layout = pd.read_csv(small_cnn_zoo_dir / "layout.csv")
    layout.iloc[:-1].to_csv(small_cnn_zoo_dir / "layout.csv", index=False)
    _refused(small_cnn_zoo_dir, "covers 4810 parameters but each row has 4970")


def test_missing_metrics_columns_are_named(small_cnn_zoo_dir):
    metrics = pd.read_csv(small_cnn_zoo_dir / "metrics.csv.gz")
    metrics.drop(columns=["test_accuracy"]).to_csv(
        small_cnn_zoo_dir / "metrics.csv.gz", index=False, compression="gzip"
    )
    _refused(small_cnn_zoo_dir, r"metrics\.csv\.gz: missing column\(s\) \['test_accuracy'\]")


def test_metrics_and_weights_row_count_mismatch_is_refused(small_cnn_zoo_dir):
    metrics = pd.read_csv(small_cnn_zoo_dir / "metrics.csv.gz")
    metrics.iloc[:-2].to_csv(small_cnn_zoo_dir / "metrics.csv.gz", index=False, compression="gzip")
    _refused(small_cnn_zoo_dir, "has 52 rows but weights.npy has 54")


def test_a_pickled_weights_array_is_refused_without_unpickling(small_cnn_zoo_dir):
    rows = np.empty(54, dtype=object)
    rows[:] = [{"weights": [0.0]}] * 54
    np.save(small_cnn_zoo_dir / "weights.npy", rows, allow_pickle=True)
    _refused(small_cnn_zoo_dir, r"refused: .*allow_pickle=False")


@pytest.mark.parametrize("dtype", ["float16", "float64"])
def test_other_float_dtypes_are_read_as_float32(tmp_path, dtype):
    from nnenc.zoo.synthetic import write_small_cnn_zoo

    path = write_small_cnn_zoo(tmp_path / dtype, runs=2, dtype=dtype)
    zoo = load_zoo(path)
    raw = np.load(path / "weights.npy")
    assert zoo.flat([0]).dtype == np.float32
    np.testing.assert_allclose(zoo[0][0].bias.numpy(), raw[0, :16].astype(np.float32))


def test_runs_that_end_at_different_steps_each_keep_their_own_final_checkpoint(tmp_path, capsys):
    """A published-layout zoo whose runs were trained for different numbers of epochs: the
    protocol keeps every run's last checkpoint, not only the runs that reached the largest
    step (seen failing before: 6 of the 12 runs were dropped without a word)."""
    from nnenc.cli import main
    from nnenc.zoo.synthetic import write_small_cnn_zoo

    folder = write_small_cnn_zoo(tmp_path / "zoo", runs=12, seed=3)
    metrics = pd.read_csv(folder / "metrics.csv.gz")
    weights = np.load(folder / "weights.npy")
    runs = sorted(set(metrics["modeldir"]))
    short = metrics["modeldir"].isin(runs[:6]) & (metrics["step"] > 40)
    metrics[~short].to_csv(folder / "metrics.csv.gz", index=False)
    np.save(folder / "weights.npy", weights[~short.to_numpy()])
    zoo = load_zoo(folder)
    splits = small_cnn_zoo_split(zoo)
    kept = pd.concat([part.metrics for part in splits])
    assert sorted(kept["run_id"]) == runs  # one network per run, every run
    last = metrics[~short].groupby("modeldir")["step"].max()
    assert (kept.set_index("run_id")["epoch"] == last.loc[kept["run_id"]].to_numpy()).all()
    assert set(kept["epoch"]) == {40, 86}
    out = tmp_path / "predictor"
    args = ["train", "--zoo", str(folder), "--encoder", "statnn", "--epochs", "1"]
    assert main([*args, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    assert "12 networks of 12 runs, 78 earlier checkpoints left out" in said
    assert "train 5, val 1, test 6" in said
