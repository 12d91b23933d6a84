"""Benchmark: the spread of what tests/test_learning.py measures, so its thresholds sit well
below it.

Builds the learning tests' zoo (tests/conftest.py ``TRAINED_ZOO``: 64 ``cnn-small`` runs on
``digits``, 16 x 16 pixels, 5 checkpoints, fp32) with several build seeds, splits it 50/25/25
by run as the tests do, and trains every encoder exactly as the test does (``training_of``:
10 epochs, 5 for SNE and DeepSets, batch 16, fp32; the test's small configurations), with
several training seeds; STATNN's trees with the same seeds. Prints, per predictor, the lowest,
median and highest validation tau (best epoch) and test tau over all (build seed, training
seed) pairs.

Run it on machines of each instruction set the tests must pass on; the CPU's bf16 support can
be hidden from PyTorch with ``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2``.

    python benchmarks/learning_thresholds.py [--build-seeds 0 1 2] [--seeds 0 1 2 3 4]
        [--predictors sne nfn-np ...] [--epochs 5]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import date
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fixture_zoos import TRAINED_ZOO
from test_learning import SHORT, training_of

from analysis.speed import record
from baselines.statnn import StatnnTrees
from nnenc import load_zoo
from nnenc.builder.build import BuildConfig, build_zoo
from nnenc.encoders import encoder_names
from nnenc.precision import describe_device
from nnenc.predict.performance import PerformancePredictor


def scores(name: str, splits, seed: int, epochs: int | None) -> tuple[float, float]:
    """(best validation tau, test tau) of one training, as tests/test_learning.py trains it
    (for ``epochs`` epochs where given)."""
    if name == StatnnTrees.name:
        predictor = StatnnTrees(seed=seed)
    else:
        training = {**training_of(name), **({"epochs": epochs} if epochs else {})}
        predictor = PerformancePredictor(name, SHORT.get(name, ({}, {}))[0], seed=seed, **training)
    history = predictor.fit(splits.train, splits.val, progress=False)
    return float(history["val_kendall_tau"].max()), predictor.evaluate(splits.test)["kendall_tau"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build-seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--epochs", type=int, help="to try another training length (default: the test's)"
    )
    parser.add_argument("--predictors", nargs="+", help="only these (default: every one)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = describe_device("cpu")
    print(f"{date.today()}: {cpu['cpu']}, torch CPU capability {cpu['capability']}")
    print(f"epochs per training: {args.epochs or 'as the test trains'}")
    names = args.predictors or [*encoder_names(), StatnnTrees.name]
    found: dict[str, list[tuple[float, float]]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as folder:
        for build_seed in args.build_seeds:
            spec = {**TRAINED_ZOO, "seed": build_seed}
            path = build_zoo(BuildConfig(**spec), Path(folder) / f"zoo{build_seed}", progress=False)
            splits = load_zoo(path).split((0.5, 0.25, 0.25), seed=0)
            for name in names:
                for seed in args.seeds:
                    found[name].append(scores(name, splits, seed, args.epochs))
                    print(f"  build seed {build_seed}, {name}, seed {seed}: {found[name][-1]}")
    pairs = len(args.build_seeds) * len(args.seeds)
    print(f"\n{pairs} trainings each (build seeds {args.build_seeds} x seeds {args.seeds})")
    print("| predictor | val tau min / median / max | test tau min / median / max |")
    print("|---|---|---|")
    for name, values in found.items():
        val, test = np.array(values).T
        print(
            f"| {name} | {val.min():.3f} / {np.median(val):.3f} / {val.max():.3f} | "
            f"{test.min():.3f} / {np.median(test):.3f} / {test.max():.3f} |"
        )
        figures = {
            f"{name} {split} tau {stat}": (float(fn(values)), "")
            for split, values in (("val", val), ("test", test))
            for stat, fn in (("min", np.min), ("median", np.median), ("max", np.max))
        }
        record("learning_thresholds", figures, threads=args.threads, precision="fp32")


if __name__ == "__main__":
    main()
