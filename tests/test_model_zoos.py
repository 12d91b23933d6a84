import json

import numpy as np
import pytest
import torch
from conftest import folder_digest

from nnenc import ZooFormatError, load_zoo
from nnenc.zoo.formats.model_zoos import read_model_zoos


class NotATensor:
    """Pickled into a checkpoint, it would need code execution to load."""


def test_every_checkpoint_is_read_with_its_epochs_metrics(model_zoos_dir):
    zoo = load_zoo(model_zoos_dir)
    assert len(zoo) == 9 and zoo.metrics["run_id"].nunique() == 3
    assert sorted(zoo.metrics["epoch"].unique()) == [0, 1, 2]
    first = sorted(model_zoos_dir.iterdir())[0]
    lines = [json.loads(x) for x in (first / "result.json").read_text().splitlines()]
    row = zoo.metrics[(zoo.metrics["run_id"] == first.name) & (zoo.metrics["epoch"] == 2)].iloc[0]
    assert row["test_accuracy"] == pytest.approx(lines[1]["test_acc"] / 100)
    assert row["optim.lr"] == pytest.approx(lines[1]["config"]["optim::lr"])
    initial = zoo.metrics[zoo.metrics["epoch"] == 0]
    assert initial["test_accuracy"].isna().all()


def test_state_dict_keys_and_weights_are_preserved(model_zoos_dir):
    zoo = load_zoo(model_zoos_dir)
    index = 5
    file = model_zoos_dir / zoo.metrics.loc[index, "model_id"] / "checkpoints"
    state = torch.load(file, weights_only=True)
    params = zoo[index]
    assert [f"{la.name}.weight" for la in params] == [k for k in state if k.endswith("weight")]
    assert torch.equal(params["module_list.6"].weight, state["module_list.6.weight"])


def test_fraction_accuracies_are_left_alone(tmp_path):
    from nnenc.zoo.synthetic import write_model_zoos

    zoo = load_zoo(write_model_zoos(tmp_path / "z", models=2, percent=False))
    acc = zoo.metrics["test_accuracy"].dropna()
    assert (acc <= 1).all() and (acc > 0.2).all()


def test_a_checkpoint_that_needs_unpickling_is_refused(model_zoos_dir):
    first = sorted(model_zoos_dir.iterdir())[0]
    file = first / "checkpoint_000001" / "checkpoints"
    state = torch.load(file, weights_only=True)
    torch.save({"model": state, "trainer": NotATensor()}, file)
    before = folder_digest(model_zoos_dir)
    with pytest.raises(ZooFormatError, match=r"refused: .*weights_only=True"):
        read_model_zoos(model_zoos_dir, progress=False)
    assert folder_digest(model_zoos_dir) == before


def test_nested_state_dict_is_unwrapped(model_zoos_dir):
    first = sorted(model_zoos_dir.iterdir())[0]
    file = first / "checkpoint_000001" / "checkpoints"
    state = torch.load(file, weights_only=True)
    torch.save({"model": state, "iteration": 1}, file)
    zoo = read_model_zoos(model_zoos_dir, progress=False)
    assert np.isfinite(zoo.flat()).all()


def test_a_broken_result_line_is_named(model_zoos_dir):
    first = sorted(model_zoos_dir.iterdir())[0]
    with open(first / "result.json", "a") as handle:
        handle.write("{not json\n")
    with pytest.raises(ZooFormatError, match=r"result\.json: line 3 is not JSON"):
        read_model_zoos(model_zoos_dir, progress=False)
