"""The benchmark layer: presets checked before any work, a tiny end-to-end benchmark (resumable,
over processes and over Ray), tables, and refusing results folders it cannot read."""

import json
import os
import re
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import TINY_BENCH

from analysis.config import BenchConfig, preset_names
from analysis.context import RunContext
from analysis.intervals import Group, detectable_difference, task_intervals
from analysis.jobs import Job, make_predictor
from analysis.plots import ablation_curves, task_bars
from analysis.progress import missing_runs, progress_note
from analysis.report import write_report
from analysis.results import KEY, REQUESTED, ResultsFormatError, ResultsStore, resume_command
from analysis.runner import refuse_other_precisions, run_benchmark, unfinished
from analysis.tables import (
    ABSENT,
    MIXED_IN_DIST,
    ablation_markdown,
    ablation_table,
    comparison_tables,
)
from nnenc import load_zoo
from nnenc.cli import main
from nnenc.metrics import kendall_tau
from nnenc.predict.references import LabelNoiseReference

LABEL_NOISE = LabelNoiseReference.name


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
    assert "Preset `tiny`: networks drawn as each run's final checkpoint" in text
    assert "| digits | 60 (" in text and "label-noise reference" in text  # the zoo table
    assert "Incomplete" not in text and not missing_runs(
        ResultsStore(out).meta, ResultsStore(out).rows()
    )
    for name in ("summary.md", "summary.tex", "cross-dataset-sne.md", "zoos.md"):
        assert (out / "tables" / name).is_file()
    for name in ("tasks", "cross-dataset-heatmaps", "best-scatter", "embedding-cross-arch"):
        assert (out / "figures" / f"{name}.png").stat().st_size > 1000
        assert (out / "figures" / f"{name}.pdf").is_file()
    report = (out / "REPORT.md").read_text()
    assert report.startswith(f"# Results: `{out.as_posix()}`")
    for section in ("## Zoos", "## Kendall tau per task", "## SNE minus each encoder"):
        assert section in report
    assert text.split("\n\n")[1] in report  # every table printed is on the page
    figures = re.findall(r"!\[[^]]*\]\((figures/[^)]+\.png)\)", report)
    assert "figures/tasks.png" in figures and all((out / f).is_file() for f in figures)


def test_every_encoder_gets_the_same_search_and_its_choice_is_what_runs(tiny_results):
    _, out, _ = tiny_results
    tuning = json.loads((out / "tuning.json").read_text())
    assert tuning["tuning"] == {"zoo": "digits", "trials": 2, "seed": 0}
    rows = ResultsStore(out).rows()
    default = rows[rows["variant"].isna() & (rows["encoder"] != LABEL_NOISE)]
    assert set(tuning["choices"]) == set(default["encoder"]) == {"sne", "mlp", "statnn-trees"}
    for encoder, choice in tuning["choices"].items():
        assert [t["state"] for t in choice["trials"]] == ["COMPLETE", "COMPLETE"]
        assert choice["val_kendall_tau"] == max(t["value"] for t in choice["trials"])
        used = {
            json.dumps(json.loads(c)["encoder"], sort_keys=True)
            for c in default.loc[default["encoder"] == encoder, "config"]
        }
        assert used == {json.dumps(choice["config"], sort_keys=True)}
    sne = tuning["choices"]["sne"]["training"]
    assert 3e-4 <= sne["lr"] <= 3e-3  # drawn from SNE's declared space


def test_a_rerun_skips_finished_jobs_and_redoes_only_missing_ones(tiny_results):
    config, out, root = tiny_results
    table = out / "results.csv"
    rows = ResultsStore(out).rows()
    dropped = (
        (rows["encoder"] == "mlp") & (rows["seed"] == 1) & (rows["experiment"] == "cross-dataset")
    )
    # as written before rows named their device: those rows ran on the CPU
    # (and before rows carried checksums and the table an end line)
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


def test_a_zoo_rebuilt_since_the_rows_were_computed_is_refused(tiny_results, tmp_path):
    """A zoo cache rebuilt under the same name (on another machine, another instruction set or
    precision) holds networks of other accuracies: rows computed on the old build cannot be
    paired with new ones, so the run stops, names the zoo, and changes nothing."""
    config, out, root = tiny_results
    copy = tmp_path / "results"
    shutil.copytree(out, copy)
    meta = json.loads((copy / "meta.json").read_text())
    name = sorted(meta["zoo_digests"])[0]
    zoo = load_zoo(meta["zoos"][name])
    assert meta["zoo_digests"][name] == zoo.digest() == load_zoo(meta["zoos"][name]).digest()
    assert zoo.take(np.arange(len(zoo) - 1)).digest() != zoo.digest()
    meta["zoo_digests"][name] = "0" * 64  # as a build elsewhere recorded it
    (copy / "meta.json").write_text(json.dumps(meta))
    before = {f: (copy / f).read_bytes() for f in ("meta.json", "results.csv")}
    with pytest.raises(ResultsFormatError, match=f"other zoos than {name} now at"):
        run_benchmark(config, ["cross-dataset"], copy, workers=1, progress=False, zoo_root=root)
    assert {f: (copy / f).read_bytes() for f in before} == before


