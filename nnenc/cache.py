"""Where nnenc keeps what it computes once per machine (the benchmark's built zoos, the
precision probe): ``$NNENC_CACHE``, or ``~/.cache/nnenc``."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    return Path(os.environ.get("NNENC_CACHE", Path.home() / ".cache" / "nnenc"))
