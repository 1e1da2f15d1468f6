"""Check a staged repository folder the way its users will read it, before anything is uploaded."""

from __future__ import annotations

from pathlib import Path

import duckdb

from kgbuild.contracts import ContractError, check_table, columns
from kgbuild.errors import UserError
from kgbuild.publish import card as cards
from kgbuild.publish.card import StagedTable


def verify_dataset_folder(folder: Path, tables: list[StagedTable]) -> None:
    """Every config loads with `datasets.load_dataset(folder, name)` and matches its contract; the card parses."""
    import datasets

    folder = Path(folder)
    readme = folder / "README.md"
    cards.validate(readme.read_text(encoding="utf-8"), [t.name for t in tables])
    con = duckdb.connect()
    for table in tables:
        shards = [str(folder / s) for s in table.shards]
        failed = [c for c in check_table(table.name, shards, folder=folder, con=con) if not c.passed]
        if failed:
            raise ContractError(Path(shards[0]), failed)
        # Streaming reads the schema and first rows through the README's configs without an Arrow cache copy of
        # the whole table; the contract check above has already read every row of every shard.
        try:
            ds = datasets.load_dataset(str(folder), table.name, split="train", streaming=True)
            first = next(iter(ds), None)
        except Exception as exc:  # any loader failure means users could not load it either
            raise UserError(f"datasets.load_dataset cannot load config {table.name!r}: {exc}", path=readme,
                            fix="report this as a kgbuild bug") from exc
        names = list(ds.features) if ds.features is not None else list(first or {})
        if names != columns(table.name) or (table.rows > 0 and first is None):
            raise UserError(f"config {table.name!r} loads with columns {names} and "
                            f"{'no' if first is None else 'some'} rows; the contract expects {columns(table.name)} "
                            f"and {table.rows} rows", path=readme, fix="report this as a kgbuild bug")
