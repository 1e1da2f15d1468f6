"""`trainer push`: a tiny model built from a config, staged with its card, loaded back, sent at the Hub boundary."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import typer
from huggingface_hub import ModelCard
from typer.testing import CliRunner

from kgbuild.core import lineage
from kgbuild.core.errors import UserError
from kgbuild.core.manifest import write_manifest
from kgbuild.publish import PublishOptions
from kgbuild.publish import upload as upload_module
from tests.helpers import publish_hub
from tests.helpers.run_toml import run_toml
from tests.helpers.tiny_bert import build_tiny_model
from trainer.commands.push import register
from trainer.push import push_model

TOKEN = "hf_pushTestToken0123456789abcdef"


def write_kg(folder: Path, sources: list[tuple]) -> Path:
    """Only what the licence assessment reads: the sources table and the extract manifest."""
    folder.mkdir(parents=True)
    schema = pa.schema(
        [
            ("sab", pa.string()),
            ("name", pa.string()),
            ("version", pa.string()),
            ("lang", pa.string()),
            ("srl", pa.int32()),
            ("n_atoms", pa.int64()),
        ]
    )
    pq.write_table(
        pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in sources], schema=schema),
        folder / "sources.parquet",
    )
    write_manifest(
        folder,
        command="extract --umls",
        inputs={"umls": "META"},
        parameters={"langs": ["ENG"], "sabs": [], "exclude_sabs": [], "keep_suppressed": False, "max_srl": None},
        tables={"sources": len(sources)},
        timings={},
        extra={"release": {"name": "2025AA", "source": "UMLS Metathesaurus"}},
    )
    return folder


def scores(biosses: float, acc1: float) -> dict:
    """A model's entry in the run manifest's scores, as trainer run-all records it (evaluate_model's results)."""
    results = {"BIOSSES": {"spearman": biosses, "n": 100}, "KG linking": {"acc@1": acc1, "acc@5": acc1 + 10, "n": 40}}
    return {"results": results, "headline": {"BIOSSES": biosses, "KG linking acc@1": acc1}}


def write_run(root: Path, model: Path, *, sources: list[tuple], carried: bool = True) -> Path:
    """A run folder as `trainer run-all` leaves it: phase outputs beside manifest.json, with the lineage block that
    build-pairs and run-all write (`carried=False`: as they wrote before lineage was recorded)."""
    kg = write_kg(root / "kg", sources)
    pairs = root / "pairs"
    pairs.mkdir()
    write_manifest(
        pairs,
        command="build-pairs",
        inputs={"kg": {"path": str(kg), "rows": {}}},
        parameters={},
        tables={},
        timings={},
        extra={"lineage": lineage.carry(kg)} if carried else None,
    )
    run = root / "run"
    run.mkdir()
    final = run / "final"
    shutil.copytree(model, final)
    (final / "checkpoint-10").mkdir()  # training state that must not be published
    (final / "checkpoint-10" / "optimizer.pt").write_bytes(b"state")
    (final / "trainer_phase.json").write_text("{}")
    (final / "checkpoint_sealed.json").write_text("{}")  # resume's seal, not the model's
    parameters = {
        "data": {"pairs": str(pairs), "evalsets": "/srv/shared/evalsets"},
        "model": {"base": "sentence-transformers/all-mpnet-base-v2", "output_dir": str(run), "seed": 42},
        "contrastive": {"enabled": True, "loss": "mnrl", "batch_size": 512, "epochs": 1.0, "learning_rate": 2e-5},
        "weight_averaging": {"enabled": True, "weights": [0.5, 0.5]},
    }
    write_manifest(
        run,
        command="trainer run-all",
        inputs={},
        parameters=parameters,
        tables={},
        timings={},
        extra={
            "phases": {
                "contrastive": {
                    "status": "trained",
                    "output": str(run / "contrastive"),
                    "steps": 1200,
                    "rows": 614400,
                },
                "weight_averaging": {
                    "status": "averaged",
                    "output": str(final),
                    "models": [str(run / "self_distillation"), str(run / "contrastive")],
                    "weights": [0.5, 0.5],
                },
            },
            "scores": {
                "base": scores(80.43, 41.2),
                "contrastive": scores(84.1, 60.5),
                "weight_averaging": scores(85.02, 61.0),
            },
            "reference": {"name": "all-mpnet-base-v2", "source": "MTEB", "scores": {"BIOSSES": 80.43}},
            **({"lineage": lineage.carry(pairs)} if carried else {}),
        },
    )
    return final


OPEN = [("MSH", "MeSH", "2025", "ENG", 0, 10)]
SNOMED = [("MSH", "MeSH", "2025", "ENG", 0, 10), ("SNOMEDCT_US", "SNOMED CT", "2025_03_01", "ENG", 9, 4)]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    return build_tiny_model(tmp_path_factory.mktemp("model") / "tiny")


@pytest.fixture
def hub(monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    with publish_hub.CardValidator() as server:
        publish_hub.online(monkeypatch, server.url)
        api = publish_hub.RecordingApi()
        monkeypatch.setattr(upload_module, "HfApi", lambda: api)
        yield api


def cli(args: list[str]):
    app = typer.Typer()

    @app.callback()
    def root() -> None:  # a group, so the command is called as `push`, like under `trainer`
        pass

    register(app)
    return CliRunner().invoke(app, ["push", *args])


def test_dry_run_stages_a_loadable_model_with_its_card(tiny, tmp_path):
    from sentence_transformers import SentenceTransformer

    final = write_run(tmp_path, tiny, sources=OPEN)
    result = push_model(
        final, PublishOptions(repo_id="my-lab/biolord-tiny", dry_run=True), datasets=["my-lab/umls-pairs"]
    )
    folder = result.folder
    assert folder == tmp_path / "run" / "final.hub" and result.uploaded is None
    staged, original = SentenceTransformer(str(folder), device="cpu"), SentenceTransformer(str(tiny), device="cpu")
    assert staged.get_embedding_dimension() == 32
    assert (staged.encode(["fever"]) == original.encode(["fever"])).all()
    assert not (folder / "checkpoint-10").exists() and not (folder / "trainer_phase.json").exists()
    assert not (folder / "checkpoint_sealed.json").exists()

    data = ModelCard.load(folder / "README.md").data.to_dict()
    assert data["library_name"] == "sentence-transformers" and data["pipeline_tag"] == "sentence-similarity"
    assert data["base_model"] == "sentence-transformers/all-mpnet-base-v2"
    assert data["datasets"] == ["my-lab/umls-pairs"] and data["license_name"] == "nlm-umls-licence"
    assert "sentence-transformers" in data["tags"]
    results = {
        (r["dataset"]["name"], m["type"]): (m["value"], r["dataset"]["args"]["n"])
        for r in data["model-index"][0]["results"]
        for m in r["metrics"]
    }
    assert results == {
        ("BIOSSES", "spearman_cosine"): (85.02, 100),
        ("KG linking", "acc@1"): (61.0, 40),
        ("KG linking", "acc@5"): (71.0, 40),
    }
    assert data["model-index"][0]["name"] == "biolord-tiny"
    text = (folder / "README.md").read_text()
    assert (
        "| set | metric | n | base | contrastive | **weight_averaging** (this model) | published all-mpnet-base-v2 |"
    ) in text
    assert "| BIOSSES | Spearman (cosine) | 100 | 80.43 | 84.1 | 85.02 | 80.43 |" in text
    assert "| KG linking | acc@1 | 40 | 41.2 | 60.5 | 61.0 |  |" in text
    assert (
        '| 1. Contrastive (LORD: names ↔ definitions/descriptions) |  | 1200 | 614400 | loss="mnrl", batch_size=512'
    ) in text
    assert (
        "| 3. Weight averaging | a local model (self_distillation) × 0.5 + a local model (contrastive) × 0.5 |" in text
    )
    assert "Not for clinical decisions" in text and "This run took 1200 optimiser steps" in text
    assert "| Output dimension | 32 |" in text and "| Maximum sequence length | 64 |" in text
    assert "UMLS Metathesaurus release 2025AA" in text and "MSH (SRL 0)" in text
    assert 'SentenceTransformer("my-lab/biolord-tiny")' in text and "10.1093/jamia/ocae029" in text
    run = json.loads((folder / "kgbuild_run.json").read_text())
    assert run["parameters"]["data"]["evalsets"] == "evalsets"  # local paths reduced to their names


def test_push_sends_the_staged_folder_as_a_private_model(tiny, tmp_path, hub):
    final = write_run(tmp_path, tiny, sources=OPEN)
    result = cli(
        [str(final), "--repo-id", "my-lab/biolord-tiny", "--revision", "v1", "--stage-dir", str(tmp_path / "stage")]
    )
    assert result.exit_code == 0, result.output
    assert hub.names() == ["create_repo", "repo_info", "create_branch", "upload_folder"]
    assert hub.call("create_repo")["repo_type"] == "model" and hub.call("create_repo")["private"] is True
    sent = hub.call("upload_folder")
    assert (sent["repo_id"], sent["repo_type"], sent["revision"]) == ("my-lab/biolord-tiny", "model", "v1")
    assert sent["folder_path"] == str(tmp_path / "stage") and hub.sent == publish_hub.snapshot(tmp_path / "stage")
    assert {"README.md", "modules.json", "model.safetensors", "1_Pooling/config.json"} <= set(hub.sent)
    assert TOKEN not in result.output and "uploaded to" in result.output


def test_restricted_training_data_needs_the_acknowledgement_for_public(tiny, tmp_path, hub):
    final = write_run(tmp_path, tiny, sources=SNOMED)
    result = cli([str(final), "--repo-id", "my-lab/biolord-tiny", "--public"])
    assert result.exit_code == 1 and "SNOMED CT content" in result.output
    assert "--i-have-redistribution-rights" in result.output
    assert hub.calls == [] and sorted(p.name for p in (tmp_path / "run").iterdir()) == ["final", "manifest.json"]
    result = cli([str(final), "--repo-id", "my-lab/biolord-tiny", "--public", "--i-have-redistribution-rights"])
    assert result.exit_code == 0, result.output
    assert hub.call("create_repo")["private"] is False
    assert not any(p.name.startswith(".final.hub") for p in (tmp_path / "run").iterdir())  # scratch removed


def test_without_run_manifest_the_training_data_is_unknown(tiny, tmp_path):
    model = tmp_path / "m"
    shutil.copytree(tiny, model)
    with pytest.raises(UserError, match="run manifest .* was not found"):
        push_model(model, PublishOptions(repo_id="my-lab/x", public=True, dry_run=True))
    result = push_model(
        model, PublishOptions(repo_id="my-lab/x", dry_run=True)
    )  # private is allowed; the card says why
    text = (result.folder / "README.md").read_text()
    assert "could not be established" in text and "not recorded" in text
    assert "No evaluation scores were recorded" in text and "base_model" not in text.split("---")[1]


def test_bad_model_dir_is_refused_before_staging(tiny, tmp_path, hub):
    (tmp_path / "empty").mkdir()
    result = cli([str(tmp_path / "empty"), "--repo-id", "my-lab/x", "--dry-run"])
    assert result.exit_code == 1 and "no modules.json" in result.output
    broken = tmp_path / "broken"
    shutil.copytree(tiny, broken)
    (broken / "model.safetensors").unlink()
    result = cli([str(broken), "--repo-id", "my-lab/x", "--dry-run"])
    assert result.exit_code == 1 and "MODEL_DIR does not load with SentenceTransformer" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken", "empty"] and hub.calls == []


def test_the_run_manifest_lineage_decides_after_the_pairs_and_kg_are_gone(tiny, tmp_path, hub):
    final = write_run(tmp_path, tiny, sources=SNOMED)
    shutil.rmtree(tmp_path / "kg")
    shutil.rmtree(tmp_path / "pairs")
    result = cli([str(final), "--repo-id", "my-lab/biolord-tiny", "--public"])
    assert result.exit_code == 1 and "SNOMED CT content (affiliate licence): SNOMEDCT_US" in result.output
    assert "predates lineage" not in result.output and hub.calls == []
    result = cli([str(final), "--repo-id", "my-lab/biolord-tiny", "--dry-run"])
    assert result.exit_code == 0, result.output
    text = (tmp_path / "run" / "final.hub" / "README.md").read_text()
    assert "UMLS Metathesaurus release 2025AA" in text and "SNOMEDCT_US (SRL 9)" in text


def test_a_run_manifest_without_lineage_is_of_unknown_origin_and_not_walked_back(tiny, tmp_path, hub):
    final = write_run(tmp_path, tiny, sources=OPEN, carried=False)  # open sources: only a walk back would find them
    result = cli([str(final), "--repo-id", "my-lab/biolord-tiny", "--public"])
    assert result.exit_code == 1 and "records no lineage of its training data" in result.output
    assert "rebuild the pairs with kgbuild build-pairs" in result.output and hub.calls == []
    result = cli([str(final), "--repo-id", "my-lab/biolord-tiny", "--dry-run"])  # private: allowed, the card says why
    assert result.exit_code == 0, result.output
    assert "could not be established" in (tmp_path / "run" / "final.hub" / "README.md").read_text()


def test_run_all_carries_the_lineage_of_its_pairs_and_parallel_folders(tmp_path):
    from trainer.config import load_config
    from trainer.run_all import data_lineage

    open_kg = write_kg(tmp_path / "kg-open", OPEN)
    snomed_kg = write_kg(tmp_path / "kg-snomed", SNOMED)
    for name, kg in (("pairs", open_kg), ("parallel", snomed_kg)):
        (tmp_path / name).mkdir()
        write_manifest(
            tmp_path / name,
            command="build-pairs",
            inputs={"kg": {"path": str(kg)}},
            parameters={},
            tables={},
            timings={},
            extra={"lineage": lineage.carry(kg)},
        )
    toml = tmp_path / "run.toml"
    toml.write_text(
        run_toml(base="m", multilingual={"enabled": True, "parallel": "parallel", "student": "s"}), encoding="utf-8"
    )
    block = data_lineage(load_config(toml))
    assert [o["kg"] for o in block["origins"]] == ["kg-open", "kg-snomed"]  # the parallel pairs' KG counts too
    assert [s["folder"] for s in block["steps"]] == ["kg-open", "pairs", "kg-snomed", "parallel"]
    toml.write_text(run_toml(base="m", multilingual={"parallel": "parallel", "student": "s"}), encoding="utf-8")
    assert [o["kg"] for o in data_lineage(load_config(toml))["origins"]] == ["kg-open"]
