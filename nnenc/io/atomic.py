"""Atomic writes: a file or folder appears complete under its final name, or not at all.

Each writer puts its output beside the target under a temporary name, flushes it to disk and
renames it into place (a rename within one file system is atomic on POSIX), so an interrupted
write leaves the previous content, or nothing, never a torn file.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd


def current_umask() -> int:
    """The process's umask (read by setting it and restoring it at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(target: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``target``; on success rename it to ``target``."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        with open(tmp_path, "rb+") as handle:
            os.fsync(handle.fileno())
        os.chmod(tmp_path, 0o666 & ~current_umask())
        os.replace(tmp_path, target)
    except OSError as err:
        if err.filename is None:  # a failed write names no file: name the one being written
            raise OSError(err.errno, err.strerror, str(target)) from err
        raise
    finally:
        tmp_path.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_directory(target: str | Path) -> Iterator[Path]:
    """Yield a temporary folder beside ``target``; on success rename it to ``target``.

    ``target`` must not exist yet: a finished folder is never replaced.
    """
    target = Path(target)
    if target.exists():
        raise FileExistsError(f"{target} already exists; it is not overwritten")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~current_umask())
        os.rename(tmp, target)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def write_json(data: dict, target: str | Path) -> None:
    """``data`` as JSON, atomically. A float that is not a finite number is written as
    ``null``: a bare ``NaN`` is not JSON, and other tools refuse it."""
    with atomic_path(target) as tmp:
        tmp.write_text(
            json.dumps(_json_numbers(data), indent=2, sort_keys=True, allow_nan=False) + "\n"
        )


def _json_numbers(value):
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_numbers(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_numbers(v) for v in value]
    return value


def write_csv(table: pd.DataFrame, target: str | Path) -> None:
    """Write ``table`` as CSV, gzip-compressed when ``target`` ends in ``.gz``."""
    compression = "gzip" if str(target).endswith(".gz") else None
    with atomic_path(target) as tmp:
        table.to_csv(tmp, index=False, compression=compression)
