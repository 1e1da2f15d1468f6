from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE_META = Path(__file__).parent.parent / "kgbuild" / "sample" / "META"


@pytest.fixture(scope="session")
def sample_meta() -> Path:
    return SAMPLE_META


@pytest.fixture(scope="session")
def sample_kg(tmp_path_factory) -> Path:
    """The bundled sample extracted once per test session (ENG only, default filters)."""
    from kgbuild.umls.extract import extract_umls

    out = tmp_path_factory.mktemp("sample") / "kg"
    extract_umls(SAMPLE_META, out)
    return out


@contextlib.contextmanager
def _tmpfs(folder: Path, options: str):
    """A real tmpfs mounted at `folder` while the block runs (root only: skipped elsewhere)."""
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a small tmpfs needs root (CI runs as root)")
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("this machine does not allow mounting a tmpfs")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def small_disk(tmp_path):
    """A real 2 MB file system: writes past it fail with ENOSPC, as on a full disk."""
    with _tmpfs(tmp_path / "disk", "size=2m") as disk:
        yield disk


@pytest.fixture
def read_only_disk(tmp_path):
    """A real read-only file system: every write fails with EROFS, whoever the user (root included)."""
    with _tmpfs(tmp_path / "ro", "ro,size=1m") as disk:
        yield disk


@pytest.fixture
def fill_disk():
    """fill_disk(disk): fill it to the last byte; the file it returns is what a user deletes to free space."""
    return _fill


def _fill(disk: Path) -> Path:
    filler = disk / "filler.bin"
    with open(filler, "wb", buffering=0) as fh:
        for size in (4096, 512, 64, 1):  # the last partial block too
            while True:
                try:
                    fh.write(b"\0" * size)
                except OSError:
                    break
    return filler
