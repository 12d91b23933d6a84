"""Benchmark: how fast the probing encoders run a zoo's networks, grouped against one network at
a time, in one run.

For each encoder (``probe``, ``probegen``, the defaults: 64 probes) and each way of running the
networks, on batches of ``--batch`` networks of a real zoo:

- *grouped*: nnenc's encoder (``baselines.probe.probe_outputs``: one grouped call per
  architecture and activation in the batch);
- *loop*: the same encoder, but every network of the batch called through its own module in a
  Python loop (``looped_probe_outputs``, the way the published code runs them), the modules
  built beforehand so the loop pays for calls only.

*Training* networks/s times a full step (probes, networks, MLP, backward to the probes and the
MLP, Adam); *inference* networks/s the encoding under ``torch.no_grad``. Each figure is the best
of ``--repeat`` passes over ``--batches`` batches, the two ways taking turns. The default zoo is the final checkpoints of
the shapes zoo the benchmark presets train on (1,000 cnn-small runs, 28 x 28 inputs; three
activations, so each batch runs as three groups).

    python benchmarks/probe_speed.py [--zoo results/full/zoos/shapes-f698b6ed79]
        [--threads 2] [--batch 32] [--batches 8] [--repeat 3] [--probes 64]
"""

from __future__ import annotations

import argparse
import time

import torch

from analysis.speed import record
from nnenc import load_zoo
from nnenc.encoders import create_encoder
from nnenc.precision import describe_device


def _looped(batch_networks: list, probes: torch.Tensor, modules: dict) -> torch.Tensor:
    return torch.stack([modules[id(n)](probes) for n in batch_networks])


def one_pass(encoder, batches, networks_of, modules, grouped: bool, train: bool) -> float:
    """Seconds for one pass over ``batches``, grouped or through the per-network loop."""
    optimiser = torch.optim.Adam(encoder.parameters(), lr=1e-3)

    def encode(batch, index) -> torch.Tensor:
        if grouped:
            return encoder(batch)
        outputs = _looped(networks_of[index], encoder.probe_images(), modules)
        return encoder.mixer(outputs.flatten(1))

    start = time.perf_counter()
    for index, batch in enumerate(batches):
        if train:
            optimiser.zero_grad()
            encode(batch, index).square().mean().backward()
            optimiser.step()
        else:
            with torch.no_grad():
                encode(batch, index)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo", default="results/full/zoos/shapes-f698b6ed79")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--batches", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--probes", type=int, default=64)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    zoo = load_zoo(args.zoo)
    final = zoo.metrics.groupby("run_id")["epoch"].transform("max") == zoo.metrics["epoch"]
    zoo = zoo.take([int(i) for i in final[final].index[: args.batch * args.batches]])
    networks = list(zoo)
    print(f"{len(networks)} networks of {args.zoo}; {describe_device('cpu')}, "
          f"{args.threads} threads")  # fmt: skip
    figures: dict[str, tuple[float, str]] = {}
    for name in ("probe", "probegen"):
        encoder = create_encoder(name, probes=args.probes)
        features = [encoder.featurize(n) for n in networks]
        encoder.fit_inputs(features)
        chunks = range(0, len(networks), args.batch)
        batches = [encoder.collate(features[i : i + args.batch]) for i in chunks]
        networks_of = [networks[i : i + args.batch] for i in chunks]
        modules = {id(n): n.to_module(f.activation).requires_grad_(False)
                   for n, f in zip(networks, features, strict=True)}  # fmt: skip
        for mode, train in (("training", True), ("inference", False)):
            best = {"grouped": float("inf"), "loop": float("inf")}
            for _ in range(args.repeat):  # the two ways alternate: a shared VM drifts
                for way in best:
                    seconds = one_pass(
                        encoder, batches, networks_of, modules, way == "grouped", train
                    )
                    best[way] = min(best[way], seconds)
            grouped, loop = (len(networks) / best[w] for w in ("grouped", "loop"))
            print(f"{name:9s} {mode:9s}: grouped {grouped:8.0f} networks/s, "
                  f"loop {loop:8.0f} networks/s: {grouped / loop:.1f}x")  # fmt: skip
            figures[f"{name} {mode} grouped"] = (grouped, "networks/s")
            figures[f"{name} {mode} loop"] = (loop, "networks/s")
            figures[f"{name} {mode} speedup"] = (grouped / loop, "x")
    record("probe_speed", figures, threads=args.threads, precision="fp32")


if __name__ == "__main__":
    main()
