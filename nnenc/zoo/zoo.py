"""The :class:`Zoo`: many networks, one metrics row each, weights memory-mapped per architecture."""

from __future__ import annotations

import hashlib
import shutil
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from nnenc.architectures import ACTIVATIONS, Architecture
from nnenc.io.errors import ZooFormatError
from nnenc.io.locks import WriterLock
from nnenc.io.seals import row_checksums
from nnenc.layout import FlatLayout
from nnenc.zoo.columns import REQUIRED_COLUMNS
from nnenc.zoo.native import SHARD_ROWS, ZooWriter
from nnenc.zoo.weights_file import advise

if TYPE_CHECKING:  # torch-backed: imported where a network is built, so that reading a zoo's
    # table and statistics does not import torch
    from nnenc.params import NetworkParams

SCAN_BLOCK_ROWS = 2048


@dataclass(frozen=True, eq=False)
class WeightSegment:
    """One 2-D array of flat vectors (often a memmap), in its own layout, with the CRC-32 of
    each row where the file keeps them (:mod:`nnenc.io.seals`): every row read is checked."""

    array: np.ndarray
    layout: FlatLayout
    source: str
    checksums: np.ndarray | None = None

    def read(self, rows: np.ndarray) -> np.ndarray:
        """``rows`` of this segment as float32, in its own layout, checked where it can be."""
        part = np.asarray(self.array[rows], dtype=np.float32)
        if self.checksums is not None:
            bad = np.flatnonzero(row_checksums(part) != self.checksums[rows])
            if bad.size:
                raise ZooFormatError(
                    self.source,
                    f"weight row(s) {rows[bad][:5].tolist()} do not match their checksums: the "
                    "file is damaged (a changed or corrupted copy); re-copy or rebuild the zoo",
                )
        return part