def test_a_job_finished_with_other_settings_runs_again(tmp_path):
    """The tuning's choice can change after jobs finished (a search resumed to its full
    budget): their rows keep the old settings in their config cells, and the job runs again
    rather than mixing two configurations in one table."""
    ran = Job("in-dist", "sne", "shapes", ("shapes",), 0, training={"lr": 1e-3, "epochs": 60})
    other = Job("in-dist", "sne", "shapes", ("shapes",), 1, training={"lr": 1e-3, "epochs": 60})
    store = ResultsStore(tmp_path / "results", {"name": "t"}, zoos={})
    for job in (ran, other):
        store.append(
            [
                {
                    **dict(zip(KEY, job.key_for("").split("|"), strict=True)),
                    "seed": job.seed,
                    "target": "shapes",
                    "config": job.settings,
                }
            ]
        )
    store = ResultsStore(tmp_path / "results")
    same = Job("in-dist", "sne", "shapes", ("shapes",), 1, training={"epochs": 60, "lr": 1e-3})
    retuned = Job("in-dist", "sne", "shapes", ("shapes",), 0, training={"lr": 2e-3, "epochs": 60})
    assert unfinished([retuned, same], store) == [retuned]
    assert unfinished([ran, same], store) == []


def test_a_results_folder_without_rows_says_which_command_computes_them(tmp_path):
    """A benchmark that has written its meta.json but no row yet (still building zoos, as a
    long run does for hours): reading it for tables names the folder and the command that
    resumes it, instead of failing later on an empty table; the report says the same."""
    folder = tmp_path / "results"
    config = {"name": "full", "experiments": {"ablate": {}, "in-dist": {}}}
    ResultsStore(folder, config, zoos={})
    store = ResultsStore(folder)
    assert store.rows().empty
    command = f"nnenc bench ablate in-dist --preset full --out {folder}"
    with pytest.raises(ResultsFormatError, match="no finished result rows yet") as refused:
        store.finished_rows()
    assert command in str(refused.value)
    with pytest.raises(ValueError, match="no results yet") as refused:
        write_report(folder)
    assert command in str(refused.value)
    assert not (folder / "tables").exists()


def test_the_resume_command_keeps_the_zoo_cache_the_zoos_were_built_in(tmp_path, monkeypatch):
    """Zoos kept beside the results (``--zoo-cache results/full``, as the full benchmark does):
    the command that resumes the folder names that cache, or a resumed run would rebuild every
    zoo (hours) in the machine's cache. Zoos in the machine's cache need no flag."""
    monkeypatch.setenv("NNENC_CACHE", str(tmp_path / "machine-cache"))
    config = {"name": "full", "experiments": {"in-dist": {}}}
    kept = {"shapes": "results/full/zoos/shapes-1", "mnist": "results/full/zoos/mnist-2"}
    command = resume_command({"config": config, "zoos": kept}, "results/full")
    assert command.endswith("--out results/full --zoo-cache results/full")
    cached = {"shapes": str(tmp_path / "machine-cache" / "zoos" / "shapes-1")}
    assert "--zoo-cache" not in resume_command({"config": config, "zoos": cached}, "out")
    scattered = {"a": "one/zoos/a", "b": "two/zoos/b"}
    assert "--zoo-cache" not in resume_command({"config": config, "zoos": scattered}, "out")


def test_the_resume_command_finishes_a_folder_in_the_precision_it_began_in():
    """A folder begun where ``auto`` is fp32 (an AVX2 CPU) is resumed with ``--precision fp32``:
    on a CPU with native bf16, ``auto`` would train SNE in bf16 and the run be refused. Rows of
    both precisions are what ``auto`` writes on a native-bf16 CPU: no flag. The trees' fp64 is
    nothing the flag can choose."""
    meta = {"config": {"name": "full", "experiments": {"in-dist": {}}}}
    trees = {"statnn-trees": {"fp64"}}
    fp32 = resume_command(meta, "out", {"sne": {"fp32"}, "gmn": {"fp32"}, **trees})
    assert fp32.endswith("--out out --precision fp32")
    native = resume_command(meta, "out", {"sne": {"bf16"}, "gmn": {"fp32"}, **trees})
    assert "--precision" not in native
    assert "--precision" not in resume_command(meta, "out", trees)
    assert "--precision" not in resume_command(meta, "out")


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
    """On Ray, with the tiny benchmark's searches reused (tuning.reuse): not searched again."""
    ray = pytest.importorskip("ray")
    config, results, root = tiny_results
    raw = json.loads(json.dumps(config.raw))
    raw["tuning"]["reuse"] = str(results)
    config = BenchConfig.from_dict(raw)
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
    for encoder in config.encoders:  # the copied searches, with no trial added
        journal = f"tuning/{encoder}.log"
        assert (out / journal).read_bytes() == (results / journal).read_bytes(), encoder


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
    valid = err.split("unknown encoder 'transformer'; valid: ")[1].split(";")[0].split(", ")
    assert {"deepsets", "gmn", "mlp", "sne", "statnn", "statnn-trees"} <= set(valid)
    assert "label-noise" not in valid  # a reference is not an encoder a preset chooses
    assert "names zoo 'imagenet', which the preset does not define" in err
    assert not (tmp_path / "cache").exists() and not (tmp_path / "r").exists()
    assert main(["bench", "cross-dataset", "--preset", "huge"]) == 2
    valid = ", ".join(preset_names())
    assert {"full", "mixed", "quick"} <= set(preset_names())
    assert f"unknown preset 'huge'; valid: {valid}, or a .yaml file" in capsys.readouterr().err


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


