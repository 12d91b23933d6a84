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
from nnenc.zoo.accuracies import as_fractions
from nnenc.zoo.zoo import WeightStore, Zoo


def architecture_id(params: NetworkParams) -> str:
    """A registered architecture's name if the shapes match one, else ``custom-<hash>``."""
    shapes = params.layer_shapes()
    spec = find_architecture([s.tensors for s in shapes])
    if spec is not None:
        return spec.name
    key = repr([(s.name, s.kind, *s.tensors) for s in shapes])
    return "custom-" + hashlib.sha1(key.encode()).hexdigest()[:8]


def zoo_from_networks(
    rows: Sequence[Mapping],
    networks: Sequence[NetworkParams],
    name: str,
    source: str,
    info: Mapping | None = None,
) -> Zoo:
    """A zoo from one metrics row and one network each; ``architecture``/``row`` are filled in.

    Each network's ``architecture`` is kept unless it is ``"unknown"``, in which case
    :func:`architecture_id` names it; the networks' specs (:attr:`NetworkParams.spec`) become
    the zoo's.
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
    stores, specs = {}, {}
    for arch, members in grouped.items():
        found = {networks[i].spec for i in members} - {None}
        if len(found) > 1:
            raise ValueError(f"{source}: networks named {arch!r} carry different specs")
        specs[arch] = found.pop() if found else None
        layouts = {networks[i].layout() for i in members}
        if len(layouts) != 1:
            raise ValueError(f"{source}: networks named {arch!r} have different layer layouts")
        array = np.stack([networks[i].to_flat().numpy() for i in members]).astype(np.float32)
        stores[arch] = WeightStore.single(layouts.pop(), array, f"{source} ({arch})")
        metrics.loc[members, "row"] = np.arange(len(members))
    return Zoo(as_fractions(metrics, source), stores, specs, name, info)
