"""Find the SQL and contract files: inside the installed wheel, or at the repository root in a checkout."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path


def _find(name: str) -> Path:
    packaged = Path(str(resources.files("kgbuild"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parent.parent / name
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"{name}/ is missing from the kgbuild installation; reinstall the package")


def sql_dir() -> Path:
    return _find("sql")


def contracts_dir() -> Path:
    return _find("data_contracts")


def read_sql(relpath: str) -> str:
    return (sql_dir() / relpath).read_text(encoding="utf-8")


def cache_dir() -> Path:
    """Where assembled models are kept between runs: `$KGBUILD_CACHE`, default `~/.cache/kgbuild`."""
    return Path(os.environ.get("KGBUILD_CACHE") or Path.home() / ".cache" / "kgbuild")