def test_zoo_cache_finds_the_zoos_kept_with_a_results_folder(tiny_results, tmp_path, capsys):
    """``--zoo-cache DIR`` reads the zoos from DIR/zoos/ (where the full preset keeps them, in the
    repository): a finished folder copied elsewhere reports again without building anything into
    ``$NNENC_CACHE``; without the flag it would rebuild them there."""
    config, out, root = tiny_results
    copy = tmp_path / "r"
    shutil.copytree(out, copy)
    preset = tmp_path / "tiny.yaml"
    preset.write_text(json.dumps(config.raw))
    cache = Path(os.environ["NNENC_CACHE"]) / "zoos"
    before = sorted(cache.rglob("*"))
    argv = ["bench", "cross-dataset", "--preset", str(preset), "--out", str(copy)]
    assert main([*argv, "--zoo-cache", str(root), "--workers", "1"]) == 0
    assert "results, tables and figures in" in capsys.readouterr().out
    assert sorted(cache.rglob("*")) == before  # nothing built into the cache
    meta = json.loads((copy / "meta.json").read_text())
    assert {Path(p).parent for p in meta["zoos"].values()} == {root / "zoos"}


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
        ResultsFormatError, match="version 0; this nnenc reads 'nnenc-results' version 2"
    ):
        ResultsStore(old)
    other = BenchConfig.from_dict({**config.raw, "seeds": [5]})
    with pytest.raises(ResultsFormatError, match="results of another configuration"):
        run_benchmark(other, ["cross-dataset"], out, workers=1, progress=False)


def test_a_preset_that_adds_an_encoder_goes_on_in_the_folder_and_trains_only_it(
    tiny_results, tmp_path
):
    """A configuration that only adds encoders is recorded in the folder and runs their jobs
    alone (the rows there are left as they were); one that also drops or changes anything (an
    encoder an experiment ran included) is refused with the settings that differ, before any
    work."""
    config, out, root = tiny_results
    copy = tmp_path / "r"
    shutil.copytree(out, copy)
    before = ResultsStore(copy).rows()
    raw = json.loads(json.dumps(config.raw))
    raw["encoders"] = {"statnn": {}, **raw["encoders"]}
    added = BenchConfig.from_dict(raw)
    run_benchmark(added, ["cross-dataset"], copy, workers=1, progress=False, zoo_root=root)
    store = ResultsStore(copy)
    assert store.meta["config"] == added.raw
    rows = store.rows()
    new = rows[rows["encoder"] == "statnn"]
    assert len(new) == 2 * 2 * 2 and (new["status"] == "ok").all()  # sources x targets x seeds
    kept = rows[rows["encoder"] != "statnn"].drop(columns="folder").reset_index(drop=True)
    pd.testing.assert_frame_equal(kept, before.drop(columns="folder").reset_index(drop=True))
    dropped = {**raw, "encoders": {k: v for k, v in raw["encoders"].items() if k != "mlp"}}
    changed = {**raw, "seeds": [0, 1, 2], "training": {**raw["training"], "epochs": 2}}
    # an experiment without a list runs every encoder: a list of some of them drops the others
    narrowed = json.loads(json.dumps(raw))
    narrowed["experiments"]["cross-dataset"]["encoders"] = ["sne", "statnn"]
    for other, named in [
        (dropped, "encoders.mlp, experiments.cross-arch, experiments.cross-dataset differ"),
        (changed, "seeds, training differ"),
        (narrowed, "experiments.cross-dataset differ"),
    ]:
        with pytest.raises(ResultsFormatError, match=named):
            run_benchmark(
                BenchConfig.from_dict(other), ["cross-dataset"], copy, workers=1, progress=False
            )
    assert ResultsStore(copy).meta["config"] == added.raw


