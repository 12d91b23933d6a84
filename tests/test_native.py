import json

import numpy as np
import pandas as pd
import pytest
import torch
from conftest import folder_digest

from nnenc import ZooFormatError, get_architecture, load_zoo
from nnenc.zoo import ZooWriter, read_native


def _shard(arch: str, rows: int, start: int, seed: int):
    rng = np.random.default_rng(seed)
    weights = rng.standard_normal((rows, get_architecture(arch).num_params)).astype(np.float32)
    metrics = pd.DataFrame(
        {
            "model_id": [f"m{start + i}" for i in range(rows)],
            "run_id": [f"r{(start + i) // 2}" for i in range(rows)],
            "architecture": arch,
            "row": range(rows),
            "epoch": [i % 2 for i in range(rows)],
            "test_accuracy": rng.uniform(0, 1, rows),
        }
    )
    return metrics, {arch: weights}


def test_save_and_load_round_trip_is_exact(small_cnn_zoo_dir, tmp_path):
    zoo = load_zoo(small_cnn_zoo_dir).flag_nonfinite()
    saved = load_zoo(zoo.save(tmp_path / "native"))
    assert saved.info["format"] == "nnenc-zoo"
    assert np.array_equal(saved.flat(), zoo.flat(), equal_nan=True)
    pd.testing.assert_series_equal(saved.metrics["test_accuracy"], zoo.metrics["test_accuracy"])
    assert saved.summary()["nonfinite_weights"] == 1
    images = torch.randn(2, 1, 28, 28)
    assert torch.equal(saved[0].to_module()(images), zoo[0].to_module()(images))


def test_manifest_records_version_architectures_and_layout(small_cnn_zoo_dir, tmp_path):
    path = load_zoo(small_cnn_zoo_dir).save(tmp_path / "native")
    manifest = json.loads((path / "manifest.json").read_text())
    assert manifest["format"] == "nnenc-zoo" and manifest["format_version"] == 1
    entry = manifest["architectures"]["cnn-small"]
    assert entry["spec"]["conv_channels"] == [16, 16, 16] and entry["rows"] == 54
    assert entry["layout"][0] == {
        "layer": "convs.0",
        "role": "weight",
        "start": 0,
        "stop": 144,
        "shape": [16, 1, 3, 3],
        "order": "torch",
    }
    assert np.load(path / entry["file"], mmap_mode="r").dtype == np.float32


def test_interrupted_build_resumes_and_ends_identical(tmp_path):
    shards = [_shard("mlp", 5, 5 * k, seed=k) for k in range(4)]
    whole = ZooWriter(tmp_path / "whole", "z", {"mlp": get_architecture("mlp")}, {"seed": 1})
    for k, (metrics, weights) in enumerate(shards):
        whole.write_shard(f"{k:03d}", metrics, weights)
    whole.finalize()

    resumed_path = tmp_path / "resumed"
    first = ZooWriter(resumed_path, "z", {"mlp": get_architecture("mlp")}, {"seed": 1})
    first.write_shard("000", *shards[0])
    first.write_shard("001", *shards[1])
    (resumed_path / "shards" / ".002.abc.tmp").mkdir()  # a shard killed mid-write
    first.close()  # the killed process's lock dies with it
    with pytest.raises(ZooFormatError, match="unfinished build"):
        read_native(resumed_path)
    again = ZooWriter(resumed_path, "z", {"mlp": get_architecture("mlp")}, {"seed": 1})
    assert again.finished_shards() == ["000", "001"]
    for k in range(2, 4):
        again.write_shard(f"{k:03d}", *shards[k])
    again.finalize()
    for name in ("weights/mlp.npy", "metrics.csv.gz"):
        a, b = tmp_path / "whole" / name, resumed_path / name
        if name.endswith(".npy"):
            assert np.array_equal(np.load(a), np.load(b))
        else:
            pd.testing.assert_frame_equal(pd.read_csv(a), pd.read_csv(b))
    assert len(load_zoo(resumed_path)) == 20


