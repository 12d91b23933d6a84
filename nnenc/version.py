"""nnenc's installed version, for provenance records and ``nnenc --version``."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The installed nnenc's version, or ``"unknown"`` when it runs from an uninstalled tree."""
    try:
        return version("nnenc")
    except PackageNotFoundError:
        return "unknown"
