"""A bad-input campaign against the command line: more than a hundred cases across zoo info,
train, predict, zoo build, bench and report, each run in-process through ``nnenc.cli.main``.

Every case expects either a correct load (exit 0, and stdout says what it should) or a clear
error (a non-zero exit, no traceback, stderr naming the file, row or argument). The files a case
reads are fingerprinted before and after: a changed one is "data lost". The outcome of each case
falls in one class:

    correct load | clear error | silent wrong result | traceback | unhelpful error | data lost

``tests/test_campaign.py`` asserts that every case is a correct load or a clear error. Run as a
script, it prints the count table (and each failing case):

    python tests/campaign.py [--only KIND]
"""

from __future__ import annotations

import argparse
import contextlib
import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import sys
import tempfile
import threading
import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from nnenc.zoo.synthetic import write_checkpoint_folder, write_model_zoos, write_small_cnn_zoo

OUTCOMES = (
    "correct load",
    "clear error",
    "silent wrong result",
    "traceback",
    "unhelpful error",
    "data lost",
)
TIME_LIMIT = int(os.environ.get("NNENC_CAMPAIGN_TIME_LIMIT", "120"))
"""Seconds a case may run: one that starts real work instead of refusing is stopped and called a
silent wrong result."""


@dataclass(frozen=True)
class Case:
    name: str
    kind: str
    argv: Callable[[Path], list[str]]
    """The command line, given the case's own folder (the shared zoos are copied into it)."""
    said: str
    """What stderr must say (an error) or stdout must say (a load)."""
    load: bool = False


# --- the files a case starts from ----------------------------------------------------------------


def make_workspace(root: Path) -> Path:
    """The shared inputs: a Small CNN Zoo, its native copy, a checkpoint folder, a Model Zoos
    folder and a trained predictor (STATNN, one epoch)."""
    from nnenc import load_zoo
    from nnenc.cli import main

    root.mkdir(parents=True, exist_ok=True)
    write_small_cnn_zoo(root / "scz", runs=40, progress=False)
    load_zoo(root / "scz").save(root / "native")
    write_checkpoint_folder(root / "ckpt", networks=6)
    write_checkpoint_folder(root / "ckpt-pt", networks=6, suffix=".pt")
    write_model_zoos(root / "mz")
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        trained = main(
            [
                "train",
                "--zoo",
                str(root / "scz"),
                "--encoder",
                "statnn",
                "--epochs",
                "1",
                "--out",
                str(root / "model"),
            ]
        )
    assert trained == 0, "the campaign's predictor did not train"
    return root


def _copy(workspace: Path, name: str, folder: Path) -> Path:
    target = folder / name
    if not target.exists():
        shutil.copytree(workspace / name, target)
    return target


def _metrics(zoo: Path) -> pd.DataFrame:
    return pd.read_csv(zoo / "metrics.csv.gz")


def _write_metrics(zoo: Path, table: pd.DataFrame) -> None:
    with gzip.open(zoo / "metrics.csv.gz", "wt") as out:
        table.to_csv(out, index=False)


def _scz_with(column: str, values: Callable[[pd.Series], pd.Series]):
    """A Small CNN Zoo whose ``column`` is changed by ``values``."""

    def prepare(folder: Path) -> Path:
        zoo = _copy(WORKSPACE, "scz", folder)
        table = _metrics(zoo)
        table[column] = values(table[column])
        _write_metrics(zoo, table)
        return zoo

    return prepare


def _ragged_scz(folder: Path) -> Path:
    """A Small CNN Zoo whose runs end at different steps: each run's checkpoints after its own
    last step are removed (rows and weights)."""
    zoo = _copy(WORKSPACE, "scz", folder)
    table = _metrics(zoo)
    weights = np.load(zoo / "weights.npy", allow_pickle=False)
    runs = sorted(table["modeldir"].unique())
    last = {run: (20, 40, 60, 86)[i % 4] for i, run in enumerate(runs)}
    keep = table["step"] <= table["modeldir"].map(last)
    np.save(zoo / "weights.npy", weights[keep.to_numpy()])
    _write_metrics(zoo, table[keep])
    return zoo