def _write_predictions(
    out, encoder, source, target, seed, true, predicted, runs, experiment="cross-dataset"
) -> dict:
    job = Job(experiment, encoder, source, (), seed)
    folder = out / "predictions"
    folder.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(
        {
            "model_id": [f"{r}-{i}" for i, r in enumerate(runs)],
            "run_id": runs,
            "true": true,
            "predicted": predicted,
        }
    )
    table.to_csv(folder / f"{job.output_name(target)}.csv.gz", index=False)
    return {
        "experiment": experiment,
        "encoder": encoder,
        "variant": np.nan,
        "source": source,
        "target": target,
        "seed": seed,
        "status": "ok",
        "kendall_tau": kendall_tau(true, predicted),
    }


def test_intervals_pair_encoders_on_the_same_resampled_runs():
    """Identical predictions differ by exactly 0 on every resample; a clearly better
    predictor's paired interval excludes 0 while a noisy one's tau interval is wide."""
    rng = np.random.default_rng(0)
    groups = []
    for _ in range(3):  # three seeds
        true = rng.uniform(0.1, 0.9, 80)
        good = true + rng.normal(0, 0.05, 80)
        groups.append(
            Group(
                np.arange(80),
                {"accuracy": true},
                {"good": good, "copy": good.copy(), "noisy": true + rng.normal(0, 0.4, 80)},
            )
        )
    found = task_intervals(
        groups, ["good", "copy", "noisy"], [("good", "copy"), ("good", "noisy")], resamples=300
    )
    assert found["good"].estimate == pytest.approx(
        np.mean([kendall_tau(g.true["accuracy"], g.predicted["good"]) for g in groups])
    )
    assert found[("good", "copy")].low == found[("good", "copy")].high == 0
    assert found[("good", "noisy")].excludes_zero and found[("good", "noisy")].low > 0.2
    assert found["good"].low < found["good"].estimate < found["good"].high
    assert found["noisy"].high - found["noisy"].low > found["good"].high - found["good"].low
    assert detectable_difference(found) > 0


def _two_zoo_rows(folder) -> list[dict]:
    """Rows (and saved predictions) of sne (close to the truth) and mlp (noisy) on zoos x and
    y, in-distribution and across, with the label-noise reference, seeds 0 and 1."""
    rng = np.random.default_rng(1)
    rows = []
    for seed in (0, 1):
        for source, target in (("x", "x"), ("x", "y"), ("y", "x"), ("y", "y")):
            runs = [f"run{i}" for i in range(60)]
            true = rng.uniform(0.1, 0.9, 60)
            for encoder, noise in (("sne", 0.05), ("mlp", 0.3)):
                predicted = true + rng.normal(0, noise, 60)
                rows.append(
                    _write_predictions(folder, encoder, source, target, seed, true, predicted, runs)
                )
        for target in ("x", "y"):
            half = rng.uniform(0.1, 0.9, 60)
            rows.append(
                _write_predictions(
                    folder,
                    LABEL_NOISE,
                    target,
                    target,
                    seed,
                    half,
                    half + rng.normal(0, 0.02, 60),
                    runs,
                )
            )
    return rows


def test_comparison_tables_read_predictions_mark_differences_and_bold_the_best(tmp_path):
    rows = _two_zoo_rows(tmp_path)
    rows.append({**rows[0], "encoder": "deepsets", "status": "n/a", "kendall_tau": np.nan})
    summary, difference = comparison_tables(pd.DataFrame(rows), tmp_path)
    assert "Incomplete" not in summary.to_markdown() + difference.to_markdown()
    assert (
        summary.estimate.loc["sne", "cross-dataset"] > summary.estimate.loc["mlp", "cross-dataset"]
    )
    assert summary.low.loc["sne", "cross-dataset"] < summary.estimate.loc["sne", "cross-dataset"]
    markdown = summary.to_markdown()
    assert "| sne | **" in markdown and "| *label-noise* |" in markdown
    assert np.isnan(summary.estimate.loc["deepsets", "in-distribution"])  # its pair is n/a
    gaps = difference.to_markdown()
    assert difference.estimate.loc["mlp", "cross-dataset"] > 0
    assert "| mlp | +" in gaps and " *" in gaps and "Smallest difference" in gaps
    assert "\\textbf{" in summary.to_latex()


def test_in_distribution_on_a_mixed_zoo_is_its_own_column(tmp_path):
    """In-distribution rows on a zoo of several architectures (an encoder that reads one is n/a
    there) go to their own column: averaged into the in-distribution one, that n/a would leave
    the encoder no in-distribution number at all."""
    rows = _two_zoo_rows(tmp_path)
    rng = np.random.default_rng(2)
    for seed in (0, 1):
        true = rng.uniform(0.1, 0.9, 60)
        runs = [f"run{i}" for i in range(60)]
        row = _write_predictions(
            tmp_path, "sne", "m", "m", seed, true, true + rng.normal(0, 0.05, 60), runs, "in-dist"
        )
        row["test_architectures"] = "cnn-a cnn-b mlp-c"
        rows += [row, {**row, "encoder": "mlp", "status": "n/a", "kendall_tau": np.nan}]
    summary, _ = comparison_tables(pd.DataFrame(rows), tmp_path)
    assert list(summary.estimate.columns) == ["in-distribution", "cross-dataset", MIXED_IN_DIST]
    assert (
        summary.cell("mlp", MIXED_IN_DIST) == "n/a"
        and summary.estimate.loc["sne", MIXED_IN_DIST] > 0.5
    )
    alone, _ = comparison_tables(pd.DataFrame(_two_zoo_rows(tmp_path)), tmp_path)
    for encoder in ("sne", "mlp"):  # the mixed zoo's rows leave the other columns as they were
        assert summary.estimate.loc[encoder, "in-distribution"] == pytest.approx(
            alone.estimate.loc[encoder, "in-distribution"]
        )


