"""Benchmark: where an SNE training step spends its time, and how fast its kernels run against
this machine's measured matrix-product peak.

Trains SNE in its default configuration (batch 32, AdamW) in ``--precision`` (fp32 unless
told) on ``--steps`` batches of a zoo's final checkpoints, and prints networks/s (the median
of 3 passes over the batches). Then a ``torch.profiler`` pass: the share of the step in
matrix products, softmax, GELU, copies and the rest, and the ten ops with the most time of
their own. Last, the chunk level's two kernels timed alone in fp32 at its shapes (one chunk
group: 256 chunks of 32 values, 4 heads of 8, at the defaults on a CPU): the attention's
batched products and the projection's matrix product, as GFLOP/s and a fraction of the fp32
peak. With ``ONEDNN_MAX_CPU_ISA=AVX2 ATEN_CPU_CAPABILITY=avx2`` in the environment it runs as
on a CPU without AVX-512.

    python benchmarks/sne_step_profile.py [--zoo results/full/zoos/mnist-d887ac9905]
        [--steps 10] [--threads 2] [--precision fp32]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
from machine_peak import describe, flops_line, peaks
from torch.profiler import ProfilerActivity, profile

import nnenc
from analysis.speed import record
from nnenc.predict.performance import PerformancePredictor

BATCH = 32
KINDS = {
    "matrix products": ("aten::mm", "aten::addmm", "aten::bmm"),
    "softmax": ("aten::_softmax", "aten::_softmax_backward_data"),
    "GELU": ("aten::gelu", "aten::gelu_backward"),
    "copies": ("aten::copy_", "aten::cat"),
}


def training_steps(predictor: PerformancePredictor, batches: list) -> Callable[[], None]:
    """One training step per batch, as ``PerformancePredictor.fit`` takes them."""
    optimizer = torch.optim.AdamW(predictor.parameters(), lr=1e-3)
    target = torch.rand(BATCH)

    def run() -> None:
        for batch in batches:
            raw = predictor(batch)
            loss = predictor._loss(raw, target[: len(raw)])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    return run


def kernel_seconds(fn: Callable[[], object], repeats: int = 200) -> float:
    """Mean seconds of ``fn`` over ``repeats`` calls, after 10 to warm up."""
    for _ in range(10):
        fn()
    start = time.perf_counter()
    for _ in range(repeats):
        fn()
    return (time.perf_counter() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo", default="results/full/zoos/mnist-d887ac9905")
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--precision", default="fp32", choices=("auto", "fp32", "bf16"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(describe(), f"| {args.threads} threads")
    peak = peaks("cpu", args.threads)
    print(f"peak: fp32 {peak['fp32'] / 1e9:.0f} GFLOP/s, bf16 {peak['bf16'] / 1e9:.0f} GFLOP/s")

    zoo = nnenc.load_zoo(args.zoo).filter(finite=True)
    zoo = zoo.filter(epoch=int(zoo.metrics["epoch"].max()))
    networks = [zoo[i] for i in range(min(len(zoo), BATCH * args.steps))]
    predictor = PerformancePredictor("sne", precision=args.precision)
    features = [predictor.encoder.featurize(network) for network in networks]
    predictor.encoder.fit_inputs(features)
    batches = [predictor._batch(features[i : i + BATCH]) for i in range(0, len(features), BATCH)]
    predictor.train()
    run = training_steps(predictor, batches)
    run()  # warm-up
    rates = []
    for _ in range(3):
        start = time.perf_counter()
        run()
        rates.append(len(networks) / (time.perf_counter() - start))
    print(
        f"SNE training, precision {predictor.precision}: {statistics.median(rates):.0f} "
        f"networks/s (median of 3 passes; range {min(rates):.0f}-{max(rates):.0f})"
    )

    with profile(activities=[ProfilerActivity.CPU]) as profiled:
        run()
    own = {e.key: e.self_cpu_time_total for e in profiled.key_averages()}
    total = sum(own.values())
    shares = {kind: sum(own.get(op, 0) for op in ops) / total for kind, ops in KINDS.items()}
    shares["the rest"] = 1 - sum(shares.values())
    print("share of a step:", ", ".join(f"{kind} {share:.0%}" for kind, share in shares.items()))
    for op, seconds in sorted(own.items(), key=lambda item: -item[1])[:10]:
        print(f"  {op:32s} {seconds / total:5.1%}")
    figures = {"training steps of 32 networks": (statistics.median(rates), "networks/s")}
    figures |= {f"{kind}, share of a step": (100 * share, "%") for kind, share in shares.items()}
    record("sne_step_profile", figures, threads=args.threads, precision=predictor.precision)

    encoder = predictor.encoder
    group, size, width = encoder.chunk_group, encoder.chunk_size, encoder.hidden
    sets, head_dim = group * encoder.heads, width // encoder.heads
    q, k = torch.randn(sets, size, head_dim), torch.randn(sets, size, head_dim)
    scores = kernel_seconds(lambda: torch.bmm(q, k.transpose(1, 2)))
    rows, weight = torch.randn(group * size, width), torch.randn(3 * width, width)
    projection = kernel_seconds(lambda: rows @ weight.t())
    for name, seconds, flops in (
        (f"attention scores ({sets} x {size}x{head_dim} @ {head_dim}x{size})", scores,
         2 * sets * size * size * head_dim),
        (f"query/key/value projection ({group * size}x{width} @ {width}x{3 * width})",
         projection, 2 * group * size * width * 3 * width),
    ):  # fmt: skip
        print(f"{name}: {flops_line(flops / seconds, peak, 'fp32')}")


if __name__ == "__main__":
    main()
