"""Compare trained predictors with weight statistics on the same split of one zoo.

For a zoo of one architecture (default: the ``digits`` build in the README), split 80/10/10 by
training run (seed 0, diverged networks dropped; the split ``nnenc train`` uses for non-published
zoos), it prints:

- STATNN-style features (mean, variance, 5 quantiles of every weight and bias tensor) with
  scikit-learn's gradient-boosted trees: validation and test Kendall tau (a stand-in until the
  baselines package has its STATNN encoder);
- the label-noise reference: Kendall tau between the two half-test-set accuracies;
- for each predictor folder given: its test metrics and its neuron-permutation sensitivity.

    python benchmarks/sne_vs_statistics.py --zoo bench-data/digits-200 bench-data/sne-digits
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from sklearn.ensemble import GradientBoostingRegressor

import nnenc
from analysis.speed import record
from nnenc.metrics import kendall_tau
from nnenc.predict.performance import PerformancePredictor
from nnenc.predict.sensitivity import permutation_sensitivity


def statistics(zoo: nnenc.Zoo) -> np.ndarray:
    """Per tensor: mean, variance and the 0/25/50/75/100 % quantiles."""
    flat = zoo.flat()
    layout = zoo.stores[zoo.architectures[0]].layout.torch_layout()
    columns = []
    for slot in layout.slots:
        tensor = flat[:, slot.start : slot.stop]
        columns += [
            tensor.mean(1),
            tensor.var(1),
            *np.quantile(tensor, [0, 0.25, 0.5, 0.75, 1], axis=1),
        ]
    return np.stack(columns, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", default="bench-data/digits-200")
    parser.add_argument("models", nargs="*", help="folders written by nnenc train")
    args = parser.parse_args()
    zoo = nnenc.load_zoo(args.zoo).filter(finite=True)
    train, val, test = zoo.split((0.8, 0.1, 0.1), seed=0)
    y = [part.metrics["test_accuracy"].to_numpy() for part in (train, val, test)]
    trees = GradientBoostingRegressor(random_state=0).fit(statistics(train), y[0])
    print(
        f"statistics + gradient-boosted trees: val tau {kendall_tau(y[1], trees.predict(statistics(val))):.3f}, "
        f"test tau {kendall_tau(y[2], trees.predict(statistics(test))):.3f}"
    )
    halves = kendall_tau(test.metrics["test_accuracy_half1"], test.metrics["test_accuracy_half2"])
    print(f"label-noise reference (tau between test halves), test split: {halves:.3f}")
    figures = {
        "statistics + trees, test tau": (kendall_tau(y[2], trees.predict(statistics(test))), ""),
        "label-noise reference, test split": (halves, ""),
    }
    for folder in args.models:
        predictor = PerformancePredictor.load(folder)
        metrics = {k: round(v, 3) for k, v in predictor.evaluate(test).items()}
        figures[f"{folder}: test tau"] = (metrics["kendall_tau"], "")
        sensitivity = permutation_sensitivity(predictor, list(test), permutations=3)
        print(f"{folder}: test {metrics}")
        print(
            f"{folder}: permutation sensitivity { ({k: round(v, 4) for k, v in sensitivity.items()}) }"
        )

    threads = torch.get_num_threads()
    record("sne_vs_statistics", figures, threads=threads, precision="fp32")


if __name__ == "__main__":
    main()
