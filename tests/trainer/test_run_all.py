from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from sentence_transformers import SentenceTransformer
from typer.testing import CliRunner

from trainer.cli import app

# The minimal config of the issue, as is (the base model and pairs folder sit beside it).
MINIMAL = """\
[data]
pairs = "pairs"                 # a build-pairs output folder
[model]
base = "base"
output_dir = "run"
[contrastive]
max_steps = 5
batch_size = 8
[self_distillation]
max_steps = 5
batch_size = 8
[weight_averaging]
weights = [0.5, 0.5]            # self_distillation, contrastive
"""


@pytest.fixture
def project(tmp_path, tiny_model, pairs_dir, monkeypatch) -> Path:
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)   # linking only: keeps the tiny run fast
    shutil.copytree(tiny_model, tmp_path / "base")
    shutil.copytree(pairs_dir, tmp_path / "pairs")
    (tmp_path / "run.toml").write_text(MINIMAL, encoding="utf-8")
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def mtimes(folder: Path) -> dict[str, int]:
    return {p.name: (p / "model.safetensors").stat().st_mtime_ns for p in folder.iterdir()
            if (p / "model.safetensors").exists()}


@pytest.mark.slow
def test_minimal_config_runs_resumes_and_writes_a_manifest(project):
    result = run("run-all", "--config", str(project / "run.toml"))
    assert result.exit_code == 0, result.output
    out = project / "run"
    for phase in ("contrastive", "self_distillation", "final"):
        model = SentenceTransformer(str(out / phase), device="cpu")
        assert model.encode(["heart attack"]).shape == (1, 32)
    manifest = json.loads((out / "manifest.json").read_text())
    assert [manifest["phases"][p]["status"] for p in ("contrastive", "self_distillation", "weight_averaging")] == [
        "trained"] * 3
    assert manifest["phases"]["contrastive"]["steps"] == 5 and manifest["phases"]["self_distillation"]["steps"] == 5
    assert manifest["phases"]["weight_averaging"]["weights"] == [0.5, 0.5]
    assert manifest["parameters"]["contrastive"]["max_steps"] == 5
    assert {f["path"].rsplit("/", 1)[-1] for f in manifest["inputs"]["pairs"]} >= {"pairs.parquet", "linking.parquet"}
    assert all(len(f["sha256"]) == 64 for f in manifest["inputs"]["pairs"])
    assert manifest["seeds"]["seed"] == 42 and "sentence-transformers" in manifest["versions"]
    assert set(manifest["scores"]) == {"base", "contrastive", "self_distillation", "weight_averaging"}
    assert "KG linking acc@1" in manifest["scores"]["weight_averaging"]["headline"]
    assert {"contrastive", "self_distillation", "weight_averaging", "total"} <= set(manifest["timings_s"])
    assert "KG linking acc@1" in result.output   # the summary table of scores after each phase
    assert not (out / "checkpoints").exists()    # a finished phase's checkpoints are deleted once its model is saved

    # resume: nothing is retrained
    before = mtimes(out)
    result = run("run-all", "--config", str(project / "run.toml"))
    assert result.exit_code == 0, result.output
    assert mtimes(out) == before
    manifest = json.loads((out / "manifest.json").read_text())
    assert {p["status"] for p in manifest["phases"].values()} == {"skipped (complete)"}

    # a removed phase output is rebuilt, the finished ones before it are kept
    shutil.rmtree(out / "final")
    assert run("run-all", "--config", str(project / "run.toml")).exit_code == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["phases"]["weight_averaging"]["status"] == "trained"
    assert manifest["phases"]["contrastive"]["status"] == "skipped (complete)"
    assert mtimes(out)["contrastive"] == before["contrastive"]
    # a rebuilt phase makes the later ones stale: they are retrained too (--keep-checkpoints changes no fingerprint)
    shutil.rmtree(out / "self_distillation")
    assert run("run-all", "--config", str(project / "run.toml"), "--keep-checkpoints").exit_code == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["self_distillation"]  # averaging has none
    manifest = json.loads((out / "manifest.json").read_text())
    assert [manifest["phases"][p]["status"] for p in ("contrastive", "self_distillation", "weight_averaging")] == [
        "skipped (complete)", "trained", "trained"]

    # a changed phase config is not silently mixed with old outputs
    result = run("run-all", "--config", str(project / "run.toml"), "--set", "self_distillation.max_steps=6")
    assert result.exit_code == 1
    assert "another configuration" in result.output and "--force" in result.output


def test_config_errors_are_one_red_line_naming_the_file(project):
    (project / "bad.toml").write_text(MINIMAL.replace("batch_size = 8\n[self", "batch_sise = 8\n[self"))
    result = run("run-all", "--config", str(project / "bad.toml"))
    assert result.exit_code == 1
    assert "bad.toml:8" in result.output and "batch_sise" in result.output
    assert not (project / "run").exists()
    (project / "nopairs.toml").write_text(MINIMAL.replace('pairs = "pairs"', 'pairs = "missing"'))
    result = run("run-all", "--config", str(project / "nopairs.toml"))
    assert result.exit_code == 1 and "missing" in result.output and "build-pairs" in result.output
    assert not (project / "run").exists()


@pytest.mark.slow
def test_run_all_with_the_optional_multilingual_phase(project, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tiny_bert import build_tiny_model

    pq.write_table(pa.table({"en": ["heart attack", "fever", "headache", "stroke"],
                             "xx": ["hartaanval", "koorts", "hoofdpijn", "beroerte"]}), project / "en_nl.parquet")
    build_tiny_model(project / "multilingual-base", seed=3)
    (project / "ml.toml").write_text(MINIMAL.replace('pairs = "pairs"', 'pairs = "pairs"\nparallel = "en_nl.parquet"')
                                     + '[multilingual]\nenabled = true\nstudent = "multilingual-base"\n'
                                       "max_steps = 3\nbatch_size = 4\n", encoding="utf-8")
    result = run("run-all", "--config", str(project / "ml.toml"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((project / "run" / "manifest.json").read_text())
    assert manifest["phases"]["multilingual"]["status"] == "trained"
    assert manifest["phases"]["multilingual"]["teacher"] == str(project / "run" / "final")
    assert manifest["inputs"]["parallel"][0]["path"].endswith("en_nl.parquet")
    assert SentenceTransformer(str(project / "run" / "multilingual"), device="cpu").max_seq_length == 64
