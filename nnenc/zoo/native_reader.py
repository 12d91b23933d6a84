"""Opening a zoo in nnenc's own format (:mod:`nnenc.zoo.native`): the manifest's seal and the
metrics table are checked, the weights memory-mapped with their row checksums."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from nnenc.architectures import Architecture
from nnenc.io.decoding import member_path, read_json, read_table
from nnenc.io.errors import ZooFormatError
from nnenc.io.seals import check_seal
from nnenc.layout import FlatLayout
from nnenc.zoo.accuracies import as_fractions
from nnenc.zoo.columns import REQUIRED_COLUMNS
from nnenc.zoo.native import FORMAT, FORMAT_VERSION, MANIFEST, METRICS, PLAN
from nnenc.zoo.weights_file import open_weights
from nnenc.zoo.zoo import WeightStore, Zoo


def read_native(path: str | Path) -> Zoo:
    """Open a native zoo; weights are memory-mapped, not read."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.exists():
        if (path / PLAN).exists():
            raise ZooFormatError(
                path, "an unfinished build (no manifest yet); rerun the build to resume it"
            )
        raise ZooFormatError(path, f"no {MANIFEST}: not a native nnenc zoo")
    manifest = read_json(manifest_path, "manifest")
    if not isinstance(manifest, dict):
        raise ZooFormatError(manifest_path, "not a manifest: the JSON is not an object")
    if manifest.get("format") != FORMAT:
        raise ZooFormatError(manifest_path, f"format is {manifest.get('format')!r}, not {FORMAT!r}")
    found = manifest.get("format_version")
    if not isinstance(found, int) or found > FORMAT_VERSION:
        raise ZooFormatError(
            manifest_path,
            f"format_version {found!r}; this nnenc reads versions up to {FORMAT_VERSION}: "
            "upgrade nnenc",
        )
    check_seal(manifest, manifest_path)
    architectures = manifest.get("architectures")
    if not isinstance(architectures, dict) or not all(
        isinstance(e, dict) and {"layout", "file", "rows"} <= set(e) for e in architectures.values()
    ):
        raise ZooFormatError(
            manifest_path,
            "needs 'architectures': an object with 'layout', 'file' and 'rows' per architecture; "
            "this manifest is damaged or was not written by nnenc (rebuild or re-copy the zoo)",
        )
    metrics_path = member_path(path, manifest.get("metrics", METRICS), manifest_path)
    metrics = read_table(metrics_path)
    missing = [c for c in REQUIRED_COLUMNS if c not in metrics.columns]
    if missing:
        raise ZooFormatError(metrics_path, f"missing required column(s) {missing}")
    if metrics.empty:
        raise ZooFormatError(metrics_path, "holds no networks: an empty zoo has nothing to read")
    metrics = _checked_metrics(as_fractions(metrics, str(metrics_path)), metrics_path)
    stores, specs = {}, {}
    newest_weights = 0
    for arch, entry in architectures.items():
        try:
            layout = FlatLayout.from_dicts(entry["layout"])
        except (KeyError, TypeError, ValueError) as err:
            raise ZooFormatError(
                manifest_path, f"architecture {arch!r}: bad layout ({err})"
            ) from err
        weights_path = member_path(path, entry["file"], manifest_path, f"architecture {arch!r}: ")
        array = open_weights(weights_path, layout.size)
        newest_weights = max(newest_weights, weights_path.stat().st_mtime_ns)
        if array.shape[0] != entry["rows"]:
            raise ZooFormatError(
                weights_path, f"has {array.shape[0]} rows; the manifest says {entry['rows']}"
            )
        n_metrics = int((metrics["architecture"] == arch).sum())
        if n_metrics != array.shape[0]:
            raise ZooFormatError(
                metrics_path,
                f"{n_metrics} rows for architecture {arch!r}, but {weights_path.name} has "
                f"{array.shape[0]} weight rows",
            )
        if not entry.get("checksums"):
            raise ZooFormatError(
                manifest_path,
                f"architecture {arch!r} names no row checksums ('checksums'), which nnenc writes "
                "for every architecture: the manifest was edited; re-copy the zoo",
            )
        checksums_path = member_path(path, entry["checksums"], manifest_path)
        checksums = _read_checksums(checksums_path, array.shape[0])
        stores[arch] = WeightStore.single(layout, array, str(weights_path), checksums)
        specs[arch] = _trained_on(entry.get("spec"), manifest.get("build"))
    if "finite" in metrics.columns and newest_weights > metrics_path.stat().st_mtime_ns:
        # the stored column is a cache of a scan made when the table was written: weights
        # changed since then are scanned again (Zoo.finite_mask) instead of trusted
        metrics = metrics.drop(columns="finite")
    info = {"format": FORMAT, "path": str(path), "build": manifest.get("build", {})}
    return Zoo(metrics, stores, specs, manifest.get("name", path.name), info)


def _trained_on(spec: dict | None, build: object) -> Architecture | None:
    """The manifest's spec with the input size of the images its build trained on: a single
    architecture's spec is the registered one, whose input size is a default that a build at
    another resolution does not change."""
    if not spec:
        return None
    architecture = Architecture.from_dict(spec)
    config = build.get("config") if isinstance(build, dict) else None
    resolution = config.get("resolution") if isinstance(config, dict) else None
    if architecture.family == "cnn" and isinstance(resolution, int):
        return replace(architecture, input_size=resolution)
    return architecture


def _read_checksums(path: Path, rows: int) -> np.ndarray:
    try:
        checksums = np.load(path, allow_pickle=False)
    except Exception as err:  # numpy's header parser raises many types on damaged bytes
        raise ZooFormatError(path, f"not a readable checksum array ({err}); re-copy it") from err
    if checksums.shape != (rows,) or checksums.dtype != np.uint32:
        raise ZooFormatError(
            path, f"expected {rows} uint32 row checksums, got {checksums.dtype} {checksums.shape}"
        )
    return checksums


def _checked_metrics(metrics: pd.DataFrame, source: Path) -> pd.DataFrame:
    """Refuse rows that cannot index the weights: non-integer or repeated (architecture, row)."""
    rows = pd.to_numeric(metrics["row"], errors="coerce")
    bad = metrics.index[rows.isna() | (rows != rows.round())]
    if len(bad):
        raise ZooFormatError(
            source, f"column 'row' must hold whole numbers; rows {list(bad[:5])} do not"
        )
    metrics = metrics.assign(row=rows.astype(np.int64))
    repeated = metrics.duplicated(["architecture", "row"], keep=False)
    if repeated.any():
        first = metrics[repeated].sort_values(["architecture", "row"]).head(4)
        listed = ", ".join(
            f"table row {i} ({a}, row {r})"
            for i, a, r in zip(first.index, first["architecture"], first["row"], strict=True)
        )
        raise ZooFormatError(
            source,
            f"{int(repeated.sum())} rows point at a weight row another row points at too "
            f"({listed}): each network has its own weight row. The table is damaged; re-copy "
            "or rebuild the zoo",
        )
    return metrics
