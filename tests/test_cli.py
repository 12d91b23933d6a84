import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

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


def test_help_imports_neither_torch_nor_pandas_nor_scikit_learn():
    """Before: every command, --help included, took 10-13 s to start (torch, scikit-learn and
    pyplot through the analysis entry point). Timings: README, "Command line"."""
    code = (
        "import sys\nfrom nnenc.cli import build_parser\nbuild_parser()\n"
        "print(sorted(m for m in ('torch', 'pandas', 'sklearn', 'matplotlib') if m in sys.modules))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip() == "[]", out.stderr


def test_version_and_the_encoders_and_their_options_are_listed(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0 and capsys.readouterr().out.startswith("nnenc ")
    assert main(["encoders"]) == 0
    out = capsys.readouterr().out
    assert "sne: " in out and "--set chunk_size=...  (default 32)" in out
    assert "statnn: " in out and "gmn: " in out


def test_a_mistyped_option_gets_the_closest_one(tmp_path, capsys):
    """Before: ``--set chunk_sise=16`` ended in a raw TypeError traceback."""
    from nnenc.zoo.synthetic import write_small_cnn_zoo

    zoo = write_small_cnn_zoo(tmp_path / "zoo", runs=4, seed=2)
    argv = ["train", "--zoo", str(zoo), "--out", str(tmp_path / "m"), "--set", "chunk_sise=16"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "unknown option 'chunk_sise' for sne; did you mean 'chunk_size'?" in err


def test_train_takes_a_split_warns_on_small_splits_and_gives_an_interval(tmp_path, capsys):
    """Before: a 48-run zoo gave a validation R^2 of -19.56 on 20 networks without a word."""
    from nnenc.zoo.synthetic import write_checkpoint_folder

    zoo = write_checkpoint_folder(tmp_path / "ckpt", networks=24)
    argv = ["train", "--zoo", str(zoo), "--out", str(tmp_path / "m"), "--encoder", "statnn",
            "--epochs", "1", "--split", "0.5,0.25,0.25", "--split-seed", "3"]  # fmt: skip
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "50/25/25 split by training run, seed 3: train 12, val 6, test 6" in out
    assert "warning: the test split holds 6 networks from 3 runs" in out
    assert re.search(r"test  kendall_tau -?\d\.\d{4} \[-?\d\.\d{4}, -?\d\.\d{4}\]", out)
    with pytest.raises(SystemExit):
        main([*argv[:-4], "--split", "0.5,0.6,0.2"])
    assert "three fractions that sum to 1" in capsys.readouterr().err


@pytest.fixture(scope="module")
def sne_model(tmp_path_factory):
    """An SNE predictor trained (2 epochs) on a 12-run zoo in the Small CNN Zoo layout."""
    from nnenc.zoo.synthetic import write_small_cnn_zoo

    root = tmp_path_factory.mktemp("sne-model")
    zoo = write_small_cnn_zoo(root / "zoo", runs=12, seed=2)
    options = ["--set", "hidden=16", "--set", "heads=2", "--set", "chunk_size=16"]
    argv = ["train", "--zoo", str(zoo), "--out", str(root / "model"), "--epochs", "2", *options]
    assert main(argv) == 0
    return root / "model", zoo


def test_a_saved_predictor_records_what_it_was_trained_on(sne_model):
    model, _ = sne_model
    provenance = json.loads((model / "config.json").read_text())["provenance"]
    assert provenance["zoo"]["name"] == "zoo" and provenance["zoo"]["format"] == "small-cnn-zoo"
    assert len(provenance["zoo"]["metrics_sha256"]) == 64
    assert provenance["architectures"] == ["cnn-small"]
    # the Small CNN Zoo protocol: final epoch, the first 6 runs cut 80/20 into train/val
    assert provenance["networks"] == {"train": 5, "val": 1} and provenance["runs"]["train"] == 5
    low, high = provenance["target_range"]
    assert 0 <= low < high <= 1
    assert len(provenance["domain"]["signatures"]) == 1


def test_predict_warns_on_networks_unlike_its_training_set_and_refuses_under_strict(
    sne_model, tmp_path, capsys
):
    """Before: an MLP checkpoint got "predicted test_accuracy: 0.3331" from a cnn-small SNE, and
    a network whose every weight is 100 got 0.998, both without a word."""
    import torch
    from safetensors.torch import save_file

    from nnenc import get_architecture
    from nnenc.zoo.synthetic import write_checkpoint_folder

    model, zoo = sne_model
    mlp = write_checkpoint_folder(tmp_path / "mlp", networks=1, architecture="mlp")
    checkpoint = ["predict", "--model", str(model), "--checkpoint"]
    capsys.readouterr()
    assert main([*checkpoint, str(mlp / "net_0000.safetensors")]) == 0
    captured = capsys.readouterr()
    assert "predicted test_accuracy:" in captured.out
    assert (
        "the network is outside what the predictor was trained on (an architecture never"
        in captured.err
    )
    assert "featurizing" in captured.err  # the progress bar
    assert main([*checkpoint, str(mlp / "net_0000.safetensors"), "--strict"]) == 2
    assert "refused under --strict" in capsys.readouterr().err

    hundreds = {k: torch.full_like(v, 100.0) for k, v in get_architecture("cnn-small").build().state_dict().items()}  # fmt: skip
    save_file(hundreds, tmp_path / "hundreds.safetensors")
    assert main([*checkpoint, str(tmp_path / "hundreds.safetensors")]) == 0
    assert "log10_max_abs 2 outside the training range" in capsys.readouterr().err

    from nnenc import load_zoo
    from nnenc.zoo.checkpoints import save_state_dict

    save_state_dict(load_zoo(zoo)[0].state_dict(), tmp_path / "same.safetensors")
    assert main([*checkpoint, str(tmp_path / "same.safetensors"), "--strict"]) == 0
    assert "outside" not in capsys.readouterr().err


def test_a_model_folder_one_file_or_sharded_is_a_checkpoint(sne_model, tmp_path, capsys):
    """Before: ``--checkpoint`` on a folder failed with "[Errno 21] Is a directory"."""
    from safetensors.torch import save_file

    from nnenc import get_architecture
    from nnenc.zoo.checkpoints import load_network

    state = get_architecture("cnn-small").build().state_dict()
    one = tmp_path / "one"
    one.mkdir()
    save_file(dict(state), one / "model.safetensors")
    (one / "config.json").write_text("{}")
    sharded = tmp_path / "sharded"
    sharded.mkdir()
    keys = list(state)
    weight_map = {}
    for i, part in enumerate((keys[:3], keys[3:])):
        name = f"model-0000{i + 1}-of-00002.safetensors"
        save_file({k: state[k] for k in part}, sharded / name)
        weight_map.update(dict.fromkeys(part, name))
    (sharded / "model.safetensors.index.json").write_text(json.dumps({"weight_map": weight_map}))
    for folder in (one, sharded):
        network = load_network(folder)
        assert [la.name for la in network.layers] == ["convs.0", "convs.1", "convs.2", "dense.0"]
    model, _ = sne_model
    assert main(["predict", "--model", str(model), "--checkpoint", str(sharded)]) == 0
    assert "predicted test_accuracy:" in capsys.readouterr().out


def test_zoo_info_on_a_native_zoo_does_not_import_torch(tmp_path):
    """Reading a native zoo's manifest, table and weights needs numpy and pandas, not torch
    (``nnenc zoo info`` went from 4.5-5.7 s to 0.8 s; README, "Command line")."""
    import numpy as np

    from nnenc import get_architecture
    from nnenc.zoo import ZooWriter

    arch = get_architecture("mlp")
    with ZooWriter(tmp_path / "zoo", "z", {"mlp": arch}) as writer:
        metrics = pd.DataFrame(
            {"model_id": ["a", "b"], "run_id": ["a", "b"], "architecture": "mlp", "row": [0, 1],
             "epoch": 0, "test_accuracy": [0.5, 0.7]}
        )  # fmt: skip
        writer.write_shard("0", metrics, {"mlp": np.zeros((2, arch.num_params), np.float32)})
        writer.finalize()
    code = (
        "import sys\nfrom nnenc.cli import main\n"
        f"assert main(['zoo', 'info', {str(tmp_path / 'zoo')!r}]) == 0\n"
        "print('torch' in sys.modules)"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert out.stdout.strip().endswith("False"), out.stderr
    assert "2 stored checkpoints from 2 runs" in out.stdout
