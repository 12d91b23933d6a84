"""The zoos a benchmark needs: built once with the zoo builder and cached, or found on disk.

A built zoo lives in ``CACHE/zoos/<name>-<hash of its build spec>``; the cache is
``$NNENC_CACHE`` or ``~/.cache/nnenc``. Builds resume where they stopped, so an interrupted
``make demo`` loses nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from analysis.context import RunContext
from nnenc.builder.build import BuildConfig, build_zoo
from nnenc.cache import cache_dir
from nnenc.datasets import get_dataset
from nnenc.zoo import detect_format


def build_spec(spec: dict) -> BuildConfig:
    fields = {k: v for k, v in spec.items() if k != "path"}
    if "checkpoints" in fields and fields["checkpoints"] is not None:
        fields["checkpoints"] = tuple(fields["checkpoints"])
    return BuildConfig.from_dict(fields)


def zoo_location(name: str, spec: dict, root: Path | None = None) -> Path:
    """Where zoo ``name`` is (a given path) or will be built (the cache). A build's folder is
    named by its settings as the preset gives them (precision ``auto`` unresolved) and by its
    dataset's description (so a dataset that changes size, as the procedural ones did, gets new
    zoos): a zoo built on one machine is reused on another, and its manifest says which
    precision built it."""
    if "path" in spec:
        return Path(spec["path"]).expanduser()
    config = build_spec(spec)
    data = get_dataset(config.dataset, config.data_root, config.resolution)
    settings = {**config.to_dict(), "data": data.describe()}
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:10]
    return (root or cache_dir()) / "zoos" / f"{name}-{digest}"


def ensure_zoos(
    zoos: dict[str, dict], names: list[str], context: RunContext | None = None
) -> dict[str, Path]:
    """Paths of the zoos ``names``, building (or finishing) the ones not yet in the context's
    zoo cache, on its device, in its precision where a zoo's spec leaves it at ``auto``
    (:meth:`~analysis.context.RunContext.with_precision`). A zoo's place does not depend on the
    precision: its manifest records what built it."""
    context = context or RunContext()
    paths = {}
    for name in names:
        spec = zoos[name]
        path = zoo_location(name, spec, context.zoo_root)
        if "path" in spec:
            detect_format(path)  # a clear error now if it is not a zoo
        elif not (path / "manifest.json").is_file():  # written last: absent = not finished
            build_zoo(
                build_spec(context.with_precision(spec)),
                path,
                context.workers,
                device=context.device,
                ray_address=context.ray_address,
                progress=context.progress,
            )
        paths[name] = path
    return paths
