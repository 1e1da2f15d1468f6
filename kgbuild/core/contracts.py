"""Check Parquet tables against their ODCS v3.1 contracts (a strict subset) in data_contracts/.

Structure (column names, order, DuckDB types) and content (required, unique, primary key, valid values,
patterns, table-level duplicates, row counts, foreign keys to sibling tables) are checked with DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import yaml

from kgbuild.core.engine import connect, parquet_scan, runtime_error, sql_literal
from kgbuild.core.errors import UserError
from kgbuild.core.resources import contracts_dir
from kgbuild.core.tables import table_files

if TYPE_CHECKING:
    import pyarrow as pa

_OPERATORS = {
    "mustBe": lambda v, a: v == a,
    "mustNotBe": lambda v, a: v != a,
    "mustBeGreaterThan": lambda v, a: v > a,
    "mustBeGreaterOrEqualTo": lambda v, a: v >= a,
    "mustBeLessThan": lambda v, a: v < a,
    "mustBeLessOrEqualTo": lambda v, a: v <= a,
    "mustBeBetween": lambda v, a: a[0] <= v <= a[1],
    "mustNotBeBetween": lambda v, a: not (a[0] <= v <= a[1]),
}


@dataclass(frozen=True)
class Check:
    table: str
    name: str
    passed: bool
    detail: str = ""


class ContractError(UserError):
    def __init__(self, path: Path, failures: list[Check], *, unwritten: bool = False):
        self.failures = failures
        lines = "; ".join(f"{c.name}: {c.detail}" for c in failures[:12])
        more = f" (+{len(failures) - 12} more)" if len(failures) > 12 else ""
        where = " by the table this run made, so nothing was written" if unwritten else ""
        super().__init__(
            f"contract check failed{where}: {lines}{more}",
            path=path,
            fix=f"the table does not match data_contracts/{failures[0].table}.odcs.yaml"
            + ("; please report it with the input that made it" if unwritten else ""),
        )


@cache
def load_contract(table: str) -> dict[str, Any]:
    path = contracts_dir() / f"{table}.odcs.yaml"
    if not path.exists():
        raise UserError(f"no contract for table {table!r}", path=path)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def contract_names() -> list[str]:
    return sorted(p.name.removesuffix(".odcs.yaml") for p in contracts_dir().glob("*.odcs.yaml"))


def table_schema(table: str) -> dict[str, Any]:
    return load_contract(table)["schema"][0]


def made_by(table: str) -> list[str]:
    """The files that make `table` (the contract's lineage: ODCS authoritativeDefinitions of type
    transformationImplementation), relative to the repository root: SQL under sql/, or a Python module."""
    refs = table_schema(table).get("authoritativeDefinitions", [])
    return [r["url"] for r in refs if r.get("type") == "transformationImplementation"]


def columns(table: str) -> list[str]:
    """The contract's column names, in order."""
    return [p["name"] for p in table_schema(table)["properties"]]


def valid_values(table: str, column: str) -> list[str]:
    """The values the contract allows in `column` (its invalidValues rule's validValues), in the contract's order."""
    prop = next(p for p in table_schema(table)["properties"] if p["name"] == column)
    rules = [q for q in prop.get("quality", []) if q.get("metric") == "invalidValues"]
    return next((list(q["arguments"]["validValues"]) for q in rules if "validValues" in q.get("arguments", {})), [])


