"""Reader for Model Zoos (Schürholt et al. 2022, modelzoos.cc): Ray Tune folders, one per model.

::

    zoo/<model>/result.json                      JSON Lines, one line per epoch
    zoo/<model>/checkpoint_<epoch>/checkpoints   a torch.save'd state_dict

Each checkpoint's metrics come from the ``result.json`` line whose ``training_iteration`` equals
the checkpoint's epoch (no such line, as for an initial checkpoint: metrics are left empty).
``test_acc``/``train_acc``/``val_acc`` become ``test_accuracy``/``train_accuracy``/``val_accuracy``,
as fractions (percentages are detected and divided by 100). ``config`` keys such as
``optim::lr`` become columns ``optim.lr``. Checkpoints are read with
``torch.load(weights_only=True)``; ones that need unpickling are refused. Tolerated where the
published zoos vary: ``checkpoint_<n>`` with or without zero padding, the state_dict nested
under ``model``/``state_dict``, a ``.pt``/``.safetensors`` file instead of ``checkpoints``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from tqdm.auto import tqdm

from nnenc.io.errors import ZooFormatError
from nnenc.zoo.assemble import zoo_from_networks
from nnenc.zoo.checkpoints import load_network
from nnenc.zoo.zoo import Zoo

RESULT = "result.json"
CHECKPOINT_DIR = re.compile(r"^checkpoint_(\d+)$")
RENAMES = {
    "test_acc": "test_accuracy",
    "train_acc": "train_accuracy",
    "val_acc": "val_accuracy",
    "training_iteration": "epoch",
}


def model_folders(path: Path) -> list[Path]:
    return sorted(p for p in path.iterdir() if p.is_dir() and (p / RESULT).is_file())


def is_model_zoos(path: Path) -> bool:
    return path.is_dir() and bool(model_folders(path))


def _results(result_path: Path) -> list[dict]:
    lines = []
    try:
        content = result_path.read_bytes().decode("utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ZooFormatError(result_path, f"cannot read it as UTF-8 text ({err})") from err
    for number, text in enumerate(content.splitlines(), start=1):
        if not text.strip():
            continue
        try:
            lines.append(json.loads(text))
        except json.JSONDecodeError as err:
            raise ZooFormatError(result_path, f"line {number} is not JSON ({err})") from err
    return lines


def _checkpoint_file(folder: Path) -> Path | None:
    named = folder / "checkpoints"
    if named.is_file():
        return named
    files = sorted(
        p for p in folder.iterdir() if p.suffix in (".pt", ".pth", ".safetensors", ".ckpt")
    )
    return files[0] if files else None


def read_model_zoos(path: str | Path, name: str | None = None, progress: bool = True) -> Zoo:
    """Read every model folder's checkpoints (into memory) and their metrics."""
    path = Path(path)
    folders = model_folders(path)
    if not folders:
        raise ZooFormatError(path, f"no model folders with a {RESULT} inside")
    rows, networks, empty = [], [], []
    for folder in tqdm(folders, desc=f"reading {path.name}", disable=not progress, unit="model"):
        results = _results(folder / RESULT)
        config = next((r["config"] for r in results if isinstance(r.get("config"), dict)), {})
        by_epoch = {r.get("training_iteration"): r for r in results}
        checkpoints = sorted(
            (int(m.group(1)), p)
            for p in folder.iterdir()
            if p.is_dir() and (m := CHECKPOINT_DIR.match(p.name))
        )
        found = False
        for epoch, checkpoint in checkpoints:
            file = _checkpoint_file(checkpoint)
            if file is None:
                continue
            found = True
            network = load_network(file)
            result = by_epoch.get(epoch, {})
            row = {"model_id": f"{folder.name}/{checkpoint.name}", "run_id": folder.name}
            row.update({k.replace("::", "."): v for k, v in config.items()})
            row.update(
                {RENAMES.get(k, k): v for k, v in result.items() if not isinstance(v, dict | list)}
            )
            row["epoch"] = epoch
            row.setdefault("test_accuracy", float("nan"))
            rows.append(row)
            networks.append(network)
        if not found:
            empty.append(folder.name)
    if not networks:
        raise ZooFormatError(path, "no checkpoint_<epoch>/checkpoints files in any model folder")
    info = {"format": "model-zoos", "path": str(path), "models_without_checkpoints": empty}
    return zoo_from_networks(rows, networks, name or path.name, str(path), info)
