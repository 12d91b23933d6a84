"""Checksums that let nnenc's own files tell damage from content.

A flipped bit in a weight or a manifest value would otherwise load as a different, valid-looking
number. nnenc's native zoos keep a CRC-32 per weight row (checked whenever a row is read) and a
SHA-256 seal over their manifest; a saved predictor seals its config, which records its weights'
SHA-256. Files written before these existed carry none and are read as before. Published
formats (the Small CNN Zoo, checkpoint folders) carry no checksums of their own, so a changed
value inside them cannot be told from a real one.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import numpy as np

from nnenc.io.errors import FileFormatError, ZooFormatError

SEAL = "sha256"
"""The key of a sealed JSON document's own checksum."""


def row_checksums(rows: np.ndarray) -> np.ndarray:
    """CRC-32 of each row's float32 bytes, ``(n,)`` uint32."""
    rows = np.ascontiguousarray(rows, dtype="<f4")
    return np.fromiter((zlib.crc32(row) for row in rows), dtype=np.uint32, count=len(rows))


def _digest(document: dict) -> str:
    body = {k: v for k, v in document.items() if k != SEAL}
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def seal(document: dict) -> dict:
    """``document`` with a :data:`SEAL` entry: the SHA-256 of its canonical JSON."""
    return {**document, SEAL: _digest(document)}


def check_seal(
    document: dict, source: str | Path, error: type[FileFormatError] = ZooFormatError
) -> dict:
    """``document`` if its seal holds; else refused. Every file nnenc seals (a native zoo's
    manifest, a saved predictor's config) has carried its seal since their first format
    version, so a document without one was edited by hand or damaged, and is refused too:
    deleting the seal must not turn the check off."""
    if SEAL not in document:
        raise error(
            source,
            f"has no {SEAL!r} checksum, which nnenc writes into every file of this kind: it was "
            "edited or damaged after nnenc wrote it; re-copy it from the original (or write it "
            "again with nnenc)",
        )
    if document[SEAL] != _digest(document):
        raise error(
            source,
            "damaged: its content does not match its checksum (a changed or corrupted copy); "
            "re-copy it from the original",
        )
    return document


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
