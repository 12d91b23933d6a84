"""Reading a zoo's tables and JSON files, every decoding failure an error that names the file.

pandas, gzip, zlib and json each fail in their own way on a damaged file (ParserError,
EmptyDataError, UnicodeDecodeError, zlib.error, BadGzipFile, EOFError, JSONDecodeError); a user
should see one :class:`ZooFormatError` that says which file cannot be read and why.
"""

from __future__ import annotations

import json
import warnings
import zlib
from pathlib import Path

import pandas as pd

from nnenc.zoo.errors import ZooFormatError

DECODE_ERRORS = (ValueError, OSError, EOFError, zlib.error)
"""What reading a damaged text, gzip or JSON file raises (ValueError covers pandas' parser
errors, UnicodeDecodeError and JSONDecodeError)."""


def read_table(path: str | Path, what: str = "metrics table", **options) -> pd.DataFrame:
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
        raise ZooFormatError(path, f"cannot read the {what} ({type(err).__name__}: {err})") from err


def read_json(path: str | Path, what: str = "JSON file") -> object:
    try:
        return json.loads(Path(path).read_bytes().decode("utf-8"))
    except DECODE_ERRORS as err:
        raise ZooFormatError(path, f"cannot read the {what} ({type(err).__name__}: {err})") from err
