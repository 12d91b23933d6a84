"""Classes found by name, as timm finds models: those registered in code, and those other
packages declare in an entry-point group, imported the first time a name is not found."""

from __future__ import annotations

from collections.abc import Callable
from importlib.metadata import entry_points


class Registry:
    """Named classes of one kind (``"encoder"``, ``"predictor"``). ``group``: the entry-point
    group other packages add theirs through (each entry a class or the module that registers
    it); ``before_loading`` runs once before the group is loaded."""

    def __init__(self, kind: str, group: str, before_loading: Callable[[], object] | None = None):
        self.kind, self.group, self.before_loading = kind, group, before_loading
        self._classes: dict[str, type] = {}
        self._loaded = False

    def add(self, name: str, cls: type) -> type:
        """Register ``cls`` as ``name``; a name another class holds is refused."""
        if not name:
            raise ValueError(f"{cls.__name__} has no name")
        known = self._classes.get(name)
        if known is not None and known is not cls:
            raise ValueError(
                f"{self.kind} name {name!r} is taken by {known.__module__}.{known.__name__}"
            )
        self._classes[name] = cls
        return cls

    def _load(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        if self.before_loading is not None:
            self.before_loading()
        for entry in entry_points(group=self.group):
            entry.load()

    def find(self, name: str) -> type | None:
        """The class registered as ``name``, or ``None``."""
        if name not in self._classes:  # other packages' classes are imported only when asked for
            self._load()
        return self._classes.get(name)

    def get(self, name: str) -> type:
        """The class registered as ``name``; an unknown name is refused with the known ones."""
        cls = self.find(name)
        if cls is None:
            raise KeyError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return cls

    def names(self) -> list[str]:
        self._load()
        return sorted(self._classes)
