"""Mixed-architecture zoos: the architecture space (nnenc.builder.architecture_space) and
``nnenc zoo build --arch-space``."""

import numpy as np
import pytest
import torch
import yaml

from nnenc import load_zoo
from nnenc.architectures import architecture_names
from nnenc.builder.architecture_space import ArchitectureSpace, CNNSpace, MLPSpace
from nnenc.builder.build import CHUNK_KEYS, BuildConfig, plan_shards
from nnenc.cli import main

SPACE = {
    "architectures": 4,
    "cnn": {
        "weight": 1,
        "conv_layers": [1, 3],
        "channels": [2, 6],
        "kernel": [3, 5],
        "stride": [1, 2],
        "dense_layers": [0, 1],
        "dense_width": [4, 8],
    },
    "mlp": {"weight": 1, "hidden_layers": [1, 2], "width": [4, 12]},
}


def test_a_space_draws_distinct_architectures_that_fit_the_same_for_one_seed():
    space = ArchitectureSpace(
        12, CNNSpace(conv_layers=(2, 5), kernel=(3, 5), stride=(1, 2)), MLPSpace()
    )
    drawn = space.sample(seed=3, resolution=16)
    assert len({a.name for a in drawn}) == 12
    assert {a.family for a in drawn} == {"cnn", "mlp"}
    for spec in drawn:
        spec.check_resolution(16)  # never a CNN that leaves no pixel
    assert [a.name for a in space.sample(seed=3, resolution=16)] == [a.name for a in drawn]
    assert [a.name for a in space.sample(seed=4, resolution=16)] != [a.name for a in drawn]
    assert ArchitectureSpace.from_dict(space.to_dict()) == space


@pytest.mark.parametrize(
    ("spec", "reason"),
    [
        (
            {"cnn": {"conv_layers": [3, 5], "kernel": [5], "stride": [2]}, "mlp": None},
            "no combination of conv_layers [3, 5], kernel [5] and stride [2] leaves a pixel at "
            "resolution 16",
        ),
        ({"cnn": None, "mlp": None}, "no family"),
        ({"mlp": {"width": [64, 16]}}, "mlp.width: needs 1 <= low <= high, got [64, 16]"),
        ({"mlp": {"widht": [4, 8]}}, "unknown key(s) ['widht']"),
        (
            {"architectures": 40, "cnn": None, "mlp": {"hidden_layers": [1, 1], "width": [4, 5]}},
            "only 2 distinct architectures",
        ),
    ],
)
def test_a_space_that_cannot_be_satisfied_is_refused_with_the_reason(spec, reason):
    with pytest.raises(ValueError) as caught:
        ArchitectureSpace.from_dict(spec).sample(seed=0, resolution=16)
    assert reason in str(caught.value)


def test_a_mixed_plan_trains_each_architecture_stacked_and_spreads_runs_evenly():
    space = ArchitectureSpace.from_dict(SPACE)
    config = BuildConfig("digits", "mixed", runs=40, epochs=1, resolution=16, chunk_size=4,
                         architecture_space=space)  # fmt: skip
    shards = plan_shards(config)
    for shard in shards:
        assert all(shard.runs[key].nunique() == 1 for key in (*CHUNK_KEYS, "architecture"))
    counts = np.unique(np.concatenate([s.runs["architecture"] for s in shards]), return_counts=True)
    assert len(counts[0]) == 4 and set(counts[1]) == {10}
    single = BuildConfig("digits", "mlp", runs=4, epochs=1).to_dict()
    assert "architecture_space" not in single  # single-architecture configs (and caches) unchanged


