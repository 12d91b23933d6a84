"""What a command puts out: where it may write (never inside what it reads, never over what is
there without ``--overwrite``; checked before any work, so a refusal loses nothing) and how its
warnings read on the terminal."""

from __future__ import annotations

import sys
from pathlib import Path


def check_output(
    out: str | Path,
    reading: str | Path,
    option: str = "--out",
    overwrite: bool = False,
    existing: str = "",
) -> None:
    """Refuse ``out`` when it lies inside (or is) the folder or file ``reading``, or when it is
    there already and ``existing`` (what it then holds, e.g. "a predictor") is given without
    ``overwrite`` (an empty folder holds nothing)."""
    target, source = Path(out).resolve(), Path(reading).resolve()
    folder = source if source.is_dir() else source.parent
    if target == source or folder in (target, *target.parents):
        raise ValueError(
            f"{option} {out}: lies inside {reading}, which this command reads; writing there "
            "could change or lose it. Give a path outside it"
        )
    there = Path(out)
    holds = there.is_file() or (there.is_dir() and any(there.iterdir()))
    if existing and holds and not overwrite:
        raise FileExistsError(
            f"{option} {out}: holds {existing} already; give another path, or --overwrite to "
            "replace it"
        )


def show_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """A warning as a sentence for the terminal (a ``warnings.showwarning``), without the
    source path and line that Python's default shows: they point into nnenc, not at the user's
    input. Set by ``nnenc``'s command line and in its worker processes."""
    print(f"nnenc: warning: {message}", file=file or sys.stderr)
