"""Benchmark: SNE encoding throughput and peak memory.

1. For chunk sizes 8 to 256, encode batches of ``cnn-small`` networks (the Small CNN Zoo's
   architecture, 4,970 parameters) with an untrained default SNE, inference mode: networks/s
   (features made once beforehand, as the data pipeline does) and peak RSS.
2. Peak RSS when encoding one MLP of 10.7 million parameters (784-2500-2500-1000-10) and one of
   38.9 million (784-5000-5000-2000-10), from weights in memory to the encoding, default chunk
   size, through ``encoder.encode`` (which streams such a network from its weights). The peak is
   reset just before (``/proc/self/clear_refs``), so it is the encoding's own; printed beside
   the RSS before (imports, model, the network's weights): their difference, the encoding's
   working memory, should not grow with the network.

Every measurement runs in a fresh process; peak RSS is its ``VmHWM``, and the figure after
imports and model creation is printed beside it so the increase can be read off.

    python benchmarks/sne_encode.py [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from datetime import date

from analysis.speed import record

MEASURE = r"""
import json, sys, time
import torch
from torch import nn

def status_mb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
def peak_mb():
    return status_mb("VmHWM:")
def rss_mb():
    return status_mb("VmRSS:")

import nnenc
from nnenc.encoders import create_encoder

mode, value, threads = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(threads)
torch.manual_seed(0)
if mode == "chunks":
    encoder = create_encoder("sne", chunk_size=value).eval()
    spec = nnenc.get_architecture("cnn-small")
    networks = [nnenc.NetworkParams.from_module(spec.build()) for _ in range(64)]
    features = [encoder.featurize(n) for n in networks]
    batch = encoder.collate(features)
    base = peak_mb()
    with torch.inference_mode():
        encoder(batch)
        start, rounds = time.perf_counter(), 0
        while time.perf_counter() - start < 5:
            encoder(batch)
            rounds += 1
    seconds = (time.perf_counter() - start) / rounds
    print(json.dumps({"chunk_size": value, "chunks_per_network": len(features[0].values),
                      "networks_per_s": 64 / seconds, "peak_rss_mb": peak_mb(),
                      "rss_before_mb": base}))
else:
    widths = {1: (784, 2500, 2500, 1000, 10), 4: (784, 5000, 5000, 2000, 10)}[value]
    layers = []
    for a, b in zip(widths[:-1], widths[1:]):
        layers += [nn.Linear(a, b), nn.ReLU()]
    module = nn.Sequential(*layers[:-1])
    network = nnenc.NetworkParams.from_module(module)
    del module, layers
    encoder = create_encoder("sne").eval()
    open("/proc/self/clear_refs", "w").write("5")  # reset VmHWM: peak of what follows only
    base = rss_mb()
    start = time.perf_counter()
    with torch.inference_mode():
        encoding = encoder.encode([network])
    print(json.dumps({"params": network.num_params, "seconds": time.perf_counter() - start,
                      "peak_rss_mb": peak_mb(), "rss_before_mb": base,
                      "weights_mb": network.num_params * 4 / 2**20,
                      "finite": bool(torch.isfinite(encoding).all())}))
"""


def measure(mode: str, value: int, threads: int) -> dict:
    run = subprocess.run(
        [sys.executable, "-c", MEASURE, mode, str(value), str(threads)],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    print(f"{date.today()}: SNE defaults (hidden 32), inference, {args.threads} torch threads")
    print("| chunk size | chunks per network | networks/s | peak RSS (MB) | before encoding (MB) |")
    print("|---|---|---|---|---|")
    figures = {}
    for chunk_size in (8, 16, 32, 64, 128, 256):
        r = measure("chunks", chunk_size, args.threads)
        figures[f"encoding, chunk size {chunk_size}"] = (r["networks_per_s"], "networks/s")
        figures[f"peak RSS, chunk size {chunk_size}"] = (r["peak_rss_mb"], "MB")
        print(
            f"| {chunk_size} | {r['chunks_per_network']} | {r['networks_per_s']:.0f} | "
            f"{r['peak_rss_mb']:.0f} | {r['rss_before_mb']:.0f} |"
        )
    print(
        "\n| parameters | weights (MB) | RSS before (MB) | peak RSS (MB) | peak - before (MB) | "
        "seconds |"
    )
    print("|---|---|---|---|---|---|")
    for scale in (1, 4):
        r = measure("large", scale, args.threads)
        assert r["finite"], r
        print(
            f"| {r['params']:,} | {r['weights_mb']:.0f} | {r['rss_before_mb']:.0f} | "
            f"{r['peak_rss_mb']:.0f} | {r['peak_rss_mb'] - r['rss_before_mb']:.0f} | "
            f"{r['seconds']:.0f} |"
        )
        name = f"one network of {r['params']:,} parameters"
        figures[f"encoding time, {name}"] = (r["seconds"], "s")
        figures[f"encoding working memory, {name}"] = (r["peak_rss_mb"] - r["rss_before_mb"], "MB")
    record("sne_encode", figures, threads=args.threads, precision="fp32")


if __name__ == "__main__":
    main()
