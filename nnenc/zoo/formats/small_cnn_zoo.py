"""Reader for the Small CNN Zoo (Unterthiner et al. 2020): ``weights.npy``, ``metrics.csv.gz``,
``layout.csv``.

Rows of ``weights.npy`` are flat checkpoints in TensorFlow order with each layer's bias before
its kernel; ``layout.csv`` gives the slices. Weights stay memory-mapped in their published order
and are converted to PyTorch layout per network on access. Tolerances for what was not visible
in public sources: any float dtype, any ``<layer>/kernel:0``-style names, extra layout columns,
``metrics.csv`` uncompressed, and ``modeldir`` missing (runs are then identified by their full
``config.*`` row).

Metrics are renamed to nnenc's columns: ``config.X`` -> ``X``, ``step`` -> ``epoch``,
``modeldir`` -> ``run_id``; ``model_id`` is the row number. Use
:func:`nnenc.zoo.small_cnn_zoo_split` for the common evaluation protocol.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import pandas as pd

from nnenc.architectures import Architecture, find_architecture
from nnenc.io.decoding import read_table
from nnenc.io.errors import ZooFormatError
from nnenc.layout import FlatLayout, LayoutError, TensorSlot, read_layout_csv
from nnenc.zoo.accuracies import as_fractions
from nnenc.zoo.weights_file import open_weights
from nnenc.zoo.zoo import WeightStore, Zoo

WEIGHTS = "weights.npy"
LAYOUT = "layout.csv"
METRICS_NAMES = ("metrics.csv.gz", "metrics.csv")
REQUIRED_METRICS = ("test_accuracy", "step")


def is_small_cnn_zoo(path: Path) -> bool:
    return (path / WEIGHTS).is_file() and (path / LAYOUT).is_file()


def _architecture_for(layout: FlatLayout, source: Path) -> Architecture:
    """The registered architecture with these layer shapes, else a ``cnn`` spec made to fit."""
    shapes = []
    for name in layout.layer_names:
        slots = layout.slots_of(name)
        if "weight" not in slots:
            raise ZooFormatError(source, f"layer {name!r} has a bias but no kernel")
        bias = slots.get("bias")
        shapes.append((slots["weight"].torch_shape, None if bias is None else bias.shape))
    known = find_architecture(shapes)
    if known is not None:
        return known
    convs = [w for w, _ in shapes if len(w) == 4]
    dense = [w for w, _ in shapes if len(w) == 2]
    ranks = [len(w) for w, _ in shapes]
    if not convs or not dense or ranks != [4] * len(convs) + [2] * len(dense):
        raise ZooFormatError(
            source, f"layer shapes {shapes} are not convolutions followed by dense layers"
        )
    spec = Architecture(
        name="cnn-"
        + "-".join(str(w[0]) for w in convs)
        + "-d"
        + "-".join(str(w[0]) for w in dense),
        family="cnn",
        in_channels=convs[0][1],
        num_classes=dense[-1][0],
        conv_channels=tuple(w[0] for w in convs),
        hidden=tuple(w[0] for w in dense[:-1]),
        kernel_size=convs[0][2],
    )
    return spec


INPUT_SIZES = {"mnist": 28, "fashion_mnist": 28, "cifar10": 32, "svhn_cropped": 32}
"""The side of the grayscale images each published dataset's networks were trained on."""


def _with_input_size(architecture: Architecture, raw: pd.DataFrame) -> Architecture:
    """``architecture`` with the input size of the dataset the ``config.dataset`` column names;
    ``None`` (unknown) where the column is missing, names several or an unknown dataset."""
    names = set(raw["config.dataset"].astype(str)) if "config.dataset" in raw.columns else set()
    size = INPUT_SIZES.get(names.pop()) if len(names) == 1 else None
    return replace(architecture, input_size=size)