def test_tables_of_a_run_in_progress_say_which_seeds_their_columns_cover(tmp_path):
    """A benchmark committed part-way (it spans sittings): an encoder with rows on seed 0 only
    pairs with the others on seed 0 only, and the tables say so instead of "mean over 2
    seeds"."""
    rows = pd.DataFrame(_two_zoo_rows(tmp_path))
    partial = rows[~((rows["encoder"] == "mlp") & (rows["seed"] == 1))]
    complete, _ = comparison_tables(rows, tmp_path)
    summary, difference = comparison_tables(partial, tmp_path)
    assert "mean over 2 seeds" in complete.title and not complete.incomplete
    assert summary.incomplete == {"in-distribution": [0], "cross-dataset": [0]}
    for table in (summary, difference):
        assert "mean over 2 seeds" not in table.title
        assert (
            "Incomplete" in table.to_markdown() and "in-distribution: seed 0;" in table.to_latex()
        )
    # on seed 0 alone, sne's number is not its two-seed mean
    assert (
        summary.estimate.loc["sne", "cross-dataset"]
        != complete.estimate.loc["sne", "cross-dataset"]
    )


def test_a_zoo_pair_some_encoder_has_not_reached_is_left_out_not_n_a(tmp_path):
    """Part-way through a benchmark, the MLP has no rows on zoo y yet: the in-distribution
    column scores every encoder on zoo x alone and says so, instead of showing the MLP as n/a
    (which means it cannot read the zoo)."""
    rows = pd.DataFrame(_two_zoo_rows(tmp_path))
    partial = rows[~((rows["encoder"] == "mlp") & (rows["target"] == "y"))]
    summary, difference = comparison_tables(partial, tmp_path)
    assert summary.pending["in-distribution"] == [("y", "y")]
    assert not np.isnan(summary.estimate.loc["mlp", "in-distribution"])
    assert not np.isnan(difference.estimate.loc["mlp", "in-distribution"])
    assert "y → y" in summary.to_markdown() and "y → y" in difference.to_markdown()
    x_only, _ = comparison_tables(rows[rows["target"] == "x"], tmp_path)
    assert summary.estimate.loc["sne", "in-distribution"] == pytest.approx(
        x_only.estimate.loc["sne", "in-distribution"]
    )


def test_an_encoder_with_no_rows_on_a_task_is_shown_as_not_run_not_n_a(tmp_path):
    """Part-way through a benchmark (or in a report combining runs), the MLP has no rows on
    zoo x as a source yet, and the label-noise reference none on zoo y: their cells and bars
    say "no rows", not n/a (which means it ran and cannot read the zoo), and the other
    encoders are still scored on every pair."""
    rows = pd.DataFrame(_two_zoo_rows(tmp_path))
    partial = rows[~((rows["encoder"] == "mlp") & (rows["source"] == "x"))]
    partial = partial[~((partial["encoder"] == "mlp") & (partial["target"] == "x"))]
    partial = partial[~((partial["encoder"] == LABEL_NOISE) & (partial["target"] == "y"))]
    summary, difference = comparison_tables(partial, tmp_path)
    assert summary.absent == {
        "cross-dataset": ["mlp", LABEL_NOISE],
        "in-distribution": [LABEL_NOISE],
    }
    assert difference.absent == {"cross-dataset": ["mlp"]}
    # the reference, not yet on zoo y, is not scored rather than holding back the pair x → y
    complete, _ = comparison_tables(rows, tmp_path)
    assert summary.estimate.loc["sne", "cross-dataset"] == pytest.approx(
        complete.estimate.loc["sne", "cross-dataset"]
    )
    assert summary.cell("mlp", "cross-dataset") == ABSENT
    assert summary.cell("mlp", "in-distribution") != "n/a"  # on y → y
    assert not np.isnan(summary.estimate.loc["sne", "cross-dataset"])
    for table in (summary, difference):
        markdown = table.to_markdown()
        assert f"| mlp | {ABSENT}" in markdown or f"| {ABSENT} |" in markdown
        assert "n/a: ran, and cannot read the zoo" in markdown
    figure = task_bars(summary, difference)
    marks = [t.get_text() for ax in figure.axes for t in ax.texts]
    assert "no rows" in marks and "n/a" not in marks
    assert "Incomplete" in figure._suptitle.get_text()


