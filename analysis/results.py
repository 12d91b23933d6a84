"""The results folder: one tidy table with a row per (experiment, encoder, variant, source,
target, seed), beside a ``meta.json`` that says what wrote it.

::

    RESULTS/
      meta.json          format + version, the benchmark configuration, zoo paths, nnenc version
      results.csv        the table (rewritten atomically after every finished job)
      predictions/       per scored target: model_id, true, predicted  (for scatter plots)
      encodings/         per scored target: the encoder's (n, d) outputs (.npy, for embeddings)
      predictors/        each trained predictor (safetensors + config, fit.json), reused by jobs
                         that would train the same one
      tables/, figures/  written by ``nnenc report``

A rerun skips the jobs whose rows are there (resumable). A folder written by another
configuration, or by an older or newer results format, is refused rather than mixed or misread.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.config import LABEL_NOISE, TREES
from nnenc.zoo.atomic import write_csv, write_json
from nnenc.zoo.native import package_version

FIXED_PRECISION = {TREES: "fp64", LABEL_NOISE: ""}
"""The ``precision`` of rows whose predictor is not a torch model (every other row names the
precision its predictor computed in; rows written before that trained in fp32)."""
FORMAT = "nnenc-results"
FORMAT_VERSION = 2
KEY = ["experiment", "encoder", "variant", "source", "seed"]


class ResultsFormatError(ValueError):
    """A results folder this nnenc cannot use; the message says why and what to do."""


def read_meta(path: Path) -> dict:
    meta_path = path / "meta.json"
    if not meta_path.is_file():
        raise ResultsFormatError(
            f"{path}: no meta.json, so this is not a results folder of nnenc "
            f"(format {FORMAT} v{FORMAT_VERSION}), or one written before that format; run the "
            "benchmark into a new folder"
        )
    meta = json.loads(meta_path.read_text())
    version = meta.get("format_version")
    if meta.get("format") != FORMAT or version != FORMAT_VERSION:
        raise ResultsFormatError(
            f"{meta_path}: results format {meta.get('format')!r} version {version!r}; this "
            f"nnenc reads {FORMAT!r} version {FORMAT_VERSION} only. Rerun the benchmark into a "
            "new folder (or use the nnenc version that wrote it)"
        )
    return meta


class ResultsStore:
    """A results folder, opened to read (``config=None``) or to add rows for ``config``."""

    def __init__(self, path: str | Path, config: dict | None = None, zoos: dict | None = None):
        self.path = Path(path)
        exists = (self.path / "meta.json").is_file() or (self.path / "results.csv").is_file()
        if config is None or exists:
            self.meta = read_meta(self.path)
            if config is not None and self.meta["config"] != config:
                raise ResultsFormatError(
                    f"{self.path} holds results of another configuration (preset "
                    f"{self.meta['config'].get('name')!r} with other settings); write to another "
                    "--out folder, or delete this one to start again"
                )
        else:
            self.meta = {
                "format": FORMAT,
                "format_version": FORMAT_VERSION,
                "config": config,
                "nnenc_version": package_version(),
            }
        if zoos is not None:
            self.meta["zoos"] = {
                **self.meta.get("zoos", {}),
                **{k: str(v) for k, v in zoos.items()},
            }
            write_json(self.meta, self.path / "meta.json")
        table = self.path / "results.csv"
        self._rows = (
            # only empty cells are missing: a status of "n/a" is a value
            pd.read_csv(table, keep_default_na=False, na_values=[""])
            if table.is_file()
            else pd.DataFrame()
        )
        if not self._rows.empty and "device" not in self._rows:
            self._rows["device"] = "cpu"  # written before rows named their device: CPU only
        if not self._rows.empty and "precision" not in self._rows:
            # written before rows named their precision: torch predictors trained in fp32
            self._rows["precision"] = self._rows["encoder"].map(
                lambda encoder: FIXED_PRECISION.get(encoder, "fp32")
            )

    def rows(self) -> pd.DataFrame:
        return self._rows.copy()

    def done_keys(self) -> set[str]:
        if self._rows.empty:
            return set()
        parts = self._rows[KEY].astype(object).fillna("").astype(str)
        return set(parts.agg("|".join, axis=1))

    def append(self, rows: list[dict]) -> None:
        """Add a finished job's rows and rewrite the table atomically."""
        self._rows = pd.concat([self._rows, pd.DataFrame(rows)], ignore_index=True)
        write_csv(self._rows, self.path / "results.csv")
