"""The ``nnenc`` command line. Each command group is a function that adds its subparsers."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from nnenc.zoo import FORMATS, ZooFormatError, detect_format, load_zoo


def format_zoo_info(summary: dict, format_name: str) -> str:
    """The human-readable report of ``nnenc zoo info``."""
    acc = summary["test_accuracy"]
    lines = [
        f"zoo:            {summary['name']} ({format_name})",
        f"networks:       {summary['networks']} stored checkpoints from {summary['runs']} runs",
        "architectures:",
        *(
            f"  {arch}: {entry['networks']} networks x {entry['params']} parameters"
            for arch, entry in summary["architectures"].items()
        ),
        f"epochs:         {', '.join(str(e) for e in summary['epochs'])}",
    ]
    if summary.get("datasets"):
        lines.append(f"datasets:       {', '.join(summary['datasets'])}")
    lines += [
        "test accuracy:  "
        f"min {acc['min']:.3f}  q25 {acc['q25']:.3f}  median {acc['median']:.3f}  "
        f"q75 {acc['q75']:.3f}  max {acc['max']:.3f}  mean {acc['mean']:.3f}",
        f"diverged:       {summary['nonfinite_weights']} networks with non-finite weights "
        "(drop with zoo.filter(finite=True))",
        f"no accuracy:    {summary['missing_test_accuracy']} networks without a test accuracy",
    ]
    return "\n".join(lines)


def _zoo_info(args: argparse.Namespace) -> int:
    format_name = args.format or detect_format(args.path)
    zoo = load_zoo(args.path, format=format_name)
    summary = zoo.summary(progress=not args.json)
    if args.json:
        print(json.dumps({"format": format_name, **summary}, indent=2))
    else:
        print(format_zoo_info(summary, format_name))
    return 0


def _checkpoint_list(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"--checkpoints takes epochs separated by commas, e.g. 0,1,2,5; got {text!r}"
        ) from None


def _read_space(path: str) -> dict:
    """A hyperparameter space from a JSON or YAML file."""
    import yaml

    with open(path) as handle:
        spec = yaml.safe_load(handle)
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a hyperparameter space is a mapping of names to choices/ranges")
    return spec


def _zoo_build(args: argparse.Namespace) -> int:
    from nnenc.builder.build import build_zoo, config_from_options

    config = config_from_options(
        dataset=args.dataset,
        architecture=args.arch,
        runs=args.runs,
        epochs=args.epochs,
        checkpoints=args.checkpoints,
        seed=args.seed,
        chunk_size=args.chunk_size,
        precision=args.precision,
        resolution=args.resolution,
        data_root=args.data_root,
        space=_read_space(args.space) if args.space else None,
    )
    path = build_zoo(
        config,
        args.out,
        workers=args.workers,
        threads_per_worker=args.threads_per_worker,
        device=args.device,
        ray_address=args.ray,
    )
    zoo = load_zoo(path)
    print(format_zoo_info(zoo.summary(), "native"))
    return 0


def add_zoo_commands(commands: argparse._SubParsersAction) -> None:
    zoo = commands.add_parser("zoo", help="inspect and build model zoos")
    zoo_commands = zoo.add_subparsers(dest="zoo_command", required=True)
    info = zoo_commands.add_parser(
        "info", help="counts, architectures, accuracy spread and diverged networks of a zoo"
    )
    info.add_argument("path", help="a zoo folder in any format nnenc reads")
    info.add_argument("--format", choices=sorted(FORMATS), help="skip format detection")
    info.add_argument("--json", action="store_true", help="print the summary as JSON")
    info.set_defaults(run=_zoo_info)

    build = zoo_commands.add_parser(
        "build",
        help="train many small networks and write them as a zoo (resumes an interrupted build)",
    )
    build.add_argument("--dataset", required=True, help="mnist, digits, shapes, gratings, ...")
    build.add_argument("--arch", required=True, help="cnn-small, cnn-dense, mlp, ...")
    build.add_argument("--runs", type=int, required=True, help="training runs (networks)")
    build.add_argument("--epochs", type=int, required=True)
    build.add_argument("--out", required=True, help="the zoo folder to write (or resume)")
    build.add_argument(
        "--checkpoints", type=_checkpoint_list, help="epochs to store, e.g. 0,1,2,3,10"
    )
    build.add_argument("--seed", type=int, default=0)
    build.add_argument(
        "--chunk-size", type=int, default=64, help="networks trained together (default 64)"
    )
    build.add_argument("--workers", type=int, default=2, help="local worker processes")
    build.add_argument("--threads-per-worker", type=int, default=1)
    build.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    build.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        default="bf16",
        help="bf16 autocasts the forward pass (fastest on CPU); fp32 trains in full precision",
    )
    build.add_argument("--resolution", type=int, default=28)
    build.add_argument("--data-root", help="torchvision's dataset folder (nothing is downloaded)")
    build.add_argument("--space", help="hyperparameter space as a JSON/YAML file")
    build.add_argument(
        "--ray", metavar="ADDRESS", help="run shards as Ray tasks: auto, ray://host:port, or local"
    )
    build.set_defaults(run=_zoo_build)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnenc", description="Learning from the weights of trained neural networks."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_zoo_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (ZooFormatError, FileExistsError, KeyError, ValueError) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"nnenc: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
