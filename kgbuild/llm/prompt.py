"""The grounded prompt: which concepts to define, the KG facts about each, and the versioned template.

DuckDB picks the targets (sql/llm/targets.sql), then computes their facts a chunk at a time (sql/llm/facts.sql).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from kgbuild.core.contracts import table_files
from kgbuild.core.engine import connect, parquet_scan
from kgbuild.core.errors import UserError
from kgbuild.core.resources import read_sql
from kgbuild.sqlrun import prepare

# Bump when the wording below changes: it is part of every request key, so old answers are not reused for it.
TEMPLATE_VERSION = "definition-v2"  # v2: facts read as the descriptions read them (sql/_kg.sql)

SYSTEM = (
    "You are a biomedical terminologist. You write short, factual, encyclopedic definitions of medical "
    "concepts for a terminology resource."
)

INSTRUCTIONS = (
    "Write a definition of this concept in one paragraph of 40 to 60 words, in plain encyclopedic style. "
    "Name the concept in the text. Use only the facts above plus general medical knowledge; do not invent numbers, "
    "prevalence, drug doses or eponyms. If the facts are thin, write a shorter, more general definition rather "
    "than guessing. Do not mention codes, identifiers or source vocabularies. Answer with the definition only."
)

# The fixed words of every prompt (system prompt, instructions, fact labels): an answer repeating them is an echo.
TEMPLATE_TEXT = "\n".join(
    [
        SYSTEM,
        INSTRUCTIONS,
        "Facts from the knowledge graph:",
        "Also called:",
        "Semantic type:",
        "Is a kind of:",
        "(no further facts)",
    ]
)

_REQUIRED = ("concepts", "names", "relations")


@dataclass(frozen=True)
class Facts:
    ord: int
    cui: str
    preferred_name: str
    synonyms: list[str]
    semantic_types: list[str]
    parents: list[str]
    relations: list[str]
    shared_name: bool = False  # another target has the same preferred name (so perhaps the same prompt)

    @property
    def names(self) -> list[str]:
        return [self.preferred_name, *self.synonyms]


@dataclass(frozen=True)
class Selection:
    only_missing: bool = True  # concepts whose has_definition is false
    order: str = "degree"  # 'degree' (most-connected first) or 'cui'
    limit: int | None = None
    n_synonyms: int = 6
    n_parents: int = 3
    n_relations: int = 8


def render_messages(f: Facts) -> list[dict[str, str]]:
    """The chat messages of one concept. No CUIs or source names go in: only names and readable facts."""
    lines = [f'Concept: "{f.preferred_name}"', "", "Facts from the knowledge graph:"]
    if f.synonyms:
        lines.append("- Also called: " + "; ".join(f.synonyms))
    if f.semantic_types:
        lines.append("- Semantic type: " + "; ".join(f.semantic_types))
    if f.parents:
        lines.append("- Is a kind of: " + "; ".join(f.parents))
    for fact in f.relations:
        lines.append(f"- {fact}")
    if len(lines) == 3:
        lines.append("- (no further facts)")
    lines += ["", INSTRUCTIONS]
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "\n".join(lines)}]


def _register(con: duckdb.DuckDBPyConnection, kg: Path) -> None:
    kg = Path(kg)
    if not kg.is_dir():
        raise UserError("KG folder not found", path=kg, fix="pass the output folder of `kgbuild extract` as --kg")
    for table in (*_REQUIRED, "relation_labels"):
        files = table_files(kg, table)
        if not files and table in _REQUIRED:
            raise UserError(
                f"the KG has no {table} table",
                path=kg / f"{table}.parquet",
                fix="pass the output folder of `kgbuild extract` as --kg",
            )
        if files:
            con.sql(f"CREATE VIEW {table} AS SELECT * FROM {parquet_scan(files)}")
        else:  # labels are optional: relation names are humanised without them
            con.sql(
                f"CREATE VIEW {table} AS SELECT NULL::VARCHAR AS relation, NULL::VARCHAR AS label, "
                "NULL::VARCHAR AS inverse, 0::BIGINT AS n_edges WHERE false"
            )


class KGFacts:
    """The facts of every target concept in send order. Use as a context manager:

        with KGFacts(kg, Selection()) as facts:
            print(facts.count)
            for f in facts: ...

    The targets (a few columns per concept) are computed once; their facts are computed a chunk of targets at a
    time, so memory stays flat however many concepts the job has.
    """

    def __init__(self, kg: Path, selection: Selection, *, chunk_rows: int = 25_000, memory_limit: str = "256MB"):
        self.kg = Path(kg)
        self.selection = selection
        self.chunk_rows = chunk_rows
        self.memory_limit = memory_limit
        self.count = 0
        self._con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> KGFacts:
        s = self.selection
        if s.order not in ("degree", "cui"):
            raise UserError(f"unknown order {s.order!r}", fix="use --order degree or --order cui")
        self._con = con = connect(memory_limit=self.memory_limit)
        try:
            _register(con, self.kg)
            prepare(con, "llm")  # the seeds and macros of how the KG reads in English (sql/_kg.sql)
            params = {
                "only_missing": s.only_missing,
                "order": s.order,
                "limit": s.limit if s.limit is not None else 2**62,
            }
            con.sql("CREATE TEMP TABLE all_targets AS " + read_sql("llm/targets.sql"), params=params)
            self.count = con.sql("SELECT count(*) FROM all_targets").fetchall()[0][0]
        except duckdb.Error as exc:
            self.__exit__()
            raise UserError(
                f"could not read the KG tables: {str(exc).splitlines()[0]}",
                path=self.kg,
                fix="run `kgbuild validate` on the KG folder, or re-run `kgbuild extract`",
            ) from None
        return self

    def __iter__(self) -> Iterator[Facts]:
        s = self.selection
        sql = read_sql("llm/facts.sql")
        for lo in range(0, self.count, self.chunk_rows):
            params = {
                "lo": lo,
                "hi": lo + self.chunk_rows,
                "n_synonyms": s.n_synonyms,
                "n_parents": s.n_parents,
                "n_relations": s.n_relations,
            }
            chunk = self._con.sql(sql, params=params).to_arrow_table()
            for row in chunk.to_pylist():
                yield Facts(**row)

    def __exit__(self, *exc: object) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