def test_a_report_names_the_runs_its_preset_still_has_to_do():
    """A zoo no encoder has reached leaves no trace in the tables (they average the pairs they
    have): the report names what is still to run, from the preset in ``meta.json``."""
    meta = {"config": TINY_BENCH}
    done = [
        {
            "experiment": "cross-dataset",
            "encoder": e,
            "variant": None,
            "source": "digits",
            "seed": s,
        }
        for e in ("sne", "mlp", "statnn-trees")
        for s in (0, 1)
    ]
    done.append({**done[2], "source": "shapes", "seed": 0})  # mlp on shapes, seed 0
    missing = missing_runs(meta, pd.DataFrame(done))
    described = {(m.experiment, m.describe()) for m in missing}
    assert described == {
        ("cross-dataset", "shapes (5 of 6 runs)"),
        ("cross-arch", "digits (all runs)"),
        ("cross-arch", "digits-dense (all runs)"),
        ("ablate", "digits (all runs)"),
    }
    assert next(m for m in missing if m.experiment == "ablate").total == 3 * 2  # variants x seeds
    note = progress_note(missing, "nnenc bench ...")
    assert "cross-arch from digits (all runs), digits-dense (all runs)" in note
    half = [r for r in done if r["encoder"] != "sne"] + [{**done[0], "source": "shapes"}]
    partial = {(m.experiment, m.source): m for m in missing_runs(meta, pd.DataFrame(half))}
    assert partial["cross-dataset", "digits"].describe() == "digits (2 of 6 runs: sne)"
    assert missing_runs({"config": {"name": "old"}}, pd.DataFrame(done)) == []


def test_a_folder_is_complete_without_the_experiments_nobody_asked_of_it(tmp_path):
    """``make demo`` runs two of the quick preset's four experiments; its report said
    "Incomplete (results still being computed)" and named ``in-dist`` and ``ablate`` as still
    to run. The folder records what each ``nnenc bench`` call asked of it, and the report and
    the resume command go by that; a folder without the record goes by its whole preset."""
    config = {"name": "tiny", **{k: v for k, v in TINY_BENCH.items() if k != "name"}}
    out = tmp_path / "results"
    ResultsStore(out, config, zoos={}, digests={}, experiments=["cross-dataset"])
    ResultsStore(out, config, zoos={}, digests={}, experiments=["ablate", "cross-dataset"])
    meta = ResultsStore(out).meta
    assert meta[REQUESTED] == ["cross-dataset", "ablate"]
    done = [
        {"experiment": "cross-dataset", "encoder": e, "variant": None, "source": z, "seed": s}
        for e in ("sne", "mlp", "statnn-trees")
        for z in ("digits", "shapes")
        for s in (0, 1)
    ]
    missing = missing_runs(meta, pd.DataFrame(done))
    assert {m.experiment for m in missing} == {"ablate"}  # not cross-arch: nobody asked
    command = resume_command(meta, out)
    named = command.split(" --preset")[0].split()[2:]
    assert sorted(named) == ["ablate", "cross-dataset"] and command.endswith(f"--out {out}")
    assert {m.experiment for m in missing_runs({"config": config}, pd.DataFrame(done))} == {
        "ablate",
        "cross-arch",
    }


def test_a_folder_is_finished_in_the_precision_it_began_in(tmp_path):
    """A benchmark spans sittings on machines where ``auto`` resolves differently (bf16 on a CPU
    with native bf16, fp32 on an AVX2 one): new rows of an encoder in another precision than
    its rows so far are refused before anything runs, and ``--precision`` finishes the folder
    as it began. STATNN's trees have no precision to mix; a preset's explicit precision stays."""
    store = ResultsStore(tmp_path / "results", {"name": "t"}, zoos={}, digests={})
    row = {"experiment": "in-dist", "variant": "", "source": "x", "target": "x", "seed": 0}
    store.append([{**row, "encoder": "sne", "role": "predictor", "precision": "bf16"}])
    store.append([{**row, "encoder": "statnn-trees", "role": "predictor", "precision": "fp64"}])
    store = ResultsStore(tmp_path / "results")
    assert store.precisions() == {"sne": {"bf16"}, "statnn-trees": {"fp64"}}
    sne, trees = (Job("in-dist", e, "x", ("x",), 1) for e in ("sne", "statnn-trees"))
    with pytest.raises(ValueError, match=r"sne rows were trained in bf16.*--precision bf16"):
        refuse_other_precisions([trees, sne], store, RunContext(precision="fp32"))
    with warnings.catch_warnings():  # bf16 on a CPU without it: allowed, with a warning
        warnings.simplefilter("ignore")
        refuse_other_precisions([trees, sne], store, RunContext(precision="bf16"))
    fp32 = RunContext(precision="fp32")
    assert make_predictor(sne, fp32).precision == "fp32"
    assert fp32.training(trees.encoder, trees.training) == {}  # no precision to set
    pinned = Job("in-dist", "sne", "x", ("x",), 1, training={"precision": "bf16"})
    assert fp32.training(pinned.encoder, pinned.training) == {"precision": "bf16"}


