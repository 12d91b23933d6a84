"""The ``--device cuda`` paths: zoo building, every encoder's training, saving on the GPU and
loading on the CPU, and the benchmark. Skipped where no CUDA device is present (CI); run on a GPU
machine with ``pytest tests/test_cuda.py``."""

import numpy as np
import pandas as pd
import pytest
import torch

from nnenc import load_zoo
from nnenc.builder.build import BuildConfig, build_zoo
from nnenc.cli import main
from nnenc.predict.performance import PerformancePredictor

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here")

SMALL = {
    "sne": {"chunk_size": 16, "hidden": 16, "heads": 2, "out_dim": 8},
    "deepsets": {"hidden": 16, "out_dim": 8},
    "gmn": {"hidden": 16, "depth": 2, "out_dim": 8},
    "mlp": {"hidden": [32], "out_dim": 8},
    "statnn": {},
}


@pytest.mark.parametrize("encoder", sorted(SMALL))
def test_every_encoder_trains_on_cuda_and_its_predictions_hold_on_the_cpu(
    encoder, trained_zoo_splits, tmp_path
):
    train, val, test = trained_zoo_splits
    predictor = PerformancePredictor(
        encoder, SMALL[encoder], epochs=3, device="cuda", seed=0, precision="fp32"
    )
    history = predictor.fit(train, val, progress=False)
    assert next(predictor.parameters()).device.type == "cuda"
    # that they learn is tests/test_learning.py's job; here: it trains, scores, saves, moves
    assert np.isfinite(history[["train_loss", "val_kendall_tau"]].to_numpy()).all()
    on_gpu = predictor.predict(test)
    on_cpu = PerformancePredictor.load(predictor.save(tmp_path / "model"), device="cpu")
    assert next(on_cpu.parameters()).device.type == "cpu"
    np.testing.assert_allclose(on_cpu.predict(test), on_gpu, atol=1e-4)


def test_sne_encodes_the_same_on_cuda_as_on_the_cpu(trained_zoo_splits):
    networks = list(trained_zoo_splits.test)[:12]
    torch.manual_seed(0)
    predictor = PerformancePredictor("sne", SMALL["sne"], device="cpu", precision="fp32")
    predictor.encoder.fit_inputs([predictor.encoder.featurize(n) for n in trained_zoo_splits.train])
    on_cpu = predictor.encode(networks)
    predictor.settings["device"] = "cuda"
    on_gpu = predictor.to("cuda").encode(networks)
    np.testing.assert_allclose(on_gpu, on_cpu, rtol=1e-3, atol=1e-4)
    streamed = predictor.encoder.encode_streaming(networks[0]).cpu().numpy()
    np.testing.assert_allclose(streamed.ravel(), on_cpu[0], rtol=1e-3, atol=1e-4)


def test_a_zoo_builds_on_cuda_from_the_same_starting_weights(tmp_path):
    spec = {
        "dataset": "digits",
        "architecture": "cnn-small",
        "runs": 16,
        "epochs": 2,
        "checkpoints": (0, 2),
        "chunk_size": 8,
        "resolution": 16,
    }
    config = BuildConfig(**spec)
    cpu = load_zoo(build_zoo(config, tmp_path / "cpu", workers=1, progress=False))
    gpu = load_zoo(build_zoo(config, tmp_path / "gpu", workers=2, device="cuda", progress=False))
    np.testing.assert_array_equal(gpu.filter(epoch=0).flat(), cpu.filter(epoch=0).flat())
    last = [z.metrics[z.metrics["epoch"] == 2].set_index("run_id") for z in (cpu, gpu)]
    accuracy = pd.concat([m["test_accuracy"] for m in last], axis=1).dropna()
    assert len(accuracy) >= 14 and np.isfinite(gpu.flat()).all()
    # dropout masks come from the device's generator, so runs differ; the zoo as a whole does not
    assert abs(accuracy.iloc[:, 0].mean() - accuracy.iloc[:, 1].mean()) < 0.1
    assert accuracy.corr(method="kendall").iloc[0, 1] > 0.5


def test_the_benchmark_and_the_cli_run_on_cuda(tiny_bench, tmp_path, capsys):
    from analysis.results import ResultsStore
    from analysis.runner import run_benchmark

    config, _, root = tiny_bench
    out = tmp_path / "results"
    rows = run_benchmark(
        config, ["cross-dataset"], out, workers=2, progress=False, zoo_root=root, device="cuda"
    )
    assert set(rows["device"]) == {"cuda"} and (rows["status"] == "ok").all()
    assert rows["kendall_tau"].notna().all()
    assert len(ResultsStore(out).rows()) == len(rows)

    zoo = next((root / "zoos").glob("digits-*"))
    model = tmp_path / "model"
    train = ["train", "--zoo", str(zoo), "--out", str(model), "--epochs", "2", "--device", "cuda"]
    assert main([*train, "--set", "hidden=16", "--set", "heads=2", "--set", "chunk_size=16"]) == 0
    csv = tmp_path / "predictions.csv"
    assert main(["predict", "--model", str(model), "--zoo", str(zoo), "--out", str(csv)]) == 0
    assert pd.read_csv(csv)["predicted"].notna().all()
