"""Benchmark: validation curves under a long training budget, to choose the benchmark's budget
from measurements rather than by guessing.

Each encoder is trained once, at the settings a results folder's tuning chose for it, on the
tuning zoo's seed-0 split as the benchmark draws it (each run's final checkpoint, 40/20/40 by
run), under the budget given here (epoch cap, patience, learning-rate schedule:
:mod:`nnenc.budget`). Every epoch's validation Kendall tau and learning rate is written to
``benchmarks/results/training-budget/ENCODER_ZOO_BUDGET.csv`` with the date, commit, CPU, whether
it has native bf16, threads and precision; a summary line per encoder prints the best epoch, the
epochs run and whether the training ended at its cap still improving. An encoder whose file is
there is skipped, so the script resumes after an interruption, and two can run side by side.

    python benchmarks/training_budget.py --encoders sne gmn --epochs 300 --patience 30 \\
        --schedule plateau --schedule-patience 8 [--zoo results/full/zoos/shapes-f698b6ed79]
        [--tuning results/full/tuning.json results/mixed/tuning.json]
    python benchmarks/training_budget.py --figure   # every curve file, drawn as one figure
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import torch

from analysis import speed
from nnenc import load_zoo
from nnenc.budget import best_epoch, ended_improving
from nnenc.io.atomic import write_csv
from nnenc.predict.performance import PerformancePredictor
from nnenc.zoo.splits import zoo_splits

ROOT = Path(__file__).resolve().parents[1]
CURVES = ROOT / "benchmarks" / "results" / "training-budget"
BUDGET = ("epochs", "patience", "schedule", "schedule_patience", "schedule_factor")


def tuned_choices(paths: list[str]) -> dict[str, dict]:
    """Encoder -> the tuning's choice (config and training), the first file naming it wins."""
    choices: dict[str, dict] = {}
    for path in paths:
        for encoder, choice in json.loads(Path(path).read_text())["choices"].items():
            choices.setdefault(encoder, choice)
    return choices


def machine() -> dict:
    """Where the curve was measured, on every row of its file."""
    found = speed.machine()
    return {
        "date": datetime.now(timezone.utc).date().isoformat(),
        "commit": speed.commit(),
        "cpu": found["cpu"],
        "native_bf16": found["native_bf16"] == "yes",
        "threads": torch.get_num_threads(),
    }


def draw() -> int:
    """Every curve file as one figure (:func:`analysis.plots.validation_curves`), a panel per
    encoder, beside the files."""
    from analysis.convergence import convergence_table
    from analysis.plots import save, validation_curves

    curves = []
    for path in sorted(CURVES.glob("*.csv")):
        curve = pd.read_csv(path)
        curves.append(
            curve.assign(training=path.stem, folder=str(CURVES), cap=curve["epochs"])[
                ["encoder", "training", "folder", "cap", "epoch", "val_kendall_tau", "lr"]
            ]
        )
    histories = pd.concat(curves, ignore_index=True)
    written = save(validation_curves(histories, convergence_table(histories)), CURVES / "curves")
    print("\n".join(map(str, written)))
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--encoders", nargs="+", default=[])
    parser.add_argument(
        "--figure", action="store_true", help=f"draw every curve in {CURVES} into one PNG"
    )
    parser.add_argument("--zoo", default="results/full/zoos/shapes-f698b6ed79")
    parser.add_argument(
        "--tuning", nargs="+", default=["results/full/tuning.json", "results/mixed/tuning.json"]
    )
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--patience", type=int, default=25)
    parser.add_argument("--schedule", default="plateau")
    parser.add_argument("--schedule-patience", type=int, default=8)
    parser.add_argument("--schedule-factor", type=float, default=0.5)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()
    if args.figure:
        return draw()
    torch.set_num_threads(args.threads)
    budget = {key: getattr(args, key) for key in BUDGET}
    choices = tuned_choices(args.tuning)
    splits = zoo_splits(load_zoo(args.zoo), (0.4, 0.2, 0.4), 0, "final")[0]
    schedule = args.schedule
    if schedule == "plateau":
        schedule += f"{args.schedule_patience}x{args.schedule_factor:g}"
    for encoder in args.encoders:
        name = f"{encoder}_{Path(args.zoo).name}_e{args.epochs}-p{args.patience}-{schedule}.csv"
        if (CURVES / name).is_file():
            print(f"{encoder}: {CURVES / name} is there already, skipped")
            continue
        choice = choices[encoder]
        training = {**choice["training"], **budget, "precision": args.precision}
        predictor = PerformancePredictor(encoder, choice["config"], **training)
        history = predictor.fit(splits.train, splits.val, progress=True)
        best = best_epoch(history["val_kendall_tau"].tolist())
        curve = history.assign(
            epoch=history["epoch"] + 1,
            encoder=encoder,
            zoo=Path(args.zoo).name,
            config=json.dumps(choice["config"], sort_keys=True),
            lr0=choice["training"]["lr"],
            precision=predictor.precision,
            **budget,
            **machine(),
        )
        write_csv(curve, CURVES / name)
        print(
            f"{encoder}: best val tau {history['val_kendall_tau'].max():.4f} at epoch "
            f"{best + 1}, {len(history)} epochs run of {args.epochs}, "
            f"{history['seconds'].sum():.0f} s; ended improving: "
            f"{ended_improving(best, args.epochs)}"
        )
        speed.record(
            "training_budget",
            {
                f"{encoder} best val tau": (history["val_kendall_tau"].max(), ""),
                f"{encoder} best epoch": (best + 1, ""),
                f"{encoder} epochs run": (len(history), ""),
                f"{encoder} training time": (history["seconds"].sum(), "s"),
            },
            threads=args.threads,
            precision=predictor.precision,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
