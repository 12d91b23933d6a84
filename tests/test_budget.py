"""Training budgets: refused before anything trains when they cannot run, learning-rate schedules
that do what they say, trainings that end at their cap still improving flagged and counted, and
learning curves over zoo size."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY_BENCH

from analysis.config import BenchConfig
from analysis.context import RunContext, RunInputs
from analysis.convergence import convergence_markdown, convergence_table, training_histories
from analysis.jobs import plan_jobs, training_key
from analysis.plots import validation_curves
from analysis.report import write_report
from analysis.results import ResultsStore
from analysis.runner import run_benchmark
from nnenc.budget import best_epoch, ended_improving
from nnenc.cli import main
from nnenc.predict.performance import PerformancePredictor, _scheduler
from nnenc.predict.training import TrainingConfig
from nnenc.zoo.splits import learning_curve_splits

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("training", "key"),
    [
        ({"epochs": -3}, "epochs"),
        ({"epochs": 0}, "epochs"),
        ({"patience": -1}, "patience"),
        ({"batch_size": 0}, "batch_size"),
        ({"lr": 0}, "lr"),
        ({"epochs": 5, "patience": 8}, "patience (8) is larger than epochs (5)"),
        ({"schedule": "cosin"}, "schedule must be one of none, cosine, plateau"),
        ({"schedule": "plateau", "patience": 5, "schedule_patience": 5}, "schedule_patience"),
        ({"schedule": "plateau", "schedule_factor": 1.5}, "schedule_factor"),
        ({"epochs": "three"}, "epochs"),
    ],
)
def test_a_budget_that_cannot_run_is_refused_naming_its_key(training, key):
    with pytest.raises(ValueError, match=key.replace("(", r"\(").replace(")", r"\)")):
        PerformancePredictor("statnn", **training)


def test_the_default_patience_never_exceeds_a_short_budget():
    assert TrainingConfig.from_options({"epochs": 3}).patience == 3
    assert TrainingConfig.from_options({}).patience == 10
    assert not TrainingConfig.from_options({"epochs": 3}).problems()


def test_a_bad_budget_in_a_preset_is_refused_before_anything_is_written(tmp_path, capsys):
    preset = {**TINY_BENCH, "training": {"epochs": 4, "patience": 9}}
    preset["encoders"] = {**TINY_BENCH["encoders"], "mlp": {"training": {"schedule": "step"}}}
    with pytest.raises(ValueError) as refused:
        BenchConfig.from_dict(preset)
    message = str(refused.value)
    assert "training: patience (9) is larger than epochs (4)" in message
    assert "encoders.mlp.training: " in message and "schedule must be one of" in message
    (tmp_path / "p.yaml").write_text(json.dumps(preset))
    out = tmp_path / "results"
    assert main(["bench", "in-dist", "--preset", str(tmp_path / "p.yaml"), "--out", str(out)]) == 2
    assert "patience (9) is larger than epochs (4)" in capsys.readouterr().err
    assert not out.exists()


def test_nnenc_train_refuses_patience_beyond_the_epochs_before_training(
    small_cnn_zoo_dir, tmp_path, capsys
):
    out = tmp_path / "p"
    args = ["train", "--zoo", str(small_cnn_zoo_dir), "--encoder", "statnn", "--out", str(out)]
    assert main([*args, "--epochs", "3", "--patience", "5"]) == 2
    assert "patience (5) is larger than epochs (3)" in capsys.readouterr().err
    assert main([*args, "--schedule", "warm"]) == 2
    assert "schedule must be one of" in capsys.readouterr().err
    assert not out.exists()


def test_plateau_lowers_the_rate_after_its_patience_without_a_better_tau():
    weights = [torch.nn.Parameter(torch.zeros(1))]
    optimizer = torch.optim.AdamW(weights, lr=1.0)
    settings = TrainingConfig.from_options(
        {"schedule": "plateau", "schedule_patience": 2}
    ).as_dict()
    scheduler = _scheduler(optimizer, {**settings, "schedule_factor": 0.5})
    rates = []
    for tau in [0.1, 0.2, 0.2, 0.2, 0.2, 0.3, 0.3, 0.3, 0.3]:
        rates.append(optimizer.param_groups[0]["lr"])
        scheduler.step(tau)
    # three epochs without a better tau lower it once (patience 2), and the count starts again
    assert rates == [1.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.5]
    scheduler.step(0.3)
    assert optimizer.param_groups[0]["lr"] == 0.25


def test_cosine_anneals_the_rate_over_the_cap_and_the_history_records_it(trained_zoo_splits):
    train, val, _ = trained_zoo_splits
    predictor = PerformancePredictor(
        "statnn", schedule="cosine", epochs=8, patience=8, lr=1e-3, batch_size=64
    )
    rates = predictor.fit(train, val, progress=False)["lr"].to_numpy()
    assert rates[0] == pytest.approx(1e-3) and (np.diff(rates) < 0).all()
    if len(rates) == 8:
        assert rates[-1] == pytest.approx(1e-3 * (1 + np.cos(np.pi * 7 / 8)) / 2)


def test_a_training_stopped_by_its_cap_while_improving_is_flagged_and_nnenc_train_warns(
    small_cnn_zoo_dir, tmp_path, capsys
):
    assert best_epoch([0.1, 0.3, float("nan"), 0.3]) == 1
    assert ended_improving(59, 60) and ended_improving(54, 60) and not ended_improving(53, 60)
    assert ended_improving(0, 1) and not ended_improving(8, 10) and ended_improving(9, 10)
    out = tmp_path / "p"
    args = ["train", "--zoo", str(small_cnn_zoo_dir), "--encoder", "statnn", "--out", str(out)]
    assert main([*args, "--epochs", "1", "--split", "0.34,0.33,0.33"]) == 0
    err = capsys.readouterr().err
    assert "ended at its cap of 1 epochs still improving" in err
    config = json.loads((out / "config.json").read_text())
    assert config["training"]["schedule"] == "none" and "lr" in config["history"][0]


def _predictor_folder(root: Path, name: str, encoder: str, cap: int, taus: list[float]) -> None:
    folder = root / "predictors" / name
    folder.mkdir(parents=True)
    history = [{"epoch": e, "val_kendall_tau": t} for e, t in enumerate(taus)]
    config = {"encoder": encoder, "training": {"epochs": cap}, "history": history}
    (folder / "config.json").write_text(json.dumps(config))


def test_the_convergence_table_counts_trainings_that_ended_improving(tmp_path):
    rising = list(np.linspace(0.1, 0.6, 20))
    settled = [*np.linspace(0.1, 0.6, 8), *[0.5] * 5]
    for i in range(3):
        _predictor_folder(tmp_path, f"sne_a_s{i}_x", "sne", 20, rising)
    _predictor_folder(tmp_path, "sne_a_s3_x", "sne", 20, settled)
    for i in range(10):
        _predictor_folder(tmp_path, f"gmn_a_s{i}_x", "gmn", 20, settled)
    _predictor_folder(tmp_path, "gmn_a_s10_x", "gmn", 20, rising)
    (tmp_path / "predictors" / "statnn-trees_a_s0_x").mkdir()  # no history: not a training
    histories = training_histories([tmp_path])
    table = convergence_table(histories).set_index("encoder")
    assert table.loc["sne", "trainings"] == 4 and table.loc["sne", "ended_improving"] == 3
    assert not table.loc["sne", "meets_rule"]
    assert table.loc["gmn", "trainings"] == 11 and table.loc["gmn", "ended_improving"] == 1
    assert table.loc["gmn", "meets_rule"]  # 1 of 11 = 9%, under 10%
    assert table.loc["gmn", "best_epoch"] == 8 and table.loc["gmn", "epochs_run"] == 13
    text = convergence_markdown(table.reset_index())
    assert "| sne | 4 | 3 (75%) | 20 | 20 | 20 | **not met** |" in text
    assert validation_curves(histories, table.reset_index()) is not None


def test_the_committed_trainings_keep_their_keys_with_schedules_in_the_options():
    """Adding the schedule options changes no training key of the committed results: every
    in-dist and cross-arch job of results/full finds the predictor folder its rows were computed
    with, so resuming the folder trains nothing again. (The ablation's are left out: half of its
    folders were keyed before this code, as the same check at the commit before shows.)"""
    meta = json.loads((ROOT / "results/full/meta.json").read_text())
    config = BenchConfig.from_dict(meta["config"])
    tuned = json.loads((ROOT / "results/full/tuning.json").read_text())["choices"]
    for name, choice in tuned.items():  # what the runner runs: the tuning's choice
        config.encoders[name] = {"config": choice["config"], "training": choice["training"]}
    architectures = {n: s["architecture"] for n, s in config.zoos.items()}
    folders = {p.name for p in (ROOT / "results/full/predictors").iterdir()}
    context = RunContext(precision="fp32")
    inputs = RunInputs.of(meta["zoos"], config.split, config.protocol, ROOT, context)
    found = 0
    for experiment in ("in-dist", "cross-arch"):
        for job in plan_jobs(config, experiment, architectures):
            if job.encoder not in ("sne", "gmn", "deepsets", "statnn", "mlp"):
                continue
            key = training_key(job, inputs)
            assert f"{job.encoder}_{job.source}_s{job.seed}_{key}" in folders, job
            found += 1
    assert found == 5 * 5 * (3 + 2)  # encoders x seeds x (in-dist zoos + cross-arch sources)


def test_learning_curve_splits_share_one_test_split_and_nest_by_size(trained_zoo_splits):
    train, val, test = trained_zoo_splits
    from nnenc.zoo.zoo import Zoo

    zoo = Zoo.concat([train, val, test])
    runs = lambda part: set(part.metrics["run_id"].astype(str))  # noqa: E731
    small, _ = learning_curve_splits(zoo, 10, 30, seed=1)
    large, note = learning_curve_splits(zoo, 30, 30, seed=1)
    other, _ = learning_curve_splits(zoo, 10, 30, seed=2)
    assert runs(small.test) == runs(large.test) == runs(other.test) and len(runs(small.test)) == 30
    assert len(runs(small.train)) == 8 and len(runs(small.val)) == 2
    assert runs(small.train) | runs(small.val) <= runs(large.train) | runs(large.val)
    assert runs(small.train) != runs(other.train)
    assert not (runs(large.train) | runs(large.val)) & runs(large.test)
    assert set(small.train.metrics["epoch"]) == {int(zoo.metrics["epoch"].max())}
    assert "24 train, 6 val" in note
    with pytest.raises(ValueError, match="leaves 34 to draw 40"):
        learning_curve_splits(zoo, 40, 30)


def test_a_learning_curve_runs_from_a_preset_and_the_report_draws_it(tiny_bench, tmp_path):
    _, _, zoo_root = tiny_bench
    preset = {
        **TINY_BENCH,
        "tuning": {},
        "training": {"epochs": 2, "batch_size": 8, "schedule": "plateau", "patience": 2},
        "encoders": {"sne": TINY_BENCH["encoders"]["sne"], "statnn": {}},
        "experiments": {"learning-curve": {"zoo": "digits", "sizes": [10, 20], "test_runs": 30}},
    }
    preset["training"]["schedule_patience"] = 1
    config = BenchConfig.from_dict(preset)
    out = tmp_path / "results"
    rows = run_benchmark(
        config, ["learning-curve"], out, workers=2, progress=False, zoo_root=zoo_root
    )
    assert len(rows) == 2 * 2 * 2  # encoders x sizes x seeds
    assert set(rows["variant"]) == {"networks=10", "networks=20"}
    assert set(rows["n_test"]) == {30} and set(rows["n_train"]) == {8, 16}
    assert rows["ended_improving"].notna().all() and set(rows["epochs_cap"]) == {2}
    text = write_report(out)
    assert "**Learning curves**" in text and "| 10 networks | 20 networks |" in text
    assert "SNE minus each encoder" in text and "**Convergence**" in text
    for name in ("learning-curves", "validation-curves"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
    table = pd.read_csv(out / "tables" / "convergence.csv")
    assert set(table["encoder"]) == {"sne", "statnn"} and (table["trainings"] == 4).all()
    assert not ResultsStore(out).rows().empty


def test_a_learning_curve_larger_than_its_zoo_is_refused():
    preset = {
        **TINY_BENCH,
        "experiments": {"learning-curve": {"zoo": "digits", "sizes": [20, 40], "test_runs": 30}},
    }
    with pytest.raises(ValueError, match=r"has 60 runs, fewer than its largest size \(40\)"):
        BenchConfig.from_dict(preset)
    preset["experiments"]["learning-curve"] = {"zoo": "digits", "sizes": [1], "test_runs": 5}
    with pytest.raises(ValueError, match="sizes must list") as refused:
        BenchConfig.from_dict(preset)
    assert "test_runs must be a whole number of at least 30" in str(refused.value)
