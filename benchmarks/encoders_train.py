"""Benchmark: training time per epoch and peak memory of every encoder on a 1,000-network zoo.

Each encoder (with its defaults) is trained in a fresh process by ``PerformancePredictor`` for
``--epochs`` epochs (batch 32, early stopping off) on the same 80/10/10 split by run; STATNN's
gradient-boosted trees are fitted once. Printed per encoder: featurizing time (all networks),
seconds per training epoch (mean over epochs, validation included), the process's peak RSS, and
the validation Kendall tau reached (a sanity figure after a short training, not a comparison).

The default zoo is the final checkpoints of the README's 1,000-run ``mnist`` build
(``nnenc zoo build --dataset mnist --arch cnn-small --runs 1000 --epochs 5 --out
bench-data/mnist-1000``): 1,000 networks, one per run.

    python benchmarks/encoders_train.py [--zoo bench-data/mnist-1000] [--epochs 3]
        [--device cuda] [--checkpoints all]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import date

MEASURE = r"""
import json, sys, time
import torch
import nnenc
from nnenc.predictor import PerformancePredictor
from baselines.statnn import StatnnTrees

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

path, name, epochs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
device, every_checkpoint = sys.argv[5], sys.argv[6] == "all"
torch.set_num_threads(threads)
zoo = nnenc.load_zoo(path).filter(finite=True)
if not every_checkpoint:
    zoo = zoo.filter(epoch=int(zoo.metrics["epoch"].max()))
train, val, test = zoo.split((0.8, 0.1, 0.1), seed=0)
if name == "statnn-trees":
    predictor = StatnnTrees(seed=0)
else:
    predictor = PerformancePredictor(
        name, epochs=epochs, patience=epochs, batch_size=32, device=device
    )
start = time.perf_counter()
history = predictor.fit(train, val, progress=False)
if device == "cuda":
    torch.cuda.synchronize()
total = time.perf_counter() - start
gpu_mb = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else 0.0
epoch_seconds = float(history["seconds"].mean())
print(json.dumps({
    "encoder": name, "networks": len(zoo), "train": len(train),
    "fit_seconds": total, "epoch_seconds": epoch_seconds,
    "featurize_seconds": total - float(history["seconds"].sum()),
    "peak_rss_mb": peak_mb(), "peak_gpu_mb": gpu_mb,
    "val_tau": float(history["val_kendall_tau"].max()),
}))
"""


def measure(zoo: str, name: str, epochs: int, threads: int, device: str, checkpoints: str) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, zoo, name, str(epochs), str(threads), device, checkpoints],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--zoo", default="bench-data/mnist-1000")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument(
        "--checkpoints",
        choices=["last", "all"],
        default="last",
        help="train on each run's final checkpoint (default) or on every stored one",
    )
    parser.add_argument(
        "--encoders", nargs="*", default=["sne", "mlp", "deepsets", "statnn", "gmn", "statnn-trees"]
    )
    args = parser.parse_args()
    which = "final checkpoints" if args.checkpoints == "last" else "every checkpoint"
    print(f"{date.today()}: {args.zoo} ({which}), {args.device}, {args.threads} torch threads")
    print(
        "| encoder | networks (train) | featurize (s) | s / epoch | peak RSS (MB) | "
        f"peak GPU (MB) | val tau after {args.epochs} epochs |"
    )
    print("|---|---|---|---|---|---|---|")
    for name in args.encoders:
        r = measure(args.zoo, name, args.epochs, args.threads, args.device, args.checkpoints)
        per_epoch = f"{r['epoch_seconds']:.2f}"
        if name == "statnn-trees":
            per_epoch = f"one fit: {r['fit_seconds']:.1f}"
        print(
            f"| {name} | {r['networks']} ({r['train']}) | {r['featurize_seconds']:.1f} | "
            f"{per_epoch} | {r['peak_rss_mb']:.0f} | {r['peak_gpu_mb']:.0f} | {r['val_tau']:.3f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
