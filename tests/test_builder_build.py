"""Building zoos: planning, determinism, resuming after SIGKILL, Ray, and refusing bad input."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from nnenc import load_zoo
from nnenc.builder.build import CHUNK_KEYS, BuildConfig, build_zoo, plan_shards
from nnenc.cli import main

TINY = {"dataset": "digits", "architecture": "mlp", "runs": 10, "epochs": 1, "chunk_size": 3}


def _same_zoo(a, b):
    for name in ("weights/mlp.npy",):
        assert np.array_equal(np.load(a / name), np.load(b / name), equal_nan=True)
    pd.testing.assert_frame_equal(
        pd.read_csv(a / "metrics.csv.gz"), pd.read_csv(b / "metrics.csv.gz")
    )


def test_plan_covers_every_run_once_in_homogeneous_chunks():
    config = BuildConfig("digits", "cnn-small", runs=200, epochs=2, chunk_size=8)
    shards = plan_shards(config)
    runs = np.concatenate([s.runs["run_index"].to_numpy() for s in shards])
    assert sorted(runs) == list(range(200))
    for shard in shards:
        assert 1 <= len(shard.runs) <= 8
        assert all(shard.runs[key].nunique() == 1 for key in CHUNK_KEYS)
    assert [s.id for s in shards] == sorted(s.id for s in shards)


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path):
    config = BuildConfig(**TINY)
    a = build_zoo(config, tmp_path / "a", workers=1, progress=False)
    b = build_zoo(config, tmp_path / "b", workers=2, progress=False)
    _same_zoo(a, b)
    c = build_zoo(BuildConfig(**{**TINY, "seed": 1}), tmp_path / "c", workers=1, progress=False)
    assert not np.array_equal(np.load(a / "weights/mlp.npy"), np.load(c / "weights/mlp.npy"))


def test_a_built_zoo_has_one_row_per_checkpoint_with_metrics(tmp_path):
    config = BuildConfig(**{**TINY, "epochs": 2, "checkpoints": (0, 2)})
    zoo = load_zoo(build_zoo(config, tmp_path / "z", workers=1, progress=False))
    assert len(zoo) == 20 and zoo.metrics["run_id"].nunique() == 10
    assert zoo.metrics["model_id"].is_unique
    expected = {
        "test_accuracy",
        "test_accuracy_half1",
        "test_accuracy_half2",
        "train_accuracy",
        "train_loss",
        "test_loss",
        "activation",
        "optimizer",
        "learning_rate",
        "l2",
        "dropout",
        "train_fraction",
        "w_init",
        "init_std",
        "finite",
        "status",
        "dataset",
    }
    assert expected <= set(zoo.metrics.columns)
    assert zoo.info["build"]["config"]["dataset"] == "digits"
    summary = zoo.summary()
    assert summary["epochs"] == [0, 2] and summary["test_accuracy"]["max"] > 0.3


def test_a_build_killed_midway_resumes_to_the_same_zoo(tmp_path):
    args = [
        "--dataset",
        "digits",
        "--arch",
        "mlp",
        "--runs",
        "24",
        "--epochs",
        "2",
        "--chunk-size",
        "1",
        "--workers",
        "1",
    ]
    reference = tmp_path / "reference"
    assert main(["zoo", "build", *args, "--out", str(reference)]) == 0

    out = tmp_path / "killed"
    command = [sys.executable, "-m", "nnenc.cli", "zoo", "build", *args, "--out", str(out)]
    process = subprocess.Popen(command, start_new_session=True, stderr=subprocess.DEVNULL)
    shards = out / "shards"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if (
            shards.exists()
            and len([p for p in shards.iterdir() if not p.name.startswith(".")]) >= 3
        ):
            break
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert not (out / "manifest.json").exists(), "the build finished before it could be killed"
    written = len([p for p in shards.iterdir() if not p.name.startswith(".")])
    assert 3 <= written < 24

    assert main(["zoo", "build", *args, "--out", str(out)]) == 0
    _same_zoo(reference, out)
    zoo = load_zoo(out)
    assert len(zoo) == 24 * 3 and zoo.metrics["model_id"].is_unique


def test_shards_run_as_ray_tasks_on_a_local_instance(tmp_path):
    ray = pytest.importorskip("ray")
    config = BuildConfig(**TINY)
    local = build_zoo(config, tmp_path / "local", workers=1, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        on_ray = build_zoo(config, tmp_path / "ray", ray_address="auto", progress=False)
    finally:
        ray.shutdown()
    _same_zoo(local, on_ray)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--dataset", "cifar100", "--arch", "mlp"], "unknown dataset 'cifar100'; valid: mnist"),
        (["--dataset", "digits", "--arch", "vit"], "unknown architecture 'vit'; valid: "),
        (
            ["--dataset", "digits", "--arch", "mlp", "--checkpoints", "0,9"],
            "checkpoints must lie in 0..1",
        ),
        (
            ["--dataset", "digits", "--arch", "cnn-small", "--resolution", "12"],
            "resolution 12 is too small for architecture 'cnn-small'",
        ),
        (
            ["--dataset", "digits", "--arch", "mlp", "--resolution", "16"],
            "takes 28 x 28 images",
        ),
    ],
)
def test_bad_build_options_are_refused_before_anything_is_written(
    tmp_path, capsys, options, message
):
    out = tmp_path / "z"
    assert main(["zoo", "build", *options, "--runs", "2", "--epochs", "1", "--out", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_unsatisfiable_space_file_is_refused_before_training(tmp_path, capsys):
    space = tmp_path / "space.yaml"
    space.write_text("train_fraction: [0.01]\noptimizer: [sgd, lbfgs]\n")
    out = tmp_path / "z"
    code = main(
        [
            "zoo",
            "build",
            "--dataset",
            "digits",
            "--arch",
            "mlp",
            "--runs",
            "2",
            "--epochs",
            "1",
            "--out",
            str(out),
            "--space",
            str(space),
        ]
    )
    err = capsys.readouterr().err
    assert (
        code == 2
        and "cannot be satisfied" in err
        and "lbfgs" in err
        and "fewer than one batch" in err
    )
    assert not out.exists()