def _run_ids(metrics: pd.DataFrame) -> pd.Series:
    if "modeldir" in metrics.columns:
        return metrics["modeldir"].astype(str)
    config = [c for c in metrics.columns if c.startswith("config.")]
    if not config:
        return pd.Series(range(len(metrics)), dtype=str)
    return metrics[config].astype(str).agg("|".join, axis=1)


def read_small_cnn_zoo(path: str | Path, name: str | None = None) -> Zoo:
    """Open a Small CNN Zoo folder; the weights are memory-mapped, not read."""
    path = Path(path)
    layout_path = path / LAYOUT
    try:
        layout = read_layout_csv(layout_path)
    except LayoutError as err:
        raise ZooFormatError(layout_path, str(err).removeprefix(f"{layout_path}: ")) from err
    except Exception as err:  # pandas, int() and literal_eval on damaged text raise many types
        raise ZooFormatError(
            layout_path, f"cannot read the layout ({type(err).__name__}: {err})"
        ) from err
    weights_path = path / WEIGHTS
    weights = open_weights(weights_path)
    try:
        layout.validate(weights.shape[1], source=str(layout_path))
    except LayoutError as err:
        raise ZooFormatError(
            layout_path, f"{str(err).removeprefix(f'{layout_path}: ')} ({WEIGHTS}: {weights.shape})"
        ) from err

    metrics_path = next((path / n for n in METRICS_NAMES if (path / n).is_file()), None)
    if metrics_path is None:
        raise ZooFormatError(path, f"no metrics table: expected one of {list(METRICS_NAMES)}")
    raw = read_table(metrics_path)
    missing = [c for c in REQUIRED_METRICS if c not in raw.columns]
    if missing:
        raise ZooFormatError(
            metrics_path,
            f"missing column(s) {missing}; the Small CNN Zoo metrics have test_accuracy, step, "
            "modeldir and config.* columns",
        )
    if len(raw) != weights.shape[0]:
        raise ZooFormatError(
            metrics_path,
            f"has {len(raw)} rows but {weights_path.name} has {weights.shape[0]}; row i of one "
            "must describe row i of the other",
        )

    architecture = _with_input_size(_architecture_for(layout, layout_path), raw)
    metrics = raw.rename(
        columns={c: c.removeprefix("config.") for c in raw.columns if c.startswith("config.")}
    ).rename(columns={"step": "epoch"})
    metrics = metrics.drop(columns=[c for c in ("modeldir",) if c in metrics.columns])
    metrics.insert(0, "model_id", range(len(raw)))
    metrics.insert(1, "run_id", _run_ids(raw).to_numpy())
    metrics.insert(2, "architecture", architecture.name)
    metrics.insert(3, "row", range(len(raw)))
    metrics = as_fractions(metrics, str(metrics_path))  # the checks every reader makes
    store = WeightStore.single(layout, weights, str(weights_path))
    info = {"format": "small-cnn-zoo", "path": str(path)}
    return Zoo(
        metrics,
        {architecture.name: store},
        {architecture.name: architecture},
        name or path.name,
        info,
    )


def keras_layout(architecture: Architecture) -> FlatLayout:
    """The Small CNN Zoo's flat layout for a ``cnn`` architecture: per layer bias then kernel,
    TensorFlow order, Keras variable names (``sequential/conv2d/bias:0``, ``conv2d_1``, ...)."""
    slots, position = [], 0
    counters = {"conv": 0, "linear": 0}
    for shape in architecture.layer_shapes():
        keras = "conv2d" if shape.kind == "conv" else "dense"
        n = counters[shape.kind]
        counters[shape.kind] += 1
        layer = f"sequential/{keras}" + (f"_{n}" if n else "")
        w = shape.weight
        tf_shape = (*w[2:], w[1], w[0]) if len(w) > 2 else (w[1], w[0])
        for role, stored in (("bias", shape.bias), ("weight", tf_shape)):
            size = math.prod(stored)
            slots.append(TensorSlot(layer, role, position, position + size, tuple(stored), "tf"))
            position += size
    return FlatLayout(tuple(slots))
