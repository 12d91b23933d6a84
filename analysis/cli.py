"""``nnenc bench`` and ``nnenc report``: added to the nnenc command through the
``nnenc.commands`` entry-point group (the library never imports analysis/)."""

from __future__ import annotations

import argparse
from pathlib import Path

from analysis.protocol import EXPERIMENTS
from nnenc.cli import add_precision_option, at_least_one


def _bench(args: argparse.Namespace) -> int:
    from analysis.config import BenchConfig
    from analysis.context import RunContext
    from analysis.report import write_report
    from analysis.runner import run_benchmark

    context = RunContext(
        device=args.device,
        precision=args.precision,
        workers=args.workers,
        threads=args.threads,
        ray_address=args.ray,
        zoo_root=args.zoo_cache,
    )
    config = BenchConfig.load(args.preset, args.set)
    out = Path(args.out or f"results/{config.name}")
    run_benchmark(config, args.experiments, out, context)
    print(write_report(out))
    print(f"\nresults, tables and figures in {out}/")
    return 0


def _report(args: argparse.Namespace) -> int:
    from analysis.report import write_report

    first, *more = args.results
    print(write_report(first, *more, out=args.out))
    target = Path(args.out or first)
    print(f"\ntables in {target / 'tables'}/, figures in {target / 'figures'}/")
    return 0


def add_analysis_commands(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser(
        "bench", help="run benchmark experiments (SNE and the baselines) and report them"
    )
    bench.add_argument(
        "experiments",
        nargs="+",
        choices=EXPERIMENTS,
        metavar="EXPERIMENT",
        help=f"one or more of: {', '.join(EXPERIMENTS)}",
    )
    bench.add_argument("--preset", default="quick", help="quick, full, or a YAML file")
    bench.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a preset value (YAML), e.g. --set seeds=[0] --set training.epochs=3",
    )
    bench.add_argument("--out", help="results folder (default results/<preset name>)")
    bench.add_argument("--workers", type=at_least_one, default=2, help="local worker processes")
    bench.add_argument("--threads", type=at_least_one, default=1, help="torch threads per job")
    bench.add_argument(
        "--device",
        choices=["cpu", "cuda"],
        default="cpu",
        help="build zoos and train predictors here (each row records it)",
    )
    add_precision_option(bench, "builds zoos and trains predictors whose preset precision is auto")
    bench.add_argument(
        "--zoo-cache",
        type=Path,
        metavar="DIR",
        help="build (or find) the preset's zoos in DIR/zoos/ instead of the cache "
        "($NNENC_CACHE, default ~/.cache/nnenc): e.g. the results folder, to keep them with it",
    )
    bench.add_argument(
        "--ray", metavar="ADDRESS", help="run jobs as Ray tasks: auto, ray://HOST:PORT or local"
    )
    bench.set_defaults(run=_bench)
    report = commands.add_parser(
        "report", help="tables and figures from one results folder, or several read as one"
    )
    report.add_argument(
        "results",
        nargs="+",
        metavar="RESULTS",
        help="folders written by nnenc bench; several are read as one comparison when their "
        "seeds, splits, tuning and zoos agree (a later run adding encoders to an earlier one's)",
    )
    report.add_argument(
        "--out", help="where tables/ and figures/ go (default: the one folder; needed for several)"
    )
    report.set_defaults(run=_report)
