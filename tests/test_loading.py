import pytest

from nnenc import ZooFormatError
from nnenc.zoo import detect_format, load_zoo


def test_each_format_is_detected(
    small_cnn_zoo_dir, model_zoos_dir, checkpoint_folder_dir, tmp_path
):
    assert detect_format(small_cnn_zoo_dir) == "small-cnn-zoo"
    assert detect_format(model_zoos_dir) == "model-zoos"
    assert detect_format(checkpoint_folder_dir) == "checkpoint-folder"
    native = load_zoo(small_cnn_zoo_dir).save(tmp_path / "native")
    assert detect_format(native) == "native"


def test_an_unrecognised_folder_lists_what_was_looked_for(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ZooFormatError, match=r"not a zoo nnenc recognises.*Small CNN Zoo"):
        load_zoo(tmp_path)


def test_a_file_is_not_a_zoo(tmp_path):
    file = tmp_path / "weights.npy"
    file.write_bytes(b"")
    with pytest.raises(ZooFormatError, match="not a folder"):
        load_zoo(file)


def test_an_unknown_format_name_lists_the_known_ones(small_cnn_zoo_dir):
    with pytest.raises(ValueError, match="known: native, small-cnn-zoo"):
        load_zoo(small_cnn_zoo_dir, format="keras")
