"""Stage a Hub dataset repository as a local folder: checked tables as Parquet shards, contracts, manifest, card.

Layout (what `datasets.load_dataset(folder, <table>)` and the Hub viewer read):
    README.md                                   card with `configs:` (one per table, its splits as data_files)
    <table>/train-00000-of-0000N.parquet        shards of about `shard_bytes` each; a table with a `split` column
    <table>/validation-…, <table>/test-…        (pairs, linking) gets one set of shards per split, so that
                                                `load_dataset(repo, "pairs", split="train")` holds train concepts only
    contracts/<table>.odcs.yaml                 the data contract each table was checked against
    manifest.json                               the DATA_DIR manifest (local paths reduced to their names)
"""

from __future__ import annotations

import json
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from kgbuild.core.atomic import atomic_dir
from kgbuild.core.contracts import ContractError, check_folder, contract_names, table_files
from kgbuild.core.errors import UserError
from kgbuild.core.events import Reporter, silent
from kgbuild.core.resources import contracts_dir
from kgbuild.publish import card as cards
from kgbuild.publish.card import StagedTable
from kgbuild.publish.licence import Licence, manifest_of
from kgbuild.publish.verify import verify_dataset_folder

# The Hub and `push_to_hub` keep Parquet files well under 500 MB; smaller shards stream and resume better.
SHARD_BYTES = 256 * 1024 * 1024
ROW_GROUP_ROWS = 100_000  # row groups small enough for the dataset viewer's random access
# The `split` column's values (kgbuild's) -> the split names the Hub and `datasets` use.
HUB_SPLITS = {"train": "train", "dev": "validation", "test": "test"}


@dataclass(frozen=True)
class Staged:
    folder: Path
    tables: list[StagedTable]
    licence: Licence


def refuse_links(folder: Path, what: str, *, skip: Any = None) -> None:
    """A staged folder takes no symbolic link: following one would upload the file it points to (a key, a home
    folder). Every publisher checks its source with this before it stages anything; `skip(path)` leaves out what
    is not staged anyway."""
    folder = Path(folder)
    for path in sorted(folder.rglob("*")):
        if skip is not None and skip(path):
            continue
        if path.is_symlink():
            raise UserError(
                f"{what} holds a symbolic link ({path.relative_to(folder)} -> {os.readlink(path)}); links are not "
                "staged, since they may point at files outside the folder",
                path=path,
                fix="replace the link by the file itself, or remove it, then stage again",
            )


def checked_tables(data_dir: Path) -> dict[str, list[str]]:
    """Every contracted table in DATA_DIR, after a full contract check; also the tables its manifest promises."""
    data_dir = Path(data_dir)
    refuse_links(data_dir, "DATA_DIR")
    results = check_folder(data_dir)  # raises when DATA_DIR is not a folder or holds no contracted table
    for table, checks in results.items():
        failed = [c for c in checks if not c.passed]
        if failed:
            files = table_files(data_dir, table)
            raise ContractError(Path(files[0]) if files else data_dir / f"{table}.parquet", failed)
    promised = (manifest_of(data_dir).get("tables") or {}).keys()
    missing = sorted(t for t in promised if t in contract_names() and t not in results)
    if missing:
        raise UserError(
            f"table(s) {', '.join(missing)} listed in manifest.json are missing",
            path=data_dir,
            fix="restore the folder from the command that made it (or rerun that command)",
        )
    return {t: table_files(data_dir, t) for t in results}