def test_a_precision_that_would_mix_is_refused_before_the_searches_run(
    tiny_results, tmp_path, monkeypatch
):
    """The refusal of :func:`test_a_folder_is_finished_in_the_precision_it_began_in` came after
    the tuning: a search not yet finished (hours on the full preset) ran first, then the run was
    refused. A job with rows missing runs whatever the searches choose, so it is checked first;
    nothing is searched, trained or written."""
    config, out, root = tiny_results
    copy = tmp_path / "results"
    shutil.copytree(out, copy)
    rows = ResultsStore(copy).rows()
    began = rows.loc[rows["encoder"] == "sne", "precision"].dropna().unique()
    assert len(began) == 1
    other = {"fp32": "bf16", "bf16": "fp32"}[began[0]]
    dropped = (rows["encoder"] == "sne") & (rows["seed"] == 1)
    dropped &= rows["experiment"] == "cross-dataset"
    rows[~dropped].to_csv(copy / "results.csv", index=False)
    before = (copy / "results.csv").read_bytes()

    def searched(*args, **kwargs):
        raise AssertionError("the searches ran before the refusal")

    monkeypatch.setattr("analysis.runner._tune", searched)
    with warnings.catch_warnings():  # bf16 on a CPU without it: a warning, not the point here
        warnings.simplefilter("ignore")
        with pytest.raises(ValueError, match=f"sne rows were trained in {began[0]}"):
            run_benchmark(
                config,
                ["cross-dataset"],
                copy,
                workers=1,
                progress=False,
                zoo_root=root,
                precision=other,
            )
    assert (copy / "results.csv").read_bytes() == before


def test_a_preset_with_too_few_test_runs_is_refused():
    with pytest.raises(ValueError, match="of 60 runs holds 12 runs, fewer than 30"):
        BenchConfig.from_dict({**TINY_BENCH, "split": [0.6, 0.2, 0.2]})
    with pytest.raises(ValueError, match="protocol must be one of final, all-checkpoints"):
        BenchConfig.from_dict({**TINY_BENCH, "protocol": "best"})


@pytest.mark.parametrize("preset", preset_names())
def test_the_shipped_presets_load_and_every_zoo_would_build(preset):
    from analysis.zoos import build_spec

    config = BenchConfig.load(preset)
    assert len(config.seeds) >= 5 and config.protocol == "final" and config.tuning
    for spec in config.zoos.values():
        build_spec(spec).validate()  # datasets, architectures and the space, before any work


def test_the_mixed_preset_adds_to_the_full_one_without_training_its_encoders_again():
    """Read as one with results/full, the mixed preset must draw the same splits, share the
    searches of the encoders set up alike (tuning.reuse copies them only for the same spec,
    zoo and settings) and train none of the full preset's encoders on the full preset's zoos
    again."""
    from analysis.results import search_spec
    from analysis.zoos import zoo_location

    full, mixed = BenchConfig.load("full"), BenchConfig.load("mixed")
    assert search_spec(mixed.raw) == search_spec(full.raw) and mixed.seeds == full.seeds
    assert mixed.tuning["reuse"] == "results/full"
    for name, spec in full.zoos.items():
        assert mixed.zoos[name] == spec
        # the cache key: the same zoo folders, none built again
        assert zoo_location(name, mixed.zoos[name]) == zoo_location(name, spec)
    for experiment in ("in-dist", "cross-dataset", "cross-arch"):
        assert not set(mixed.experiment_encoders(experiment)) & set(full.encoders)
    assert set(mixed.experiment_encoders("held-out-arch")) == set(mixed.encoders)
    # an encoder set up otherwise (GMN's edge_dim for 5x5 kernels) runs only on the mixed
    # zoo's tasks, which the full preset has not: one configuration per table column
    otherwise = [e for e in full.encoders if mixed.raw["encoders"][e] != full.raw["encoders"][e]]
    assert otherwise == ["gmn"]
    shared = set(full.experiments) & set(mixed.experiments)
    assert not any("gmn" in mixed.experiment_encoders(e) for e in shared)


