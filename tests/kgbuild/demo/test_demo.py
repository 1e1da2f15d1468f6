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