def write_shards(
    files: list[str], dest: Path, *, shard_bytes: int = SHARD_BYTES, split: str | None = None, prefix: str = "train"
) -> tuple[int, list[Path]]:
    """Copy a table (its rows whose `split` column is `split`, when given) into `{prefix}-0000i-of-0000N.parquet`
    shards of even row counts, in the source's row order."""
    import pyarrow.compute as pc

    sources = [pq.ParquetFile(f) for f in files]
    n_all = sum(s.metadata.num_rows for s in sources)

    def batches():
        for source in sources:
            for batch in source.iter_batches(batch_size=ROW_GROUP_ROWS):
                yield batch if split is None else batch.filter(pc.equal(batch.column("split"), split))

    n_rows = n_all if split is None else sum(b.num_rows for b in batches())
    size = sum(Path(f).stat().st_size for f in files) * (n_rows / n_all if n_all else 1)
    n_shards = max(1, min(math.ceil(size / shard_bytes), n_rows))
    per_shard = math.ceil(n_rows / n_shards) if n_rows else 0
    schema = sources[0].schema_arrow.remove_metadata()
    dest.mkdir(parents=True, exist_ok=True)
    paths = [dest / f"{prefix}-{i:05d}-of-{n_shards:05d}.parquet" for i in range(n_shards)]

    def writer(i: int) -> pq.ParquetWriter:
        return pq.ParquetWriter(paths[i], schema, compression="zstd")

    index, written, current = 0, 0, writer(0)
    try:
        for batch in batches():
            batch = pa.Table.from_batches([batch]).cast(schema)
            while batch.num_rows:
                if written == per_shard:  # this shard is full: open the next one
                    current.close()
                    index, written = index + 1, 0
                    current = writer(index)
                take = min(per_shard - written, batch.num_rows)
                current.write_table(batch.slice(0, take), row_group_size=ROW_GROUP_ROWS)
                batch, written = batch.slice(take), written + take
    finally:
        current.close()
    return n_rows, paths


def split_values(files: list[str]) -> list[str] | None:
    """The kgbuild split values present in a table with a `split` column, in train/dev/test order; else None."""
    if "split" not in pq.read_schema(files[0]).names:
        return None
    import duckdb

    present = {
        v for (v,) in duckdb.sql("SELECT DISTINCT split FROM read_parquet($files)", params={"files": files}).fetchall()
    }
    return [v for v in HUB_SPLITS if v in present]


def _local_name(value: str) -> str:
    """A local absolute path says nothing to readers of a public card and may name the user: keep the last part."""
    for flavour in (PurePosixPath, PureWindowsPath):
        path = flavour(value)
        if path.is_absolute() and len(path.parts) > 1:
            return path.name
    return value


def redact_paths(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: redact_paths(v) for k, v in value.items()}
    if isinstance(value, list):
        return [redact_paths(v) for v in value]
    if isinstance(value, str):
        return _local_name(value)
    return value


def stage_dataset(
    data_dir: Path,
    stage_dir: Path,
    *,
    repo_id: str,
    licence: Licence,
    tables: dict[str, list[str]],
    force: bool = False,
    shard_bytes: int = SHARD_BYTES,
    report: Reporter = silent,
) -> Staged:
    """Write the repository folder and verify it; a failure leaves no stage folder behind."""
    data_dir, stage_dir = Path(data_dir), Path(stage_dir)
    manifest = manifest_of(data_dir)
    with atomic_dir(stage_dir, force=force, inputs={"DATA_DIR": data_dir}, option="--stage-dir", report=report) as tmp:
        staged: list[StagedTable] = []
        (tmp / "contracts").mkdir()
        for name, files in tables.items():
            splits: dict[str, list[Path]] = {}
            rows = 0
            for value in split_values(files) or [None]:
                hub = HUB_SPLITS[value] if value else "train"
                n, splits[hub] = write_shards(files, tmp / name, shard_bytes=shard_bytes, split=value, prefix=hub)
                rows += n
            relative = {hub: [p.relative_to(tmp).as_posix() for p in ps] for hub, ps in splits.items()}
            staged.append(
                StagedTable(
                    name,
                    rows,
                    [p for ps in relative.values() for p in ps],
                    sum((tmp / p).stat().st_size for ps in relative.values() for p in ps),
                    relative,
                )
            )
            shutil.copyfile(contracts_dir() / f"{name}.odcs.yaml", tmp / "contracts" / f"{name}.odcs.yaml")
        if manifest:
            (tmp / "manifest.json").write_text(
                json.dumps(redact_paths(manifest), indent=2, ensure_ascii=False), encoding="utf-8"
            )
        (tmp / "README.md").write_text(str(cards.build(repo_id, staged, licence, manifest)), encoding="utf-8")
        verify_dataset_folder(tmp, staged)
    return Staged(stage_dir, staged, licence)
