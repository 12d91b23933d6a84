"""The error every zoo reader raises for bad input."""

from __future__ import annotations

from pathlib import Path


class ZooFormatError(ValueError):
    """A zoo on disk that cannot be read as it stands.

    The message names the file (and row or column where it applies), what is wrong, and what to
    do about it. Readers never modify the files they read.
    """

    def __init__(self, path: str | Path, problem: str):
        self.path = Path(path)
        self.problem = problem
        super().__init__(f"{path}: {problem}")
