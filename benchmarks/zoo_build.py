"""Benchmark: the zoo builder's stacked training against a plain per-model PyTorch loop.

Part 1 trains the same ``cnn-small`` runs (sampled from the default hyperparameter space) both
ways in one run, on the same data, batch size and epochs, each with the same cores: one worker
process per core, one torch thread each. The plain loop is ``nnenc.builder.training.train_plain``
(``nn.Module`` + ``torch.optim``); the stacked one trains chunks with ``train_chunk`` exactly as
``nnenc zoo build`` does, without the checkpoint evaluation (the plain loop has none).
It prints model-epochs per second for each and their ratio.

Both are also given as FLOP/s (the FLOPs of the runs' training steps, counted by
``torch.utils.flop_counter`` on one step of the plain network: convolutions and dense layers,
forward and backward) and as a fraction of this machine's measured matrix-product peak in the
precision each computes in (the plain loop: fp32; stacked: ``--precision``, ``auto`` by
default, as ``nnenc zoo build``).

Part 2 (``--build-runs N``) times a real ``nnenc zoo build`` on ``mnist``; with
``--arch-space SPACE.yaml`` it also builds a mixed zoo of as many runs from that architecture
space, right after, and prints both throughputs and the mean parameters per network (a mixed
zoo's networks are not the size of ``cnn-small``'s).

    python benchmarks/zoo_build.py [--runs 32] [--epochs 2] [--workers 2] [--build-runs 1000]
        [--arch-space SPACE.yaml] [--precision auto|fp32|bf16] [--device cuda]
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import date
from pathlib import Path

import torch
import torch.nn.functional as F
from machine_peak import describe, flops_line, peaks
from torch.utils.flop_counter import FlopCounterMode

from analysis.speed import record
from nnenc.architectures import get_architecture
from nnenc.builder.build import BuildConfig, build_zoo, plan_shards
from nnenc.builder.training import run_batches, train_chunk, train_plain
from nnenc.datasets import get_dataset
from nnenc.precision import PRECISIONS, resolve_precision


def _plain(runs, epochs: int) -> int:
    torch.set_num_threads(1)
    data, arch = get_dataset("mnist"), get_architecture("cnn-small")
    for _, run in runs.iterrows():
        train_plain(arch, run, data, epochs)
    return len(runs)


def _stacked(runs, epochs: int, precision: str, device: str = "cpu") -> int:
    torch.set_num_threads(1)
    data, arch = get_dataset("mnist"), get_architecture("cnn-small")
    train_chunk(
        arch,
        runs,
        data,
        epochs,
        [epochs],
        device=device,
        precision=precision,
        evaluate_checkpoints=False,
    )
    if device == "cuda":
        torch.cuda.synchronize()
    return len(runs)


def _timed(jobs, workers: int) -> float:
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(workers, mp_context=context) as pool:
        warm = [pool.submit(get_dataset, "mnist") for _ in range(workers)]
        for f in warm:
            f.result()
        start = time.perf_counter()
        futures = [pool.submit(fn, *args) for fn, *args in jobs]
        for f in futures:
            f.result()
        return time.perf_counter() - start


def training_flops(runs, epochs: int, architecture=None, batch_size: int = 32) -> float:
    """FLOPs of training ``runs`` for ``epochs`` (every step: forward and backward of one
    network of ``architecture``, ``cnn-small`` by default, on a batch of ``batch_size`` mnist
    images)."""
    data = get_dataset("mnist")
    arch = architecture or get_architecture("cnn-small")
    module = arch.build(runs["activation"].iloc[0], 0.0)
    images, labels = data.train_images[:batch_size], data.train_labels[:batch_size]
    with FlopCounterMode(display=False) as counter:
        F.cross_entropy(module(images), labels).backward()
    steps = sum(
        len(run_batches(r.seed, len(data.train_labels), r.train_fraction, epoch, batch_size))
        for r in runs.itertuples(index=False)
        for epoch in range(epochs)
    )
    return counter.get_total_flops() * steps


def compare(
    runs: int, epochs: int, workers: int, chunk_size: int, precision: str, device: str = "cpu"
) -> dict:
    config = BuildConfig("mnist", "cnn-small", runs=runs, epochs=epochs, chunk_size=chunk_size)
    shards = plan_shards(config)
    all_runs = [s.runs for s in shards]
    plain_jobs = [(_plain, chunk, epochs) for chunk in all_runs]
    stacked_jobs = [(_stacked, chunk, epochs, precision, device) for chunk in all_runs]
    stacked_s = _timed(stacked_jobs, workers)
    plain_s = _timed(plain_jobs, workers)
    model_epochs = runs * epochs
    flops = sum(training_flops(chunk, epochs) for chunk in all_runs)
    return {
        "plain_flops_per_s": flops / plain_s,
        "stacked_flops_per_s": flops / stacked_s,
        "runs": runs,
        "epochs": epochs,
        "workers": workers,
        "chunk_size": chunk_size,
        "precision": precision,
        "plain_model_epochs_per_s": model_epochs / plain_s,
        "stacked_model_epochs_per_s": model_epochs / stacked_s,
        "speedup": plain_s / stacked_s,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--precision", choices=PRECISIONS, default="auto")
    parser.add_argument("--build-runs", type=int, default=0, help="also time a real mnist build")
    parser.add_argument("--build-epochs", type=int, default=5)
    parser.add_argument("--arch-space", help="with --build-runs: also build a mixed zoo")
    parser.add_argument("--skip-compare", action="store_true", help="only the builds (part 2)")
    parser.add_argument("--data", type=Path, default=Path("bench-data"))
    parser.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="where the stacked training and the build run (the plain loop stays on the CPU)",
    )
    args = parser.parse_args()
    precision = resolve_precision(args.precision, args.device)
    print(
        f"{date.today()}: cnn-small on mnist (4,000 train images, batch 32), {args.workers} "
        f"worker processes x 1 thread for both; stacked on {args.device}"
    )
    print(f"machine: {describe('cpu')}")
    peak = peaks("cpu", threads=1)
    cores = {k: v * args.workers for k, v in peak.items()}  # one thread per worker
    print(
        f"measured matrix-product peak, 1 thread: fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s, bf16 "
        f"{peak['bf16'] / 1e9:.0f} GFLOP/s (x {args.workers} workers)"
    )
    if not args.skip_compare:
        _compare_and_print(args, precision, cores)
    if args.build_runs:
        _builds(args)


def _compare_and_print(args, precision: str, cores: dict) -> None:
    result = compare(args.runs, args.epochs, args.workers, args.chunk_size, precision, args.device)
    plain_rate = flops_line(result["plain_flops_per_s"], cores, "fp32")
    stacked_rate = result["stacked_flops_per_s"]
    stacked_rate = (
        flops_line(stacked_rate, cores, precision)
        if args.device == "cpu"
        else f"{stacked_rate / 1e9:.1f} GFLOP/s"
    )
    print(
        f"plain loop (fp32): {result['plain_model_epochs_per_s']:.2f} model-epochs/s, "
        f"{plain_rate}; stacked (chunks of {args.chunk_size}, --precision {args.precision} -> "
        f"{precision}): {result['stacked_model_epochs_per_s']:.2f} model-epochs/s, "
        f"{stacked_rate}; speedup {result['speedup']:.2f}x ({args.runs} runs x {args.epochs} "
        "epochs)"
    )
    chunks = f"chunks of {args.chunk_size}"
    _record(
        args,
        precision,
        {
            f"plain loop, {args.runs:,} cnn-small runs": (
                result["plain_model_epochs_per_s"],
                "model-epochs/s",
            ),
            f"stacked, {chunks}": (result["stacked_model_epochs_per_s"], "model-epochs/s"),
            f"stacked speedup, {chunks}": (result["speedup"], "x"),
            f"stacked training FLOP/s, {chunks}": (result["stacked_flops_per_s"] / 1e9, "GFLOP/s"),
        },
    )


def _record(args, precision: str, figures: dict) -> None:
    record("zoo_build", figures, threads=f"{args.workers}x1", precision=precision)


def _builds(args) -> None:
    """A real build of ``cnn-small`` runs, and of a mixed zoo as large where asked."""
    import yaml

    from nnenc import load_zoo
    from nnenc.builder.architecture_space import ArchitectureSpace

    kinds = [("cnn-small", None)]
    if args.arch_space:
        with open(args.arch_space) as handle:
            kinds.append(("mixed", ArchitectureSpace.from_dict(yaml.safe_load(handle))))
    for architecture, space in kinds:
        out = args.data / f"mnist-{architecture}-{args.build_runs}"
        shutil.rmtree(out, ignore_errors=True)
        config = BuildConfig(
            "mnist",
            architecture,
            runs=args.build_runs,
            epochs=args.build_epochs,
            chunk_size=args.chunk_size,
            precision=args.precision,
            architecture_space=space,
        )
        start = time.perf_counter()
        build_zoo(config, out, workers=args.workers, device=args.device)
        minutes = (time.perf_counter() - start) / 60
        zoo = load_zoo(out)
        sizes = [zoo.stores[a].layout.size for a in zoo.metrics["architecture"]]
        flops_per_s = build_flops(zoo, config, args.build_epochs) / (minutes * 60)
        per_chunk = args.build_runs / len(plan_shards(config))
        print(
            f"nnenc zoo build --dataset mnist --arch{'-space' if space else ''} {architecture} "
            f"--runs {args.build_runs} --epochs {args.build_epochs} --device {args.device}: "
            f"{minutes:.1f} min ({args.build_runs * args.build_epochs / (minutes * 60):.2f} "
            f"model-epochs/s including checkpoint evaluation and writing; "
            f"{len(zoo.architectures)} architecture(s), {sum(sizes) / len(sizes):,.0f} "
            f"parameters per network on average; {per_chunk:.1f} runs per chunk; "
            f"{flops_per_s / 1e9:.1f} GFLOP/s of training steps)"
        )
        name = f"{architecture}, {args.build_runs:,} runs x {args.build_epochs} epochs"
        _record(
            args,
            resolve_precision(args.precision, args.device),
            {
                f"build wall time, {name}": (minutes, "min"),
                f"build rate, {name}": (
                    args.build_runs * args.build_epochs / minutes / 60,
                    "model-epochs/s",
                ),
                f"training FLOP/s, {name}": (flops_per_s / 1e9, "GFLOP/s"),
            },
        )


def build_flops(zoo, config: BuildConfig, epochs: int) -> float:
    """FLOPs of the training steps of a built zoo's runs (each run on its own architecture)."""
    runs = zoo.metrics.drop_duplicates("run_id")
    return sum(
        training_flops(group, epochs, zoo.architecture_spec(name))
        for name, group in runs.groupby("architecture")
    )


if __name__ == "__main__":
    main()
