"""Reader for a plain folder of checkpoints plus a CSV of their metrics.

::

    folder/metrics.csv        one row per checkpoint: file, test_accuracy, optional run_id,
                              epoch, model_id, architecture and any other columns
    folder/<file>.safetensors or .pt / .pth state_dicts

The CSV is ``metrics.csv``, or the folder's only ``.csv``. The file column may be called
``file``, ``path``, ``checkpoint`` or ``filename``; ``test_acc`` is read as ``test_accuracy``;
percentages are detected. Missing ``run_id`` defaults to the file's stem (each file its own run),
``epoch`` to the ``epochs`` column (the epochs a checkpoint was trained) or, with neither, to 0,
which ``nnenc zoo info`` reports as not recorded. ``.pt`` files are read with ``torch.load(weights_only=True)`` only.
"""

from __future__ import annotations

from pathlib import Path

from tqdm.auto import tqdm

from nnenc.io.decoding import member_path, read_table
from nnenc.io.errors import ZooFormatError
from nnenc.zoo.assemble import zoo_from_networks
from nnenc.zoo.checkpoints import load_network
from nnenc.zoo.zoo import Zoo

FILE_COLUMNS = ("file", "path", "checkpoint", "filename")
CHECKPOINT_SUFFIXES = (".safetensors", ".pt", ".pth")


def metrics_csv(path: Path) -> Path | None:
    if (path / "metrics.csv").is_file():
        return path / "metrics.csv"
    tables = sorted(path.glob("*.csv"))
    return tables[0] if len(tables) == 1 else None


def is_checkpoint_folder(path: Path) -> bool:
    has_checkpoints = any(p.suffix in CHECKPOINT_SUFFIXES for p in path.iterdir())
    return has_checkpoints and metrics_csv(path) is not None


def read_checkpoint_folder(path: str | Path, name: str | None = None, progress: bool = True) -> Zoo:
    """Read every checkpoint named by the folder's metrics CSV (into memory)."""
    path = Path(path)
    table_path = metrics_csv(path)
    if table_path is None:
        found = sorted(p.name for p in path.glob("*.csv"))
        raise ZooFormatError(
            path, f"need metrics.csv or exactly one .csv next to the checkpoints; found {found}"
        )
    table = read_table(table_path).rename(columns={"test_acc": "test_accuracy"})
    file_column = next((c for c in FILE_COLUMNS if c in table.columns), None)
    missing = [
        label
        for label, ok in (
            (f"one of {list(FILE_COLUMNS)}", file_column is not None),
            ("test_accuracy", "test_accuracy" in table.columns),
        )
        if not ok
    ]
    if missing:
        raise ZooFormatError(
            table_path, f"missing column(s): {', '.join(missing)}; has {list(table.columns)}"
        )
    repeated = table[file_column].astype(str).duplicated(keep=False)
    if repeated.any():
        lines = [i + 2 for i in table.index[repeated]][:6]
        raise ZooFormatError(
            table_path, f"lines {lines} name the same checkpoint file: one row per checkpoint"
        )
    if table.empty:
        raise ZooFormatError(table_path, "lists no checkpoints: an empty zoo has nothing to read")
    rows, networks = [], []
    for line, record in enumerate(
        tqdm(table.to_dict("records"), desc=f"reading {path.name}", disable=not progress), start=2
    ):
        file = member_path(path, record[file_column], table_path, f"line {line}: ")
        if not file.is_file():
            raise ZooFormatError(table_path, f"line {line}: checkpoint {file.name!r} not found")
        stem = Path(str(record[file_column])).stem
        record.setdefault("model_id", stem)
        record.setdefault("run_id", stem)
        record.setdefault("epoch", record.get("epochs", 0))  # a column of epochs trained
        architecture = record.pop("architecture", None)
        networks.append(
            load_network(file, architecture if isinstance(architecture, str) else "unknown")
        )
        rows.append(record)
    info = {
        "format": "checkpoint-folder",
        "path": str(path),
        "metrics_table": table_path.name,
        "epochs_recorded": bool({"epoch", "epochs"} & set(table.columns)),
    }
    return zoo_from_networks(rows, networks, name or path.name, str(path), info)
