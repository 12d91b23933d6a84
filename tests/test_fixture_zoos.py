"""The zoos kept in ``tests/data/zoos`` are the zoos of the configurations the tests name (a kept
zoo that no longer matches would be replaced by a build in every session, silently slower, or
worse, tested under a configuration it was not built with)."""

import json

from fixture_zoos import TINY, TRAINED, TRAINED_ZOO, tiny_zoo_folders

from nnenc import load_zoo
from nnenc.builder.build import BuildConfig
from nnenc.datasets import get_dataset


def test_the_kept_learning_zoo_is_built_from_the_learning_tests_configuration():
    build = json.loads((TRAINED / "manifest.json").read_text())["build"]
    config = BuildConfig(**TRAINED_ZOO)
    assert build["config"] == json.loads(json.dumps(config.to_dict()))
    data = get_dataset(config.dataset, config.data_root, config.resolution)
    assert build["dataset"] == json.loads(json.dumps(data.describe()))
    zoo = load_zoo(TRAINED)
    assert len(zoo) == 320 and zoo.metrics["run_id"].nunique() == 64


def test_every_tiny_benchmark_zoo_is_kept_under_its_cache_name():
    """A cache folder is named by a hash of its build settings and its dataset's description:
    a kept folder of that name is the zoo the tiny benchmark would build (and nothing else is
    kept)."""
    folders = tiny_zoo_folders()
    assert sorted(p.name for p in (TINY / "zoos").iterdir()) == sorted(p.name for p in folders)
    for folder in folders:
        assert len(load_zoo(folder)) == 120, folder
