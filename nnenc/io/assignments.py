"""``KEY=VALUE`` options, as ``nnenc train --set`` and ``nnenc bench --set`` take them."""

from __future__ import annotations

from collections.abc import Sequence


def parse_assignments(pairs: Sequence[str]) -> dict:
    """``["chunk_size=16", "positional=false"]`` -> ``{"chunk_size": 16, "positional": False}``
    (each value read as YAML; later keys win). A pair without ``=`` or without a key is refused,
    naming it."""
    import yaml

    options = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--set takes KEY=VALUE (VALUE read as YAML), got {pair!r}")
        options[key.strip()] = yaml.safe_load(value)
    return options
