"""Turning loose networks (state_dicts read from checkpoint files) into a :class:`Zoo`.

Shared by the readers of folder-of-checkpoints formats: networks are grouped by their layer
shapes into architectures, each architecture's flat vectors stacked into one in-memory array.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from nnenc.architectures import find_architecture
from nnenc.params import NetworkParams
from nnenc.zoo.errors import ZooFormatError
from nnenc.zoo.zoo import WeightStore, Zoo

ACCURACY_COLUMNS = ("test_accuracy", "test_accuracy_half1", "test_accuracy_half2", "train_accuracy")


def architecture_id(params: NetworkParams) -> str:
    """A registered architecture's name if the shapes match one, else ``custom-<hash>``."""
    shapes = [
        (tuple(la.weight.shape), None if la.bias is None else tuple(la.bias.shape))
        for la in params.layers
    ]
    spec = find_architecture(shapes)
    if spec is not None:
        return spec.name
    key = repr([(la.name, la.kind, *s) for la, s in zip(params.layers, shapes, strict=True)])
    return "custom-" + hashlib.sha1(key.encode()).hexdigest()[:8]


def as_fractions(
    metrics: pd.DataFrame, source: str, columns: Sequence[str] = ACCURACY_COLUMNS
) -> pd.DataFrame:
    """Accuracies in [0, 1], each column judged as a whole from every value it holds.

    A column is read as fractions when all its values lie in [0, 1], and as percentages (divided
    by 100) when all lie in [0, 100] and none is in (0, 1): below 1% a 10-class accuracy is
    implausible, and such a value would be ambiguous. Any other column (one outlier of 1.01 among
    fractions, a 0.5 among percentages, a value outside [0, 100], text) is refused with its rows,
    never rescaled as a whole.
    """
    metrics = metrics.copy()
    for column in columns:
        if column not in metrics.columns:
            continue
        values = pd.to_numeric(metrics[column], errors="coerce")
        text = values.isna() & metrics[column].notna()
        known = values.dropna()
        if text.any():
            problem = f"holds values that are not numbers ({_rows(metrics[column][text])})"
        elif known.between(0.0, 1.0).all():
            metrics[column] = values
            continue
        elif known.between(0.0, 100.0).all() and not known.between(0.0, 1.0, "right").any():
            metrics[column] = values / 100.0
            continue
        elif not known.between(0.0, 100.0).all():
            problem = f"holds values outside [0, 100] ({_rows(known[~known.between(0.0, 100.0)])})"
        else:
            minority = known.between(0.0, 1.0, "right")
            if minority.sum() * 2 > len(known):
                minority = ~minority
            problem = (
                "mixes fractions in [0, 1] with percentages above 1 "
                f"({_rows(known[minority])} disagree with the rest)"
            )
        raise ZooFormatError(
            source,
            f"column {column!r} {problem}; accuracies must be all fractions or all percentages: "
            "correct those rows",
        )
    return metrics


def _rows(values: pd.Series, shown: int = 5) -> str:
    listed = ", ".join(f"row {i}: {v!r}" for i, v in list(values.items())[:shown])
    more = f" and {len(values) - shown} more" if len(values) > shown else ""
    return listed + more


def zoo_from_networks(
    rows: Sequence[Mapping],
    networks: Sequence[NetworkParams],
    name: str,
    source: str,
    info: Mapping | None = None,
) -> Zoo:
    """A zoo from one metrics row and one network each; ``architecture``/``row`` are filled in.

    Each network's ``architecture`` is kept unless it is ``"unknown"``, in which case
    :func:`architecture_id` names it.
    """
    archs = [
        architecture_id(net) if net.architecture == "unknown" else net.architecture
        for net in networks
    ]
    grouped: dict[str, list[int]] = {}
    for i, arch in enumerate(archs):
        grouped.setdefault(arch, []).append(i)
    metrics = pd.DataFrame(list(rows))
    metrics["architecture"] = archs
    metrics["row"] = 0
    stores = {}
    for arch, members in grouped.items():
        layouts = {networks[i].layout() for i in members}
        if len(layouts) != 1:
            raise ValueError(f"{source}: networks named {arch!r} have different layer layouts")
        array = np.stack([networks[i].to_flat().numpy() for i in members]).astype(np.float32)
        stores[arch] = WeightStore.single(layouts.pop(), array, f"{source} ({arch})")
        metrics.loc[members, "row"] = np.arange(len(members))
    return Zoo(as_fractions(metrics, source), stores, None, name, info)
