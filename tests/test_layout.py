import numpy as np
import pandas as pd
import pytest

from nnenc.layout import FlatLayout, LayoutError, TensorSlot, read_layout_csv


def test_weight_then_bias_layout_tiles_the_vector():
    layout = FlatLayout.weight_then_bias([("a", (4, 3), (4,)), ("b", (2, 4), None)])
    assert [(s.layer, s.role, s.start, s.stop) for s in layout.slots] == [
        ("a", "weight", 0, 12),
        ("a", "bias", 12, 16),
        ("b", "weight", 16, 24),
    ]
    layout.validate(24)


@pytest.mark.parametrize(
    ("slots", "message"),
    [
        ([TensorSlot("a", "weight", 0, 6, (2, 3)), TensorSlot("a", "bias", 7, 9, (2,))], "gap"),
        ([TensorSlot("a", "weight", 0, 6, (2, 3)), TensorSlot("a", "bias", 5, 7, (2,))], "overlap"),
        ([TensorSlot("a", "weight", 0, 5, (2, 3))], "holds 6"),
    ],
)
def test_layout_that_does_not_tile_is_refused(slots, message):
    with pytest.raises(LayoutError, match=message):
        FlatLayout(tuple(slots)).validate()


def test_layout_that_does_not_cover_the_row_is_refused():
    layout = FlatLayout.weight_then_bias([("a", (2, 3), (2,))])
    with pytest.raises(LayoutError, match="covers 8 parameters but each row has 10"):
        layout.validate(10)


def test_tf_conv_and_dense_convert_to_torch_order_and_back():
    rng = np.random.default_rng(0)
    conv_tf = rng.standard_normal((3, 3, 2, 5))  # HWIO
    dense_tf = rng.standard_normal((5, 7))  # (in, out)
    conv = TensorSlot("c", "weight", 0, conv_tf.size, conv_tf.shape, "tf")
    dense = TensorSlot("d", "weight", 0, dense_tf.size, dense_tf.shape, "tf")
    conv_torch = conv.to_torch_order(conv_tf.reshape(-1))
    assert conv_torch.shape == conv.torch_shape == (5, 2, 3, 3)
    assert conv_torch[4, 1, 0, 2] == conv_tf[0, 2, 1, 4]
    assert np.array_equal(dense.to_torch_order(dense_tf.reshape(-1)), dense_tf.T)
    assert np.array_equal(conv.from_torch_order(conv_torch), conv_tf.reshape(-1))
    assert np.array_equal(dense.from_torch_order(dense_tf.T), dense_tf.reshape(-1))


def test_rows_to_torch_order_matches_slot_conversion_for_a_batch():
    slots = (
        TensorSlot("l", "bias", 0, 3, (3,), "tf"),
        TensorSlot("l", "weight", 3, 9, (2, 3), "tf"),
    )
    layout = FlatLayout(slots)
    rows = np.arange(18, dtype=np.float32).reshape(2, 9)
    converted = layout.rows_to_torch_order(rows)
    for r in range(2):
        expected = np.concatenate([rows[r, 3:9].reshape(2, 3).T.reshape(-1), rows[r, :3]])
        assert np.array_equal(converted[r], expected)


def test_layout_csv_with_a_bad_shape_names_the_line(tmp_path):
    path = tmp_path / "layout.csv"
    pd.DataFrame(
        {
            "varname": ["net/conv2d/bias:0", "net/conv2d/kernel:0"],
            "start_idx": [0, 16],
            "end_idx": [16, 160],
            "shape": ["(16,)", "__import__('os')"],
        }
    ).to_csv(path, index=False)
    with pytest.raises(LayoutError, match="line 3: shape"):
        read_layout_csv(path)


def test_layout_csv_tolerates_extra_columns(tmp_path):
    path = tmp_path / "layout.csv"
    pd.DataFrame(
        {
            "Unnamed: 0": [0, 1],
            "varname": ["m/dense/bias:0", "m/dense/kernel:0"],
            "start_idx": [0, 2],
            "end_idx": [2, 8],
            "shape": ["(2,)", "(3, 2)"],
        }
    ).to_csv(path, index=False)
    layout = read_layout_csv(path)
    layout.validate(8)
    assert layout.layer_names == ("m/dense",)
    assert layout.slots_of("m/dense")["weight"].torch_shape == (2, 3)