def _sealed_json(copy: str, file: str, change: Callable[[dict], None], reseal: bool = True):
    """A copy of the workspace's ``copy`` whose sealed JSON ``file`` is changed, and sealed again
    (as someone who knows the format would) unless ``reseal`` is false."""

    def prepare(folder: Path) -> Path:
        from nnenc.io.seals import SEAL, seal

        target = _copy(WORKSPACE, copy, folder)
        document = json.loads((target / file).read_text())
        change(document)
        if reseal:
            document = seal({k: v for k, v in document.items() if k != SEAL})
        (target / file).write_text(json.dumps(document))
        return target

    return prepare


def _native_manifest(change: Callable[[dict], None], reseal: bool = True):
    return _sealed_json("native", "manifest.json", change, reseal)


def _model_config(change: Callable[[dict], None], reseal: bool = True):
    return _sealed_json("model", "config.json", change, reseal)


def _native_weights(change: Callable[[np.ndarray], None]):
    def prepare(folder: Path) -> Path:
        zoo = _copy(WORKSPACE, "native", folder)
        (path,) = [p for p in (zoo / "weights").glob("*.npy") if ".crc32" not in p.name]
        array = np.load(path, mmap_mode="r+")
        change(array)
        array.flush()
        return zoo

    return prepare


def _checkpoint(change: Callable[[dict], dict], metadata: Callable[[dict], dict] | None = None):
    """A checkpoint folder whose first file's tensors (or metadata) are changed."""

    def prepare(folder: Path) -> Path:
        from safetensors import safe_open
        from safetensors.torch import load_file, save_file

        zoo = _copy(WORKSPACE, "ckpt", folder)
        path = zoo / "net_0000.safetensors"
        with safe_open(str(path), "pt") as handle:
            meta = dict(handle.metadata() or {})
        tensors = change(load_file(path))
        save_file(tensors, path, metadata=metadata(meta) if metadata else meta)
        return zoo

    return prepare


def _file(name: str, text: str) -> Callable[[Path], Path]:
    def prepare(folder: Path) -> Path:
        (folder / name).write_text(text)
        return folder / name

    return prepare


# --- the cases ------------------------------------------------------------------------------------


def _info(prepare, said: str, load: bool = False, name: str = "", kind: str = "reader") -> Case:
    return Case(name, kind, lambda f: ["zoo", "info", str(prepare(f))], said, load)


def _train_args(extra: list[str], zoo=None) -> Callable[[Path], list[str]]:
    def argv(folder: Path) -> list[str]:
        source = zoo(folder) if zoo else _copy(WORKSPACE, "scz", folder)
        base = ["train", "--zoo", str(source), "--encoder", "statnn", "--epochs", "1"]
        return [*base, "--out", str(folder / "out"), *extra]

    return argv


def _predict_args(extra: list[str], model=None, zoo=None) -> Callable[[Path], list[str]]:
    def argv(folder: Path) -> list[str]:
        source = model(folder) if model else _copy(WORKSPACE, "model", folder)
        target = zoo(folder) if zoo else _copy(WORKSPACE, "scz", folder)
        return ["predict", "--model", str(source), "--zoo", str(target), *extra]

    return argv


def _build_args(extra: list[str], space: str | None = None) -> Callable[[Path], list[str]]:
    def argv(folder: Path) -> list[str]:
        base = ["zoo", "build", "--dataset", "digits", "--arch", "mlp", "--runs", "2"]
        base += ["--epochs", "1", "--out", str(folder / "zoo")]
        if space is not None:
            base += ["--space", str(_file("space.yaml", space)(folder))]
        return [*base, *extra]

    return argv


def _bench_args(preset: str, experiments: tuple[str, ...] = ("in-dist",)):
    def argv(folder: Path) -> list[str]:
        path = _file("preset.yaml", preset)(folder)
        out = ["--out", str(folder / "results"), "--zoo-cache", str(folder / "cache")]
        return ["bench", *experiments, "--preset", str(path), *out]

    return argv


