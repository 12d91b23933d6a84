"""nnenc's own zoo format: a folder with a manifest, one ``.npy`` per architecture, one table.

::

    zoo/
      manifest.json          format + version, architectures (spec, layout, rows, file), build
      weights/<arch>.npy     float32, (N_arch, P_arch), PyTorch order, memory-mappable
      weights/<arch>.crc32.npy  uint32, (N_arch,): each weight row's CRC-32, checked on read
      metrics.csv.gz         one row per stored checkpoint (model_id, run_id, architecture, row,
                             epoch, test_accuracy, the half-test-set accuracies, ...)

A build writes shards under ``zoo/shards/<id>/``, each one atomically (a shard folder appears
complete or not at all), so an interrupted build resumes where it stopped. :meth:`ZooWriter.finalize`
joins the shards into the files above and writes the manifest last: a folder without a
manifest is an unfinished build and is never read as a zoo. The manifest is sealed with its
own SHA-256 and each weight row has a CRC-32 (:mod:`nnenc.io.seals`), so that damage to
the files is found, not read. A writer holds the folder's
:class:`~nnenc.io.locks.WriterLock` from before its "finished?" check until it has
finalized or closed, so a second build into the same folder fails at once instead of finalizing
a part of the shards over the first one's zoo.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from nnenc.architectures import Architecture
from nnenc.io.atomic import atomic_directory, atomic_path, write_csv, write_json
from nnenc.io.decoding import read_table
from nnenc.io.errors import ZooFormatError
from nnenc.io.locks import WriterLock
from nnenc.io.seals import row_checksums, seal
from nnenc.layout import FlatLayout
from nnenc.version import package_version
from nnenc.zoo.columns import REQUIRED_COLUMNS

FORMAT = "nnenc-zoo"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
PLAN = "build-plan.json"
METRICS = "metrics.csv.gz"
CHECKSUMS = ".crc32.npy"
SHARD_ROWS = 65536


def _file_names(architectures: list[str]) -> dict[str, str]:
    names: dict[str, str] = {}
    for i, arch in enumerate(architectures):
        stem = re.sub(r"[^A-Za-z0-9_.-]", "_", arch) or "arch"
        if stem in names.values():
            stem = f"{stem}-{i}"
        names[arch] = stem
    return names


class ZooWriter:
    """Writes a native zoo shard by shard; rerunning with the same plan resumes.

    Args:
        path: the zoo folder.
        name: the zoo's name.
        architectures: per architecture id, its spec (whose PyTorch layout is used) or a layout.
        build: how the zoo was made (datasets, seeds, hyperparameter space, ...); part of the
            plan, so a rerun with other settings is refused instead of mixed in.

    The writer holds the folder's lock until :meth:`finalize` or :meth:`close` (use it as a
    context manager); another live writer makes the constructor raise
    :class:`~nnenc.io.locks.FolderBusyError`.
    """

    def __init__(
        self,
        path: str | Path,
        name: str,
        architectures: Mapping[str, Architecture | FlatLayout],
        build: Mapping | None = None,
    ):
        self.path = Path(path)
        self.name = name
        self.specs = {a: s for a, s in architectures.items() if isinstance(s, Architecture)}
        self.layouts = {
            a: s.layout() if isinstance(s, Architecture) else s for a, s in architectures.items()
        }
        self.files = _file_names(list(self.layouts))
        self.lock = WriterLock(self.path).acquire()
        try:
            self._open(name, build)
        except BaseException:
            self.lock.release()
            raise

    def _open(self, name: str, build: Mapping | None) -> None:
        if (self.path / MANIFEST).exists():
            raise FileExistsError(
                f"{self.path} already holds a finished zoo; nothing is overwritten. "
                "Choose another folder or delete it."
            )
        self.plan = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "name": name,
            "architectures": {
                a: {
                    "spec": self.specs[a].to_dict() if a in self.specs else None,
                    "layout": layout.to_dicts(),
                }
                for a, layout in self.layouts.items()
            },
            "build": dict(build or {}),
        }
        plan_path = self.path / PLAN
        if plan_path.exists():
            existing = json.loads(plan_path.read_text())
            if existing != json.loads(json.dumps(self.plan)):
                raise ZooFormatError(
                    plan_path,
                    "this folder holds an unfinished build with different settings; rerun with "
                    "the same settings to resume it, or choose another folder",
                )
        else:
            self.path.mkdir(parents=True, exist_ok=True)
            write_json(self.plan, plan_path)

    def close(self) -> None:
        """Release the folder's writer lock (an unfinished build stays resumable)."""
        self.lock.release()

    def __enter__(self) -> ZooWriter:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @staticmethod
    def unfinished_build(path: str | Path) -> dict | None:
        """The ``build`` record of an unfinished build in ``path`` (a plan, no manifest), or
        ``None``."""
        path = Path(path)
        if (path / MANIFEST).exists() or not (path / PLAN).is_file():
            return None
        return json.loads((path / PLAN).read_text()).get("build", {})

    @property
    def shard_dir(self) -> Path:
        return self.path / "shards"

    def finished_shards(self) -> list[str]:
        """Ids of the shards already written (complete by construction)."""
        if not self.shard_dir.exists():
            return []
        return sorted(p.name for p in self.shard_dir.iterdir() if not p.name.startswith("."))

    def write_shard(
        self, shard_id: str, metrics: pd.DataFrame, weights: Mapping[str, np.ndarray]
    ) -> None:
        """Write one shard atomically.

        ``metrics['row']`` indexes ``weights[metrics['architecture']]`` within this shard.
        Shards are joined in the sorted order of their ids: zero-pad numeric ids.
        """
        missing = [c for c in REQUIRED_COLUMNS if c not in metrics.columns]
        if missing:
            raise ValueError(f"shard {shard_id}: metrics lack column(s) {missing}")
        for arch, array in weights.items():
            if arch not in self.layouts:
                raise ValueError(f"shard {shard_id}: architecture {arch!r} is not in the plan")
            if array.ndim != 2 or array.shape[1] != self.layouts[arch].size:
                raise ValueError(
                    f"shard {shard_id}: {arch} weights have shape {array.shape}; expected "
                    f"(rows, {self.layouts[arch].size})"
                )
            used = metrics.loc[metrics["architecture"] == arch, "row"]
            if sorted(used) != list(range(array.shape[0])):
                raise ValueError(
                    f"shard {shard_id}: {arch} metrics rows must index its {array.shape[0]} "
                    "weight rows once each"
                )
        with atomic_directory(self.shard_dir / shard_id) as tmp:
            for arch, array in weights.items():
                np.save(tmp / f"{self.files[arch]}.npy", np.asarray(array, dtype=np.float32))
            metrics.to_csv(tmp / METRICS, index=False, compression="gzip")

    def finalize(self, progress: bool = False) -> Path:
        """Join the shards into the final files, write the manifest, remove the shards."""
        shards = self.finished_shards()
        tables, counts = [], dict.fromkeys(self.layouts, 0)
        for shard in shards:
            table = read_table(self.shard_dir / shard / METRICS)
            for arch in self.layouts:
                sel = table["architecture"] == arch
                table.loc[sel, "row"] += counts[arch]
                counts[arch] += int(sel.sum())
            tables.append(table)
        metrics = (
            pd.concat(tables, ignore_index=True)
            if tables
            else pd.DataFrame(columns=list(REQUIRED_COLUMNS))
        )
        weights_dir = self.path / "weights"
        weights_dir.mkdir(exist_ok=True)
        for arch, layout in self.layouts.items():
            target = weights_dir / f"{self.files[arch]}.npy"
            checksums = []
            with atomic_path(target) as tmp, open(tmp, "wb") as out:
                # written, not memory-mapped: a full disk then fails the write with ENOSPC
                # (an OSError, cleaned up by atomic_path) instead of killing the process
                # with SIGBUS
                shape = (counts[arch], layout.size)
                header = {"descr": "<f4", "fortran_order": False, "shape": shape}
                np.lib.format.write_array_header_1_0(out, header)
                for shard in tqdm(shards, desc=f"joining {arch}", disable=not progress):
                    part_path = self.shard_dir / shard / f"{self.files[arch]}.npy"
                    if part_path.exists():
                        part = np.load(part_path, mmap_mode="r", allow_pickle=False)
                        out.write(np.ascontiguousarray(part, dtype="<f4").tobytes())
                        checksums.append(row_checksums(part))
            checksums_path = weights_dir / f"{self.files[arch]}{CHECKSUMS}"
            with atomic_path(checksums_path) as tmp, open(tmp, "wb") as out:
                empty = np.zeros(0, dtype=np.uint32)
                np.save(out, np.concatenate(checksums) if checksums else empty)
        write_csv(metrics, self.path / METRICS)
        manifest = {
            **self.plan,
            "nnenc_version": package_version(),
            "metrics": METRICS,
            "networks": len(metrics),
        }
        for arch in self.layouts:
            manifest["architectures"][arch]["file"] = f"weights/{self.files[arch]}.npy"
            manifest["architectures"][arch]["checksums"] = f"weights/{self.files[arch]}{CHECKSUMS}"
            manifest["architectures"][arch]["rows"] = counts[arch]
        write_json(seal(manifest), self.path / MANIFEST)
        shutil.rmtree(self.shard_dir, ignore_errors=True)
        (self.path / PLAN).unlink(missing_ok=True)
        self.close()
        return self.path
