"""Where a table's Parquet files are in a folder. Apart from kgbuild.contracts so that readers of the tables (the
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
