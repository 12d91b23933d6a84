"""This machine's matrix-product peak, measured, so that a benchmark's FLOP/s can be read as a
fraction of what the hardware does (on any machine).

``peaks(device, threads)`` times 1,024 x 1,024 products in fp32 and bf16 with ``threads`` torch
threads (the best of repeated timings over half a second each); ``describe(device)`` names the
CPU (or GPU), its bf16 instructions and what ``--precision auto`` picks there. Run as a script
(``python benchmarks/machine_peak.py [--threads N]``), it prints both peaks and appends them
to ``benchmarks/results/machine_peak.csv``.
"""

from __future__ import annotations

import argparse

import torch

from analysis.speed import record
from nnenc.precision import describe_device, matmul_flops, probe


def peaks(device: str = "cpu", threads: int | None = None) -> dict[str, float]:
    """Measured FLOP/s of large matrix products: ``{"fp32": ..., "bf16": ...}``."""
    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        return {
            "fp32": matmul_flops(torch.float32, device, size=1024, seconds=0.5),
            "bf16": matmul_flops(torch.bfloat16, device, size=1024, seconds=0.5),
        }
    finally:
        torch.set_num_threads(before)


def describe(device: str = "cpu") -> str:
    """One line: the device, its bf16 instructions (CPU), torch, and auto's precision."""
    found = describe_device(device)
    if found["device"] == "cuda":
        what = f"{found['gpu']} (compute capability {found['capability']})"
    else:
        flags = ", ".join(found["bf16_flags"]) or "no bf16 instructions"
        caps = ", ".join(f"{k}={v}" for k, v in found["isa_caps"].items())
        what = f"{found['cpu']} ({flags}; torch CPU capability {found['capability']}"
        what += f"; {caps})" if caps else ")"
    return f"{what}, torch {found['torch']}, --precision auto -> {probe(device)['precision']}"


def flops_line(achieved: float, peak: dict[str, float], precision: str) -> str:
    """``achieved`` FLOP/s as GFLOP/s and as a fraction of the measured peak of ``precision``."""
    return f"{achieved / 1e9:.1f} GFLOP/s = {achieved / peak[precision]:.0%} of {precision} peak"


def main() -> None:
    parser = argparse.ArgumentParser(description="this machine's matrix-product peaks")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    args = parser.parse_args()
    print(describe(args.device))
    for precision, flops in peaks(args.device, args.threads).items():
        print(f"{precision}: {flops / 1e9:.1f} GFLOP/s ({args.threads} threads, 1,024 x 1,024)")
        record(
            "machine_peak",
            {f"matmul 1,024 x 1,024 on {args.device}": (flops / 1e9, "GFLOP/s")},
            threads=args.threads,
            precision=precision,
        )


if __name__ == "__main__":
    main()
