"""The ``nnenc`` command line. Each command group is a function that adds its subparsers."""

from __future__ import annotations

import argparse
import errno
import json
import sys
import warnings
from collections.abc import Sequence
from importlib.metadata import entry_points
from pathlib import Path

from nnenc.io.assignments import parse_assignments
from nnenc.io.errors import FileFormatError
from nnenc.io.locks import FolderBusyError
from nnenc.io.outputs import check_output, show_warning
from nnenc.version import package_version
from nnenc.zoo.loading import FORMATS, detect_format, load_zoo


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
        "epochs:         "
        + (
            ", ".join(str(e) for e in summary["epochs"])
            if summary["epochs"] is not None
            else "not recorded (the metrics table has no epoch column)"
        ),
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


def _read_space(path: str, what: str = "hyperparameter space") -> dict:
    """A space (hyperparameters or architectures) from a JSON or YAML file."""
    import yaml

    try:
        with open(path) as handle:
            spec = yaml.safe_load(handle)
    except yaml.YAMLError as err:
        raise ValueError(f"{path}: the {what} is not valid YAML or JSON ({err})") from None
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a {what} is a mapping of names to choices/ranges")
    return spec


def _zoo_build(args: argparse.Namespace) -> int:
    from nnenc.builder.build import BuildConfig, build_zoo

    arch_space = _read_space(args.arch_space, "architecture space") if args.arch_space else None
    config = BuildConfig.from_dict(
        dict(
            dataset=args.dataset,
            architecture=args.arch or "mixed",
            architecture_space=arch_space,
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
    try:
        config.validate()  # before anything is written; build_zoo checks again
    except ValueError as err:
        named = " (" + ", ".join(f for f in (args.space, args.arch_space) if f) + ")"
        raise ValueError(f"{err}{named if args.space or args.arch_space else ''}") from err
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
    parser.add_argument(
        "--precision",
        default="auto",
        help=f"auto, fp32 or bf16: {what} in bf16 autocast or fp32; auto: bf16 only where this "
        "device runs it natively and faster than fp32 (a timed probe, cached per machine)",
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
    architectures = build.add_mutually_exclusive_group(required=True)
    architectures.add_argument("--arch", help="one architecture: cnn-small, cnn-dense, mlp, ...")
    architectures.add_argument(
        "--arch-space",
        metavar="SPACE.yaml",
        help="a mixed zoo: the architecture space its architectures are drawn from (see "
        "nnenc.builder.architecture_space)",
    )
    build.add_argument("--runs", type=at_least_one, required=True, help="training runs (networks)")
    build.add_argument(
        "--epochs", type=at_least_one, required=True, help="training epochs per network"
    )
    build.add_argument("--out", required=True, help="the zoo folder to write (or resume)")
    build.add_argument(
        "--checkpoints",
        type=_checkpoint_list,
        help="epochs to store, e.g. 0,1,2,3,10 (default: every epoch)",
    )
    build.add_argument("--seed", type=int, default=0, help="draws the runs' hyperparameters")
    build.add_argument(
        "--chunk-size", type=at_least_one, default=64, help="networks trained together"
    )
    build.add_argument("--workers", type=at_least_one, default=2, help="local worker processes")
    build.add_argument(
        "--threads-per-worker", type=at_least_one, default=1, help="torch threads in each worker"
    )
    build.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where to train")
    add_precision_option(build, "trains the networks")
    build.add_argument(
        "--resolution", type=int, default=28, help="image side in pixels the networks see"
    )
    build.add_argument("--data-root", help="torchvision's dataset folder (nothing is downloaded)")
    build.add_argument("--space", help="hyperparameter space as a JSON/YAML file")
    build.add_argument(
        "--ray", metavar="ADDRESS", help="run shards as Ray tasks: auto, ray://host:port, or local"
    )
    build.set_defaults(run=_zoo_build)


def format_metrics(metrics: dict[str, float]) -> str:
    """``kendall_tau 0.5000 [0.4100, 0.5800]  spearman ...`` on one line (the interval where
    the metrics have one)."""
    shown = []
    for name, value in metrics.items():
        if name.endswith(("_low", "_high")) or name == "undefined":
            continue
        if value is None:
            shown.append(f"{name} undefined ({metrics.get('undefined') or 'not a number'})")
            continue
        text = f"{name} {value:.4f}"
        if metrics.get(f"{name}_low") is not None:
            text += f" [{metrics[f'{name}_low']:.4f}, {metrics[f'{name}_high']:.4f}]"
        shown.append(text)
    return "  ".join(shown)


def at_least_one(text: str) -> int:
    """An argparse type: a whole number of at least 1 (workers, threads, runs, epochs)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"needs a whole number of at least 1; got {text!r}")
    return value


def _fractions(text: str) -> tuple[float, float, float]:
    try:
        parts = tuple(float(p) for p in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or min(parts) < 0 or abs(sum(parts) - 1) > 1e-6:
        raise argparse.ArgumentTypeError(
            f"--split takes three fractions that sum to 1, e.g. 0.6,0.2,0.2; got {text!r}"
        )
    return parts


def _warn_small_splits(splits) -> None:
    from nnenc.metrics import small_sample_caveat

    for name, part in zip(("train", "val", "test"), splits, strict=True):
        caveat = small_sample_caveat(
            len(part), part.metrics["run_id"].nunique(), f"the {name} split"
        )
        if caveat:
            print(f"warning: {caveat}; use a larger zoo or --split")


def _train(args: argparse.Namespace) -> int:
    from nnenc.io.atomic import write_json
    from nnenc.precision import check_device
    from nnenc.predict.performance import PerformancePredictor
    from nnenc.zoo.splits import zoo_splits

    check_device(args.device)
    check_output(args.out, args.zoo, overwrite=args.overwrite, existing="files")
    zoo = load_zoo(args.zoo)
    split_seed = args.seed if args.split_seed is None else args.split_seed
    splits, how = zoo_splits(zoo, args.split, split_seed)
    print(f"{how}: train {len(splits.train)}, val {len(splits.val)}, test {len(splits.test)}")
    _warn_small_splits(splits)
    training = {
        "target": args.target,
        "loss": args.loss,
        "epochs": args.epochs,
        "batch_size": args.batch_size,
        "lr": args.lr,
        "seed": args.seed,
        "logit_invariance": args.logit_invariance,
        "device": args.device,
        "precision": args.precision,
        "schedule": args.schedule,
        "schedule_patience": args.schedule_patience,
        "schedule_factor": args.schedule_factor,
    }
    if args.patience is not None:  # else the default, never more than --epochs
        training["patience"] = args.patience
    predictor = PerformancePredictor(args.encoder, parse_assignments(args.set), **training)
    empty = [name for name in ("train", "val", "test") if len(getattr(splits, name)) == 0]
    if empty:
        raise ValueError(
            f"{args.zoo}: the {' and '.join(empty)} split(s) hold no networks ({how}): too few "
            "usable networks or runs to split; use a larger zoo, or another --split"
        )
    predictor.fit(splits.train, splits.val)
    if predictor.ended_improving:
        print(
            f"warning: training ended at its cap of {args.epochs} epochs still improving (best "
            f"validation tau at epoch {predictor.best_epoch + 1}, in the last 10% of the cap): the predictor "
            "may be undertrained; give more --epochs or a --schedule",
            file=sys.stderr,
        )
    with warnings.catch_warnings():  # small splits were warned about above
        warnings.simplefilter("ignore")
        scores = {
            "val": predictor.evaluate(splits.val, interval=True),
            "test": predictor.evaluate(splits.test, interval=True),
        }
    predictor.save(args.out)
    write_json(scores, Path(args.out) / "scores.json")
    for split, metrics in scores.items():
        print(f"{split:5s} {format_metrics(metrics)}")
    print(f"saved to {args.out}")
    return 0


def _predict(args: argparse.Namespace) -> int:
    import numpy as np

    from nnenc.io.atomic import write_csv
    from nnenc.metrics import reported_metrics, small_sample_caveat
    from nnenc.precision import check_device
    from nnenc.predict.performance import PerformancePredictor
    from nnenc.zoo.checkpoints import load_network

    check_device(args.device)
    if args.out:
        check_output(args.out, args.zoo or args.checkpoint)
        check_output(args.out, args.model)
    predictor = PerformancePredictor.load(args.model, device=args.device)
    target = predictor.settings["target"]
    if args.checkpoint:
        network = load_network(args.checkpoint)
        _check_applicability(predictor.applicability(network), args.strict, args.checkpoint)
        print(f"predicted {target}: {predictor.predict(network, progress=True)[0]:.4f}")
        return 0
    zoo = load_zoo(args.zoo)
    finite = zoo.finite_mask(progress=True)
    skipped = int((~finite).sum())
    predicted = np.full(len(zoo), np.nan)
    outside = np.full(len(zoo), "", dtype=object)
    if not finite.any():
        raise ValueError(
            f"{args.zoo}: every one of its {len(zoo)} networks has NaN or infinite weights "
            "(diverged in training): there is nothing to predict"
        )
    usable = zoo.filter(finite)
    outside[finite] = predictor.applicability(usable)
    _check_applicability(list(outside[finite]), args.strict, args.zoo)
    predicted[finite] = predictor.predict(usable, progress=True)
    if skipped:
        print(
            f"skipped {skipped} of {len(zoo)} networks with NaN or infinite weights (diverged "
            "in training): no prediction for them (NaN in --out), and they are left out of the "
            "scores"
        )
    if args.out:
        table = zoo.metrics[["model_id", "run_id", "architecture"]].assign(
            predicted=predicted, outside_training=outside
        )
        write_csv(table, args.out)
        print(f"wrote {len(table)} predictions to {args.out}")
    if target in zoo.metrics.columns:
        true = zoo.metrics[target].to_numpy(float)
        known = ~np.isnan(true) & finite
        runs = zoo.metrics["run_id"].to_numpy()[known]
        metrics = reported_metrics(true[known], predicted[known], runs)
        caveat = small_sample_caveat(int(known.sum()), len(set(runs)), "the zoo")
        if caveat:
            print(f"warning: {caveat}")
        print(
            f"{zoo.name} ({int(known.sum())} networks with finite weights, {skipped} skipped): "
            f"{format_metrics(metrics)}"
        )
    return 0


def _check_applicability(reasons: list[str], strict: bool, source: str) -> None:
    """Warn (or, with ``--strict``, refuse) when networks are unlike the training networks."""
    flagged = [r for r in reasons if r]
    if not flagged:
        return
    if len(reasons) == 1:
        what, whose = "the network is", "its prediction is an extrapolation"
    else:
        what = f"{len(flagged)} of {len(reasons)} networks are"
        whose = "their predictions are extrapolations"
    message = (
        f"{source}: {what} outside what the predictor was trained on ({flagged[0]}"
        f"{'; and others' if len(flagged) > 1 else ''}): {whose}"
    )
    if strict:
        raise ValueError(f"{message}; refused under --strict")
    print(f"warning: {message} (flagged in --out's outside_training column)", file=sys.stderr)


def _encoders(args: argparse.Namespace) -> int:
    import inspect

    from nnenc.encoders import encoder_names
    from nnenc.encoders.base import encoder_class, encoder_options

    for name in encoder_names():
        summary = (inspect.getdoc(encoder_class(name)) or "").split("\n\n")[0].replace("\n", " ")
        print(f"{name}: {summary}")
        for key, default in encoder_options(name).items():
            shown = "required" if default is inspect.Parameter.empty else f"default {default!r}"
            print(f"  --set {key}=...  ({shown})")
    return 0


def add_model_commands(commands: argparse._SubParsersAction) -> None:
    encoders = commands.add_parser(
        "encoders", help="list the registered encoders with their --set options and defaults"
    )
    encoders.set_defaults(run=_encoders)

    train = commands.add_parser("train", help="train a performance predictor on a zoo")
    train.add_argument("--zoo", required=True, help="a zoo folder in any format nnenc reads")
    train.add_argument(
        "--encoder", default="sne", help="a registered encoder (nnenc encoders lists them)"
    )
    train.add_argument("--out", required=True, help="folder for the trained predictor")
    train.add_argument(
        "--overwrite", action="store_true", help="replace what --out holds (refused otherwise)"
    )
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="encoder option, repeatable (nnenc encoders lists each encoder's keys)",
    )
    train.add_argument(
        "--target", default="test_accuracy", help="the metrics column to predict (numeric)"
    )
    train.add_argument(
        "--loss",
        choices=["bce", "mse"],
        default="bce",
        help="bce for targets in [0, 1], mse (on standardised targets) for any other",
    )
    train.add_argument("--epochs", type=int, default=50, help="most training epochs")
    train.add_argument("--batch-size", type=int, default=32, help="networks per step")
    train.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    train.add_argument(
        "--patience",
        type=int,
        help="epochs without a better val tau before stopping (default: 10, or --epochs if fewer)",
    )
    train.add_argument(
        "--schedule",
        default="none",
        help="learning-rate schedule: none, cosine (annealed to 0 over --epochs) or plateau "
        "(lowered when the val tau stalls)",
    )
    train.add_argument(
        "--schedule-patience",
        type=int,
        default=5,
        help="plateau: epochs without a better val tau before the learning rate is lowered",
    )
    train.add_argument(
        "--schedule-factor",
        type=float,
        default=0.5,
        help="plateau: what the learning rate is multiplied by when it is lowered",
    )
    train.add_argument("--seed", type=int, default=0, help="initialisation and batch order")
    train.add_argument(
        "--split",
        type=_fractions,
        metavar="TRAIN,VAL,TEST",
        help="fractions of the training runs per split, e.g. 0.6,0.2,0.2 (default: the Small "
        "CNN Zoo protocol for that format, else 0.8,0.1,0.1)",
    )
    train.add_argument(
        "--split-seed", type=int, help="draws the split by run (default: the --seed value)"
    )
    train.add_argument(
        "--logit-invariance",
        type=float,
        default=0.0,
        metavar="WEIGHT",
        help="weight of the neuron-permutation regulariser (0: off)",
    )
    train.add_argument("--device", default="cpu", help="cpu or cuda")
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
    predict.add_argument(
        "--strict",
        action="store_true",
        help="refuse networks outside what the predictor was trained on (an architecture it "
        "never saw, weight statistics out of its range) instead of warning",
    )
    predict.add_argument("--device", default="cpu", help="cpu or cuda")
    predict.set_defaults(run=_predict)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="nnenc", description="Learning from the weights of trained neural networks."
    )
    parser.add_argument("--version", action="version", version=f"nnenc {package_version()}")
    commands = parser.add_subparsers(dest="command", required=True)
    add_zoo_commands(commands)
    add_model_commands(commands)
    # Other packages add command groups (analysis/ adds bench and report) through this
    # entry-point group: each entry is a function like add_zoo_commands.
    for entry in entry_points(group="nnenc.commands"):
        entry.load()(commands)
    _show_defaults(parser)
    return parser


class _HelpWithDefaults(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default after its help, where it has a default worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        default = action.default
        if action.required or default is None or default is False or default == []:
            return action.help
        return super()._get_help_string(action)


def _show_defaults(parser: argparse.ArgumentParser) -> None:
    """Every command's --help shows each option's default beside its help text."""
    parser.formatter_class = _HelpWithDefaults
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command in action.choices.values():
                _show_defaults(command)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with warnings.catch_warnings():
            warnings.showwarning = show_warning
            return args.run(args)
    except (
        FileFormatError,
        FolderBusyError,
        FileExistsError,
        FileNotFoundError,
        KeyError,
        ValueError,
    ) as err:
        message = err.args[0] if isinstance(err, KeyError) and err.args else err
        print(f"nnenc: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "nnenc: interrupted; what finished is kept, and the same command resumes",
            file=sys.stderr,
        )
        return 130
    except PermissionError as err:
        print(
            f"nnenc: error: cannot write {err.filename or 'a file'}: permission denied; give an "
            "--out folder you can write to",
            file=sys.stderr,
        )
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
