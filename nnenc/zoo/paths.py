"""Paths that a zoo's own files name (a metrics table's file column, a manifest's entries):
resolved, and kept inside the zoo folder."""

from __future__ import annotations

from pathlib import Path

from nnenc.zoo.errors import ZooFormatError


def member_path(root: str | Path, name: str, source: str | Path, where: str = "") -> Path:
    """``root / name``, refused unless it resolves (symlinks followed) inside ``root``.

    A table or manifest that names ``../../elsewhere`` or an absolute path could otherwise make
    nnenc read any file the user can read. ``source`` is the file that names the path and
    ``where`` the row or entry, both for the error.
    """
    root = Path(root).resolve()
    text = str(name)
    if not text or "\x00" in text:
        raise ZooFormatError(source, f"{where}an empty or invalid path {text!r}")
    resolved = (root / text).resolve()
    if not resolved.is_relative_to(root):
        raise ZooFormatError(
            source,
            f"{where}path {text!r} leads outside the zoo folder {root} (to {resolved}): refused. "
            "Paths in a zoo's tables and manifest are relative to the zoo folder and stay in it; "
            "copy the file into the folder and name it relative to it",
        )
    return resolved
