"""Reading the tables and JSON files of a zoo or a saved predictor, and the paths they name,
every failure an error that names the file.

pandas, gzip, zlib and json each fail in their own way on a damaged file (ParserError,
EmptyDataError, UnicodeDecodeError, zlib.error, BadGzipFile, EOFError, JSONDecodeError); a user
should see one :class:`~nnenc.io.errors.FileFormatError` that says which file cannot be read and
why, of the kind the caller names (``error``: :class:`~nnenc.io.errors.ZooFormatError` for a
zoo's files).
"""

from __future__ import annotations

import json
import warnings
import zlib
from pathlib import Path

import pandas as pd

from nnenc.io.errors import FileFormatError, ZooFormatError

DECODE_ERRORS = (ValueError, OSError, EOFError, zlib.error)
"""What reading a damaged text, gzip or JSON file raises (ValueError covers pandas' parser
errors, UnicodeDecodeError and JSONDecodeError)."""


def read_table(
    path: str | Path,
    what: str = "metrics table",
    error: type[FileFormatError] = ZooFormatError,
    **options,
) -> pd.DataFrame:
    """``pd.read_csv(path, **options)``; a file that cannot be decoded is refused by name.

    Floats are parsed exactly (``float_precision="round_trip"``): pandas' default parser may
    differ from one version to the next in a float64's last digit (3.0 and 3.1 do), which would
    change what :meth:`nnenc.Zoo.digest` reads from the same file. pandas 3.1 deprecates the
    argument (Pandas4Warning) without making its default exact; the warning is silenced here
    rather than printed on every zoo a user reads."""
    options.setdefault("float_precision", "round_trip")
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings(
                "ignore", message="The 'float_precision' argument is deprecated"
            )
            return pd.read_csv(path, **options)
    except DECODE_ERRORS as err:
        raise error(path, f"cannot read the {what} ({type(err).__name__}: {err})") from err


def read_json(
    path: str | Path, what: str = "JSON file", error: type[FileFormatError] = ZooFormatError
) -> object:
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except DECODE_ERRORS as err:
        raise error(path, f"cannot read the {what} ({type(err).__name__}: {err})") from err


def member_path(
    root: str | Path,
    name: str,
    source: str | Path,
    where: str = "",
    error: type[FileFormatError] = ZooFormatError,
) -> Path:
    """``root / name``, refused unless it resolves (symlinks followed) inside ``root``.

    A table or manifest that names ``../../elsewhere`` or an absolute path could otherwise make
    nnenc read any file the user can read. ``source`` is the file that names the path and
    ``where`` the row or entry, both for the error.
    """
    root = Path(root).resolve()
    text = str(name)
    if not text or "\x00" in text:
        raise error(source, f"{where}an empty or invalid path {text!r}")
    resolved = (root / text).resolve()
    if not resolved.is_relative_to(root):
        raise ZooFormatError(
            source,
            f"{where}path {text!r} leads outside the zoo folder {root} (to {resolved}): refused. "
            "Paths in a zoo's tables and manifest are relative to the zoo folder and stay in it; "
            "copy the file into the folder and name it relative to it",
        )
    return resolved
