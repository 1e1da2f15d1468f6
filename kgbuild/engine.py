"""DuckDB settings and failures shared by the commands: a --memory-limit is checked before any work, and running out
of memory, a full disk, an interrupted query or a corrupt Parquet input become one UserError naming what to do."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from kgbuild.errors import UserError

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