def _report_args(meta: str | None, extra: tuple[str, ...] = ()):
    def argv(folder: Path) -> list[str]:
        results = folder / "results"
        results.mkdir()
        if meta is not None:
            (results / "meta.json").write_text(meta)
        return ["report", str(results), *extra]

    return argv


def cases() -> list[Case]:
    found: list[Case] = []
    add = found.append

    # 1. final checkpoints, per run, in every format
    add(
        Case(
            "ragged steps: train uses each run's own final checkpoint",
            "final checkpoints",
            _train_args([], _ragged_scz),
            "40 networks of 40 runs",
            load=True,
        )
    )
    add(
        Case(
            "ragged steps: zoo info counts every run",
            "final checkpoints",
            lambda f: ["zoo", "info", str(_ragged_scz(f))],
            "from 40 runs",
            load=True,
        )
    )
    add(
        Case(
            "checkpoint folder: train says what it used",
            "final checkpoints",
            lambda f: [
                "train",
                "--zoo",
                str(_copy(WORKSPACE, "ckpt", f)),
                "--encoder",
                "statnn",
                "--epochs",
                "1",
                "--out",
                str(f / "out"),
            ],
            "networks",
            load=False,
        )
    )  # 3 runs: too few to split, refused naming the count

    # 2. every reader through the same metric checks
    for value, said in (
        (np.inf, "outside [0, 100]"),
        (-0.3, "outside [0, 100]"),
        (170.0, "outside [0, 100]"),
        ("high", "not numbers"),
        (1.7, "mixes fractions"),
    ):

        def one(series, value=value):
            series = series.astype(object)
            series.iloc[3] = value
            return series

        add(
            _info(
                _scz_with("test_accuracy", one),
                said,
                name=f"small cnn zoo: test_accuracy {value!r}",
            )
        )
    add(
        _info(
            _scz_with("test_accuracy", lambda s: s * 100),
            "median 0.",
            load=True,
            name="small cnn zoo: percentages rescaled",
        )
    )
    add(
        _info(
            _scz_with("train_accuracy", lambda s: s * -1),
            "train_accuracy",
            name="small cnn zoo: negative train_accuracy",
        )
    )

    def ckpt_metrics(change):
        def prepare(folder):
            zoo = _copy(WORKSPACE, "ckpt", folder)
            table = pd.read_csv(zoo / "metrics.csv")
            change(table)
            table.to_csv(zoo / "metrics.csv", index=False)
            return zoo

        return prepare

    for value in (np.inf, -0.3, 1.7, 250.0):

        def one(t, value=value):
            t.loc[1, "test_accuracy"] = value

        add(
            _info(
                ckpt_metrics(one), "test_accuracy", name=f"checkpoint folder: test_accuracy {value}"
            )
        )
    add(
        _info(
            ckpt_metrics(lambda t: t.__setitem__("test_accuracy", t["test_accuracy"] * 100)),
            "median 0.",
            load=True,
            name="checkpoint folder: percentages rescaled",
        )
    )
    add(
        _info(
            ckpt_metrics(lambda t: t.__setitem__("file", ["../x.safetensors", *t["file"][1:]])),
            "outside",
            name="checkpoint folder: a file outside the folder",
        )
    )
    add(
        _info(
            ckpt_metrics(lambda t: t.pop("test_accuracy")),
            "test_accuracy",
            name="checkpoint folder: no test_accuracy column",
        )
    )
    add(
        _info(
            ckpt_metrics(lambda t: t.pop("epoch")),
            "not recorded",
            load=True,
            name="checkpoint folder: no epoch column",
        )
    )
    add(
        _info(
            ckpt_metrics(
                lambda t: setattr(t, "columns", [c.replace("epoch", "epochs") for c in t.columns])
            ),
            "epochs:         0, 1",
            load=True,
            name="checkpoint folder: an epochs column",
        )
    )
    add(
        _info(
            ckpt_metrics(lambda t: t.__setitem__("file", t["file"].iloc[0])),
            "same checkpoint file",
            name="checkpoint folder: one file twice",
        )
    )

    def mz_result(change):
        def prepare(folder):
            zoo = _copy(WORKSPACE, "mz", folder)
            result = sorted(zoo.glob("*/result.json"))[0]
            lines = [json.loads(line) for line in result.read_text().splitlines()]
            change(lines)
            result.write_text("".join(json.dumps(line) + "\n" for line in lines))
            return zoo

        return prepare

    add(
        _info(
            mz_result(lambda lines: lines[-1].__setitem__("test_acc", 170.0)),
            "test_accuracy",
            name="model zoos: test_acc 170",
        )
    )
    add(
        _info(
            mz_result(lambda lines: lines[-1].__setitem__("test_acc", -1)),
            "test_accuracy",
            name="model zoos: test_acc -1",
        )
    )
    add(
        _info(lambda f: _copy(WORKSPACE, "mz", f), "networks:", load=True, name="model zoos: reads")
    )

    # 3. damage that must not pass
    from nnenc.io.seals import SEAL

    add(
        _info(
            _native_manifest(lambda m: m.pop(SEAL), reseal=False),
            "has no 'sha256' checksum",
            name="native: manifest seal deleted",
            kind="damage",
        )
    )
    add(
        _info(
            _native_manifest(lambda m: [e.pop("checksums") for e in m["architectures"].values()]),
            "names no row checksums",
            name="native: row checksums deleted",
            kind="damage",
        )
    )
    add(
        _info(
            _native_manifest(lambda m: m.__setitem__("name", "other"), reseal=False),
            "damaged",
            name="native: manifest edited, seal kept",
            kind="damage",
        )
    )
    add(
        _info(
            _native_weights(lambda a: a.__setitem__((0, 3), 1e30)),
            "do not match",
            name="native: a weight set to 1e30",
            kind="damage",
        )
    )
    add(
        _info(
            _native_weights(lambda a: a.__setitem__(slice(0, 2), a[[1, 0]])),
            "do not match",
            name="native: two weight rows swapped",
            kind="damage",
        )
    )
    add(
        _info(
            _native_manifest(lambda m: m.__setitem__("format_version", 99)),
            "upgrade nnenc",
            name="native: a newer format version",
            kind="damage",
        )
    )
    add(
        _info(
            lambda f: (
                _file("manifest.json", '{"format": "nnenc-zoo", "form')(
                    _copy(WORKSPACE, "native", f)
                ).parent
            ),
            "manifest",
            name="native: manifest cut short",
            kind="damage",
        )
    )

    def renamed(tensors):
        key = next(k for k in tensors if k.endswith("bias"))
        tensors[key.replace("bias", "bics")] = tensors.pop(key)
        return tensors

    def flattened(tensors):
        key = [k for k in tensors if k.endswith("weight")][1]
        tensors[key] = tensors[key].reshape(-1).contiguous()
        return tensors

    add(
        _info(
            _checkpoint(renamed),
            "neither a layer's weight or bias",
            kind="damage",
            name="safetensors: a bit-flipped key (bias -> bics)",
        )
    )
    add(
        _info(
            _checkpoint(flattened),
            "does not chain",
            kind="damage",
            name="safetensors: a conv weight flattened to 1-d",
        )
    )
    add(
        _info(
            _checkpoint(
                lambda t: t,
                lambda m: {
                    **m,
                    "nnenc.layer_order": ",".join(reversed(m["nnenc.layer_order"].split(","))),
                },
            ),
            "does not chain",
            kind="damage",
            name="safetensors: a stored layer order that does not chain",
        )
    )
    add(
        _info(
            _checkpoint(
                lambda t: {**t, "extra.running_mean": t[next(iter(t))].flatten()[:4].clone()}
            ),
            "networks:",
            load=True,
            kind="damage",
            name="safetensors: a norm buffer is skipped, not a failure",
        )
    )

    def flattened_pt(folder):
        import torch

        zoo = _copy(WORKSPACE, "ckpt-pt", folder)
        path = zoo / "net_0000.pt"
        torch.save(flattened(torch.load(path, weights_only=True)), path)
        return zoo

    add(_info(flattened_pt, "1-d weight", kind="damage", name=".pt: a conv weight flattened"))
    add(
        Case(
            "predictor: seal and provenance deleted",
            "damage",
            _predict_args(
                ["--strict"],
                _model_config(lambda c: [c.pop(SEAL), c.pop("provenance")], reseal=False),
            ),
            "has no 'sha256' checksum",
        )
    )
    add(
        Case(
            "predictor: provenance deleted, resealed",
            "damage",
            _predict_args([], _model_config(lambda c: c.pop("provenance"))),
            "provenance",
        )
    )
    add(
        Case(
            "predictor: weights checksum deleted",
            "damage",
            _predict_args([], _model_config(lambda c: c.pop("weights_sha256"))),
            "weights_sha256",
        )
    )
    add(
        Case(
            "predictor: config edited, seal kept",
            "damage",
            _predict_args([], _model_config(lambda c: c.__setitem__("encoder", "sne"), False)),
            "damaged",
        )
    )
    add(
        Case(
            "predictor: config cut short",
            "damage",
            _predict_args(
                [], lambda f: _file("config.json", "{")(_copy(WORKSPACE, "model", f)).parent
            ),
            "config",
        )
    )

    # 4. arguments and presets, validated before anything is written
    for extra, said in (
        (["--epochs", "-3"], "epochs must be a whole number of at least 1"),
        (["--epochs", "0"], "epochs must be a whole number of at least 1"),
        (["--patience", "-1"], "patience must be a whole number of at least 1"),
        (["--patience", "0"], "patience must be a whole number of at least 1"),
        (["--batch-size", "0"], "batch_size must be a whole number of at least 1"),
        (["--lr", "-1"], "lr"),
        (["--set", "hidden=abc"], "option 'hidden' of statnn"),
        (["--set", "hidden=1.5"], "option 'hidden' of statnn"),
        (["--set", "nope=1"], "nope"),
        (["--set", "hidden"], "KEY=VALUE"),
        (["--target", "run_id"], "the column 'run_id' is text"),
        (["--target", "missing_column"], "missing_column"),
        (["--device", "tpu"], "--device 'tpu'"),
        (["--split", "0.5,0.5"], "--split takes three fractions"),
        (["--split", "0.9,0.9,0.1"], "--split takes three fractions"),
        (["--schedule", "sometimes"], "sometimes"),
        (["--schedule", "plateau", "--schedule-factor", "2"], "schedule_factor"),
        (["--schedule", "plateau", "--schedule-patience", "0"], "schedule_patience"),
        (["--precision", "half"], "half"),
        (["--encoder", "snee"], "snee"),
    ):
        add(Case(f"train {' '.join(extra)}", "arguments", _train_args(extra), said))

    def plain_folder(folder: Path) -> Path:
        (folder / "plain").mkdir()
        (folder / "plain" / "notes.txt").write_text("not a zoo")
        return folder / "plain"

    add(Case("train --zoo of a missing folder", "arguments",
             _train_args([], lambda f: f / "nothing"), "nothing"))  # fmt: skip
    add(Case("train --zoo of a folder that is no zoo", "arguments",
             _train_args([], plain_folder), "not a zoo"))  # fmt: skip
    for extra, said in (
        (["--runs", "0"], "needs a whole number of at least 1"),
        (["--epochs", "0"], "needs a whole number of at least 1"),
        (["--checkpoints", "a,b"], "--checkpoints takes epochs"),
        (["--chunk-size", "0"], "needs a whole number of at least 1"),
        (["--workers", "0"], "needs a whole number of at least 1"),
        (["--precision", "fp8"], "fp8"),
        (["--device", "gpu"], "invalid choice: 'gpu'"),
        (["--dataset", "cifar100"], "cifar100"),
        (["--arch", "resnet"], "resnet"),
    ):
        add(Case(f"zoo build {' '.join(extra)}", "arguments", _build_args(extra), said))
    for space, said in (
        ("learning_rate: fast\n", "learning_rate: needs [low, high], two numbers"),
        ("learning_rate: [0.1]\n", "learning_rate: needs [low, high]"),
        ("learning_rate: [0.1, 0.01]\n", "learning_rate: needs 0 < low <= high"),
        ("activation: relu\n", "activation: needs a list"),
        ("activation: [swish]\n", "activation: unknown ['swish']"),
        ("optimizer: [adamw]\n", "optimizer: unknown ['adamw']"),
        ("dropout: [0.2, 1.5]\n", "dropout"),
        ("train_fraction: [0, 2]\n", "train_fraction"),
        ("batch_size: many\n", "batch_size"),
        ("learnin_rate: [0.1, 0.2]\n", "unknown key(s) ['learnin_rate']"),
        ("learning_rate: [0.1\n", "not valid YAML"),
        ("- 1\n- 2\n", "space.yaml"),
    ):
        add(Case(f"zoo build --space {space.strip()!r}", "arguments", _build_args([], space), said))
    for preset, said in (
        (
            "extends: quick\ntrainig: {epochs: 3}\n",
            "unknown key 'trainig' (did you mean 'training'?)",
        ),
        ("extends: quick\nencoders: {sne: {confg: {}}}\n", "unknown key 'encoders.sne.confg'"),
        ("extends: quick\nseeds: [zero]\n", "seeds must list whole numbers"),
        ("extends: quick\nseeds: []\n", "seeds"),
        ("extends: quick\nsplit: 0.5\n", "split must list three fractions"),
        ("extends: quick\nsplit: [0.5, 0.5, 0.5]\n", "split"),
        ("extends: quick\ntraining: {epochs: three}\n", "training: epochs must be a whole number"),
        ("extends: quick\ntraining: {epochs: 0}\n", "epochs"),
        ("extends: quick\ntraining: {patience: -2}\n", "patience"),
        ("extends: quick\ntraining: {schedule: often}\n", "often"),
        ("extends: quick\nprotocol: best\n", "best"),
        ("extends: quick\nencoders: [snee]\n", "snee"),
        ("extends: nothing\n", "nothing"),
        ("- 1\n- 2\n", "preset.yaml"),
        ("extends: quick\nseeds: [0\n", "not valid YAML"),
    ):
        add(Case(f"bench preset {preset.strip()!r}", "arguments", _bench_args(preset), said))
    add(
        Case(
            "bench an unknown experiment",
            "arguments",
            _bench_args("extends: quick\n", ("in-dis",)),
            "in-dis",
        )
    )
    add(
        Case(
            "bench --device tpu",
            "arguments",
            lambda f: [*_bench_args("extends: quick\n")(f), "--device", "tpu"],
            "invalid choice: 'tpu'",
        )
    )
    add(
        Case(
            "bench --workers 0",
            "arguments",
            lambda f: [*_bench_args("extends: quick\n")(f), "--workers", "0"],
            "needs a whole number of at least 1",
        )
    )
    add(
        Case(
            "bench --set seeds=[a]",
            "arguments",
            lambda f: [*_bench_args("extends: quick\n")(f), "--set", "seeds=[a]"],
            "seeds",
        )
    )
    add(
        Case(
            "bench --set nokey=1",
            "arguments",
            lambda f: [*_bench_args("extends: quick\n")(f), "--set", "nokey=1"],
            "nokey",
        )
    )

    # 5. outputs: never inside a zoo being read, never over what exists without --overwrite
    add(
        Case(
            "train --out inside the zoo",
            "outputs",
            lambda f: [
                *_train_args([])(f)[:-2],
                "--out",
                str(_copy(WORKSPACE, "scz", f) / "model"),
            ],
            "lies inside",
        )
    )
    add(
        Case(
            "train --out over a saved predictor",
            "outputs",
            lambda f: [*_train_args([])(f)[:-2], "--out", str(_copy(WORKSPACE, "model", f))],
            "holds files already",
        )
    )
    add(
        Case(
            "predict --out over the zoo's metrics table",
            "outputs",
            lambda f: [*_predict_args([])(f), "--out", str(f / "scz" / "metrics.csv.gz")],
            "lies inside",
        )
    )
    add(
        Case(
            "predict --out over the model's config",
            "outputs",
            lambda f: [*_predict_args([])(f), "--out", str(f / "model" / "config.json")],
            "lies inside",
        )
    )
    add(
        Case(
            "zoo build --out over an existing zoo",
            "outputs",
            lambda f: [*_build_args([])(f)[:10], "--out", str(_copy(WORKSPACE, "native", f))],
            "native",
        )
    )
    add(
        Case(
            "zoo build --out over a file",
            "outputs",
            lambda f: [*_build_args([])(f)[:10], "--out", str(_file("a.txt", "x")(f))],
            "a.txt",
        )
    )

    # 6. scores that are not numbers
    add(
        Case(
            "train on a zoo of one constant accuracy",
            "scores",
            _train_args([], _scz_with("test_accuracy", lambda s: s * 0 + 0.5)),
            "undefined (constant",
            load=True,
        )
    )
    add(
        Case(
            "predict on a zoo of one constant accuracy",
            "scores",
            _predict_args([], None, _scz_with("test_accuracy", lambda s: s * 0 + 0.5)),
            "undefined (constant targets)",
            load=True,
        )
    )

    def diverged(folder):
        zoo = _copy(WORKSPACE, "scz", folder)
        weights = np.load(zoo / "weights.npy", mmap_mode="r+")
        weights[:, 0] = np.nan
        weights.flush()
        return zoo

    add(
        Case(
            "predict on a zoo where every network diverged",
            "scores",
            _predict_args([], None, diverged),
            "every one of its",
        )
    )
    add(
        Case(
            "train on a zoo where every network diverged",
            "scores",
            _train_args([], diverged),
            "non-finite",
        )
    )

    # 7. messages
    add(
        Case(
            "report of a folder with a cut-short meta.json",
            "messages",
            _report_args('{"format_version": 2, "con'),
            "meta.json: cannot read",
        )
    )
    add(
        Case("report of a folder without meta.json", "messages", _report_args(None), "no meta.json")
    )
    add(
        Case(
            "report of a folder of another format",
            "messages",
            _report_args('{"format": "other", "format_version": 1}'),
            "results",
        )
    )
    add(
        Case(
            "report of a missing folder",
            "messages",
            lambda f: ["report", str(f / "nothing")],
            "nothing",
        )
    )
    add(
        Case(
            "report of several folders without --out",
            "messages",
            lambda f: [*_report_args('{"format_version": 2, "con')(f), str(f)],
            "results",
        )
    )
    add(
        Case(
            "train on a 12-run zoo warns as a sentence",
            "messages",
            _train_args([], lambda f: write_small_cnn_zoo(f / "small", runs=12, progress=False)),
            "warning:",
            load=True,
        )
    )
    add(
        Case(
            "predict --checkpoint of a pickled file",
            "messages",
            lambda f: [
                "predict",
                "--model",
                str(_copy(WORKSPACE, "model", f)),
                "--checkpoint",
                str(_pickle(f)),
            ],
            "weights_only",
        )
    )
    add(
        Case(
            "predict --checkpoint of a missing file",
            "messages",
            lambda f: [
                "predict",
                "--model",
                str(_copy(WORKSPACE, "model", f)),
                "--checkpoint",
                str(f / "none.pt"),
            ],
            "none.pt",
        )
    )
    add(
        Case(
            "predict --model of a folder that is no predictor",
            "messages",
            lambda f: ["predict", "--model", str(f), "--zoo", str(_copy(WORKSPACE, "scz", f))],
            "config.json",
        )
    )
    add(_info(lambda f: f, "not", name="zoo info of an empty folder", kind="messages"))
    add(
        _info(
            lambda f: f / "nothing", "nothing", name="zoo info of a missing folder", kind="messages"
        )
    )
    for copy, what in (("scz", "Small CNN Zoo"), ("native", "native zoo")):
        good = lambda f, copy=copy: _copy(WORKSPACE, copy, f)  # noqa: E731
        add(_info(good, "from 40 runs", True, f"zoo info of a good {what}", "messages"))
    return found


