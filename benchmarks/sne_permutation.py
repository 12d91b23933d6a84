"""The neuron-permutation diagnostic, with and without SNE's logit-invariance regulariser.

For each regulariser weight and seed, trains SNE on the zoo's 50/25/25 split by run and reports,
on the test split: Kendall tau, and :func:`nnenc.predict.sensitivity.permutation_sensitivity` (mean absolute
change of the predicted accuracy when every network's hidden neurons are randomly permuted, that
change over the spread of the predictions, and the Kendall tau between the predictions for the
original and the permuted networks). Mean and std over seeds.

The default zoo is the one the learning tests build (64 cnn-small runs on digits at 16 x 16 pixels,
320 networks): ``nnenc zoo build --dataset digits --arch cnn-small --runs 64 --epochs 6
--checkpoints 0,1,2,4,6 --resolution 16 --chunk-size 16 --out bench-data/digits-64``.

    python benchmarks/sne_permutation.py [--zoo bench-data/digits-64] [--weights 0 1 10]
"""

from __future__ import annotations

import argparse
from datetime import date

import numpy as np
import pandas as pd
import torch

import nnenc
from analysis.speed import record
from nnenc.predict.performance import PerformancePredictor
from nnenc.predict.sensitivity import permutation_sensitivity


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", default="bench-data/digits-64")
    parser.add_argument("--weights", type=float, nargs="+", default=[0.0, 1.0, 10.0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    zoo = nnenc.load_zoo(args.zoo).filter(finite=True)
    train, val, test = zoo.split((0.5, 0.25, 0.25), seed=0)
    rows = []
    for weight in args.weights:
        for seed in range(args.seeds):
            predictor = PerformancePredictor(
                "sne",
                {"chunk_size": 16, "hidden": 16, "heads": 2, "out_dim": 16},
                epochs=args.epochs,
                patience=args.epochs,
                batch_size=16,
                lr=3e-3,
                seed=seed,
                logit_invariance=weight,
            )
            history = predictor.fit(train, val, progress=False)
            report = permutation_sensitivity(predictor, list(test), permutations=3, seed=seed)
            rows.append(
                {
                    "weight": weight,
                    "seed": seed,
                    "test_tau": predictor.evaluate(test)["kendall_tau"],
                    **report,
                    "s_per_epoch": float(history["seconds"].mean()),
                }
            )
            print(rows[-1], flush=True)
    table = pd.DataFrame(rows).drop(columns="seed").groupby("weight")
    mean, std = table.mean(), table.std()
    print(
        f"\n{date.today()}: {args.zoo}, SNE (chunk 16, hidden 16), {args.epochs} epochs, "
        f"{args.seeds} seeds, mean ± std"
    )
    print(
        "| logit-invariance weight | test tau | mean abs change | relative change | "
        "tau original vs permuted | s / epoch |"
    )
    print("|---|---|---|---|---|---|")
    for weight in mean.index:
        cells = [
            f"{mean.loc[weight, c]:.3f} ± {std.loc[weight, c]:.3f}"
            for c in (
                "test_tau",
                "mean_abs_change",
                "relative_change",
                "kendall_tau_original_vs_permuted",
            )
        ]
        print(
            f"| {weight:g} | {' | '.join(cells)} | {mean.loc[weight, 's_per_epoch']:.1f} |",
            flush=True,
        )
    if np.isnan(std.to_numpy()).all():
        print("(one seed: no spread)")
    figures = {}
    for weight in mean.index:
        for column in ("test_tau", "mean_abs_change", "kendall_tau_original_vs_permuted"):
            figures[f"weight {weight:g}: {column} (mean over seeds)"] = (
                mean.loc[weight, column],
                "",
            )
        figures[f"weight {weight:g}: seconds per epoch"] = (mean.loc[weight, "s_per_epoch"], "s")
    record("sne_permutation", figures, threads=torch.get_num_threads(), precision="fp32")


if __name__ == "__main__":
    main()
