from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from huggingface_hub import ModelCard
from sentence_transformers import SentenceTransformer
from typer.testing import CliRunner

from kgbuild.publish import PublishOptions
from tests.helpers.run_toml import run_toml
from trainer.cli import app
from trainer.push import push_model

# The minimal config of the issue (the base model and pairs folder sit beside it).
MINIMAL = run_toml()


@pytest.fixture
def project(tmp_path, tiny_model, pairs_dir, monkeypatch) -> Path:
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)  # linking only: keeps the tiny run fast
    shutil.copytree(tiny_model, tmp_path / "base")
    shutil.copytree(pairs_dir, tmp_path / "pairs")
    (tmp_path / "run.toml").write_text(MINIMAL, encoding="utf-8")
    return tmp_path


def run(*args: str):
    return CliRunner().invoke(app, list(args))


def mtimes(folder: Path) -> dict[str, int]:
    return {
        p.name: (p / "model.safetensors").stat().st_mtime_ns
        for p in folder.iterdir()
        if (p / "model.safetensors").exists()
    }


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
        "trained",
        "trained",
        "averaged",
    ]
    assert manifest["phases"]["contrastive"]["steps"] == 5 and manifest["phases"]["self_distillation"]["steps"] == 5
    assert manifest["phases"]["weight_averaging"]["weights"] == [0.5, 0.5]
    assert manifest["parameters"]["contrastive"]["max_steps"] == 5
    assert {f["path"].rsplit("/", 1)[-1] for f in manifest["inputs"]["pairs"]} >= {"pairs.parquet", "linking.parquet"}
    assert all(len(f["sha256"]) == 64 for f in manifest["inputs"]["pairs"])
    assert manifest["seeds"]["seed"] == 42 and "sentence-transformers" in manifest["versions"]
    assert set(manifest["scores"]) == {"base", "contrastive", "self_distillation", "weight_averaging"}
    assert "KG linking acc@1" in manifest["scores"]["weight_averaging"]["headline"]
    assert {"contrastive", "self_distillation", "weight_averaging", "total"} <= set(manifest["timings_s"])
    assert "KG linking acc@1" in result.output  # the summary table of scores after each phase
    assert not (out / "checkpoints").exists()  # a finished phase's checkpoints are deleted once its model is saved

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
    assert manifest["phases"]["weight_averaging"]["status"] == "averaged"
    assert manifest["phases"]["contrastive"]["status"] == "skipped (complete)"
    assert mtimes(out)["contrastive"] == before["contrastive"]
    # a rebuilt phase makes the later ones stale: they are retrained too (--keep-checkpoints changes no fingerprint)
    shutil.rmtree(out / "self_distillation")
    assert run("run-all", "--config", str(project / "run.toml"), "--keep-checkpoints").exit_code == 0
    assert sorted(p.name for p in (out / "checkpoints").iterdir()) == ["self_distillation"]  # averaging has none
    manifest = json.loads((out / "manifest.json").read_text())
    assert [manifest["phases"][p]["status"] for p in ("contrastive", "self_distillation", "weight_averaging")] == [
        "skipped (complete)",
        "trained",
        "averaged",
    ]

    # a changed phase config is not silently mixed with old outputs
    result = run("run-all", "--config", str(project / "run.toml"), "--set", "self_distillation.max_steps=6")
    assert result.exit_code == 1
    assert "another configuration" in result.output and "--force" in result.output


def test_the_run_summary_fits_80_columns_with_n_on_every_row():
    """Issue 31, item 3: the summary cut its headers ("self_dis…") and broke metric names over three lines."""
    from trainer.commands.run_all import summary_table

    results = {"BIOSSES": {"spearman": 81.2, "n": 100}, "KG linking": {"acc@1": 55.5, "acc@5": 90.0, "n": 900}}
    phases = ("base", "contrastive", "self_distillation", "weight_averaging", "multilingual")
    manifest = {"scores": {p: {"results": results} for p in phases}, "reference": {"name": "all-MiniLM-L6-v2"}}
    text = summary_table(manifest)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80, text
    assert "M3 = self_distillation" in lines and "R1 = published all-MiniLM-L6-v2" in lines
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in lines if line.startswith("│")]
    assert {r[0] for r in rows} == {"BIOSSES", "KG linking"} and all(r[2] for r in rows)  # n on every row


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

    from tests.helpers.tiny_bert import build_tiny_model

    pq.write_table(
        pa.table(
            {
                "en": ["heart attack", "fever", "headache", "stroke"],
                "xx": ["hartaanval", "koorts", "hoofdpijn", "beroerte"],
            }
        ),
        project / "en_nl.parquet",
    )
    build_tiny_model(project / "multilingual-base", seed=3)
    (project / "ml.toml").write_text(
        MINIMAL.replace('pairs = "pairs"', 'pairs = "pairs"\nparallel = "en_nl.parquet"')
        + '[multilingual]\nenabled = true\nstudent = "multilingual-base"\n'
        "max_steps = 3\nbatch_size = 4\n",
        encoding="utf-8",
    )
    result = run("run-all", "--config", str(project / "ml.toml"))
    assert result.exit_code == 0, result.output
    manifest = json.loads((project / "run" / "manifest.json").read_text())
    assert manifest["phases"]["multilingual"]["status"] == "trained"
    assert manifest["phases"]["multilingual"]["teacher"] == str(project / "run" / "final")
    assert manifest["inputs"]["parallel"][0]["path"].endswith("en_nl.parquet")
    assert SentenceTransformer(str(project / "run" / "multilingual"), device="cpu").max_seq_length == 64