def _pickle(folder: Path) -> Path:
    import torch

    path = folder / "net.pt"
    torch.save({"weights": {"a": torch.zeros(2)}, "note": object.__new__(Case)}, path)
    return path


WORKSPACE = Path()


def _fingerprint(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name not in ("preset.yaml", "space.yaml")
    }


class _TimeLimit(Exception):
    pass


def run_case(case: Case, folder: Path) -> tuple[str, str]:
    """``(outcome, detail)`` of one case, run in ``folder``."""
    from nnenc.cli import main

    folder.mkdir(parents=True, exist_ok=True)
    argv = case.argv(folder)
    inputs = {p: _fingerprint(p) for p in folder.iterdir() if p.is_dir()}
    out, err = io.StringIO(), io.StringIO()

    def stop(signum, frame):
        raise _TimeLimit

    timed = threading.current_thread() is threading.main_thread()  # signals need it
    previous = signal.signal(signal.SIGALRM, stop) if timed else None
    signal.alarm(TIME_LIMIT if timed else 0)
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
    except _TimeLimit:
        return "silent wrong result", f"ran past {TIME_LIMIT} s instead of refusing"
    except SystemExit as exit_:
        code = exit_.code
    except BaseException:
        return "traceback", traceback.format_exc(limit=3).strip().splitlines()[-1]
    finally:
        if timed:
            signal.alarm(0)
            signal.signal(signal.SIGALRM, previous)
    stdout, stderr = out.getvalue(), err.getvalue()
    changed = [
        str(p)
        for p, before in inputs.items()
        if p.exists()
        and _fingerprint(p) != before
        and p.name not in ("out", "results", "zoo", "cache")
    ]
    if changed and not case.load:
        return "data lost", f"changed {changed}"
    if "UserWarning:" in stderr:
        return "unhelpful error", "a raw UserWarning line: " + stderr.split("UserWarning:")[1][:120]
    if "Traceback (most recent call last)" in stderr:
        return "traceback", stderr.strip().splitlines()[-1]
    if case.load:
        if code == 0 and case.said in stdout + stderr:
            return "correct load", ""
        detail = f"exit {code}; expected {case.said!r}; stderr {stderr.strip()[-200:]!r}"
        return ("silent wrong result" if code == 0 else "unhelpful error"), detail
    if code == 0:
        return "silent wrong result", f"accepted; stdout {stdout.strip()[-200:]!r}"
    if case.said in stderr:
        return "clear error", ""
    return "unhelpful error", f"expected {case.said!r}; stderr {stderr.strip()[-300:]!r}"