@dataclass(frozen=True, eq=False)
class WeightStore:
    """The flat vectors of one architecture: rows of one or more :class:`WeightSegment`.

    Reads return rows in ``layout``; a segment stored in another order of the same tensors (a
    Small CNN Zoo file beside a native one) is converted to PyTorch order as it is read. Nothing
    is read until rows are asked for; reads gather only the requested rows, in sorted order.
    """

    layout: FlatLayout
    segments: tuple[WeightSegment, ...]

    def __post_init__(self) -> None:
        for seg in self.segments:
            if seg.array.ndim != 2 or seg.array.shape[1] != seg.layout.size:
                raise ValueError(
                    f"{seg.source}: weights have shape {seg.array.shape}; the layout needs "
                    f"(rows, {seg.layout.size})"
                )
            same = seg.layout.signature == self.layout.signature
            if not same and seg.layout.torch_layout().signature != self.layout.signature:
                raise ValueError(f"{seg.source}: its layout does not match the store's")

    @classmethod
    def single(
        cls,
        layout: FlatLayout,
        array: np.ndarray,
        source: str,
        checksums: np.ndarray | None = None,
    ) -> WeightStore:
        return cls(layout, (WeightSegment(array, layout, source, checksums),))

    @property
    def n_rows(self) -> int:
        return sum(seg.array.shape[0] for seg in self.segments)

    @property
    def n_params(self) -> int:
        return self.layout.size

    @property
    def sources(self) -> list[str]:
        return [seg.source for seg in self.segments]

    def read(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """``(len(rows), P)`` float32 in ``self.layout``."""
        rows = np.asarray(rows, dtype=np.int64)
        out = np.empty((rows.shape[0], self.n_params), dtype=np.float32)
        order = np.argsort(rows, kind="stable")
        starts = np.cumsum([0] + [seg.array.shape[0] for seg in self.segments])
        which = np.searchsorted(starts, rows[order], side="right") - 1
        for s, seg in enumerate(self.segments):
            pick = order[which == s]
            if pick.size:
                part = seg.read(rows[pick] - starts[s])
                if seg.layout.signature != self.layout.signature:
                    part = seg.layout.rows_to_torch_order(part)
                out[pick] = part
        return out

    def read_torch_order(self, rows: Sequence[int] | np.ndarray) -> np.ndarray:
        """Rows in PyTorch layout, weight then bias per layer (``layout.torch_layout()``)."""
        return self.layout.rows_to_torch_order(self.read(rows))

    def concat(self, other: WeightStore) -> WeightStore:
        """Rows of ``self`` then ``other``; mixed orders of the same tensors read as PyTorch order."""
        same = other.layout.signature == self.layout.signature
        layout = self.layout if same else self.layout.torch_layout()
        if other.layout.torch_layout().signature != layout.torch_layout().signature:
            raise ValueError("cannot concatenate weight stores of different tensors")
        return WeightStore(layout, self.segments + other.segments)

    def finite_rows(self, rows: np.ndarray, bar: tqdm | None = None) -> np.ndarray:
        """Whether each of ``rows`` holds only finite values.

        Scanned in blocks of :data:`SCAN_BLOCK_ROWS` rows with readahead on; each block's pages
        are released after use, so memory stays bounded whatever the zoo's size. ``bar``, where
        given, advances by the rows of each block scanned.
        """
        finite = np.empty(len(rows), dtype=bool)
        blocks = range(0, len(rows), SCAN_BLOCK_ROWS)
        for seg in self.segments:
            advise(seg.array, "sequential")
        try:
            for start in blocks:
                block = self.read(rows[start : start + SCAN_BLOCK_ROWS])
                finite[start : start + SCAN_BLOCK_ROWS] = np.isfinite(block).all(axis=1)
                if bar is not None:
                    bar.update(len(block))
                for seg in self.segments:
                    advise(seg.array, "release")
        finally:
            for seg in self.segments:
                advise(seg.array, "random")
        return finite


class ZooSplits(NamedTuple):
    train: Zoo
    val: Zoo
    test: Zoo


def split_by_group(
    groups: np.ndarray, fractions: tuple[float, ...] = (0.8, 0.1, 0.1), seed: int = 0
) -> list[np.ndarray]:
    """Row indices per split; all rows of one group (training run) fall in the same split.

    Groups are sorted, shuffled with ``numpy.random.default_rng(seed)`` and cut so that each
    split gets ``fractions`` of the groups (rounded; the last split takes the rest). Same groups
    and seed give the same split, whatever the row order.
    """
    fractions = tuple(float(f) for f in fractions)
    if any(f < 0 for f in fractions) or not np.isclose(sum(fractions), 1.0):
        raise ValueError(f"split fractions must be non-negative and sum to 1; got {fractions}")
    unique, inverse = np.unique(np.asarray(groups).astype(str), return_inverse=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    cuts = np.round(np.cumsum(fractions)[:-1] * len(unique)).astype(int)
    split_of_group = np.empty(len(unique), dtype=np.int64)
    for split, members in enumerate(np.split(order, cuts)):
        split_of_group[members] = split
    split_of_row = split_of_group[inverse]
    return [np.flatnonzero(split_of_row == s) for s in range(len(fractions))]


class Zoo:
    """A collection of networks with one metrics row each.

    Args:
        metrics: one row per network; must have :data:`REQUIRED_COLUMNS`. ``architecture`` and
            ``row`` say where the network's flat vector lives.
        stores: per architecture id, its :class:`WeightStore`.
        architectures: per architecture id, its buildable spec where known: each network the
            zoo gives carries its spec, so :meth:`NetworkParams.to_module` builds this zoo's
            architecture even where another zoo or the registry uses the name for another one.
            Nothing is registered globally.
        name: a short name for tables and messages.
        info: free provenance (the manifest's build section, the source format, ...).

    Filtering, taking and splitting return new zoos that share the same weight stores.
    """

    def __init__(
        self,
        metrics: pd.DataFrame,
        stores: Mapping[str, WeightStore],
        architectures: Mapping[str, Architecture | None] | None = None,
        name: str = "zoo",
        info: Mapping | None = None,
    ):
        missing = [c for c in REQUIRED_COLUMNS if c not in metrics.columns]
        if missing:
            raise ValueError(f"zoo {name!r}: metrics lack required column(s) {missing}")
        self._metrics = metrics.reset_index(drop=True)
        self._stores = dict(stores)
        self.name = name
        self.info = dict(info or {})
        unknown = sorted(set(self._metrics["architecture"]) - set(self._stores))
        if unknown:
            raise ValueError(f"zoo {name!r}: no weights for architecture(s) {unknown}")
        for arch, group in self._metrics.groupby("architecture", sort=False):
            n_rows = self._stores[arch].n_rows
            bad = group["row"][(group["row"] < 0) | (group["row"] >= n_rows)]
            if len(bad):
                raise ValueError(
                    f"zoo {name!r}: metrics row {bad.index[0]} points at weight row "
                    f"{bad.iloc[0]} of {arch!r}, which has {n_rows} rows"
                )
        self._specs = {a: s for a, s in (architectures or {}).items() if s is not None}
        self._finite: np.ndarray | None = None

    # --- views ------------------------------------------------------------------------------
    @property
    def metrics(self) -> pd.DataFrame:
        """The metrics table (one row per network). Treat it as read-only."""
        return self._metrics

    @property
    def stores(self) -> Mapping[str, WeightStore]:
        return self._stores

    @property
    def architectures(self) -> list[str]:
        """Architecture ids present, in order of first appearance."""
        return list(dict.fromkeys(self._metrics["architecture"]))

    def architecture_spec(self, architecture: str) -> Architecture | None:
        return self._specs.get(architecture)

    def digest(self) -> str:
        """SHA-256 of the metrics table as text (ids, hyperparameters, accuracies), in any
        format: what tells this zoo from another build of the same spec (one trained in another
        precision or on another instruction set ends at other accuracies), without reading the
        weights."""
        text = self._metrics.to_csv(index=False, float_format="%.17g", lineterminator="\n")
        return hashlib.sha256(text.encode()).hexdigest()

    def __len__(self) -> int:
        return len(self._metrics)

    def __getitem__(self, index: int) -> NetworkParams:
        return self.params(index)

    def __iter__(self) -> Iterator[NetworkParams]:
        for i in range(len(self)):
            yield self.params(i)

    def params(self, index: int) -> NetworkParams:
        """Network ``index`` as :class:`NetworkParams`; its metrics row is the metadata."""
        if not -len(self) <= index < len(self):
            raise IndexError(f"zoo {self.name!r} has {len(self)} networks; no index {index}")
        row = self._metrics.iloc[index]
        store = self._stores[row["architecture"]]
        vector = store.read([int(row["row"])])[0]
        activation = row.get("activation")
        if not (isinstance(activation, str) and activation in ACTIVATIONS):
            activation = None
        from nnenc.params import NetworkParams

        network = NetworkParams.from_flat(
            vector, store.layout, row["architecture"], activation, row.to_dict()
        )
        spec = self._specs.get(row["architecture"])
        return network if spec is None else replace(network, spec=spec)

    def flat(self, indices: Sequence[int] | None = None) -> np.ndarray:
        """Flat vectors in PyTorch order, ``(len(indices), P)``; one architecture only."""
        table = self._metrics if indices is None else self._metrics.iloc[list(indices)]
        archs = table["architecture"].unique()
        if len(archs) != 1:
            raise ValueError(
                f"zoo {self.name!r}: flat vectors need one architecture; these rows have {list(archs)}"
            )
        return self._stores[archs[0]].read_torch_order(table["row"].to_numpy())

    # --- subsets and combinations ---------------------------------------------------------------
    def take(self, indices: Sequence[int] | np.ndarray) -> Zoo:
        """The networks at ``indices``, in that order."""
        indices = np.asarray(indices, dtype=np.int64)
        zoo = self._with_metrics(self._metrics.iloc[indices])
        if self._finite is not None:
            zoo._finite = self._finite[indices]
        return zoo

    def filter(self, mask: np.ndarray | pd.Series | None = None, **equals) -> Zoo:
        """Networks where ``mask`` holds and every ``column=value`` matches.

        A value may be a list/tuple/set, meaning any of them: ``zoo.filter(epoch=86)``,
        ``zoo.filter(activation=["relu", "tanh"])``, ``zoo.filter(finite=True)``.
        """
        keep = np.ones(len(self), dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        if keep.shape != (len(self),):
            raise ValueError(f"mask has shape {keep.shape}; the zoo has {len(self)} networks")
        for column, value in equals.items():
            if column == "finite" and column not in self._metrics.columns:
                values = self.finite_mask()
            elif column not in self._metrics.columns:
                raise KeyError(
                    f"zoo {self.name!r} has no column {column!r}; columns: {list(self._metrics.columns)}"
                )
            else:
                values = self._metrics[column].to_numpy()
            if isinstance(value, list | tuple | set | frozenset):
                keep &= np.isin(values, list(value))
            else:
                keep &= values == value
        return self.take(np.flatnonzero(keep))

    @staticmethod
    def concat(zoos: Sequence[Zoo], name: str | None = None) -> Zoo:
        """One zoo holding all networks of ``zoos`` (weights are not copied)."""
        if not zoos:
            raise ValueError("nothing to concatenate")
        stores: dict[str, WeightStore] = {}
        specs: dict[str, Architecture] = {}
        tables = []
        for zoo in zoos:
            table = zoo.metrics.copy()
            for arch in zoo.architectures:
                spec = zoo.architecture_spec(arch)
                if spec is not None and specs.setdefault(arch, spec) != spec:
                    raise ValueError(
                        f"zoo {zoo.name!r} names another architecture {arch!r} than the zoos "
                        "before it (different specs under one name): rename one before joining"
                    )
                store = zoo.stores[arch]
                offset = stores[arch].n_rows if arch in stores else 0
                stores[arch] = stores[arch].concat(store) if arch in stores else store
                table.loc[table["architecture"] == arch, "row"] += offset
            tables.append(table)
        metrics = pd.concat(tables, ignore_index=True)
        if metrics["model_id"].duplicated().any():
            metrics["model_id"] = [
                f"{zoo.name}/{m}" for zoo in zoos for m in zoo.metrics["model_id"]
            ]
        return Zoo(metrics, stores, specs, name or "+".join(z.name for z in zoos))

    def split(
        self,
        fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
        seed: int = 0,
        group: str = "run_id",
    ) -> ZooSplits:
        """Train/val/test zoos; every checkpoint of one training run lands in the same split."""
        parts = split_by_group(self._metrics[group].to_numpy(), fractions, seed)
        return ZooSplits(*(self.take(p) for p in parts))

    # --- diverged networks ----------------------------------------------------------------------
    def finite_mask(self, progress: bool = False) -> np.ndarray:
        """Per network, whether all its weights are finite.

        Uses the ``finite`` column where the zoo has one; otherwise scans the weights once in
        bounded blocks (never the whole array at once) and caches the answer.
        """
        if "finite" in self._metrics.columns:
            return self._metrics["finite"].to_numpy(dtype=bool)
        if self._finite is None:
            finite = np.empty(len(self), dtype=bool)
            # one bar over the whole zoo (not one per architecture), shown only if it lasts
            with tqdm(
                total=len(self),
                desc="scanning weights",
                unit="network",
                disable=not progress,
                delay=1.0,
            ) as bar:
                for arch, group in self._metrics.groupby("architecture", sort=False):
                    rows = group["row"].to_numpy()
                    finite[group.index.to_numpy()] = self._stores[arch].finite_rows(rows, bar)
            self._finite = finite
        return self._finite

    def flag_nonfinite(self, progress: bool = False) -> Zoo:
        """This zoo with a boolean ``finite`` column (filter with ``zoo.filter(finite=True)``)."""
        metrics = self._metrics.copy()
        metrics["finite"] = self.finite_mask(progress)
        return self._with_metrics(metrics)

    # --- description and storage ---------------------------------------------------------------
    def summary(self, progress: bool = False) -> dict:
        """Counts, architectures, epochs, test-accuracy spread and diverged networks."""
        acc = self._metrics["test_accuracy"].astype(float)
        finite = self.finite_mask(progress)
        per_arch = {
            arch: {"networks": int(n), "params": self._stores[arch].n_params}
            for arch, n in self._metrics["architecture"].value_counts().sort_index().items()
        }  # by name, as a reader looks one up
        summary = {
            "name": self.name,
            "networks": len(self),
            "runs": int(self._metrics["run_id"].nunique()),
            "architectures": per_arch,
            "epochs": sorted(int(e) for e in self._metrics["epoch"].dropna().unique())
            if self.info.get("epochs_recorded", True)
            else None,
            "test_accuracy": {
                "min": float(acc.min()),
                "q25": float(acc.quantile(0.25)),
                "median": float(acc.median()),
                "q75": float(acc.quantile(0.75)),
                "max": float(acc.max()),
                "mean": float(acc.mean()),
            },
            "nonfinite_weights": int((~finite).sum()),
            "missing_test_accuracy": int(acc.isna().sum()),
        }
        if "dataset" in self._metrics.columns:
            summary["datasets"] = sorted(str(d) for d in self._metrics["dataset"].dropna().unique())
        precision = self.info.get("build", {}).get("config", {}).get("precision")
        if precision:  # a zoo built by nnenc: the precision its networks trained in
            summary["precision"] = precision
        return summary

    def save(self, path: str | Path, overwrite: bool = False) -> Path:
        """Write this zoo in the native format (:mod:`nnenc.zoo.native`): weights converted to
        PyTorch order, metrics rows renumbered.

        An existing zoo at ``path`` is replaced only with ``overwrite=True``, and then only once
        the new one is complete. The target's writer lock is held throughout.
        """
        path = Path(path)
        with WriterLock(path):
            if path.exists() and any(path.iterdir()) and not overwrite:
                raise FileExistsError(f"{path} exists and is not empty; nothing is overwritten")
            staging = path.with_name(f".{path.name}.writing")
            shutil.rmtree(staging, ignore_errors=True)
            self._write_shards(staging)
            if path.exists():
                retired = path.with_name(f".{path.name}.old")
                shutil.rmtree(retired, ignore_errors=True)
                path.rename(retired)
                staging.rename(path)
                shutil.rmtree(retired, ignore_errors=True)
            else:
                staging.rename(path)
            return path

    def _write_shards(self, folder: Path) -> None:
        architectures = {
            a: self.architecture_spec(a) or self._stores[a].layout.torch_layout()
            for a in self.architectures
        }
        with ZooWriter(folder, self.name, architectures, self.info.get("build")) as writer:
            for k, start in enumerate(range(0, len(self), SHARD_ROWS)):
                part = self._metrics.iloc[start : start + SHARD_ROWS].reset_index(drop=True)
                weights = {}
                for arch in part["architecture"].unique():
                    sel = (part["architecture"] == arch).to_numpy()
                    rows = part["row"].to_numpy()[sel]
                    weights[arch] = self._stores[arch].read_torch_order(rows)
                    part.loc[sel, "row"] = np.arange(int(sel.sum()))
                writer.write_shard(f"{k:06d}", part, weights)
            writer.finalize()

    def _with_metrics(self, metrics: pd.DataFrame) -> Zoo:
        return Zoo(metrics, self._stores, self._specs, self.name, self.info)

    def __repr__(self) -> str:
        return f"Zoo({self.name!r}, networks={len(self)}, architectures={self.architectures})"
