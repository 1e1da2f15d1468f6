"""The console rules every command shares: --debug anywhere on the line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("cli", ["kgbuild", "trainer"])
def test_debug_after_the_subcommand_shows_the_traceback(cli, tmp_path):
    args = (["extract", "--umls", str(tmp_path / "missing"), "--out", str(tmp_path / "kg")] if cli == "kgbuild"
            else ["evaluate", "--model", str(tmp_path / "missing"), "--pairs", str(tmp_path)])
    plain = subprocess.run([sys.executable, "-m", cli, *args], capture_output=True, text=True, cwd=ROOT)
    debug = subprocess.run([sys.executable, "-m", cli, *args, "--debug"], capture_output=True, text=True, cwd=ROOT)
    assert plain.returncode == 1 and "Traceback" not in plain.stderr and "error:" in plain.stderr
    assert debug.returncode != 0 and "Traceback" in debug.stderr and "No such option" not in debug.stderr
