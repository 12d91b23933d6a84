import json

import pandas as pd

from nnenc.cli import main


def test_zoo_info_reports_counts_spread_and_diverged(small_cnn_zoo_dir, capsys):
    assert main(["zoo", "info", str(small_cnn_zoo_dir)]) == 0
    out = capsys.readouterr().out
    assert "54 stored checkpoints from 6 runs" in out
    assert "cnn-small: 54 networks x 4970 parameters" in out
    assert "1 networks with non-finite weights" in out
    acc = pd.read_csv(small_cnn_zoo_dir / "metrics.csv.gz")["test_accuracy"]
    assert f"max {acc.max():.3f}" in out


def test_zoo_info_json_is_machine_readable(model_zoos_dir, capsys):
    assert main(["zoo", "info", "--json", str(model_zoos_dir)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "model-zoos"
    assert summary["networks"] == 9 and summary["missing_test_accuracy"] == 3


def test_bad_input_exits_2_with_the_path_in_the_message(tmp_path, capsys):
    assert main(["zoo", "info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("nnenc: error: ") and str(tmp_path) in err


def test_train_then_predict_from_the_command_line(tmp_path, capsys):
    from nnenc.zoo.synthetic import write_checkpoint_folder, write_small_cnn_zoo

    zoo = write_small_cnn_zoo(tmp_path / "zoo", runs=12, seed=2)
    model = tmp_path / "model"
    options = ["--set", "hidden=16", "--set", "heads=2", "--set", "chunk_size=16"]
    assert main(["train", "--zoo", str(zoo), "--out", str(model), "--epochs", "2", *options]) == 0
    out = capsys.readouterr().out
    assert "Small CNN Zoo protocol" in out and "test  kendall_tau" in out
    assert {p.name for p in model.iterdir()} == {
        "config.json",
        "weights.safetensors",
        "scores.json",
    }

    csv = tmp_path / "predictions.csv"
    assert main(["predict", "--model", str(model), "--zoo", str(zoo), "--out", str(csv)]) == 0
    out = capsys.readouterr().out
    assert "kendall_tau" in out and csv.exists()

    folder = write_checkpoint_folder(tmp_path / "ckpts", networks=1)
    assert (
        main(
            ["predict", "--model", str(model), "--checkpoint", str(folder / "net_0000.safetensors")]
        )
        == 0
    )
    assert "predicted test_accuracy:" in capsys.readouterr().out


def test_predict_with_a_missing_model_says_what_is_expected(tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path), "--zoo", str(tmp_path)]) == 2
    assert "expected config.json and weights.safetensors" in capsys.readouterr().err
