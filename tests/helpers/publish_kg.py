"""Small KG folders written from literal rows in the exact column order and types of data_contracts/."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kgbuild.core.manifest import write_manifest

S, I32, I64, B = pa.string(), pa.int32(), pa.int64(), pa.bool_()
SCHEMAS = {
    "concepts": [
        ("cui", S),
        ("preferred_name", S),
        ("semantic_types", pa.list_(S)),
        ("n_names", I64),
        ("has_definition", B),
    ],
    "names": [
        ("cui", S),
        ("aui", S),
        ("name", S),
        ("lang", S),
        ("sab", S),
        ("tty", S),
        ("is_preferred", B),
        ("suppress", S),
        ("srl", I32),
    ],
    "definitions": [("cui", S), ("source_id", S), ("sab", S), ("definition", S), ("origin", S)],
    "relations": [("head_cui", S), ("relation", S), ("rel", S), ("tail_cui", S), ("sab", S)],
    "relation_labels": [("relation", S), ("label", S), ("inverse", S), ("n_edges", I64)],
    "semantic_types": [("cui", S), ("tui", S), ("sty", S), ("stn", S)],
    "sources": [("sab", S), ("name", S), ("version", S), ("lang", S), ("srl", I32), ("n_atoms", I64)],
    "codes": [("cui", S), ("sab", S), ("code", S), ("source", S)],
}
ROWS: dict[str, list[tuple]] = {
    "concepts": [
        ("C0015967", "Fever", ["Sign or Symptom"], 2, True),
        ("C0012634", "Disease", ["Disease or Syndrome"], 1, False),
        ("C0020672", "Hypothermia", ["Pathologic Function"], 2, False),
    ],
    "names": [
        ("C0015967", "A0001", "Fever", "ENG", "MSH", "MH", True, "N", 0),
        ("C0015967", "A0002", "Pyrexia", "ENG", "MSH", "ET", False, "N", 0),
        ("C0012634", "A0003", "Disease", "ENG", "MSH", "MH", True, "N", 0),
        ("C0020672", "A0004", "Hypothermia", "ENG", "MSH", "MH", True, "N", 0),
        ("C0020672", "A0005", "Low body temperature | cold", "ENG", "MSH", "ET", False, "N", 0),
    ],
    "definitions": [("C0015967", "AT0001", "MSH", "An abnormal elevation of body temperature.", "umls")],
    "relations": [("C0015967", "isa", "CHD", "C0012634", "MSH"), ("C0020672", "isa", "CHD", "C0012634", "MSH")],
    "relation_labels": [("isa", "is a", "inverse_isa", 2)],
    "semantic_types": [
        ("C0015967", "T184", "Sign or Symptom", "A2.2.2"),
        ("C0012634", "T047", "Disease or Syndrome", "B2.2.1.2.1"),
        ("C0020672", "T046", "Pathologic Function", "B2.2.1.2"),
    ],
    "codes": [
        ("C0015967", "MSH", "D005334", "atom"),
        ("C0012634", "MSH", "D004194", "atom"),
        ("C0020672", "MSH", "D007035", "atom"),
    ],
}
UMLS_PARAMETERS = {
    "langs": ["ENG"],
    "sabs": [],
    "exclude_sabs": ["SNOMEDCT_US"],
    "keep_suppressed": False,
    "max_srl": None,
}


def write_table(folder: Path, table: str, rows: list[tuple], *, name: str | None = None) -> Path:
    schema = pa.schema(SCHEMAS[table])
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    path = folder / (name or f"{table}.parquet")
    pq.write_table(
        pa.table([pa.array(c, type=f.type) for c, f in zip(columns, schema, strict=True)], schema=schema), path
    )
    return path


def make_kg(
    folder: Path,
    *,
    sources: list[tuple] | None = None,
    origin: str = "umls",
    manifest: bool = True,
    skip: tuple[str, ...] = (),
    extra_rows: dict[str, list[tuple]] | None = None,
) -> Path:
    """A contract-valid KG folder; `sources` rows are (sab, name, version, lang, srl, n_atoms)."""
    folder.mkdir(parents=True, exist_ok=True)
    sources = sources if sources is not None else [("MSH", "MeSH", "2025", "ENG", 0, 5)]
    rows = {**ROWS, "sources": sources, **(extra_rows or {})}
    for table, table_rows in rows.items():
        if table not in skip:
            write_table(folder, table, table_rows)
    if manifest:
        extra: dict[str, Any]
        if origin == "umls":
            extra = {"release": {"name": "2025AA", "source": "UMLS Metathesaurus"}}
            command, parameters, inputs = "extract --umls", UMLS_PARAMETERS, {"umls": "/srv/licensed/umls/META"}
        else:
            extra = {
                "ontology": {
                    "name": "hp",
                    "version": "hp/releases/2025-05-06",
                    "format_version": "1.2",
                    "licence": "https://creativecommons.org/licenses/by/4.0/",
                }
            }
            command, parameters, inputs = "extract --obo", {}, {"obo": {"path": "hp.obo"}}
        write_manifest(
            folder,
            command=command,
            inputs=inputs,
            parameters=parameters,
            tables={t: len(r) for t, r in rows.items()},
            timings={"total": 1.0},
            extra=extra,
        )
    return folder
