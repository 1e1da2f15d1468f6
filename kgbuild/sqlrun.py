"""Run a folder of SQL models (sql/<folder>/*.sql) in DuckDB: the one runner of extract and build-pairs.

Each model file starts with the line `-- materialized: view|table|mart`:
- view: DuckDB plans it into its readers, nothing is stored (for a model read by one later model, or cheap);
- table: computed once and kept in DuckDB until its last reader has run, then dropped;
- mart: written straight to <name>.parquet in the output folder, in the model's ORDER BY; later models read it
  back from that file (a view over it), so no second copy is kept.
A model's dependencies are the other models of the folder its SQL names (comments, string literals and its own
CTE names aside). The run order is depth first from the targets, in the order given: a command names what it
wants (its marts, and any check or probe table) and the files say the rest. Before the models, `prepare` loads what
every folder shares (the seed tables of sql/seeds/, the macros of sql/_kg.sql) and the folder's `_macros.sql`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb

from kgbuild.core.engine import sql_literal
from kgbuild.core.resources import read_sql, sql_dir

KINDS = ("view", "table", "mart")
_HEADER = re.compile(r"^--\s*materialized:\s*(\w+)\s*$")
_COMMENT = re.compile(r"--[^\n]*")
_STRING = re.compile(r"'(?:[^']|'')*'")
_CTE = re.compile(r"\b(\w+)\s+as\s*\(", re.IGNORECASE)
_WORD = re.compile(r"\b[a-z_][a-z0-9_]*\b", re.IGNORECASE)


@dataclass(frozen=True)
class Model:
    name: str
    kind: str
    sql: str
    reads: frozenset[str]  # the other models of its folder that it names
    folder: str

    @property
    def path(self) -> str:
        """The file, relative to the repository root (what a contract's lineage names)."""
        return f"sql/{self.folder}/{self.name}.sql"


# The marts a folder runs from another folder's files: every source of terms (OBO, dictionaries) makes concepts and
# sources with the very SQL that makes them from a UMLS release; what they read (names, int_source_versions, ...) is
# the borrowing folder's own model of that name.
BORROWS: dict[str, dict[str, tuple[str, ...]]] = {"terms": {"umls": ("concepts", "sources")}}


@cache
def load_models(folder: str) -> dict[str, Model]:
    """The models of sql/<folder>/ (and those it borrows) by name; a file without its `materialized` line is a bug
    of the package."""
    files = {p.stem: (p, folder) for p in sorted((sql_dir() / folder).glob("*.sql")) if p.stem[0] != "_"}
    for other, names in BORROWS.get(folder, {}).items():
        files |= {name: (sql_dir() / other / f"{name}.sql", other) for name in names}
    models = {}
    for name, (path, home) in files.items():
        text = path.read_text(encoding="utf-8")
        header = _HEADER.match(text.split("\n", 1)[0])
        if header is None or header[1] not in KINDS:
            raise ValueError(f"sql/{home}/{name}.sql: the first line must be `-- materialized: view|table|mart`")
        code = _STRING.sub("''", _COMMENT.sub("", text))
        ctes = {m.lower() for m in _CTE.findall(code)}
        words = {w.lower() for w in _WORD.findall(code)} - ctes - {name}
        models[name] = Model(name, header[1], text, frozenset(words & files.keys()), home)
    return models


def plan(models: dict[str, Model], targets: Iterable[str], given: Iterable[str] = ()) -> list[str]:
    """The models to run for `targets`, each after the models it reads: depth first, in the order of the targets
    and of each file's reads (sorted, so the order does not depend on how the SQL is laid out). `given` names
    models the caller already made (a table or view of the same name and columns): they and what they read are
    not run."""
    order: list[str] = []
    visiting: set[str] = set()
    given = set(given)

    def visit(name: str) -> None:
        if name in order or name in given:
            return
        if name in visiting:
            raise ValueError(f"sql/{models[name].folder}/: models read each other in a cycle through {name}")
        visiting.add(name)
        for dep in sorted(models[name].reads):
            visit(dep)
        visiting.discard(name)
        order.append(name)

    for target in targets:
        visit(target)
    return order


def drops(models: dict[str, Model], order: list[str]) -> dict[str, list[str]]:
    """Model → the tables to drop once it has run: those no later model reads. Views pass reads through (DuckDB
    inlines them), marts end them (their readers read the Parquet file)."""

    def reads(name: str) -> set[str]:
        out = set()
        for dep in models[name].reads:
            out.add(dep)
            if models[dep].kind == "view":
                out |= reads(dep)
        return out

    last = {dep: name for name in order for dep in reads(name)}
    out: dict[str, list[str]] = {}
    for dep, name in last.items():
        if models[dep].kind == "table" and dep in order:  # a given model is the caller's to keep
            out.setdefault(name, []).append(dep)
    return out


# The seed tables (sql/seeds/<name>.csv) with their column types: small hand-kept tables the SQL joins.
SEEDS = {
    "relation_phrases": {"relation": "VARCHAR", "role": "VARCHAR", "phrase": "VARCHAR", "inverse": "VARCHAR"},
    "code_namespaces": {"prefix": "VARCHAR", "sab": "VARCHAR", "whole_id": "BOOLEAN"},
}


def prepare(con: duckdb.DuckDBPyConnection, folder: str) -> None:
    """Load the seeds and sql/_kg.sql (how the KG reads in English), then sql/<folder>/_macros.sql when present."""
    for name, columns in SEEDS.items():
        con.execute(
            f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM read_csv($path, header = true, columns = $columns)",
            {"path": str(sql_dir() / "seeds" / f"{name}.csv"), "columns": columns},
        )
    con.execute(read_sql("_kg.sql"))
    if (sql_dir() / folder / "_macros.sql").exists():
        con.execute(read_sql(f"{folder}/_macros.sql"))


def run(
    con: duckdb.DuckDBPyConnection,
    folder: str,
    targets: Iterable[str],
    out: Path,
    *,
    parquet: str = "COMPRESSION zstd",
    before: Callable[[str], None] | None = None,
    after: Callable[[str], None] | None = None,
    failure: Callable[[duckdb.Error, str], BaseException] | None = None,
    timings: dict[str, float] | None = None,
    given: Iterable[str] = (),
) -> dict[str, int]:
    """Run the models `targets` need on `con`, marts to `out`/<name>.parquet; return the rows of each mart.
    Models named in `given` are already on `con` (extract --obo makes the names in Python; see `plan`).

    `before(name)` runs before each model (progress), `after(name)` once it is made and before any table it was
    the last reader of is dropped (checks and figures that read it); `failure(exc, name)` turns a DuckDB error
    into what to raise. `parquet` holds the COPY options of the marts."""
    models = load_models(folder)
    order = plan(models, targets, given)
    dropped = drops(models, order)
    prepare(con, folder)
    rows: dict[str, int] = {}
    for name in order:
        model = models[name]
        if before:
            before(name)
        t = time.perf_counter()
        try:
            if model.kind == "mart":
                target = Path(out) / f"{name}.parquet"
                rows[name] = con.execute(
                    f"COPY ({model.sql}\n) TO $target (FORMAT parquet, {parquet})", {"target": str(target)}
                ).fetchone()[0]
                con.execute(f"CREATE VIEW {name} AS SELECT * FROM read_parquet({sql_literal(target)})")
            else:
                con.execute(f"CREATE {model.kind.upper()} {name} AS {model.sql}")
            if after:
                after(name)
        except duckdb.Error as exc:
            if failure is None:
                raise
            raise failure(exc, name) from exc
        for table in dropped.get(name, []):
            con.execute(f"DROP TABLE {table}")
        if timings is not None:
            timings[name] = time.perf_counter() - t
    return rows
