"""The errors nnenc raises for files it cannot read as they stand: one :class:`FileFormatError`
base, a kind per thing read (zoos here, results folders in :mod:`analysis.results`)."""

from __future__ import annotations

from pathlib import Path


class FileFormatError(ValueError):
    """A file (or folder) nnenc cannot read as it stands.

    The message names the file (and row or column where it applies), what is wrong, and what to
    do about it. Readers never modify the files they read.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")


class ZooFormatError(FileFormatError):
    """A zoo on disk that cannot be read as it stands."""


class PredictorFileError(FileFormatError):
    """A saved predictor that cannot be loaded as it stands (damaged, edited, incomplete)."""
