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
    for name in zoo.architectures:
        assert f"  {name}: 4 networks x" in printed  # 2 runs x 2 checkpoints each
        assert name not in architecture_names()
        network = zoo[int(np.flatnonzero(zoo.metrics["architecture"] == name)[0])]
        assert network.to_module()(torch.zeros(2, 1, 16, 16)).shape == (2, 10)
    assert main([*args[:4], "--arch", "mlp", *args[4:], "--out", str(tmp_path / "x")]) == 2
    assert "give --arch (one architecture) or --arch-space" in capsys.readouterr().err
