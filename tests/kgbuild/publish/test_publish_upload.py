"""The upload path at the huggingface_hub boundary: repo, type, privacy, revision and the files sent; no network."""

from __future__ import annotations

import json

import pytest
from datasets import load_dataset
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.core.errors import UserError
from kgbuild.publish import PublishOptions, publish_dataset
from kgbuild.publish import upload as upload_module
from tests.helpers.publish_hub import CardValidator, RecordingApi, online, snapshot


def test_upload_sends_the_verified_staged_folder_privately_to_the_revision(kg, tmp_path, hub_token, card_validator):
    api = RecordingApi()
    result = publish_dataset(
        kg, PublishOptions(repo_id="my-lab/umls-kg", stage_dir=tmp_path / "repo", revision="v2025aa", api=api)
    )

    assert api.names() == ["create_repo", "repo_info", "create_branch", "upload_folder"]
    assert api.call("create_repo") == {
        "repo_id": "my-lab/umls-kg",
        "token": hub_token,
        "private": True,
        "repo_type": "dataset",
        "exist_ok": True,
    }
    assert api.call("create_branch") == {
        "repo_id": "my-lab/umls-kg",
        "branch": "v2025aa",
        "repo_type": "dataset",
        "token": hub_token,
        "exist_ok": True,
    }
    sent = api.call("upload_folder")
    assert (sent["repo_id"], sent["repo_type"], sent["revision"]) == ("my-lab/umls-kg", "dataset", "v2025aa")
    assert sent["folder_path"] == str(tmp_path / "repo") == str(result.staged.folder)
    # What was sent is exactly the verified folder, and it is a dataset users can load.
    assert api.sent == snapshot(tmp_path / "repo")
    assert {"README.md", "manifest.json", "concepts/train-00000-of-00001.parquet"} <= set(api.sent)
    assert load_dataset(str(api.sent_from), "relations", split="train", cache_dir=str(tmp_path / "c")).num_rows == 2
    assert result.uploaded.private and result.uploaded.revision == "v2025aa"
    assert [json.loads(b)["repoType"] for b in card_validator.bodies] == ["dataset"]
    assert json.loads(card_validator.bodies[0])["content"] == (tmp_path / "repo" / "README.md").read_text()


def test_without_stage_dir_the_scratch_folder_is_removed_after_upload(kg, hub_token, card_validator):
    api = RecordingApi()
    result = publish_dataset(kg, PublishOptions(repo_id="my-lab/umls-kg", api=api))
    assert "revision" in api.call("upload_folder") and api.call("upload_folder")["revision"] is None
    assert "create_branch" not in api.names()
    assert "README.md" in api.sent and not api.sent_from.exists() and not result.kept
    assert sorted(p.name for p in kg.parent.iterdir()) == ["kg"]  # no scratch left beside DATA_DIR


def test_cli_upload_never_prints_the_token(kg, tmp_path, hub_token, card_validator, monkeypatch):
    api = RecordingApi()
    monkeypatch.setattr(upload_module, "HfApi", lambda: api)
    result = CliRunner().invoke(
        app, ["publish", str(kg), "--repo-id", "my-lab/umls-kg", "--stage-dir", str(tmp_path / "repo")]
    )
    assert result.exit_code == 0, result.output
    assert "uploaded to https://huggingface.co/datasets/my-lab/umls-kg" in result.output
    assert "private" in result.output
    assert hub_token not in result.output
    assert all(hub_token not in (tmp_path / "repo" / f).read_text(errors="replace") for f in api.sent)


def test_existing_public_repo_is_not_uploaded_to_without_public(kg, hub_token, card_validator):
    api = RecordingApi(existing_public=True)
    with pytest.raises(UserError, match="already exists and is public"):
        publish_dataset(kg, PublishOptions(repo_id="my-lab/umls-kg", api=api))
    assert "upload_folder" not in api.names()


def test_the_hub_rejecting_the_card_stops_before_any_repository_call(kg, tmp_path, hub_token, monkeypatch):
    api = RecordingApi()
    with CardValidator(reject='"license" must be one of [...]') as server:
        online(monkeypatch, server.url)
        with pytest.raises(UserError, match="the Hub rejects the card's metadata"):
            publish_dataset(kg, PublishOptions(repo_id="my-lab/umls-kg", stage_dir=tmp_path / "repo", api=api))
    assert api.calls == []


def test_no_token_is_a_clear_error_and_nothing_is_sent(kg, tmp_path, monkeypatch, card_validator):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setattr(upload_module, "get_token", lambda: None)  # no `hf auth login` either
    api = RecordingApi()
    with pytest.raises(UserError, match="no Hugging Face token found.*HF_TOKEN"):
        publish_dataset(kg, PublishOptions(repo_id="my-lab/umls-kg", api=api))
    assert api.calls == []


def test_a_token_inside_the_staged_files_is_refused(kg, tmp_path, hub_token, card_validator):
    manifest = json.loads((kg / "manifest.json").read_text())
    manifest["parameters"]["note"] = f"token={hub_token}"  # e.g. pasted into a config by mistake
    (kg / "manifest.json").write_text(json.dumps(manifest))
    api = RecordingApi()
    with pytest.raises(UserError, match="contains the Hugging Face token") as info:
        publish_dataset(kg, PublishOptions(repo_id="my-lab/umls-kg", stage_dir=tmp_path / "repo", api=api))
    assert hub_token not in str(info.value) and api.calls == []


@pytest.mark.parametrize("repo_id", ["umls-kg", "my lab/kg", "my-lab/kg/extra", "-lab/kg", "lab/kg.git"])
def test_invalid_repo_id_is_refused_before_anything(kg, repo_id):
    with pytest.raises(UserError, match="invalid --repo-id"):
        publish_dataset(kg, PublishOptions(repo_id=repo_id, dry_run=True))
    assert not (kg.parent / "kg.hub").exists()


def test_offline_mode_is_one_line_before_anything_is_sent(kg, tmp_path, hub_token, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # as `export HF_HUB_OFFLINE=1` sets it
    api = RecordingApi()
    with pytest.raises(UserError, match="HF_HUB_OFFLINE is set"):
        publish_dataset(kg, PublishOptions(repo_id="my-lab/umls-kg", stage_dir=tmp_path / "repo", api=api))
    assert api.calls == []
