"""Check a staged repository folder the way its users will read it, before anything is uploaded."""

from __future__ import annotations

from pathlib import Path

import duckdb

from kgbuild.core.contracts import ContractError, check_table, columns
from kgbuild.core.engine import connect
from kgbuild.core.errors import UserError
from kgbuild.publish import card as cards
from kgbuild.publish.card import StagedTable


def verify_dataset_folder(folder: Path, tables: list[StagedTable]) -> None:
    """Every config loads with `datasets.load_dataset(folder, name)` and matches its contract; the card parses."""
    import datasets

    folder = Path(folder)
    readme = folder / "README.md"
    cards.validate(readme.read_text(encoding="utf-8"), [t.name for t in tables])
    con = connect()
    for table in tables:
        shards = [str(folder / s) for s in table.shards]
        failed = [c for c in check_table(table.name, shards, folder=folder, con=con) if not c.passed]
        if failed:
            raise ContractError(Path(shards[0]), failed)
        _check_splits(con, folder, table, readme)
        # Streaming reads the schema and first rows through the README's configs without an Arrow cache copy of
        # the whole table; the contract check above has already read every row of every shard.
        for split in table.split_names():
            try:
                ds = datasets.load_dataset(str(folder), table.name, split=split, streaming=True)
                first = next(iter(ds), None)
            except Exception as exc:  # any loader failure means users could not load it either
                raise UserError(
                    f"datasets.load_dataset cannot load config {table.name!r} split {split!r}: {exc}",
                    path=readme,
                    fix="report this as a kgbuild bug",
                ) from exc
            names = list(ds.features) if ds.features is not None else list(first or {})
            if names != columns(table.name) or (table.rows > 0 and first is None):
                raise UserError(
                    f"config {table.name!r} split {split!r} loads with columns {names} and "
                    f"{'no' if first is None else 'some'} rows; the contract expects "
                    f"{columns(table.name)}",
                    path=readme,
                    fix="report this as a kgbuild bug",
                )


def _check_splits(con: duckdb.DuckDBPyConnection, folder: Path, table: StagedTable, readme: Path) -> None:
    """Each Hub split's shards hold only that split's rows: a test concept never reaches `train`."""
    from kgbuild.publish.stage import HUB_SPLITS

    if not table.splits or "split" not in columns(table.name):
        return
    for hub, shards in table.splits.items():
        values = {
            v
            for (v,) in con.execute(
                "SELECT DISTINCT split FROM read_parquet($f)", {"f": [str(folder / s) for s in shards]}
            ).fetchall()
        }
        expected = {k for k, v in HUB_SPLITS.items() if v == hub}
        if values - expected:
            raise UserError(
                f"config {table.name!r}: the {hub!r} split holds rows of split(s) {sorted(values - expected)}",
                path=readme,
                fix="report this as a kgbuild bug",
            )
