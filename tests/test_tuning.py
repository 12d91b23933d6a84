"""The tuner's budget: every encoder's search tries the same number of distinct configurations,
resumed or not, in one precision (analysis/tuning.py)."""

from __future__ import annotations

import json

import optuna
import pytest
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from analysis.context import RunContext, RunInputs
from analysis.tuning import PRECISION, _suggest, search, tried_configurations, tune_encoder
from nnenc.zoo.synthetic import write_small_cnn_zoo

SPACE = {
    "training.lr": ("log", 3e-4, 3e-3),
    "config.hidden": ("choice", [[64], [128], [64, 64]]),
}


def _objective(trial: optuna.Trial) -> float:
    chosen = _suggest(trial, SPACE)
    return -abs(chosen["training"]["lr"] - 1e-3) + len(chosen["config"]["hidden"])


def _storage(path) -> JournalStorage:
    return JournalStorage(JournalFileBackend(str(path)))


def _configurations(study: optuna.Study) -> list[str]:
    finished = [t for t in study.trials if t.state.is_finished()]
    return [json.dumps(t.params, sort_keys=True) for t in finished]


def test_a_search_killed_midway_resumes_to_the_same_number_of_distinct_configurations(tmp_path):
    """The full preset's SNE and DeepSets searches were killed in their sixth trial and resumed:
    the resumed sampler, seeded as at the start, drew trials 0 and 1 again, so they tried 5
    distinct configurations where the others tried 8. Now the budget counts distinct
    configurations, and a resumed search draws new ones."""
    whole = search("sne", _storage(tmp_path / "whole.log"), 0, 8, _objective)
    assert len(tried_configurations(whole)) == 8

    storage = _storage(tmp_path / "killed.log")
    search("sne", storage, 0, 5, _objective)
    killed = optuna.load_study(study_name="sne", storage=storage)
    killed.ask()  # the sixth trial, left RUNNING by a killed process
    resumed = search("sne", storage, 0, 8, _objective)

    assert len(tried_configurations(resumed)) == 8
    assert _configurations(resumed)[:5] == _configurations(whole)[:5]
    assert [t.state.name for t in resumed.trials].count("RUNNING") == 1


def test_an_uninterrupted_search_draws_what_it_drew_before_the_budget_counted_configurations(
    tmp_path,
):
    """Uninterrupted searches (the quick preset's, the full preset's other four) keep their
    draws: one TPE sampler seeded with the tuning seed, as before."""
    before = optuna.create_study(
        study_name="sne",
        storage=_storage(tmp_path / "before.log"),
        sampler=optuna.samplers.TPESampler(seed=3),
        direction="maximize",
    )
    before.optimize(_objective, n_trials=4)
    now = search("sne", _storage(tmp_path / "now.log"), 3, 4, _objective)
    assert _configurations(now) == _configurations(before)


def test_a_space_with_fewer_configurations_than_the_budget_ends_the_search(tmp_path):
    def three(trial: optuna.Trial) -> float:
        return float(trial.suggest_categorical("width", [16, 32, 64]))

    study = search("small", _storage(tmp_path / "small.log"), 0, 5, three)
    assert len(tried_configurations(study)) == 3
    assert len(study.trials) <= 3 * 5 * 5


def test_a_search_is_finished_in_the_precision_it_began_in(tmp_path):
    """Each trial records what it trained in; a search resumed in another precision (another
    machine's ``auto``, or another ``--precision``) is refused before it trains anything, since
    the chosen configuration would be picked across precisions."""
    zoo = str(write_small_cnn_zoo(tmp_path / "zoo", runs=16))
    base = {"config": {}, "training": {"epochs": 1, "batch_size": 4}}
    out = str(tmp_path / "out")

    def tune(trials: int, precision: str) -> dict:
        context = RunContext(precision=precision, workers=1)
        inputs = RunInputs.of({"zoo": zoo}, (0.5, 0.25, 0.25), "final", out, context)
        return tune_encoder("mlp", base, "zoo", trials, 0, inputs)

    first = tune(1, "fp32")
    assert len(first["trials"]) == 1
    journal = tmp_path / "out" / "tuning" / "mlp.log"
    study = optuna.load_study(study_name="mlp", storage=_storage(journal))
    assert [t.user_attrs[PRECISION] for t in study.trials] == ["fp32"]
    with pytest.raises(ValueError, match="began in fp32 and this run trains in bf16"):
        tune(2, "bf16")
    assert len(optuna.load_study(study_name="mlp", storage=_storage(journal)).trials) == 1
    assert len(tune(2, "fp32")["trials"]) == 2
