import pandas as pd
import pytest
import torch

from nnenc import ZooFormatError, get_architecture, load_zoo
from nnenc.zoo.synthetic import write_checkpoint_folder


@pytest.mark.parametrize("suffix", [".safetensors", ".pt"])
def test_checkpoints_load_with_their_metrics_and_run_as_modules(tmp_path, suffix):
    path = write_checkpoint_folder(tmp_path / "f", networks=4, suffix=suffix)
    zoo = load_zoo(path)
    table = pd.read_csv(path / "metrics.csv")
    assert list(zoo.metrics["test_accuracy"]) == pytest.approx(list(table["test_accuracy"]))
    assert zoo.architectures == ["cnn-small"]
    assert zoo.metrics["run_id"].nunique() == 2
    module = zoo[1].to_module()
    assert module(torch.zeros(1, 1, 28, 28)).shape == (1, 10)


def test_architecture_is_recognised_from_shapes_without_a_column(tmp_path):
    path = write_checkpoint_folder(tmp_path / "f", networks=2, architecture="cnn-dense")
    table = pd.read_csv(path / "metrics.csv").drop(columns=["architecture"])
    table.to_csv(path / "metrics.csv", index=False)
    zoo = load_zoo(path)
    assert zoo.architectures == ["cnn-dense"]
    assert zoo[0].num_params == get_architecture("cnn-dense").num_params


def test_a_missing_checkpoint_names_the_csv_line(checkpoint_folder_dir):
    (checkpoint_folder_dir / "net_0002.safetensors").unlink()
    with pytest.raises(ZooFormatError, match=r"metrics\.csv: line 4: checkpoint 'net_0002"):
        load_zoo(checkpoint_folder_dir)


def test_missing_columns_are_named(checkpoint_folder_dir):
    table = pd.read_csv(checkpoint_folder_dir / "metrics.csv").drop(columns=["test_accuracy"])
    table.to_csv(checkpoint_folder_dir / "metrics.csv", index=False)
    with pytest.raises(ZooFormatError, match=r"missing column.*test_accuracy"):
        load_zoo(checkpoint_folder_dir)


def test_a_corrupt_safetensors_file_is_named(checkpoint_folder_dir):
    (checkpoint_folder_dir / "net_0001.safetensors").write_bytes(b"\x00" * 20)
    with pytest.raises(
        ZooFormatError, match=r"net_0001\.safetensors: not a (readable )?safetensors"
    ):
        load_zoo(checkpoint_folder_dir)
