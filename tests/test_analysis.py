"""The benchmark layer: presets checked before any work, a tiny end-to-end benchmark (resumable,
over processes and over Ray), tables, and refusing results folders it cannot read."""

import json
import os

import numpy as np
import pandas as pd
import pytest
import torch

from analysis.config import BenchConfig
from analysis.jobs import LABEL_NOISE
from analysis.report import write_report
from analysis.results import ResultsFormatError, ResultsStore
from analysis.runner import run_benchmark
from analysis.tables import difference_table, summary_table
from nnenc.cli import main


@pytest.fixture(scope="module")
def tiny_results(tiny_bench):
    return tiny_bench


def test_every_encoder_gets_a_number_or_n_a_and_the_reference_is_there(tiny_results):
    _, out, _ = tiny_results
    rows = ResultsStore(out).rows()
    cross = rows[rows["experiment"] == "cross-dataset"]
    for encoder in ("sne", "mlp", "statnn-trees"):
        got = cross[cross["encoder"] == encoder]
        assert len(got) == 2 * 2 * 2  # sources x targets x seeds
        assert (got["status"] == "ok").all() and got["kendall_tau"].notna().all()
    arch = rows[rows["experiment"] == "cross-arch"]
    mlp_other = arch[(arch["encoder"] == "mlp") & (arch["source"] != arch["target"])]
    assert len(mlp_other) == 4 and (mlp_other["status"] == "n/a").all()
    assert mlp_other["reason"].str.contains("architecture").all()
    sne_other = arch[(arch["encoder"] == "sne") & (arch["source"] != arch["target"])]
    assert (sne_other["status"] == "ok").all()
    noise = rows[rows["encoder"] == LABEL_NOISE]
    assert set(noise["target"]) == {"digits", "shapes", "digits-dense"}
    assert {"config", "nnenc_version", "wall_seconds", "peak_rss_mb"} <= set(rows.columns)
    assert set(rows["device"]) == {"cpu"}


