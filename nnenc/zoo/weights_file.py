"""Opening a 2-D ``.npy`` weights array memory-mapped, with errors that say what is wrong."""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np

from nnenc.io.errors import ZooFormatError

NPY_MAGIC = b"\x93NUMPY"


def open_weights(path: str | Path, n_params: int | None = None) -> np.ndarray:
    """Memory-map ``path`` read-only (nothing is read into memory but the header).

    Refuses object arrays (``allow_pickle=False``), truncated files, arrays that are not 2-D
    floats, and rows of the wrong length when ``n_params`` is given. The mapping is advised for
    random access (no readahead): picking networks from a zoo is random access, and readahead
    made 1,000 cold random reads from a 5.4 GB file 8x slower (``benchmarks/zoo_open.py``).
    """
    path = Path(path)
    if not path.is_file():
        raise ZooFormatError(path, "weights file not found")
    with open(path, "rb") as handle:
        if handle.read(6) != NPY_MAGIC:  # np.load would take any other file for a pickle
            raise ZooFormatError(
                path, "not a .npy array: it does not start with the .npy magic bytes; re-copy it"
            )
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except ValueError as err:
        text = str(err)
        if "object" in text.lower() or "pickle" in text.lower():
            problem = (
                "refused: the array holds Python objects, which would need unpickling "
                "(np.load(allow_pickle=False)); store weights as a plain float array"
            )
        elif "larger than" in text or "greater than" in text or "length" in text:
            problem = f"truncated: the file is shorter than its header says ({text}); re-copy it"
        else:
            problem = f"not a readable .npy array ({text})"
        raise ZooFormatError(path, problem) from err
    except Exception as err:  # numpy's header parser raises many types on damaged bytes
        raise ZooFormatError(
            path, f"not a readable .npy array ({type(err).__name__}: {err}); re-copy it"
        ) from err
    if array.ndim != 2:
        raise ZooFormatError(
            path, f"expected a 2-D array (networks x parameters), got shape {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise ZooFormatError(path, f"expected float weights, got dtype {array.dtype}")
    if n_params is not None and array.shape[1] != n_params:
        raise ZooFormatError(path, f"expected {n_params} parameters per row, got {array.shape[1]}")
    advise(array, "random")
    return array


_ADVICE = {
    "random": mmap.MADV_RANDOM,
    "sequential": mmap.MADV_SEQUENTIAL,
    "release": mmap.MADV_DONTNEED,
}


def advise(array: np.ndarray, pattern: str) -> None:
    """Tell the OS how a memory-mapped array will be read; nothing for in-memory arrays.

    ``"random"``: no readahead. ``"sequential"``: aggressive readahead, for full scans.
    ``"release"``: drop the pages from this process (they stay in the OS page cache), so a
    scan over a file larger than memory does not grow the resident set.
    """
    mapping = getattr(array, "_mmap", None)  # np.memmap's mapping; absent for plain arrays
    if isinstance(mapping, mmap.mmap):
        mapping.madvise(_ADVICE[pattern])
