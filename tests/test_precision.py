"""Precision for the hardware: ``auto`` picks bf16 only where the probe finds it native and
faster, the probe is cached per machine, and builds, trainings and results say what they used."""

import json
import os
import warnings

import numpy as np
import pytest
import torch

from nnenc import load_zoo, precision
from nnenc.builder.build import BuildConfig, build_zoo, with_precision
from nnenc.io.seals import seal
from nnenc.predict.performance import PerformancePredictor, training_precision
from nnenc.zoo.native import ZooWriter


@pytest.fixture
def fresh_probe(tmp_path, monkeypatch):
    """An empty probe cache, and matrix products whose speed the test decides: returns the
    dict of FLOP/s per dtype and the list of probed dtypes."""
    monkeypatch.setenv("NNENC_CACHE", str(tmp_path / "cache"))
    precision._probe.cache_clear()
    speeds = {torch.float32: 100e9, torch.bfloat16: 3e9}
    probed = []

    def timed(dtype, device="cpu", size=256, seconds=0.05):
        probed.append(dtype)
        return speeds[dtype]

    monkeypatch.setattr(precision, "matmul_flops", timed)
    yield speeds, probed
    precision._probe.cache_clear()


def test_auto_picks_fp32_where_bf16_is_emulated_and_bf16_where_it_is_native(fresh_probe):
    speeds, _ = fresh_probe  # an AVX2-only CPU: bf16 ~35x slower
    assert precision.resolve_precision("auto") == "fp32"
    precision._probe.cache_clear()
    (precision.cache_dir() / precision.PROBE_FILE).unlink()
    speeds[torch.bfloat16] = 240e9  # AVX-512-BF16: 2.4x faster
    assert precision.resolve_precision("auto") == "bf16"


def test_bf16_must_be_clearly_faster_to_be_picked(fresh_probe):
    speeds, _ = fresh_probe
    speeds[torch.bfloat16] = 110e9  # faster, but inside the margin
    assert precision.resolve_precision("auto") == "fp32"


def test_the_probe_runs_once_per_machine_and_again_on_another(fresh_probe, monkeypatch):
    _, probed = fresh_probe
    precision.resolve_precision("auto")
    precision._probe.cache_clear()  # a new process: reads the cache file
    precision.resolve_precision("auto")
    assert probed == [torch.float32, torch.bfloat16]
    cached = json.loads((precision.cache_dir() / precision.PROBE_FILE).read_text())
    (entry,) = cached.values()
    assert entry["precision"] == "fp32" and entry["fp32_gflops"] == 100.0
    assert entry["torch"] == torch.__version__ and "capability" in entry
    other = "SSE41" if os.environ.get("ONEDNN_MAX_CPU_ISA") == "AVX2" else "AVX2"
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", other)  # another instruction set: probed anew
    precision.resolve_precision("auto")
    assert (
        len(probed) == 4
        and len(json.loads((precision.cache_dir() / "precision.json").read_text())) == 2
    )


def test_fp32_and_bf16_are_kept_and_bf16_warns_where_it_is_slow(fresh_probe):
    assert precision.resolve_precision("fp32") == "fp32"
    with pytest.warns(UserWarning, match=r"33\.3x slower than in fp32"):
        assert precision.resolve_precision("bf16") == "bf16"
    with pytest.raises(ValueError, match="unknown precision 'fp16'; valid: auto, fp32, bf16"):
        precision.resolve_precision("fp16")


def test_the_probe_on_this_machine_agrees_with_its_own_timings():
    """The real probe: whatever it picks, bf16 is picked only if it measured it faster."""
    found = precision.probe("cpu")
    faster = found["bf16_gflops"] >= precision.BF16_MIN_SPEEDUP * found["fp32_gflops"]
    assert found["precision"] == ("bf16" if faster else "fp32")
    assert found["fp32_gflops"] > 0.1


TINY = {"dataset": "digits", "architecture": "mlp", "runs": 6, "epochs": 1, "chunk_size": 3}