def test_the_report_writes_tables_and_figures_from_saved_results(tiny_results):
    _, out, _ = tiny_results
    text = write_report(out)
    assert "| *label-noise* |" in text and "n/a" in text
    for name in ("summary.md", "summary.tex", "cross-dataset-sne.md"):
        assert (out / "tables" / name).is_file()
    for name in ("tasks", "cross-dataset-heatmaps", "best-scatter", "embedding-cross-arch"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert (out / "figures" / f"{name}.pdf").is_file()


def test_a_rerun_skips_finished_jobs_and_redoes_only_missing_ones(tiny_results):
    config, out, root = tiny_results
    table = out / "results.csv"
    rows = pd.read_csv(table)
    dropped = (
        (rows["encoder"] == "mlp") & (rows["seed"] == 1) & (rows["experiment"] == "cross-dataset")
    )
    # as written before rows named their device: those rows ran on the CPU
    rows[~dropped].drop(columns="device").to_csv(table, index=False)
    again = run_benchmark(config, ["cross-dataset"], out, workers=1, progress=False, zoo_root=root)
    assert len(again) == len(rows) and set(again["device"]) == {"cpu"}
    redone = again[(again["encoder"] == "mlp") & (again["seed"] == 1)]
    redone = redone[redone["experiment"] == "cross-dataset"]
    assert len(redone) == dropped.sum()
    kept = again[again["encoder"] == "sne"]["finished_at"]
    assert set(kept) <= set(rows["finished_at"]), "finished jobs were run again"
    # the dropped jobs' predictors were saved: scored again, not trained again
    key = ["source", "target"]
    before = rows[dropped].set_index(key).sort_index()
    after = redone.set_index(key).sort_index()
    assert after["train_seconds"].equals(before["train_seconds"])
    assert np.allclose(after["kendall_tau"], before["kendall_tau"])


def test_experiments_share_a_training_and_each_is_saved_once(tiny_results):
    _, out, _ = tiny_results
    rows = ResultsStore(out).rows()
    sne = rows[(rows["encoder"] == "sne") & (rows["source"] == "digits")]
    sne = sne[sne["target"] == "digits"].fillna({"variant": ""})
    sne = sne.set_index(["experiment", "variant", "seed"])["kendall_tau"]
    # the same encoder, settings, source and seed in three experiments: one predictor
    for seed in (0, 1):
        assert sne["cross-dataset", "", seed] == sne["cross-arch", "", seed]
        assert sne["cross-dataset", "", seed] == sne["ablate", "chunk_size=8", seed]
    folders = sorted(p.name.split("_")[0] for p in (out / "predictors").iterdir())
    # sne: digits, shapes, digits-dense, digits at chunk 16; mlp: three sources; x 2 seeds.
    # STATNN's trees are refitted in seconds and not saved
    assert folders == ["mlp"] * 6 + ["sne"] * 8
    assert all(
        (out / "predictors" / p / "fit.json").is_file() for p in os.listdir(out / "predictors")
    )


def test_the_ablation_runs_on_ray(tiny_results):
    ray = pytest.importorskip("ray")
    config, _, root = tiny_results
    out = root / "ablate"
    try:
        rows = run_benchmark(
            config, ["ablate"], out, ray_address="local", progress=False, zoo_root=root
        )
    finally:
        ray.shutdown()
    ablate = rows[rows["encoder"] == "sne"]
    assert sorted(ablate["variant"].unique()) == ["chunk_size=16", "chunk_size=8", "pooling=mean"]
    base = ablate[ablate["variant"] == "chunk_size=8"].set_index("seed")
    again = ablate[ablate["variant"] == "pooling=mean"].set_index("seed")
    assert base["finished_at"].equals(again["finished_at"]), "the base configuration ran twice"
    assert base["kendall_tau"].equals(again["kendall_tau"])
    assert "chunk_size | 8 |" in write_report(out)


def test_unknown_names_fail_before_any_work(tiny_results, tmp_path, monkeypatch, capsys):
    config = tiny_results[0]
    monkeypatch.setenv("NNENC_CACHE", str(tmp_path / "cache"))
    preset = tmp_path / "bad.yaml"
    bad = json.loads(json.dumps(config.raw))
    bad["encoders"]["transformer"] = {}
    bad["experiments"]["cross-dataset"]["zoos"].append("imagenet")
    preset.write_text(json.dumps(bad))  # JSON is YAML
    assert (
        main(["bench", "cross-dataset", "--preset", str(preset), "--out", str(tmp_path / "r")]) == 2
    )
    err = capsys.readouterr().err
    assert "unknown encoder 'transformer'; valid: deepsets, gmn, mlp, sne, statnn" in err
    assert "names zoo 'imagenet', which the preset does not define" in err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "r").exists()
    assert main(["bench", "cross-dataset", "--preset", "huge"]) == 2
    assert "unknown preset 'huge'; valid: full, quick" in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a CUDA device")
def test_device_cuda_without_a_gpu_fails_before_any_work(tiny_results, tmp_path, capsys):
    config = tiny_results[0]
    preset = tmp_path / "tiny.yaml"
    preset.write_text(json.dumps(config.raw))
    out = tmp_path / "r"
    argv = ["bench", "cross-dataset", "--preset", str(preset), "--out", str(out)]
    assert main([*argv, "--device", "cuda"]) == 2
    assert "--device cuda: no CUDA device is available here" in capsys.readouterr().err
    assert not out.exists()


