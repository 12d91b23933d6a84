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
