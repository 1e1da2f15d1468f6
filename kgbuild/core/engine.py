"""DuckDB settings and failures shared by the commands: a --memory-limit is checked before any work, and running out
of memory, a full disk, an interrupted query or a corrupt Parquet input become one UserError naming what to do."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb

from kgbuild.core.errors import UserError

_MEMORY = re.compile(r"^\s*\d+(\.\d+)?\s*(B|[KMGT]i?B)\s*$", re.IGNORECASE)
_PARQUET_PATH = re.compile(r"""(?:file|File|reading file|read file)\s*['"]?([^'"\s]+\.parquet)['"]?""")


# One default for every command that runs DuckDB: it keeps a full UMLS extract under 6 GB of RSS (BENCHMARKS.md).
DEFAULT_MEMORY_LIMIT = "5GB"
MEMORY_LIMIT_HELP = "DuckDB memory limit; past it, DuckDB spills to disk beside the output. More on a larger machine."


def check_memory_limit(value: str | None, option: str = "--memory-limit") -> str | None:
    if value is not None and not _MEMORY.match(str(value)):
        raise UserError(f"bad {option} {value!r}", fix=f"write {option} like 4GB, 512MB or 1.5GiB")
    return value


def runtime_error(exc: duckdb.Error, *, step: str, memory_limit: str | None, out: Path | None = None) -> UserError:
    """The UserError for a failure of the engine itself (memory, disk, Ctrl-C); other errors keep their first line."""
    text = str(exc)
    first = text.splitlines()[0] if text else type(exc).__name__
    if isinstance(exc, duckdb.OutOfMemoryException) or "Out of Memory" in text:
        return UserError(
            f"DuckDB ran out of memory in step {step} (memory limit {memory_limit or 'default'})",
            fix="raise --memory-limit if the machine has more memory, or free memory and rerun",
        )
    if "No space left on device" in text or "could not write" in text.lower():
        return UserError(
            f"the disk is full in step {step} ({first})",
            path=out,
            fix="free disk space (DuckDB spills past --memory-limit beside the output), or choose an "
            "--out on a larger disk",
        )
    return UserError(f"step {step} failed: {first}", path=out, fix="rerun with --debug and report it if it persists")


def parquet_error(exc: duckdb.Error, files: list[str] | None = None) -> UserError | None:
    """A Parquet input DuckDB cannot read (truncated, corrupt mid-file, not Parquet): the file and the fix."""
    text = str(exc)
    if not any(k in text for k in ("parquet", "Parquet", "magic bytes", "footer", "Thrift", "snappy", "zstd")):
        return None
    match = _PARQUET_PATH.search(text)
    path = match.group(1) if match else None
    if path is None and files:
        path = next((f for f in files if f in text), None)
    if path is None:
        return None
    return UserError(
        f"cannot read this Parquet file: it is truncated or corrupt ({text.splitlines()[0]})",
        path=path,
        fix="rerun the kgbuild command that wrote this folder (or restore the file from a backup)",
    )


def connect(
    database: Path | str | None = None,
    *,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_directory: Path | str | None = None,
    preserve_insertion_order: bool = True,
    disabled_optimizers: str | None = None,
) -> duckdb.DuckDBPyConnection:
    """The one way a command opens DuckDB: settings go in as a config dict (no SQL is built from them), and
    DuckDB's own progress bar is off, as every command draws its own progress (or none)."""
    config: dict[str, Any] = {}
    if memory_limit:
        config["memory_limit"] = str(memory_limit)
    if threads:
        config["threads"] = int(threads)
    if temp_directory is not None:
        config["temp_directory"] = Path(temp_directory).as_posix()
    if not preserve_insertion_order:
        # outputs say their order with ORDER BY, which DuckDB keeps whatever this setting
        config["preserve_insertion_order"] = False
    if disabled_optimizers:
        config["disabled_optimizers"] = disabled_optimizers
    con = duckdb.connect(":memory:" if database is None else Path(database).as_posix(), config=config)
    con.execute("SET enable_progress_bar = false")  # a session setting: the config dict refuses it
    return con


def sql_literal(value: Any) -> str:
    """A string literal for the SQL DuckDB cannot take as a parameter (CREATE VIEW, macros, contract rules)."""
    return "'" + str(value).replace("'", "''") + "'"


def sql_list(values: Iterable[Any]) -> str:
    """A list literal, e.g. the files of `read_parquet([...])` inside a view."""
    return "[" + ", ".join(sql_literal(v) for v in values) + "]"


def parquet_scan(files: Iterable[Any]) -> str:
    """`read_parquet([...])` over `files`, for SQL that cannot be prepared; prefer `read_parquet($files)`."""
    return f"read_parquet({sql_list(str(f) for f in files)})"
