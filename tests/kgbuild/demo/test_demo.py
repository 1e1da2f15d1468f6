"""`kgbuild demo` end to end on the bundled sample (LLM step skipped: the local-llm test covers the server)."""

from __future__ import annotations

import json

import duckdb
import pytest
from typer.testing import CliRunner

from kgbuild.cli import app

pytestmark = pytest.mark.slow


def test_demo_runs_every_step_and_the_model_loads(tmp_path, monkeypatch):
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)  # KG linking only: the sets are scored elsewhere
    work = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--workdir", str(work), "--steps", "3", "--no-llm"])
    assert result.exit_code == 0, result.output
    for folder in ("kg", "pairs", "hub", "run/contrastive", "run/self_distillation", "run/final"):
        assert (work / folder).is_dir(), folder
    assert "no local LLM" in result.output and "written in" in result.output
    manifest = json.loads((work / "run" / "manifest.json").read_text())
    assert set(manifest["scores"]) == {"base", "contrastive", "self_distillation", "weight_averaging"}
    assert "KG linking acc@1" in manifest["scores"]["weight_averaging"]["headline"]
    # The staged dataset repository loads with datasets, config by config.
    from datasets import load_dataset

    pairs = load_dataset(str(work / "hub"), "pairs", split="train")  # train concepts only: the Hub splits are real
    assert pairs.column_names[:2] == ["anchor", "positive"] and set(pairs["split"]) == {"train"}
    assert [(len(pairs),)] == duckdb.execute(
        f"SELECT count(*) FROM '{work}/pairs/pairs.parquet' WHERE split = 'train'").fetchall()
    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(work / "run" / "final")).encode(["oral candidiasis"]).shape == (1, 384)


def test_library_output_is_hidden_unless_verbose(tmp_path):
    """The README's main command prints our own steps and one bar per training phase, not the libraries' ~20 tqdm
    bars and raw trainer dicts; --verbose (anywhere on the line) brings them back."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    cmd = [sys.executable, "-m", "kgbuild", "demo", "--steps", "2", "--no-llm"]
    quiet = subprocess.run([*cmd, "--workdir", str(tmp_path / "q")], capture_output=True, text=True, cwd=root)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    assert "{'loss'" not in quiet.stdout + quiet.stderr and "it/s" not in quiet.stderr
    assert "Loading weights" not in quiet.stderr and "Computing widget examples" not in quiet.stderr
    assert "contrastive ━" in quiet.stderr and "self-distillation ━" in quiet.stderr  # our bars
    loud = subprocess.run([*cmd, "--workdir", str(tmp_path / "v"), "--verbose"], capture_output=True, text=True,
                          cwd=root)
    assert loud.returncode == 0 and "it/s" in loud.stderr
