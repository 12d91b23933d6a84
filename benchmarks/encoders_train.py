"""Benchmark: training and inference speed, peak memory and achieved FLOP/s of every encoder on a
1,000-network zoo, against the code of an earlier commit in the same run.

Each encoder (with its defaults, precision included) is trained in a fresh process by
``PerformancePredictor`` for ``--epochs`` epochs (batch 32, early stopping off) on the same
80/10/10 split by run; STATNN's gradient-boosted trees are fitted once. Printed per encoder:
training networks/s (training networks over the mean seconds of an epoch, its validation pass
included), inference networks/s (the encoder's forward on the validation and test networks in
batches of 32, features made beforehand as the data pipeline does, best of 3 passes), the FLOP/s
both achieve (FLOPs counted by ``torch.utils.flop_counter`` on one batch: matrix products and
attention) as a fraction of this machine's measured matrix-product peak in the precision the
predictor computes in, the process's peak RSS, and the validation Kendall tau reached (a
sanity figure after a short training, not a comparison).

``--baseline REF`` measures the same encoders with nnenc as it was at git commit ``REF`` (a
worktree under ``bench-data/worktrees/``, made once), in the same run, and prints the speedups.
``--repeat N`` measures every (encoder, code) N times, alternating the codes, and prints the
run with the median training speed, with the range over the N runs (shared VMs vary by 25%
from one run to the next).

The default zoo is the final checkpoints of the README's 1,000-run ``mnist`` build
(``nnenc zoo build --dataset mnist --arch cnn-small --runs 1000 --epochs 5 --out
bench-data/mnist-1000``): 1,000 networks, one per run.

    python benchmarks/encoders_train.py [--zoo bench-data/mnist-1000] [--epochs 3]
        [--encoders sne deepsets] [--baseline 26cda78] [--device cuda] [--checkpoints all]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from machine_peak import describe, flops_line, peaks

from analysis.speed import record

ROOT = Path(__file__).resolve().parents[1]
MEASURE = r"""
import json, sys, time
import torch
from torch.utils.flop_counter import FlopCounterMode
import nnenc
from nnenc.predict.performance import PerformancePredictor
from baselines.statnn import StatnnTrees

def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

path, name, epochs, threads = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
device, every_checkpoint = sys.argv[5], sys.argv[6] == "all"
precision = {} if sys.argv[7] == "default" else {"precision": sys.argv[7]}
torch.set_num_threads(threads)
zoo = nnenc.load_zoo(path).filter(finite=True)
if not every_checkpoint:
    zoo = zoo.filter(epoch=int(zoo.metrics["epoch"].max()))
train, val, test = zoo.split((0.8, 0.1, 0.1), seed=0)

def sync():
    if device == "cuda":
        torch.cuda.synchronize()

if name == "statnn-trees":
    predictor = StatnnTrees(seed=0)
else:
    predictor = PerformancePredictor(
        name, epochs=epochs, patience=epochs, batch_size=32, device=device, **precision
    )
start = time.perf_counter()
history = predictor.fit(train, val, progress=False)
sync()
total = time.perf_counter() - start
result = {
    "encoder": name, "networks": len(zoo), "train": len(train), "fit_seconds": total,
    "epoch_seconds": float(history["seconds"].mean()),
    "featurize_seconds": total - float(history["seconds"].sum()),
    "val_tau": float(history["val_kendall_tau"].max()),
    "precision": getattr(predictor, "precision", "fp32"),
}
if name != "statnn-trees":
    encoder = predictor.encoder
    batch = lambda feats: encoder.batch_to(encoder.collate(feats), device)
    train_feats = [encoder.featurize(n) for n in list(train)[:32]]
    targets = torch.tensor(train.metrics["test_accuracy"].to_numpy()[:32], dtype=torch.float32, device=device)
    predictor.train()
    with FlopCounterMode(display=False) as counter:
        loss = torch.nn.functional.binary_cross_entropy_with_logits(predictor(batch(train_feats)), targets)
        loss.backward()
    result["train_flops_per_network"] = counter.get_total_flops() / len(train_feats)
    predictor.eval()
    feats = [encoder.featurize(n) for n in [*val, *test]]
    def encode_all():
        for i in range(0, len(feats), 32):
            predictor(batch(feats[i : i + 32]))
        sync()
    with FlopCounterMode(display=False) as counter:  # (its module tracker fails under no_grad)
        predictor(batch(feats[:32]))
    result["encode_flops_per_network"] = counter.get_total_flops() / 32
    with torch.no_grad():
        best = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            encode_all()
            best = min(best, time.perf_counter() - start)
    result["encode_networks_per_s"] = len(feats) / best