def test_a_zoo_records_the_precision_that_built_it(tmp_path):
    path = build_zoo(BuildConfig(**TINY), tmp_path / "zoo", workers=1, progress=False)
    manifest = json.loads((path / "manifest.json").read_text())
    used = precision.resolve_precision("auto")
    assert manifest["build"]["config"]["precision"] == used
    assert load_zoo(path).summary()["precision"] == used  # nnenc zoo info: "trained in"


def test_an_unfinished_build_is_finished_in_the_precision_it_started_with(tmp_path):
    started = with_precision(BuildConfig(**{**TINY, "precision": "fp32"}))
    ZooWriter(tmp_path / "zoo", "z", {}, {"config": started.to_dict()})  # a plan, no shard yet
    assert ZooWriter.unfinished_build(tmp_path / "zoo")["config"]["precision"] == "fp32"
    resumed = with_precision(BuildConfig(**TINY), out=tmp_path / "zoo")
    assert resumed.precision == "fp32"
    assert with_precision(BuildConfig(**TINY)).precision == precision.resolve_precision("auto")


def test_a_predictor_computes_in_its_precision_and_says_so(tmp_path, trained_zoo_splits):
    train, val, _ = trained_zoo_splits
    fixed = PerformancePredictor("statnn", epochs=1, precision="fp32")
    assert fixed.precision == "fp32"
    fixed.fit(train, val, progress=False)
    saved = json.loads((fixed.save(tmp_path / "model") / "config.json").read_text())
    assert saved["precision_used"] == "fp32" and saved["training"]["precision"] == "fp32"
    assert PerformancePredictor("sne").precision == precision.resolve_precision("auto")
    with pytest.raises(ValueError, match="unknown precision 'half'"):
        PerformancePredictor("statnn", precision="half")


def test_predictors_saved_before_the_precision_setting_load_as_fp32(tmp_path, trained_zoo_splits):
    train, val, _ = trained_zoo_splits
    predictor = PerformancePredictor("statnn", epochs=1, precision="fp32")
    predictor.fit(train, val, progress=False)
    folder = predictor.save(tmp_path / "model")
    config = json.loads((folder / "config.json").read_text())
    # as written then: without the precision (sealed, as every predictor config is)
    del config["training"]["precision"], config["precision_used"], config["sha256"]
    (folder / "config.json").write_text(json.dumps(seal(config)))
    assert PerformancePredictor.load(folder).precision == "fp32"


def test_auto_trains_in_bf16_only_encoders_that_gain_from_it(fresh_probe):
    """Where bf16 is native, ``auto`` trains SNE in bf16 (measured faster) but not GMN, STATNN,
    DeepSets or the flat MLP (casting cost them as much as it saved, or more: GMN trained at
    0.72x in bf16 on a 2-core AVX-512-BF16 EPYC); asking for bf16 still gets it."""
    speeds, _ = fresh_probe
    speeds[torch.bfloat16] = 240e9
    assert training_precision("sne") == "bf16"
    for name in ("gmn", "statnn", "deepsets", "mlp"):
        assert training_precision(name) == "fp32"
        assert training_precision(name, "bf16") == "bf16"
    with pytest.raises(KeyError, match="unknown encoder 'nope'"):
        training_precision("nope")


def test_sne_trains_and_predicts_in_bf16_on_any_cpu(trained_zoo_splits):
    """The bf16 path (autocast around SNE's own attention function) runs forward and backward
    and learns something, wherever bf16 is emulated too (then it warns)."""
    train, val, _ = trained_zoo_splits
    train, val = train.take(np.arange(32)), val.take(np.arange(16))  # emulated bf16 is slow
    config = {"chunk_size": 16, "hidden": 16, "heads": 2, "out_dim": 16}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        predictor = PerformancePredictor("sne", config, epochs=2, batch_size=16, precision="bf16")
        history = predictor.fit(train, val, progress=False)
        predicted = predictor.predict(val)
    assert predictor.precision == "bf16"
    assert np.isfinite(history["train_loss"]).all() and np.isfinite(predicted).all()
    assert predicted.dtype == np.float64 and predicted.std() > 0
