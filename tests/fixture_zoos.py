"""The zoos the test session shares, built once by the zoo builder and kept in the repository.

Building them took most of a minute of ``make test`` on 2 cores (the learning tests' 320-network
zoo, the tiny benchmark's three 60-run zoos), and a build depends on the CPU's instruction set:
the kept bytes make the learning tests' thresholds rest on the very zoo they were measured on,
on every CPU. The builder itself is tested in ``tests/test_builder_build.py``.

``python tests/fixture_zoos.py`` builds them again into ``tests/data/zoos`` (run it after a
change to the zoo builder, its datasets or the configurations below, and commit the folder);
``tests/test_fixture_zoos.py`` checks that they are the configurations' zoos. A configuration
whose kept zoo is missing is built in the session instead, as before.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from analysis.config import BenchConfig
from analysis.context import RunContext
from analysis.zoos import ensure_zoos, zoo_location
from nnenc.builder.build import BuildConfig, build_zoo
from nnenc.io.atomic import atomic_directory

TRAINED_ZOO = {
    "dataset": "digits",
    "architecture": "cnn-small",
    "runs": 64,
    "epochs": 6,
    "checkpoints": (0, 1, 2, 4, 6),
    "chunk_size": 16,
    "resolution": 16,
    "precision": "fp32",
}
"""A real zoo the learning tests share: 64 cnn-small runs trained on digits (16 x 16 pixels for
speed), 5 checkpoints each, 320 networks; kept in :data:`TRAINED`. In fp32, which every CPU
runs natively: a bf16 build would differ between CPUs with and without native bf16 (emulated
bf16 rounds differently)."""

TINY_BENCH = {
    "name": "tiny",
    "seeds": [0, 1],
    "split": [0.25, 0.25, 0.5],  # 30 test runs: the fewest a preset may have
    "protocol": "final",
    "build": {"epochs": 1, "checkpoints": [0, 1], "resolution": 16, "chunk_size": 30},
    "zoos": {
        "digits": {"dataset": "digits", "architecture": "cnn-small", "runs": 60},
        "shapes": {"dataset": "shapes", "architecture": "cnn-small", "runs": 60},
        "digits-dense": {"dataset": "digits", "architecture": "cnn-dense", "runs": 60},
    },
    "training": {"epochs": 1, "batch_size": 8},
    "tuning": {"zoo": "digits", "trials": 2, "seed": 0},
    "encoders": {
        "sne": {"config": {"chunk_size": 8, "hidden": 8, "heads": 2, "out_dim": 8}},
        "mlp": {},
        "statnn-trees": {},
    },
    "experiments": {
        "cross-dataset": {"zoos": ["digits", "shapes"]},
        "cross-arch": {"zoos": ["digits", "digits-dense"]},
        "ablate": {
            "zoo": "digits",
            "encoder": "sne",
            # pooling=mean is the base configuration again: trained once, reported twice
            "factors": {"chunk_size": [8, 16], "pooling": ["mean"]},
        },
    },
}
"""A benchmark configuration small enough for tests (numbers meaningless, mechanics real)."""

KEPT = Path(__file__).resolve().parent / "data" / "zoos"
TRAINED = KEPT / "trained" / "digits-cnn-small"
TINY = KEPT / "tiny"
"""The tiny benchmark's zoo root: its zoos under ``zoos/<name>-<hash>`` as the cache keeps them."""


def tiny_zoo_folders() -> list[Path]:
    """Where the tiny benchmark's zoos are kept, as :func:`analysis.zoos.zoo_location` names
    them."""
    zoos = BenchConfig.from_dict(TINY_BENCH).zoos
    return [zoo_location(name, spec, TINY) for name, spec in zoos.items()]


def main() -> None:
    """Build the zoos beside the kept ones, and replace those only once every build finished."""
    fresh = KEPT.with_name(f"{KEPT.name}.new")
    shutil.rmtree(fresh, ignore_errors=True)  # a build interrupted before
    with atomic_directory(fresh) as staging:
        build_zoo(BuildConfig(**TRAINED_ZOO), staging / "trained" / TRAINED.name, workers=2)
        zoos = BenchConfig.from_dict(TINY_BENCH).zoos
        ensure_zoos(zoos, list(zoos), RunContext(workers=2, zoo_root=staging / "tiny"))
        for lock in staging.rglob(".*.nnenc-lock"):  # the builds' locks, not part of a zoo
            lock.unlink()
    shutil.rmtree(KEPT, ignore_errors=True)
    fresh.rename(KEPT)
    print(f"wrote {KEPT}")


if __name__ == "__main__":
    main()
