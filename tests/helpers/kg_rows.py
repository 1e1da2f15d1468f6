"""Write small KG tables (the extract output shape) from literal rows, typed as the contracts say."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from kgbuild.core.contracts import arrow_schema


def write_kg(
    folder: Path,
    *,
    concepts: list[tuple],
    names: list[tuple],
    definitions: list[tuple] = (),
    relations: list[tuple] = (),
    relation_labels: list[tuple] | None = None,
    semantic_types: list[tuple] = (),
) -> Path:
    """Rows are tuples in contract column order; n_names / has_definition / relation_labels are derived if absent."""
    folder.mkdir(parents=True, exist_ok=True)
    n_names = {}
    for row in names:
        n_names[row[0]] = n_names.get(row[0], 0) + 1
    defined = {row[0] for row in definitions}
    concepts = [row if len(row) == 5 else (*row, n_names.get(row[0], 1), row[0] in defined) for row in concepts]
    if relation_labels is None:
        counts: dict[str, int] = {}
        for row in relations:
            counts[row[1]] = counts.get(row[1], 0) + 1
        relation_labels = [(rel, None, None, n) for rel, n in sorted(counts.items())]
    tables = {
        "concepts": concepts,
        "names": names,
        "definitions": definitions,
        "relations": relations,
        "relation_labels": relation_labels,
        "semantic_types": semantic_types,
    }
    for table, rows in tables.items():
        schema = arrow_schema(table)
        data = {f.name: [r[i] for r in rows] for i, f in enumerate(schema)}
        pq.write_table(pa.table(data, schema=schema), folder / f"{table}.parquet")
    return folder


def write_llm_definitions(folder: Path, rows: list[tuple[str, str, str]]) -> Path:
    """rows: (cui, text, status); the other generate-definitions columns get plausible values."""
    shards = folder / "llm_definitions"
    shards.mkdir(parents=True, exist_ok=True)
    n = len(rows)
    table = pa.table(
        {
            "key": [f"k{i}" for i in range(n)],
            "cui": [r[0] for r in rows],
            "model": ["gpt-4o-mini"] * n,
            "prompt_version": ["v1"] * n,
            "text": [r[1] for r in rows],
            "finish_reason": ["stop"] * n,
            "prompt_tokens": [50] * n,
            "completion_tokens": [40] * n,
            "cost_usd": [0.0001] * n,
            "status": [r[2] for r in rows],
            "error": [None if r[2] == "ok" else "refused" for r in rows],
            "attempts": [1] * n,
            "backend": ["live"] * n,
            "batch_id": [None] * n,
            "created_at": ["2026-01-01"] * n,
        }
    )
    pq.write_table(table, shards / "part-00000.parquet")
    return folder
