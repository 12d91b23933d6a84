"""Bad input on the command line: each case a clear error naming the argument, key or file, with
no traceback and nothing written (each case failed on the code before these checks: accepted
silently, a traceback, or data overwritten)."""

from pathlib import Path

import pytest
import torch

from nnenc.cli import main


def _train(zoo: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--zoo", str(zoo), "--encoder", "sne", "--out", str(out), *extra]


@pytest.mark.parametrize(
    ("extra", "said"),
    [
        (["--set", "positional=maybe"], "option 'positional' of sne: must be true or false"),
        (["--set", "chunk_size=abc"], "option 'chunk_size' of sne: must be a whole number"),
        (["--epochs", "-3"], "epochs must be a whole number of at least 1, got -3"),
        (["--epochs", "0"], "epochs must be a whole number of at least 1, got 0"),
        (["--patience", "-1"], "patience must be a whole number of at least 1"),
        (["--batch-size", "0"], "batch_size must be a whole number of at least 1"),
        (["--target", "run_id"], "the column 'run_id' is text"),
        (["--device", "tpu"], "--device 'tpu': use cpu or cuda"),
    ],
)
def test_a_bad_training_argument_is_refused_naming_it(
    small_cnn_zoo_dir, tmp_path, capsys, extra, said
):
    out = tmp_path / "p"
    assert main(_train(small_cnn_zoo_dir, out, "--epochs", "1", *extra)) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert not out.exists()


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a torch without CUDA")
def test_device_cuda_on_a_cpu_only_torch_says_what_to_do(small_cnn_zoo_dir, tmp_path, capsys):
    assert main(_train(small_cnn_zoo_dir, tmp_path / "p", "--device", "cuda")) == 2
    assert "sees no CUDA GPU; use --device cpu" in capsys.readouterr().err


def test_train_never_writes_into_the_zoo_or_over_a_predictor(small_cnn_zoo_dir, tmp_path, capsys):
    before = sorted(p.name for p in small_cnn_zoo_dir.iterdir())
    assert main(_train(small_cnn_zoo_dir, small_cnn_zoo_dir / "p", "--epochs", "1")) == 2
    assert "lies inside" in capsys.readouterr().err
    assert sorted(p.name for p in small_cnn_zoo_dir.iterdir()) == before
    out = tmp_path / "p"
    args = ["--encoder", "statnn", "--epochs", "1"]
    assert main([*_train(small_cnn_zoo_dir, out), *args]) == 0
    config = (out / "config.json").read_bytes()
    assert main([*_train(small_cnn_zoo_dir, out), *args, "--seed", "3"]) == 2
    assert "holds files already" in capsys.readouterr().err
    assert (out / "config.json").read_bytes() == config
    assert main([*_train(small_cnn_zoo_dir, out), *args, "--seed", "3", "--overwrite"]) == 0


def test_predict_never_writes_over_the_table_it_reads(small_cnn_zoo_dir, tmp_path, capsys):
    model = tmp_path / "p"
    assert main([*_train(small_cnn_zoo_dir, model), "--encoder", "statnn", "--epochs", "1"]) == 0
    table = small_cnn_zoo_dir / "metrics.csv.gz"
    before = table.read_bytes()
    args = ["predict", "--model", str(model), "--zoo", str(small_cnn_zoo_dir), "--out"]
    assert main([*args, str(table)]) == 2
    assert "lies inside" in capsys.readouterr().err and table.read_bytes() == before
    assert main([*args, str(model / "config.json")]) == 2
    assert main([*args, str(tmp_path / "predictions.csv")]) == 0


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("trainig: {epochs: 3}\n", "unknown key 'trainig' (did you mean 'training'?)"),
        ("encoders: {sne: {confg: {}}}\n", "unknown key 'encoders.sne.confg'"),
        ("seeds: [zero]\n", "seeds must list whole numbers"),
        ("split: 0.5\n", "split must list three fractions"),
        ("training: {epochs: three}\n", "training: epochs must be a whole number"),
        ("- a\n- b\n", "a preset is a mapping of keys"),
        ("seeds: [0\n", "not valid YAML"),
    ],
)
def test_a_bad_preset_is_refused_before_anything_is_written(tmp_path, capsys, text, said):
    preset = tmp_path / "bad.yaml"
    preset.write_text(("extends: quick\n" if not text.startswith("-") else "") + text)
    out = tmp_path / "results"
    assert main(["bench", "in-dist", "--preset", str(preset), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert not out.exists()


def test_a_space_that_is_not_yaml_names_its_file(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("learning_rate: [0.1\n")
    args = ["zoo", "build", "--dataset", "digits", "--arch", "mlp", "--runs", "2", "--epochs", "1"]
    assert main([*args, "--out", str(tmp_path / "zoo"), "--space", str(space)]) == 2
    assert f"{space}: the hyperparameter space is not valid YAML" in capsys.readouterr().err
    assert not (tmp_path / "zoo").exists()


def test_an_interrupt_says_the_command_resumes_instead_of_a_traceback(monkeypatch, capsys):
    import nnenc.cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(nnenc.cli, "_encoders", interrupted)
    assert main(["encoders"]) == 130
    assert "interrupted; what finished is kept" in capsys.readouterr().err


def test_a_refused_write_is_a_sentence_not_a_traceback(monkeypatch, capsys, tmp_path):
    """Root can write to read-only folders, so the refusal is simulated where nnenc writes."""
    import nnenc.cli

    def refused(args):
        raise PermissionError(13, "Permission denied", str(tmp_path / "out" / "scores.json"))

    monkeypatch.setattr(nnenc.cli, "_zoo_info", refused)
    assert main(["zoo", "info", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"cannot write {tmp_path / 'out' / 'scores.json'}: permission denied" in err
    assert "Traceback" not in err


def test_warnings_in_worker_processes_read_as_sentences(capfd):
    """A benchmark's jobs run in worker processes; their warnings printed as raw
    ``UserWarning`` lines with nnenc's source paths before."""
    import warnings

    from nnenc.tasks import run_tasks

    list(run_tasks(warnings.warn, [("a sample of what a job says",)] * 2, workers=2))
    err = capfd.readouterr().err
    assert "nnenc: warning: a sample of what a job says" in err and "UserWarning" not in err