result["peak_rss_mb"] = peak_mb()
result["peak_gpu_mb"] = torch.cuda.max_memory_allocated() / 2**20 if device == "cuda" else 0.0
print(json.dumps(result))
"""


def worktree(ref: str) -> Path:
    """A checkout of git ``ref`` under ``bench-data/worktrees`` (made once)."""
    folder = ROOT / "bench-data" / "worktrees" / ref
    if not folder.exists():
        subprocess.run(
            ["git", "-C", str(ROOT), "worktree", "add", "--detach", str(folder), ref],
            check=True,
            capture_output=True,
        )
    return folder


def measure(args, name: str, code: Path, precision: str = "default") -> dict:
    """One encoder measured in a fresh process, importing nnenc from ``code``; ``precision``
    is passed to the predictor unless it is ``default`` (code before the setting existed)."""
    environment = {**os.environ, "PYTHONPATH": str(code)}
    command = [sys.executable, "-c", MEASURE, str(Path(args.zoo).resolve()), name]
    command += [str(args.epochs), str(args.threads), args.device, args.checkpoints, precision]
    run = subprocess.run(
        command, check=True, capture_output=True, text=True, env=environment, cwd=code
    )
    return json.loads(run.stdout.strip().splitlines()[-1])


def row(version: str, r: dict, peak: dict) -> str:
    per_s = r["train"] / r["epoch_seconds"]
    if r["encoder"] == "statnn-trees":
        speed, train_flops, inference = f"one fit: {r['fit_seconds']:.1f} s", "", ""
    else:
        speed = f"{per_s:.0f} ({r['epoch_seconds']:.2f} s/epoch)"
        train_flops = flops_line(r["train_flops_per_network"] * per_s, peak, r["precision"])
        achieved = r["encode_flops_per_network"] * r["encode_networks_per_s"]
        inference = (
            f"{r['encode_networks_per_s']:.0f} ({flops_line(achieved, peak, r['precision'])})"
        )
    return (
        f"| {r['encoder']} | {version} | {r['precision']} | {speed} | {train_flops} | "
        f"{inference} | {r['peak_rss_mb']:.0f} | {r['val_tau']:.3f} |"
    )


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
    parser.add_argument("--baseline", metavar="REF", help="also measure nnenc at git commit REF")
    parser.add_argument("--repeat", type=int, default=1, help="measurements per encoder and code")
    parser.add_argument(
        "--precision",
        choices=["auto", "fp32", "bf16"],
        default="auto",
        help="this code's training precision (the baseline's code trains in fp32)",
    )
    args = parser.parse_args()
    peak = peaks(args.device, args.threads)
    which = "final checkpoints" if args.checkpoints == "last" else "every checkpoint"
    print(f"{date.today()}: {args.zoo} ({which}), {args.device}, {args.threads} torch threads")
    print(f"machine: {describe(args.device)}")
    print(
        f"measured matrix-product peak ({args.threads} threads): fp32 "
        f"{peak['fp32'] / 1e9:.0f} GFLOP/s, bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s"
    )
    print(
        "| encoder | code | precision | training networks/s | training FLOP/s | "
        "inference networks/s | peak RSS (MB) | val tau |"
    )
    print("|---|---|---|---|---|---|---|---|")
    versions = [("this", ROOT, args.precision)]
    if args.baseline:
        versions.append((args.baseline, worktree(args.baseline), "default"))
    for name in args.encoders:
        runs: dict[str, list[dict]] = {version: [] for version, _, _ in versions}
        for _ in range(args.repeat):
            for version, code, precision in versions:
                runs[version].append(measure(args, name, code, precision))
        found = {}
        for version, measured in runs.items():
            measured.sort(key=lambda r: r["epoch_seconds"])
            found[version] = measured[len(measured) // 2]
            spread = ""
            if len(measured) > 1:
                rates = [r["train"] / r["epoch_seconds"] for r in measured]
                spread = f" (range {min(rates):.0f}-{max(rates):.0f} over {len(measured)} runs)"
            print(row(version, found[version], peak) + spread, flush=True)
        figures = _figures(name, found, args.baseline)
        if args.baseline and name != "statnn-trees":
            training = figures[f"{name} training speedup over {args.baseline}"][0]
            inference = figures[f"{name} inference speedup over {args.baseline}"][0]
            print(f"| {name} | speedup | | {training:.2f}x | | {inference:.2f}x | | |", flush=True)
        record(
            "encoders_train", figures, threads=args.threads, precision=found["this"]["precision"]
        )


def _figures(name: str, found: dict[str, dict], baseline: str | None) -> dict:
    """What one encoder's medians append to the figures file (name -> (value, unit))."""
    if name == "statnn-trees":
        return {f"{name} fit": (found["this"]["fit_seconds"], "s")}
    figures = {}
    for version, r in found.items():
        label = name if version == "this" else f"{name} at {version}"
        figures[f"{label} training"] = (r["train"] / r["epoch_seconds"], "networks/s")
        figures[f"{label} inference"] = (r["encode_networks_per_s"], "networks/s")
    if baseline:
        new, old = found["this"], found[baseline]
        training = old["epoch_seconds"] / new["epoch_seconds"]
        inference = new["encode_networks_per_s"] / old["encode_networks_per_s"]
        figures[f"{name} training speedup over {baseline}"] = (training, "x")
        figures[f"{name} inference speedup over {baseline}"] = (inference, "x")
    return figures


if __name__ == "__main__":
    main()