def test_results_of_another_format_or_configuration_are_refused(tiny_results, tmp_path, capsys):
    config, out, _ = tiny_results
    old = tmp_path / "old"
    old.mkdir()
    pd.DataFrame({"encoder": ["sne"], "tau": [0.5]}).to_csv(old / "results.csv", index=False)
    assert main(["report", str(old)]) == 2
    assert "no meta.json" in capsys.readouterr().err
    meta = json.loads((out / "meta.json").read_text())
    (old / "meta.json").write_text(json.dumps({**meta, "format_version": 0}))
    with pytest.raises(
        ResultsFormatError, match="version 0; this nnenc reads 'nnenc-results' version 1"
    ):
        ResultsStore(old)
    other = BenchConfig.from_dict({**config.raw, "seeds": [5]})
    with pytest.raises(ResultsFormatError, match="results of another configuration"):
        run_benchmark(other, ["cross-dataset"], out, workers=1, progress=False)


def _cross_dataset_row(encoder, source, target, seed, tau, status="ok") -> dict:
    return {
        "experiment": "cross-dataset",
        "encoder": encoder,
        "variant": np.nan,
        "source": source,
        "target": target,
        "seed": seed,
        "status": status,
        "kendall_tau": tau,
    }


def test_summary_averages_per_seed_then_over_seeds_and_bolds_the_best():
    rows = []
    for seed, (a, b) in enumerate([(0.2, 0.4), (0.4, 0.6)]):
        for encoder, shift in (("sne", 0.1), ("mlp", 0.0)):
            for source, target, tau in (
                ("x", "y", a),
                ("y", "x", b),
                ("x", "x", 0.9),
                ("y", "y", 0.8),
            ):
                rows.append(_cross_dataset_row(encoder, source, target, seed, tau + shift))
        for target in ("x", "y"):
            rows.append(_cross_dataset_row(LABEL_NOISE, target, target, seed, 0.7))
    table = summary_table(pd.DataFrame(rows))
    # sne cross-dataset: seed 0 mean(0.3, 0.5) = 0.4, seed 1 mean(0.5, 0.7) = 0.6
    assert table.mean.loc["sne", "cross-dataset"] == pytest.approx(0.5)
    assert table.std.loc["sne", "cross-dataset"] == pytest.approx(np.std([0.4, 0.6], ddof=1))
    assert table.mean.loc["mlp", "in-distribution"] == pytest.approx(0.85)
    assert table.mean.loc[LABEL_NOISE, "cross-dataset"] == pytest.approx(0.7)
    markdown = table.to_markdown()
    assert "| sne | **0.950 ± 0.000** | **0.500 ± 0.141** |" in markdown
    assert "\\textbf{0.500 $\\pm$ 0.141}" in table.to_latex()


def test_the_difference_table_pairs_seeds_and_counts_the_seeds_won():
    rows = []
    for seed, (sne, mlp, deepsets) in enumerate(
        [(0.5, 0.3, 0.6), (0.6, 0.5, 0.5), (0.4, 0.1, 0.6)]
    ):
        for encoder, tau in (("sne", sne), ("mlp", mlp), ("deepsets", deepsets)):
            for source, target in (("x", "y"), ("y", "x"), ("x", "x"), ("y", "y")):
                # the mlp cannot read zoo x: n/a on every pair with target x
                status = "n/a" if encoder == "mlp" and target == "x" else "ok"
                rows.append(_cross_dataset_row(encoder, source, target, seed, tau, status))
    table = difference_table(pd.DataFrame(rows))
    gaps = [0.5 - 0.6, 0.6 - 0.5, 0.4 - 0.6]
    assert table.mean.loc["deepsets", "cross-dataset"] == pytest.approx(np.mean(gaps))
    assert table.std.loc["deepsets", "cross-dataset"] == pytest.approx(np.std(gaps, ddof=1))
    assert np.isnan(table.mean.loc["mlp", "cross-dataset"])  # one of its pairs is n/a
    markdown = table.to_markdown()
    assert f"| deepsets | {np.mean(gaps):+.3f} ± {np.std(gaps, ddof=1):.3f} (1/3) |" in markdown
    assert "| mlp | n/a | n/a |" in markdown and "**" not in markdown.split("\n", 1)[1]
