"""`extract_obo`: one OBO file → KG_DIR with concepts, names, codes, definitions, relations, relation_labels,
semantic_types, sources, umls_xrefs and manifest.json (same contracts as the UMLS extract), through the one door
every source of terms takes (kgbuild/sources/)."""

from __future__ import annotations

from pathlib import Path
from typing import Any


def extract_obo(obo_path: str | Path, out: str | Path, force: bool = False) -> dict[str, Any]:
    """Parse `obo_path` and write the KG tables into `out` atomically; return the manifest."""
    from kgbuild.sources.extract import extract_sources

    return extract_sources([("--obo", Path(obo_path), {})], out, force=force)
