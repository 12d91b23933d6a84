"""The ``nnenc`` command line. Each command group is a function that adds its subparsers."""

from __future__ import annotations

import argparse
import errno
import json
import sys
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from nnenc.zoo import FORMATS, ZooFormatError, detect_format, load_zoo
from nnenc.zoo.atomic import write_csv, write_json
from nnenc.zoo.writer_lock import FolderBusyError


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
    if summary.get("precision"):
        lines.append(f"trained in:     {summary['precision']}")
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
    from nnenc.builder.build import BuildConfig, build_zoo

    config = BuildConfig.from_dict(
        dict(
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


def add_precision_option(parser: argparse.ArgumentParser, what: str) -> None:
    from nnenc.precision import PRECISIONS

    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="auto",
        help=f"{what} in bf16 autocast or fp32; auto (default): bf16 only where this device "
        "runs it natively and faster than fp32 (a timed probe, cached per machine)",
    )


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
    add_precision_option(build, "trains the networks")
    build.add_argument("--resolution", type=int, default=28)
    build.add_argument("--data-root", help="torchvision's dataset folder (nothing is downloaded)")
    build.add_argument("--space", help="hyperparameter space as a JSON/YAML file")
    build.add_argument(
        "--ray", metavar="ADDRESS", help="run shards as Ray tasks: auto, ray://host:port, or local"
    )
    build.set_defaults(run=_zoo_build)


def parse_assignments(pairs: Sequence[str]) -> dict:
    """``--set`` options: ``["chunk_size=16", "positional=false"]`` ->
    ``{"chunk_size": 16, "positional": False}`` (each value read as YAML; later keys win)."""
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes KEY=VALUE (VALUE read as YAML), got {pair!r}")
        options[key.strip()] = yaml.safe_load(value)
    return options


def format_metrics(metrics: dict[str, float]) -> str:
    """``kendall_tau 0.5000  spearman ...`` on one line."""
    return "  ".join(f"{name} {value:.4f}" for name, value in metrics.items())


def _train_splits(zoo):
    from nnenc.zoo import small_cnn_zoo_split

    if zoo.info.get("format") == "small-cnn-zoo":
        return small_cnn_zoo_split(zoo), "Small CNN Zoo protocol (final epoch, 50% test, 80/20)"
    return zoo.split((0.8, 0.1, 0.1), seed=0), "80/10/10 split by training run, seed 0"


def _train(args: argparse.Namespace) -> int:
    from nnenc.predictor import PerformancePredictor

    zoo = load_zoo(args.zoo)
    finite = zoo.finite_mask()
    if not finite.all():
        print(f"dropping {int((~finite).sum())} networks with non-finite weights")
        zoo = zoo.filter(finite)
    splits, how = _train_splits(zoo)
    print(f"{how}: train {len(splits.train)}, val {len(splits.val)}, test {len(splits.test)}")
    training = {
        "target": args.target,
        "loss": args.loss,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "patience": args.patience,
        "seed": args.seed,
        "logit_invariance": args.logit_invariance,
        "device": args.device,
        "precision": args.precision,
    }
    predictor = PerformancePredictor(args.encoder, parse_assignments(args.set), **training)
    predictor.fit(splits.train, splits.val)
    scores = {"val": predictor.evaluate(splits.val), "test": predictor.evaluate(splits.test)}
    predictor.save(args.out)
    write_json(scores, Path(args.out) / "scores.json")
    for split, metrics in scores.items():
        print(f"{split:5s} {format_metrics(metrics)}")
    print(f"saved to {args.out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import numpy as np

    from nnenc.metrics import prediction_metrics
    from nnenc.predictor import PerformancePredictor
    from nnenc.zoo.checkpoints import load_network

    predictor = PerformancePredictor.load(args.model, device=args.device)
    target = predictor.settings["target"]
    if args.checkpoint:
        network = load_network(args.checkpoint)
        print(f"predicted {target}: {predictor.predict(network)[0]:.4f}")
        return 0
    zoo = load_zoo(args.zoo)
    finite = zoo.finite_mask(progress=True)
    skipped = int((~finite).sum())
    predicted = np.full(len(zoo), np.nan)
    if finite.any():
        predicted[finite] = predictor.predict(zoo.filter(finite))
    if skipped:
        print(
            f"skipped {skipped} of {len(zoo)} networks with NaN or infinite weights (diverged "
            "in training): no prediction for them (NaN in --out), and they are left out of the "
            "scores"
        )
    if args.out:
        table = zoo.metrics[["model_id", "run_id", "architecture"]].assign(predicted=predicted)
        write_csv(table, args.out)
        print(f"wrote {len(table)} predictions to {args.out}")
    if target in zoo.metrics.columns:
        true = zoo.metrics[target].to_numpy(float)
        known = ~np.isnan(true) & finite
        metrics = prediction_metrics(true[known], predicted[known])
        print(
            f"{zoo.name} ({int(known.sum())} networks with finite weights, {skipped} skipped): "
            f"{format_metrics(metrics)}"
        )
    return 0


def add_model_commands(commands: argparse._SubParsersAction) -> None:
    train = commands.add_parser("train", help="train a performance predictor on a zoo")
    train.add_argument("--zoo", required=True, help="a zoo folder in any format nnenc reads")
    train.add_argument("--encoder", default="sne", help="a registered encoder (default sne)")
    train.add_argument("--out", required=True, help="folder for the trained predictor")
    train.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="encoder option, repeatable"
    )
    train.add_argument("--target", default="test_accuracy")
    train.add_argument("--loss", choices=["bce", "mse"], default="bce")
    train.add_argument("--epochs", type=int, default=50)
    train.add_argument("--batch-size", type=int, default=32)
    train.add_argument("--lr", type=float, default=1e-3)
    train.add_argument("--patience", type=int, default=10)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--logit-invariance", type=float, default=0.0, metavar="WEIGHT")
    train.add_argument("--device", default="cpu")
    add_precision_option(train, "trains and predicts")
    train.set_defaults(run=_train)

    predict = commands.add_parser("predict", help="predict with a trained predictor")
    predict.add_argument("--model", required=True, help="a folder written by nnenc train")
    source = predict.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--zoo", help="predict every network of this zoo (metrics if it has targets)"
    )
    source.add_argument("--checkpoint", help="predict one .safetensors/.pt state_dict")
    predict.add_argument("--out", help="write the predictions to this CSV")
    predict.add_argument("--device", default="cpu")
    predict.set_defaults(run=_predict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnenc", description="Learning from the weights of trained neural networks."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    add_zoo_commands(commands)
    add_model_commands(commands)
    # Other packages add command groups (analysis/ adds bench and report) through this
    # entry-point group: each entry is a function like add_zoo_commands.
    for entry in entry_points(group="nnenc.commands"):
        entry.load()(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except (
        ZooFormatError,
        FolderBusyError,
        FileExistsError,
        FileNotFoundError,
        KeyError,
        ValueError,
    ) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"nnenc: error: {message}", file=sys.stderr)
        return 2
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        print(
            f"nnenc: error: cannot write {err.filename or 'a file'}: {err.strerror}. Free disk "
            "space (or raise the quota or file size limit) and rerun: what finished is kept "
            "and the run resumes",
            file=sys.stderr,
        )
        return 2


if __name__ == "__main__":
    sys.exit(main())
