"""The staging tables every source of terms (an OBO ontology, a flat dictionary) is read into: Arrow tables with
the same columns whatever the input, registered as views `stg_terms__<entity>` that the SQL of sql/terms/ turns into
the KG tables. Readers only rename, cast and filter: no KG table is built in Python."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

S, N = pa.string(), pa.int32()
# `source` is the input's position on the command line (0, 1, ...): the merge prefers earlier sources' ids and names.
SCHEMAS: dict[str, pa.Schema] = {
    # one row per kept term (obsolete and unnamed ones are dropped), `position` its order in the input
    "stg_terms__terms": pa.schema(
        [("source", N), ("term_id", S), ("sab", S), ("name", S), ("namespace", S), ("definition", S), ("position", N)]
    ),
    # the term's other names, `i` from 1 in input order (the name itself is atom 0)
    "stg_terms__synonyms": pa.schema(
        [("source", N), ("term_id", S), ("i", N), ("text", S), ("scope", S), ("lang", S)]
    ),
    # the term's own id and its cross-references read as codes (kgbuild/sources/codes.py; kind 'term' or 'xref')
    "stg_terms__codes": pa.schema([("source", N), ("term_id", S), ("sab", S), ("code", S), ("kind", S)]),
    # types a dictionary gives its terms (scispacy's TUIs): semantic types as they are
    "stg_terms__types": pa.schema([("source", N), ("term_id", S), ("tui", S), ("sty", S)]),
    # is_a and other relationships as written (the SQL keeps those between kept terms)
    "stg_terms__edges": pa.schema([("source", N), ("term_id", S), ("relation", S), ("target", S)]),
    "stg_terms__relation_types": pa.schema([("source", N), ("relation", S), ("label", S), ("inverse", S)]),
    # the source's own vocabulary: its name and version go to the sources table under `sab`
    "stg_terms__sources": pa.schema([("source", N), ("sab", S), ("name", S), ("version", S)]),
}


@dataclass
class Staged:
    """What one source read: its staging rows, and what the manifest says of it."""

    source: int
    rows: dict[str, dict[str, list]] = field(default_factory=dict)
    manifest: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rows = {name: {col: [] for col in schema.names} for name, schema in SCHEMAS.items()}

    def add(self, table: str, **values: Any) -> None:
        columns = self.rows[table]
        for col in columns:
            columns[col].append(self.source if col == "source" else values.get(col))

    def table(self, name: str) -> pa.Table:
        return pa.table(self.rows[name], schema=SCHEMAS[name])


def concat(staged: list[Staged]) -> dict[str, pa.Table]:
    """Every source's rows of each staging table, in source order."""
    return {name: pa.concat_tables([s.table(name) for s in staged]) for name in SCHEMAS}
