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