def test_a_preset_extends_another_key_by_key(tmp_path):
    """``extends: BASE``: the base with each top-level key the preset sets replaced whole (the
    mixed zoo's in-distribution preset keeps the mixed preset's zoos, encoders and seeds, and
    runs its own experiment with its own searches); a loop of presets is refused."""
    mixed, in_dist = BenchConfig.load("mixed"), BenchConfig.load("mixed-in-dist")
    assert in_dist.name == "mixed-in-dist" and list(in_dist.experiments) == ["in-dist"]
    assert sorted(in_dist.experiment_encoders("in-dist")) == sorted(mixed.encoders)
    assert (in_dist.zoos, in_dist.encoders, in_dist.seeds) == (
        mixed.zoos,
        mixed.encoders,
        mixed.seeds,
    )
    assert in_dist.tuning["reuse"] == "results/mixed" and "extends" not in in_dist.raw
    mine = tmp_path / "mine.yaml"
    mine.write_text("extends: quick\nseeds: [0, 1, 2, 3, 4, 5]\n")
    assert BenchConfig.load(str(mine)).seeds == (0, 1, 2, 3, 4, 5)
    assert BenchConfig.load(str(mine)).zoos == BenchConfig.load("quick").zoos
    other = tmp_path / "other.yaml"
    mine.write_text(f"extends: {other}\n")
    other.write_text(f"extends: {mine}\n")
    with pytest.raises(ValueError, match="presets extend each other in a loop"):
        BenchConfig.load(str(mine))


def test_an_experiment_lists_some_of_the_presets_encoders():
    experiments = {"cross-dataset": {"zoos": ["digits"], "encoders": ["sne", "gmn"]}}
    with pytest.raises(ValueError, match=r"'cross-dataset': encoders must list some of the "):
        BenchConfig.from_dict({**TINY_BENCH, "experiments": experiments})
    experiments["cross-dataset"]["encoders"] = ["mlp"]
    config = BenchConfig.from_dict({**TINY_BENCH, "experiments": experiments})
    assert config.experiment_encoders("cross-dataset") == ["mlp"]


def test_a_figure_saved_twice_is_the_same_bytes(tmp_path):
    """Before: every save wrote a new PDF CreationDate, so redrawing committed figures (the
    notebooks did) dirtied the git tree."""
    import matplotlib.pyplot as plt

    from analysis import plots

    digests = []
    for folder in ("a", "b"):
        figure, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        written = plots.save(figure, tmp_path / folder / "line")
        digests.append([p.read_bytes() for p in written])
    assert digests[0] == digests[1] and len(digests[0]) == 2
    assert plots.save(None, tmp_path / "none") == []


def test_an_ablation_whose_preset_configuration_has_not_run_compares_nothing(tiny_results):
    """Part-way through the ablations the preset configuration's job (chunk 8, also named
    pooling=mean) may not have run: no other variant stands in for it. Seen on the full preset,
    where chunk 16 had run before the preset's chunk 32 and was labelled the preset."""
    _, results, _ = tiny_results
    rows = ResultsStore(results).rows()
    ablate = rows[rows["experiment"] == "ablate"]
    table = ablation_table(ablate, results)
    assert table.attrs["base"] == "chunk_size=8"
    gaps = table.set_index("variant")["gap"]
    assert np.isnan(gaps["chunk_size=8"]) and not np.isnan(gaps["chunk_size=16"])
    # pooling=mean is the preset's own job under another name: marked, not compared with itself
    # (it read "+0.000 [+0.000, +0.000]")
    presets = table.loc[table["preset"], "variant"].tolist()
    assert presets == ["chunk_size=8", "pooling=mean"] and np.isnan(gaps["pooling=mean"])
    markdown = ablation_markdown(table)
    assert markdown.count("(preset)") == 2 and "+0.000 [+0.000, +0.000]" not in markdown
    assert "Smallest difference from the preset" in markdown
    figure = ablation_curves(table)
    assert "ringed: the preset configuration" in figure._suptitle.get_text()

    partial = ablate[~ablate["variant"].isin(["chunk_size=8", "pooling=mean"])]
    table = ablation_table(partial, results)
    assert table.attrs["base"] is None
    assert table["variant"].tolist() == ["chunk_size=16"] and table["gap"].isna().all()
    markdown = ablation_markdown(table, ("Incomplete (results still being computed): …",))
    assert "no rows of it yet" in markdown and "(preset)" not in markdown
    assert "Smallest difference" not in markdown
    assert "| chunk_size | 16 |" in markdown and "Incomplete" in markdown
    figure = ablation_curves(table, incomplete=True)
    assert "incomplete" in figure._suptitle.get_text()


def test_references_are_planned_first_so_a_run_cut_short_has_them():
    """The label-noise reference trains nothing: planned before the encoders, a run stopped
    part-way (they span sittings) still has its reference row on every target."""
    from analysis.jobs import plan_jobs

    config = BenchConfig.load("quick")
    architectures = {name: spec["architecture"] for name, spec in config.zoos.items()}
    jobs = plan_jobs(config, "cross-dataset", architectures)
    references = [i for i, job in enumerate(jobs) if job.encoder == LABEL_NOISE]
    targets = {t for job in jobs for t in job.targets}
    assert references == list(range(len(references))) and len(references) == len(targets) * len(
        config.seeds
    )
    assert {job.encoder for job in jobs[len(references) :]} == set(config.encoders)
