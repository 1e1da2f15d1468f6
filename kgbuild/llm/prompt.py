"""The grounded prompt: which concepts to define, the KG facts about each, and the versioned template.

The facts of every target are computed once by DuckDB (sql/facts.sql) into an on-disk scratch database, then
streamed back in order in record batches, so memory stays flat however many concepts the job has.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb

from kgbuild.contracts import table_files
from kgbuild.errors import UserError

# Bump when the wording below changes: it is part of every request key, so old answers are not reused for it.
TEMPLATE_VERSION = "definition-v1"

SYSTEM = ("You are a biomedical terminologist. You write short, factual, encyclopedic definitions of medical "
          "concepts for a terminology resource.")

INSTRUCTIONS = (
    "Write a definition of this concept in one paragraph of 40 to 60 words, in plain encyclopedic style. "
    "Name the concept in the text. Use only the facts above plus general medical knowledge; do not invent numbers, "
    "prevalence, drug doses or eponyms. If the facts are thin, write a shorter, more general definition rather "
    "than guessing. Do not mention codes, identifiers or source vocabularies. Answer with the definition only."
)

_SQL = Path(__file__).with_name("sql") / "facts.sql"
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
            raise UserError(f"the KG has no {table} table", path=kg / f"{table}.parquet",
                            fix="pass the output folder of `kgbuild extract` as --kg")
        if files:
            quoted = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
            con.sql(f"CREATE VIEW {table} AS SELECT * FROM read_parquet([{quoted}])")
        else:  # labels are optional: relation names are humanised without them
            con.sql(f"CREATE VIEW {table} AS SELECT NULL::VARCHAR AS relation, NULL::VARCHAR AS label, "
                    "NULL::VARCHAR AS inverse, 0::BIGINT AS n_edges WHERE false")


class KGFacts:
    """The facts of every target concept in send order, read from the KG once. Use as a context manager:

        with KGFacts(kg, Selection()) as facts:
            print(facts.count)
            for f in facts: ...
    """

    def __init__(self, kg: Path, selection: Selection, *, scratch_parent: Path | None = None, batch_rows: int = 4096):
        self.kg = Path(kg)
        self.selection = selection
        self.scratch_parent = scratch_parent
        self.batch_rows = batch_rows
        self.count = 0
        self._scratch: Path | None = None
        self._con: duckdb.DuckDBPyConnection | None = None

    def __enter__(self) -> KGFacts:
        if self.selection.order not in ("degree", "cui"):
            raise UserError(f"unknown order {self.selection.order!r}", fix="use --order degree or --order cui")
        self._scratch = Path(tempfile.mkdtemp(prefix=".facts-", dir=self.scratch_parent))
        try:
            # A file-backed scratch database lets DuckDB spill instead of holding 400k rows of facts in memory.
            self._con = con = duckdb.connect(str(self._scratch / "facts.duckdb"))
            con.sql("SET memory_limit = '512MB'")
            con.sql(f"SET temp_directory = '{self._scratch / 'spill'}'")
            _register(con, self.kg)
            s = self.selection
            params = {"only_missing": s.only_missing, "order": s.order,
                      "limit": s.limit if s.limit is not None else 2**62,
                      "n_synonyms": s.n_synonyms, "n_parents": s.n_parents, "n_relations": s.n_relations}
            try:
                con.execute(f"CREATE TABLE facts AS {_SQL.read_text(encoding='utf-8')}", params)
            except duckdb.Error as exc:
                raise UserError(f"could not read the KG tables: {str(exc).splitlines()[0]}", path=self.kg,
                                fix="run `kgbuild validate` on the KG folder, or re-run `kgbuild extract`") from None
            self.count = con.sql("SELECT count(*) FROM facts").fetchall()[0][0]
        except BaseException:
            self.__exit__()
            raise
        return self

    def __iter__(self) -> Iterator[Facts]:
        reader = self._con.sql("SELECT * FROM facts ORDER BY ord").to_arrow_reader(self.batch_rows)
        for batch in reader:
            for row in batch.to_pylist():
                yield Facts(**row)

    def __exit__(self, *exc: object) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None
