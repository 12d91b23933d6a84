"""``make demo``: the largest end-to-end path that exists so far.

Builds a small real zoo (48 ``cnn-small`` networks trained on scikit-learn's digits), writes a
zoo in the published Small CNN Zoo layout (synthetic weights) and opens it with
:func:`nnenc.load_zoo`, turns a stored network into a runnable module, splits by the common
protocol, and saves natively. Later issues replace this with the benchmark on the quick preset.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

import nnenc
from nnenc.builder.build import BuildConfig, build_zoo
from nnenc.cli import format_zoo_info
from nnenc.zoo.synthetic import write_small_cnn_zoo


def run(out: Path) -> None:
    config = BuildConfig("digits", "cnn-small", runs=48, epochs=3, chunk_size=16)
    built = nnenc.load_zoo(build_zoo(config, out / "digits-zoo", workers=2))
    print(format_zoo_info(built.summary(), "native"), end="\n\n")

    published = write_small_cnn_zoo(out / "small-cnn-zoo", runs=200, nonfinite_rows=[7, 11])
    zoo = nnenc.load_zoo(published)
    print(format_zoo_info(zoo.summary(), "small-cnn-zoo"), end="\n\n")

    network = zoo[0]
    print(network)
    for layer in network:
        print(" ", layer)
    module = network.to_module()
    logits = module(torch.rand(4, 1, 28, 28) * 2 - 1)
    print(f"runnable {type(module).__name__}: logits {tuple(logits.shape)}\n")

    splits = nnenc.small_cnn_zoo_split(zoo, drop_nonfinite=True)
    print(
        "common protocol (final epoch, 50% test, 80/20 train/val): "
        f"train {len(splits.train)}, val {len(splits.val)}, test {len(splits.test)}"
    )
    native = zoo.flag_nonfinite().save(out / "native", overwrite=True)
    print(f"saved natively to {native}: {len(nnenc.load_zoo(native))} networks")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, help="where to write (default: a temporary folder)")
    args = parser.parse_args()
    if args.out:
        run(args.out)
    else:
        with tempfile.TemporaryDirectory() as tmp:
            run(Path(tmp))


if __name__ == "__main__":
    main()
