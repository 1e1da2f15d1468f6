"""manifest.json: what went in, with which parameters and versions, and what came out."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from kgbuild import __version__
from kgbuild.core.atomic import atomic_write_bytes
from kgbuild.core.errors import UserError

_DEPENDENCIES = (
    "duckdb",
    "polars",
    "pyarrow",
    "networkx",
    "openai",
    "tenacity",
    "huggingface-hub",
    "datasets",
    "torch",
    "sentence-transformers",
    "transformers",
    "typer",
)


def versions() -> dict[str, str]:
    found = {"kgbuild": __version__, "python": sys.version.split()[0], "platform": platform.platform()}
    for dist in _DEPENDENCIES:
        try:
            found[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            pass
    return found


def write_manifest(
    folder: Path,
    *,
    command: str,
    inputs: Any,
    parameters: dict[str, Any],
    tables: dict[str, int],
    timings: dict[str, float],
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    manifest = {
        "command": command,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": inputs,
        "parameters": parameters,
        "versions": versions(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "tables": tables,
    }
    if extra:
        manifest.update(extra)
    atomic_write_bytes(Path(folder) / "manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False).encode())
    return manifest


def read_manifest(folder: Path) -> dict[str, Any]:
    """The folder's manifest.json ({} when there is none); one line, not a traceback, when it is not ours to read."""
    path = Path(folder) / "manifest.json"
    if not path.exists():
        return {}
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise UserError(
            f"manifest.json is not valid JSON ({exc.msg})",
            path=path,
            line=exc.lineno,
            fix="restore it from the command that made the folder, or rerun it",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(
            f"manifest.json cannot be read ({type(exc).__name__}: {str(exc)[:120]})",
            path=path,
            fix="restore it from the command that made the folder, or rerun it",
        ) from None
    if not isinstance(doc, dict):
        raise UserError(
            f"manifest.json holds a {type(doc).__name__}, not an object",
            path=path,
            fix="restore it from the command that made the folder, or rerun it",
        )
    return doc


def file_records(folder: Path, names: list[str]) -> dict[str, dict[str, Any]]:
    """Size and sha256 of each named file of `folder` that exists: what a manifest records so that a later reader can
    tell a changed, shuffled or truncated file from the one that was written."""
    records = {}
    for name in names:
        path = Path(folder) / name
        if path.is_file():
            with open(path, "rb") as fh:
                records[name] = {"bytes": path.stat().st_size, "sha256": hashlib.file_digest(fh, "sha256").hexdigest()}
    return records


def changed_file(folder: Path, records: dict[str, Any], *, hash_skip: tuple[str, ...] = ()) -> str | None:
    """What differs between `folder` and its recorded files (missing, another size, other content), else None. The
    files named in `hash_skip` are compared by size only (large files a reader checks often)."""
    for name, expected in (records or {}).items():
        path = Path(folder) / name
        if not path.is_file():
            return f"{name} is missing"
        if path.stat().st_size != expected.get("bytes"):
            return f"{name} has {path.stat().st_size:,} bytes, the manifest says {expected.get('bytes'):,}"
        if name not in hash_skip and file_records(folder, [name])[name]["sha256"] != expected.get("sha256"):
            return f"the content of {name} is not what was written"
    return None
