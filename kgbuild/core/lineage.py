"""The `lineage` block of a manifest: what a folder's content was made from, carried forward from step to step.

The knowledge graph is the origin: `origin` makes the block from a KG folder (its release or ontology, extract filters,
languages and sources with their restriction levels). Every later step (build-pairs, generate-definitions, trainer
run-all) `carry`s the blocks of the folders it reads into its own manifest, so the licence of any output is read from
that output's manifest alone, even once the folders it was made from are moved or deleted.

    {"origins": [{"origin": "umls", "release": "2025AA", "ontology": null, "filters": {...}, "languages": {...},
                  "sources": [{"sab": "MSH", "name": ..., "version": ..., "srl": 0, "n_atoms": 5}, ...],
                  "sources_from": "sources table", "kg": "kg"}],
     "steps": [{"folder": "kg", "command": "extract --umls", "created_at": ..., "kgbuild": ..., "parameters": {...}}]}

`origins` has one entry per distinct KG the content comes from (usually one); `steps` are the commands that made the
inputs, oldest first (the folder's own command is in its manifest, not in its lineage).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from kgbuild.core.manifest import read_manifest
from kgbuild.core.tables import table_files

KEY = "lineage"
_SOURCE_COLUMNS = ("sab", "name", "version", "srl", "n_atoms")


def origin_kind(manifest: dict[str, Any]) -> str:
    """'umls' or 'obo' for an extract manifest, else 'unknown'."""
    command = str(manifest.get("command", ""))
    if "ontology" in manifest or command.startswith("extract --obo"):
        return "obo"
    if "release" in manifest or command.startswith("extract --umls"):
        return "umls"
    return "unknown"


def read_sources(folder: Path) -> list[dict[str, Any]] | None:
    """The rows of a folder's `sources` table, None when it has none. pyarrow, not DuckDB: the trainer calls this."""
    files = table_files(folder, "sources")
    if not files:
        return None
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.concat_tables([pq.read_table(f, columns=list(_SOURCE_COLUMNS)) for f in files])
    return sorted(table.to_pylist(), key=lambda row: str(row["sab"]))


def step(folder: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """One command that made a folder, as the cards list it."""
    return {
        "folder": Path(folder).name,
        "command": manifest.get("command"),
        "created_at": manifest.get("created_at"),
        "kgbuild": (manifest.get("versions") or {}).get("kgbuild"),
        "parameters": manifest.get("parameters") or {},
    }


def origin_facts(manifest: dict[str, Any]) -> dict[str, Any]:
    """What an extract manifest says about the licence: the kind of origin, release or ontology, filters, languages."""
    parameters = manifest.get("parameters") if isinstance(manifest.get("parameters"), dict) else {}
    release = manifest.get("release")
    ontology = manifest.get("ontology")
    return {
        "origin": origin_kind(manifest),
        "release": release.get("name") if isinstance(release, dict) else release if isinstance(release, str) else None,
        "ontology": ontology if isinstance(ontology, dict) else None,
        "filters": dict(parameters),  # extract's parameters are its filters (--lang, --sab, --max-srl, ...)
        "languages": manifest.get("languages") if isinstance(manifest.get("languages"), dict) else {},
    }


def origin(kg: Path, manifest: dict[str, Any] | None = None) -> dict[str, Any]:
    """The lineage block of a KG folder (the output of `kgbuild extract`), from its manifest and `sources` table.

    A folder with no extract manifest gives an origin of kind 'unknown', which the licence guard treats as restricted.
    """
    kg = Path(kg)
    manifest = read_manifest(kg) if manifest is None and kg.is_dir() else manifest or {}
    sources, sources_from = (read_sources(kg) if kg.is_dir() else None), "sources table"
    if sources is None and isinstance(manifest.get("sources"), list):  # a producer that recorded them in its manifest
        sources, sources_from = [s for s in manifest["sources"] if isinstance(s, dict)], "manifest"
    entry = {
        **origin_facts(manifest),
        "sources": sources or [],
        "sources_from": sources_from if sources else None,
        "kg": kg.name,
    }
    return {"origins": [entry], "steps": [step(kg, manifest)] if manifest else []}


def _derived(manifest: dict[str, Any]) -> bool:
    """A manifest of a step after extract (it names the KG or the folders it read), as opposed to the KG's own."""
    return bool(manifest) and origin_kind(manifest) == "unknown"


def of_input(folder: Path) -> dict[str, Any] | None:
    """The lineage an input folder hands on: its own block plus its step; a KG's origin; None for a derived folder
    written before lineage was recorded (the caller then records none, and publishing refuses the result)."""
    folder = Path(folder)
    manifest = read_manifest(folder) if folder.is_dir() else {}
    block = manifest.get(KEY)
    if isinstance(block, dict):
        steps = [*(block.get("steps") or []), step(folder, manifest)]
        return {"origins": list(block.get("origins") or []), "steps": steps}
    if _derived(manifest):
        return None
    return origin(folder, manifest)


def _key(item: dict[str, Any], drop: tuple[str, ...] = ()) -> str:
    return json.dumps({k: v for k, v in item.items() if k not in drop}, sort_keys=True, default=str)


def merge(*blocks: dict[str, Any]) -> dict[str, Any]:
    """One block of several: origins that state the same licence facts (the same KG, or one re-extracted the same way)
    count once, and each step is listed once, in order."""
    origins: dict[str, dict[str, Any]] = {}
    steps: dict[str, dict[str, Any]] = {}
    for block in blocks:
        for entry in block.get("origins") or []:
            origins.setdefault(_key(entry, drop=("kg",)), entry)
        for item in block.get("steps") or []:
            steps.setdefault(_key(item), item)
    return {"origins": list(origins.values()), "steps": list(steps.values())}


def carry(*inputs: Path | None) -> dict[str, Any] | None:
    """The lineage block for a folder made from `inputs` (None ones skipped); None when an input predates lineage, so
    no block is written rather than one that leaves that input's sources out."""
    blocks = []
    for folder in inputs:
        if folder is None:
            continue
        block = of_input(Path(folder))
        if block is None:
            return None
        blocks.append(block)
    return merge(*blocks) if blocks else None
