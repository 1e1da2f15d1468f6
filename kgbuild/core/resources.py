"""Find the SQL and contract files: inside the installed wheel, or at the repository root in a checkout."""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable
from importlib import resources
from pathlib import Path


def _find(name: str) -> Path:
    packaged = Path(str(resources.files("kgbuild"))) / name
    if packaged.is_dir():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / name
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


def cached_model(name: str, ready: Callable[[Path], bool], build: Callable[[Path], Path]) -> Path:
    """`cache_dir()/models/NAME`, made once: `build(scratch)` returns the finished folder (inside the scratch folder),
    which is renamed into place only when whole, so an interrupted build is never taken for the model; when two
    processes build at once, the first rename wins and the other's work is dropped."""
    target = cache_dir() / "models" / name
    if ready(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = target.parent / f".{name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}"
    scratch.mkdir()
    try:
        done = build(scratch)
        try:
            os.rename(done, target)
        except OSError:  # another process made it first
            if not ready(target):
                raise
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return target
