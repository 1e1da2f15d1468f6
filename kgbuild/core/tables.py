"""Where a table's Parquet files are in a folder. Apart from kgbuild.core.contracts so that readers of the tables (the
trainer) do not need DuckDB."""

from __future__ import annotations

import glob
from pathlib import Path


def table_files(folder: Path, table: str) -> list[str]:
    """A table is `<table>.parquet`, or shards `<table>/*.parquet` or `<table>-*.parquet`, in `folder`."""
    folder = Path(folder)
    single = folder / f"{table}.parquet"
    if single.exists():
        return [str(single)]
    shards = sorted(glob.glob(str(folder / table / "*.parquet"))) or sorted(
        glob.glob(str(folder / f"{table}-*.parquet"))
    )
    return shards


def differences(a: Path, b: Path, tables: list[str] | None = None) -> list[str]:
    """The tables of folders `a` and `b` that are not row-identical (same columns, types, rows and row order), each
    with what differs; `tables` defaults to every table of `a`. A check that a change of code or input form leaves
    the output alone (tests, and the before/after comparisons of BENCHMARKS.md)."""
    import pyarrow.parquet as pq

    names = tables or sorted(p.stem for p in Path(a).glob("*.parquet"))
    out = []
    for name in names:
        left, right = (
            pq.read_table(table_files(folder, name)[0]) if table_files(folder, name) else None for folder in (a, b)
        )
        if left is None or right is None:
            out.append(f"{name}: only in {b if left is None else a}")
        elif [(f.name, f.type) for f in left.schema] != [(f.name, f.type) for f in right.schema]:
            out.append(f"{name}: columns {left.schema} vs {right.schema}")
        elif not left.cast(right.schema).equals(right):  # a NOT NULL flag (DuckDB sets some) is not a difference
            out.append(f"{name}: {left.num_rows:,} vs {right.num_rows:,} rows, not identical")
    return out
