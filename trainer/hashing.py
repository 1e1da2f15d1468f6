"""Fingerprints: of what a result depends on (config, inputs, seed), of a model folder's weights, of a file."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel


def short_hash(value: Any) -> str:
    """16 hex digits of the sha256 of `value` as canonical JSON: the key of a phase, a score or a card."""
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()[:16]


def fingerprint(*parts: Any) -> str:
    """A short hash of what a phase's result depends on (its config section, inputs, seed)."""
    return short_hash([p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in parts])


def model_fingerprint(reference: str) -> str:
    """Content hash of a model folder's weights and module list (a hub id stands for itself)."""
    folder = Path(reference)
    digest = hashlib.sha256()
    if not folder.is_dir():
        digest.update(reference.encode())
        return digest.hexdigest()
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.suffix in (".safetensors", ".bin", ".json") and path.name != "trainer_phase.json":
            digest.update(str(path.relative_to(folder)).encode())
            # one running digest over every file, not file_digest's one per file: the value is stored in index and
            # run manifests, so it must not change
            with open(path, "rb") as fh:
                for block in iter(lambda: fh.read(1 << 20), b""):
                    digest.update(block)
    return digest.hexdigest()


def sha256_file(path: Path | str) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()