def test_resume_with_other_settings_is_refused(tmp_path):
    ZooWriter(tmp_path / "z", "z", {"mlp": get_architecture("mlp")}, {"seed": 1}).close()
    with pytest.raises(ZooFormatError, match="different settings"):
        ZooWriter(tmp_path / "z", "z", {"mlp": get_architecture("mlp")}, {"seed": 2})


def test_a_finished_zoo_is_never_overwritten(small_cnn_zoo_dir, tmp_path):
    zoo = load_zoo(small_cnn_zoo_dir)
    path = zoo.save(tmp_path / "native")
    before = folder_digest(path)
    with pytest.raises(FileExistsError, match="nothing is overwritten"):
        zoo.take([0, 1]).save(path)
    with pytest.raises(FileExistsError, match="finished zoo"):
        ZooWriter(path, "z", {"mlp": get_architecture("mlp")})
    assert folder_digest(path) == before
    zoo.take([0, 1]).save(path, overwrite=True)
    assert len(load_zoo(path)) == 2


def test_a_newer_format_version_is_refused(small_cnn_zoo_dir, tmp_path):
    path = load_zoo(small_cnn_zoo_dir).save(tmp_path / "native")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["format_version"] = 99
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ZooFormatError, match=r"format_version 99; .* upgrade nnenc"):
        load_zoo(path)


def test_truncated_native_weights_are_refused(small_cnn_zoo_dir, tmp_path):
    path = load_zoo(small_cnn_zoo_dir).save(tmp_path / "native")
    weights = path / "weights" / "cnn-small.npy"
    weights.write_bytes(weights.read_bytes()[: 4970 * 4 * 10])
    with pytest.raises(ZooFormatError, match=r"cnn-small\.npy: truncated"):
        load_zoo(path)


def test_metrics_rows_must_match_weight_rows(small_cnn_zoo_dir, tmp_path):
    path = load_zoo(small_cnn_zoo_dir).save(tmp_path / "native")
    metrics = pd.read_csv(path / "metrics.csv.gz")
    metrics.iloc[:-1].to_csv(path / "metrics.csv.gz", index=False, compression="gzip")
    with pytest.raises(
        ZooFormatError, match=r"53 rows for architecture 'cnn-small'.*54 weight rows"
    ):
        load_zoo(path)


def test_shard_rows_that_do_not_match_the_weights_are_refused(tmp_path):
    writer = ZooWriter(tmp_path / "z", "z", {"mlp": get_architecture("mlp")})
    metrics, weights = _shard("mlp", 4, 0, seed=0)
    metrics.loc[3, "row"] = 0
    with pytest.raises(ValueError, match="index its 4 weight rows once each"):
        writer.write_shard("000", metrics, weights)
    assert writer.finished_shards() == []


def test_a_metrics_table_reads_back_every_float_exactly(tmp_path):
    """The floats a zoo wrote are the floats it reads, to the last bit: pandas' default CSV
    parser is not exact (pandas 3.0.6 reads 0.018971129037828664 as ...8601), which made
    :meth:`nnenc.Zoo.digest` of one committed zoo differ between machines with other pandas."""
    metrics, weights = _shard("mlp", 200, 0, seed=3)
    rng = np.random.default_rng(4)
    metrics["learning_rate"] = 10 ** rng.uniform(-4, -1, len(metrics))
    metrics["l2"] = 10 ** rng.uniform(-9, -2, len(metrics))
    writer = ZooWriter(tmp_path / "z", "z", {"mlp": get_architecture("mlp")}, {"seed": 1})
    writer.write_shard("000", metrics, weights)
    writer.finalize()
    table = load_zoo(tmp_path / "z").metrics.set_index("model_id").loc[metrics["model_id"]]
    for column in ("test_accuracy", "learning_rate", "l2"):
        assert np.array_equal(table[column].to_numpy(), metrics[column].to_numpy()), column
