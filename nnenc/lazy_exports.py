"""A package's public names, imported on first use (PEP 562 module ``__getattr__``).

``import nnenc`` and the command line's ``--help`` then cost no torch, pandas or scikit-learn
import until a name that needs them is used.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module


def attach(
    package: str, exports: dict[str, str]
) -> tuple[Callable[[str], object], Callable[[], list[str]], list[str]]:
    """``__getattr__``, ``__dir__`` and ``__all__`` for ``package``, whose name ``n`` lives in
    module ``exports[n]``."""
    namespace = import_module(package).__dict__

    def __getattr__(name: str) -> object:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(import_module(exports[name]), name)
        namespace[name] = value
        return value

    def __dir__() -> list[str]:
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__, sorted(exports)