AUTOMATIC = "This is a [sentence-transformers](https://www.SBERT.net) model"  # sentence-transformers' own card


def staged_card(folder: Path) -> tuple[dict, str]:
    card = ModelCard.load(folder / "README.md")
    return card.data.to_dict(), card.text


@pytest.mark.slow
def test_every_phase_folder_holds_its_card_and_push_reuses_the_final_one(project, tmp_path):
    result = run("run-all", "--config", str(project / "run.toml"))
    assert result.exit_code == 0, result.output
    out = project / "run"
    manifest = json.loads((out / "manifest.json").read_text())
    for folder in ("contrastive", "self_distillation", "final"):
        text = (out / folder / "README.md").read_text()
        assert AUTOMATIC not in text and str(project) not in text  # local paths are reduced to their names

    # the final model: the BioLORD card, its model-index and table from the manifest's scores (with n)
    card = ModelCard.load(out / "final" / "README.md")
    data = card.data.to_dict()
    assert data["kgbuild"]["card"] == "model" and data["kgbuild"]["phase"] == "weight_averaging"
    assert data["library_name"] == "sentence-transformers" and "BioLORD" in data["tags"]
    assert "base_model" not in data  # the base is a local folder: no Hub reference
    assert data["license"] == "other" and data["license_name"]
    linking = manifest["scores"]["weight_averaging"]["results"]["KG linking"]
    [entry] = data["model-index"][0]["results"]
    assert entry["dataset"] == {
        "name": "KG linking",
        "type": "kg-linking",
        "split": "test",
        "args": {"n": linking["n"]},
    }
    assert {m["type"]: m["value"] for m in entry["metrics"]} == {k: round(linking[k], 2) for k in ("acc@1", "acc@5")}
    assert f"| KG linking | acc@1 | {linking['n']} |" in card.text
    assert "**weight_averaging** (this model)" in card.text and "Not for clinical decisions" in card.text
    assert (
        "| 2. Self-distillation | teacher a local model (contrastive), student a local model (contrastive) | 5 |"
        in card.text
    )
    assert 'SentenceTransformer("./run/final")' in card.text

    # an intermediate phase: its short card
    phase = ModelCard.load(out / "contrastive" / "README.md")
    assert phase.data.kgbuild == {
        "card": "phase",
        "phase": "contrastive",
        "fingerprint": manifest["phases"]["contrastive"]["fingerprint"],
    }
    assert "max_steps=5" in phase.text and "batch_size=8" in phase.text and "a local model (base)" in phase.text

    # push reuses the current card, as the Hub repository's; built afresh it is the same card
    pushed = push_model(
        out / "final", PublishOptions(repo_id="my-lab/tiny", dry_run=True, stage_dir=tmp_path / "reused")
    )
    assert pushed.staged.card_reused
    reused, text = staged_card(pushed.folder)
    assert reused["kgbuild"] == {**data["kgbuild"], "model_id": "my-lab/tiny"}
    assert reused["model-index"][0]["name"] == "tiny" and text.startswith("\n# tiny\n")
    assert 'SentenceTransformer("my-lab/tiny")' in text and "./run/final" not in text
    saved = (out / "final" / "README.md").read_text()
    (out / "final" / "README.md").unlink()
    rebuilt = push_model(
        out / "final", PublishOptions(repo_id="my-lab/tiny", dry_run=True, stage_dir=tmp_path / "rebuilt")
    )
    assert not rebuilt.staged.card_reused and staged_card(rebuilt.folder) == (reused, text)

    # evaluation changes: the final card is rewritten; the old one, put back, is stale and push does not reuse it
    result = run("run-all", "--config", str(project / "run.toml"), "--set", "evaluate.linking=false")
    assert result.exit_code == 0, result.output
    fresh = ModelCard.load(out / "final" / "README.md")
    assert "model-index" not in fresh.data.to_dict() and "No evaluation scores were recorded" in fresh.text
    assert fresh.data.kgbuild["key"] != data["kgbuild"]["key"]
    (out / "final" / "README.md").write_text(saved)
    pushed = push_model(
        out / "final", PublishOptions(repo_id="my-lab/tiny", dry_run=True, stage_dir=tmp_path / "stale")
    )
    assert not pushed.staged.card_reused and "model-index" not in staged_card(pushed.folder)[0]
