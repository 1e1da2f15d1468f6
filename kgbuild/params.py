"""Parameter tables: a command's options as small DuckDB tables `param_<name>` that its SQL joins (no value is
pasted into SQL). One way to make them, for every command and source."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import duckdb


def register(
    con: duckdb.DuckDBPyConnection, name: str, columns: dict[str, str], rows: Iterable[Sequence[object]]
) -> None:
    """Create table param_<name> with `columns` (name -> DuckDB type) holding `rows`."""
    spec = ", ".join(f"{col} {kind}" for col, kind in columns.items())
    con.execute(f"CREATE OR REPLACE TABLE param_{name} ({spec})")
    rows = [list(row) for row in rows]
    if rows:
        con.executemany(f"INSERT INTO param_{name} VALUES ({', '.join('?' for _ in columns)})", rows)