def run_campaign(root: Path, only: str | None = None, progress: bool = True) -> dict:
    """Every case's outcome, by name; ``root`` holds the workspace and one folder per case."""
    global WORKSPACE
    WORKSPACE = make_workspace(root / "workspace")
    results = {}
    selected = [c for c in cases() if only in (None, c.kind)]
    for i, case in enumerate(selected):
        results[case.name] = (case.kind, *run_case(case, root / f"case{i:03d}"))
        if progress:
            print(
                f"[{i + 1}/{len(selected)}] {results[case.name][1]}: {case.name}",
                file=sys.__stderr__,
            )
    return results


def outcome_table(results: dict) -> str:
    """The count table: a row per kind of bad input, a column per outcome."""
    kinds = sorted({kind for kind, _, _ in results.values()})
    counts = Counter((kind, outcome) for kind, outcome, _ in results.values())
    lines = [
        "| kind | cases | " + " | ".join(OUTCOMES) + " |",
        "|---|---|" + "---|" * len(OUTCOMES),
    ]
    for kind in [*kinds, "all"]:
        per = [sum(counts[(k, o)] for k in (kinds if kind == "all" else [kind])) for o in OUTCOMES]
        lines.append(f"| {kind} | {sum(per)} | " + " | ".join(map(str, per)) + " |")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description="the bad-input campaign: outcome counts")
    parser.add_argument("--only", help="one kind of case")
    parser.add_argument("--keep", help="keep the case folders here")
    args = parser.parse_args()
    root = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="nnenc-campaign-"))
    results = run_campaign(root, args.only)
    print(outcome_table(results))
    for name, (kind, outcome, detail) in results.items():
        if outcome not in ("correct load", "clear error"):
            print(f"- {outcome} [{kind}] {name}: {detail}")
    if not args.keep:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