def test_the_command_line_builds_a_mixed_zoo_whose_networks_run(tmp_path, capsys):
    """A mixed zoo built by ``nnenc zoo build --arch-space``: zoo info lists each architecture
    and its networks, the manifest stores every spec, and each network builds its own module
    (the drawn architectures are not registered anywhere)."""
    (tmp_path / "space.yaml").write_text(yaml.safe_dump(SPACE))
    args = ["zoo", "build", "--dataset", "digits", "--arch-space", str(tmp_path / "space.yaml")]
    args += ["--runs", "8", "--epochs", "1", "--resolution", "16", "--workers", "1"]
    assert main([*args, "--out", str(tmp_path / "zoo"), "--precision", "fp32"]) == 0
    printed = capsys.readouterr().out
    zoo = load_zoo(tmp_path / "zoo")
    assert len(zoo.architectures) == 4 and "digits-mixed" in printed
    listed = [line.split(":")[0].strip() for line in printed.splitlines() if " networks x " in line]
    assert listed == sorted(zoo.architectures)  # by name, wherever the runs were trained
    for name in zoo.architectures:
        assert f"  {name}: 4 networks x" in printed  # 2 runs x 2 checkpoints each
        assert name not in architecture_names()
        network = zoo[int(np.flatnonzero(zoo.metrics["architecture"] == name)[0])]
        assert network.to_module()(torch.zeros(2, 1, 16, 16)).shape == (2, 10)
    with pytest.raises(SystemExit) as refused:
        main([*args[:4], "--arch", "mlp", *args[4:], "--out", str(tmp_path / "x")])
    assert refused.value.code == 2
    assert "argument --arch-space: not allowed with argument --arch" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


@pytest.fixture(scope="module")
def mixed_zoo(tmp_path_factory):
    """A tiny mixed zoo: 8 architectures, 6 runs each, one epoch."""
    folder = tmp_path_factory.mktemp("mixed")
    space = ArchitectureSpace.from_dict({**SPACE, "architectures": 8})
    config = BuildConfig("digits", "mixed", runs=48, epochs=1, resolution=16, chunk_size=6,
                         precision="fp32", architecture_space=space)  # fmt: skip
    from nnenc.builder.build import build_zoo

    return build_zoo(config, folder / "zoo", workers=1, progress=False)


def test_transfer_splits_test_only_on_architectures_the_training_split_never_had(mixed_zoo):
    from nnenc.zoo.splits import held_out_architectures, zoo_splits

    zoo = load_zoo(mixed_zoo)
    for transfer in ("held-out", "larger"):
        (train, val, test), note = zoo_splits(zoo, (0.6, 0.2, 0.2), 0, "final", transfer)
        held = set(test.architectures)
        assert len(held) == 2 and held == set(held_out_architectures(zoo, transfer, 0))
        assert not held & (set(train.architectures) | set(val.architectures))
        assert not set(train.metrics["run_id"]) & set(val.metrics["run_id"])
        assert len(test) == 12 and len(train) + len(val) == 36  # final checkpoints, every run
        assert f"({transfer})" in note
    sizes = {a: zoo.stores[a].layout.size for a in zoo.architectures}
    larger = held_out_architectures(zoo, "larger", 0)
    assert min(sizes[a] for a in larger) >= max(s for a, s in sizes.items() if a not in larger)
    draws = {tuple(held_out_architectures(zoo, "held-out", seed)) for seed in range(6)}
    assert len(draws) > 1  # another seed, other held-out architectures
    one = zoo.filter(architecture=zoo.architectures[0])
    with pytest.raises(ValueError, match="needs several: build a mixed zoo"):
        zoo_splits(one, (0.6, 0.2, 0.2), 0, "final", "held-out")


def test_a_held_out_job_scores_what_can_read_the_zoo_and_says_why_not(mixed_zoo, tmp_path):
    """The flat MLP reads one architecture: on a mixed zoo its rows are n/a with the reason;
    STATNN's trees train and are scored on the held-out architectures, which the rows name."""
    from analysis.context import RunContext, RunInputs
    from analysis.jobs import Job, run_job

    paths = {"mixed": str(mixed_zoo)}
    inputs = RunInputs.of(paths, (0.6, 0.2, 0.2), "final", tmp_path, RunContext())
    for encoder, status in (("mlp", "n/a"), ("statnn-trees", "ok")):
        job = Job("held-out-arch", encoder, "mixed", ("mixed",), 0, training={"epochs": 1})
        (row,) = run_job(job, inputs)
        assert row["status"] == status, row
        assert len(row["test_architectures"].split()) == 2 and row["n_test"] == 12
    assert (
        "cannot train on mixed"
        in run_job(Job("held-out-arch", "mlp", "mixed", ("mixed",), 1), inputs)[0]["reason"]
    )