def arrow_schema(table: str) -> pa.Schema:
    """The Arrow schema of a table, from its contract: what a Python writer must produce to pass the checks."""
    import pyarrow as pa  # here, not at the top: extract and validate do not need it (0.1 s of start-up)

    types = {
        "VARCHAR": pa.string(),
        "BIGINT": pa.int64(),
        "INTEGER": pa.int32(),
        "BOOLEAN": pa.bool_(),
        "DOUBLE": pa.float64(),
        "VARCHAR[]": pa.list_(pa.string()),
        "TIMESTAMP WITH TIME ZONE": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([(p["name"], types[p["physicalType"].upper()]) for p in table_schema(table)["properties"]])


def _quality_ok(rule: dict[str, Any], value: float) -> tuple[bool, str]:
    for op, fn in _OPERATORS.items():
        if op in rule:
            return fn(value, rule[op]), f"{value} ({op} {rule[op]})"
    return value == 0, f"{value} (mustBe 0)"


def check_table(
    table: str, files: list[str], *, folder: Path | None = None, con: duckdb.DuckDBPyConnection | None = None
) -> list[Check]:
    """Run every check of `table`'s contract on the Parquet `files`; return all results (passed and failed)."""
    schema = table_schema(table)
    con = con or connect()
    results: list[Check] = []
    seen: dict[tuple[str, ...], int] = {}
    if not files:
        return [Check(table, "exists", False, "no Parquet file found")]
    # a literal, not a parameter: the contract's own SQL rules take this source in place of ${table}
    src = parquet_scan(files)
    described = con.execute(f"DESCRIBE SELECT * FROM {src}").fetchall()
    actual = [(row[0], row[1].upper()) for row in described]
    expected = [(p["name"], p.get("physicalType", "").upper()) for p in schema["properties"]]
    if [a[0] for a in actual] != [e[0] for e in expected]:
        results.append(
            Check(
                table, "columns", False, f"expected columns {[e[0] for e in expected]}, found {[a[0] for a in actual]}"
            )
        )
        return results
    for (name, got), (_, want) in zip(actual, expected, strict=True):
        ok = not want or got == want
        results.append(Check(table, f"{name}.type", ok, "" if ok else f"expected {want}, found {got}"))

    # Row count and every null count in one scan (tables reach tens of millions of rows).
    required = [p["name"] for p in schema["properties"] if p.get("required")]
    null_counts = "".join(f', count(*) - count("{c}")' for c in required)
    counts = con.execute(f"SELECT count(*){null_counts} FROM {src}").fetchone()
    n_rows, nulls_by_col = counts[0], dict(zip(required, counts[1:], strict=True))
    for prop in schema["properties"]:
        col = f'"{prop["name"]}"'
        if prop.get("required"):
            nulls = nulls_by_col[prop["name"]]
            results.append(Check(table, f"{prop['name']}.required", nulls == 0, f"{nulls} null values"))
        if prop.get("unique"):
            dups = (
                _duplicates(con, src, [prop["name"]], seen)
                and con.execute(f"SELECT count({col}) - count(DISTINCT {col}) FROM {src}").fetchone()[0]
            )
            results.append(Check(table, f"{prop['name']}.unique", dups == 0, f"{dups} duplicate values"))
        for rule in prop.get("quality", []):
            results.append(_column_rule(con, src, table, prop["name"], rule, seen))
        for rel in prop.get("relationships", []):
            results.append(_relationship(con, src, table, prop["name"], rel, folder))

    pk = [
        p["name"]
        for p in sorted(
            (p for p in schema["properties"] if p.get("primaryKey")), key=lambda p: p.get("primaryKeyPosition", 0)
        )
    ]
    if pk:
        keys = ", ".join(f'"{c}"' for c in pk)
        dups = (
            _duplicates(con, src, pk, seen)
            and con.execute(
                f"SELECT count(*) FROM (SELECT {keys} FROM {src} GROUP BY ALL HAVING count(*) > 1)"
            ).fetchone()[0]
        )
        results.append(Check(table, f"primaryKey({', '.join(pk)})", dups == 0, f"{dups} duplicated keys"))
    for rule in schema.get("quality", []):
        metric = rule.get("metric")
        if metric == "rowCount":
            ok, detail = _quality_ok(rule, n_rows)
            results.append(Check(table, "rowCount", ok, detail))
        elif metric == "duplicateValues":
            cols = ", ".join(f'"{c}"' for c in rule["arguments"]["properties"])
            dups = (
                _duplicates(con, src, rule["arguments"]["properties"], seen)
                and con.execute(
                    f"SELECT count(*) FROM (SELECT {cols} FROM {src} GROUP BY ALL HAVING count(*) > 1)"
                ).fetchone()[0]
            )
            ok, detail = _quality_ok(rule, dups)
            results.append(Check(table, f"duplicateValues({cols})", ok, detail))
        elif rule.get("type") == "sql":
            value = con.execute(rule["query"].replace("${table}", src)).fetchone()[0]
            ok, detail = _quality_ok(rule, value)
            results.append(Check(table, rule.get("name", "sql"), ok, detail))
    return results


def _duplicates(con, src: str, cols: list[str], seen: dict[tuple[str, ...], int]) -> int:
    """Number of rows whose 64-bit hash of the key columns (nulls included) equals another row's. 0 proves the keys
    distinct without grouping on them; otherwise the caller runs its exact query, as a repeated hash may be a
    collision or a null. The hashes are sorted and compared with their neighbour: on the 30M relations that is
    twice as fast as grouping them (a hash table of 30M entries) and four times as fast as grouping the 4 strings.
    `seen` holds the answers of this table's earlier checks: a column can be both `unique` and the primary key."""
    key = tuple(cols)
    if key not in seen:
        keys = ", ".join(f'"{c}"' for c in cols)
        seen[key] = con.execute(
            f"SELECT count(*) FROM (SELECT h, lag(h) OVER (ORDER BY h) AS previous "
            f"FROM (SELECT hash({keys}) AS h FROM {src})) WHERE h = previous"
        ).fetchone()[0]
    return seen[key]


def _column_rule(con, src: str, table: str, column: str, rule: dict[str, Any], seen: dict) -> Check:
    col = f'"{column}"'
    metric = rule.get("metric")
    args = rule.get("arguments", {})
    if rule.get("type") == "sql":
        bad = con.execute(rule["query"].replace("${table}", src)).fetchone()[0]
        ok, detail = _quality_ok(rule, bad)
        return Check(table, f"{column}.{rule.get('name', 'sql')}", ok, detail)
    if metric == "invalidValues" and "validValues" in args:
        values = ", ".join(sql_literal(v) for v in args["validValues"])
        bad = con.execute(
            f"SELECT count(*) FROM {src} WHERE {col} IS NOT NULL AND {col}::VARCHAR NOT IN ({values})"
        ).fetchone()[0]
    elif metric == "invalidValues" and "pattern" in args:
        bad = con.execute(
            f"SELECT count(*) FROM {src} WHERE {col} IS NOT NULL AND NOT regexp_full_match({col}, "
            f"{sql_literal(args['pattern'])})"
        ).fetchone()[0]
    elif metric == "nullValues":
        bad = con.execute(f"SELECT count(*) FROM {src} WHERE {col} IS NULL").fetchone()[0]
    elif metric == "missingValues":
        values = ", ".join(sql_literal(v) for v in args.get("missingValues", [""]))
        bad = con.execute(
            f"SELECT count(*) FROM {src} WHERE {col} IS NULL OR {col}::VARCHAR IN ({values})"
        ).fetchone()[0]
    elif metric == "duplicateValues":
        bad = (
            _duplicates(con, src, [column], seen)
            and con.execute(f"SELECT count({col}) - count(DISTINCT {col}) FROM {src}").fetchone()[0]
        )
    else:
        return Check(table, f"{column}.{metric}", False, f"unsupported quality metric {metric!r} in the contract")
    ok, detail = _quality_ok(rule, bad)
    return Check(table, f"{column}.{metric}", ok, detail)


def _relationship(con, src: str, table: str, column: str, rel: dict[str, Any], folder: Path | None) -> Check:
    other_table, other_col = rel["to"].split(".")
    other = table_files(folder, other_table) if folder is not None else []
    if not other:  # the referenced table lives elsewhere (e.g. definitions shards beside no KG): nothing to join
        return Check(table, f"{column}->{rel['to']}", True, "skipped: referenced table not in this folder")
    osrc = parquet_scan(other)
    # Written as an ANTI JOIN: DuckDB plans "x IS NOT NULL AND NOT EXISTS (...)" as a mark join, 2-4x slower.
    bad = con.execute(
        f'SELECT count(*) FROM (SELECT "{column}" AS v FROM {src} WHERE "{column}" IS NOT NULL) t '
        f'ANTI JOIN (SELECT "{other_col}" AS v FROM {osrc}) o ON o.v = t.v'
    ).fetchone()[0]
    return Check(table, f"{column}->{rel['to']}", bad == 0, f"{bad} values not found in {rel['to']}")


def unreadable_file(con: duckdb.DuckDBPyConnection, files: list[str]) -> tuple[str, str] | None:
    """The first Parquet file that cannot be read to the end, with DuckDB's reason. Every value of every column is
    decoded (a count alone reads only the footer, and the contract checks skip some columns): a file damaged
    mid-way is found here."""
    for f in files:
        try:
            con.execute("SELECT max(hash(COLUMNS(*))) FROM read_parquet(?)", [f]).fetchall()
        except duckdb.Error as exc:
            if type(exc).__name__ == "InterruptException":
                raise KeyboardInterrupt from exc
            return f, str(exc).splitlines()[0]
    return None


def check_or_raise(table: str, folder: Path, *, con: duckdb.DuckDBPyConnection | None = None) -> list[Check]:
    """Check one table in `folder`; raise ContractError naming every failed check."""
    files = table_files(folder, table)
    results = check_table(table, files, folder=folder, con=con)
    failed = [c for c in results if not c.passed]
    if failed:
        raise ContractError(Path(files[0]) if files else Path(folder) / f"{table}.parquet", failed)
    return results


def check_tables_or_raise(
    tables: Iterable[str], folder: Path, *, memory_limit: str | None = None, out: Path | None = None
) -> None:
    """Check the tables a run wrote to `folder`, on one connection; raise ContractError at the first that fails.

    `folder` is the run's temporary folder: the error names the file under `out`, the output the user asked for (a
    temporary path is gone by the time the message is read)."""
    # one connection for all the tables of a run: a new database per table cost extract 0.12 s over its 7 tables
    con = connect(memory_limit=memory_limit)
    try:
        for table in tables:
            try:
                check_or_raise(table, folder, con=con)
            except ContractError as exc:
                if out is None:
                    raise
                raise ContractError(
                    Path(out) / Path(exc.path).relative_to(folder), exc.failures, unwritten=True
                ) from None
            except duckdb.Error as exc:  # out of memory, a full disk, Ctrl-C
                if type(exc).__name__ == "InterruptException":
                    raise KeyboardInterrupt from exc
                raise runtime_error(
                    exc, step=f"contract check of {table}", memory_limit=memory_limit, out=out
                ) from None
    finally:
        con.close()


def check_folder(folder: Path) -> dict[str, list[Check]]:
    """Check every table in `folder` that has a contract. Raises UserError if the folder holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        what = "not a folder (a file)" if folder.exists() else "folder not found"
        raise UserError(what, path=folder, fix="give the output folder of a kgbuild command")
    found = {t: table_files(folder, t) for t in contract_names()}
    found = {t: f for t, f in found.items() if f}
    if not found:
        raise UserError(
            "no table with a contract found here",
            path=folder,
            fix=f"expected one of {', '.join(contract_names())} as <table>.parquet",
        )
    con = connect()
    # Every file is decoded first: a file cut short or damaged mid-way is a failed check of its table (the other
    # tables are still checked), not a stop.
    broken = {t: bad for t, files in found.items() if (bad := unreadable_file(con, files))}
    results: dict[str, list[Check]] = {}
    for table, files in found.items():
        if table in broken:
            path, reason = broken[table]
            results[table] = [Check(table, "readable", False, f"{Path(path).name} is truncated or corrupt: {reason}")]
            continue
        readable = Check(table, "readable", True)
        try:
            results[table] = [readable, *check_table(table, files, folder=folder, con=con)]
        except duckdb.Error as exc:
            if type(exc).__name__ == "InterruptException":
                raise KeyboardInterrupt from exc
            why = f" (it refers to {', '.join(sorted(broken))})" if broken else ""
            results[table] = [
                readable,
                Check(table, "checks", False, f"could not run{why}: {str(exc).splitlines()[0]}"),
            ]
    return results


def unknown_parquet_files(folder: Path) -> list[str]:
    """Parquet files in `folder` that belong to no contracted table: validate says it did not check them."""
    folder = Path(folder)
    known = {Path(f).resolve() for t in contract_names() for f in table_files(folder, t)}
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*.parquet")
        if p.resolve() not in known and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    )
