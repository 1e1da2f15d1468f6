"""The licence guard, both ways: restricted content needs an acknowledgement for --public; the card says why."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.core import lineage
from kgbuild.core.errors import UserError
from kgbuild.core.manifest import write_manifest
from kgbuild.publish import PublishOptions, publish_dataset
from kgbuild.publish.licence import assess
from tests.helpers.publish_hub import RecordingApi
from tests.helpers.publish_kg import make_kg, write_table

OPEN = [("MSH", "MeSH", "2025", "ENG", 0, 5)]
RESTRICTED = [("MDR", "MedDRA", "27.1", "ENG", 3, 2), ("MSH", "MeSH", "2025", "ENG", 0, 3)]
SNOMED = [("MSH", "MeSH", "2025", "ENG", 0, 3), ("SNOMEDCT_US", "SNOMED CT, US Edition", "2025_03_01", "ENG", 9, 2)]


def derived(folder, kg_path, *, command="generate-definitions"):
    """A derived output (one contracted table) whose manifest carries the lineage of the KG it came from, as
    generate-definitions writes it (a KG missing then gives an origin that cannot be established)."""
    folder.mkdir(parents=True)
    write_table(folder, "definitions", [("C0015967", "L1", "LLM", "A rise in body temperature.", "llm")])
    write_manifest(
        folder,
        command=command,
        inputs={"kg": str(kg_path)},
        parameters={"model": "gpt-x"},
        tables={"definitions": 1},
        timings={},
        extra={"lineage": lineage.carry(Path(kg_path))},
    )
    return folder


@pytest.mark.parametrize(
    ("sources", "reason"),
    [
        (RESTRICTED, r"restriction level above 0: MDR \(SRL 3\)"),
        (SNOMED, "SNOMED CT content.*SNOMEDCT_US"),
        ([("MSH", "MeSH", "2025", "ENG", None, 5)], "no known restriction level: MSH"),
    ],
)
def test_restricted_sources_are_refused_for_public_before_staging(tmp_path, sources, reason, hub_token):
    kg = make_kg(tmp_path / "kg", sources=sources)
    api = RecordingApi()
    with pytest.raises(UserError, match=reason) as info:
        publish_dataset(kg, PublishOptions(repo_id="my-lab/kg", public=True, api=api))
    assert "--i-have-redistribution-rights" in str(info.value) and "drop --public" in str(info.value)
    assert api.calls == [] and sorted(p.name for p in tmp_path.iterdir()) == ["kg"]


def test_restricted_sources_publish_publicly_with_the_acknowledgement(tmp_path, hub_token, card_validator):
    kg = make_kg(tmp_path / "kg", sources=SNOMED)
    api = RecordingApi()
    result = publish_dataset(
        kg,
        PublishOptions(
            repo_id="my-lab/kg", public=True, acknowledge_rights=True, api=api, stage_dir=tmp_path / "repo"
        ),
    )
    assert api.call("create_repo")["private"] is False and not result.uploaded.private
    text = (tmp_path / "repo" / "README.md").read_text()
    assert "license_name: ihtsdo-and-nlm-licences" in text
    assert "**Redistribution is restricted:** SNOMED CT content (affiliate licence): SNOMEDCT_US" in text
    assert "SNOMED CT Affiliate Licence" in text


def test_restricted_sources_publish_privately_without_acknowledgement(tmp_path, hub_token, card_validator):
    kg = make_kg(tmp_path / "kg", sources=RESTRICTED)
    api = RecordingApi()
    publish_dataset(kg, PublishOptions(repo_id="my-lab/kg", api=api))
    assert api.call("create_repo")["private"] is True and "upload_folder" in api.names()


def test_open_umls_sources_publish_publicly_and_the_card_still_states_the_terms(tmp_path, hub_token, card_validator):
    kg = make_kg(tmp_path / "kg", sources=OPEN)
    api = RecordingApi()
    publish_dataset(kg, PublishOptions(repo_id="my-lab/kg", public=True, api=api, stage_dir=tmp_path / "repo"))
    assert api.call("create_repo")["private"] is False
    text = (tmp_path / "repo" / "README.md").read_text()
    assert "subject to the UMLS Metathesaurus License Agreement" in text
    assert "Users need their own UMLS licence" in text
    assert "Redistribution is restricted" not in text


def test_obo_data_carries_its_ontology_licence(tmp_path):
    kg = make_kg(tmp_path / "kg", origin="obo", sources=[("HP", "hp", "2025-05-06", "ENG", 0, 5)])
    result = publish_dataset(kg, PublishOptions(repo_id="my-lab/hpo", public=True, dry_run=True))
    text = (result.staged.folder / "README.md").read_text()
    assert "license: cc-by-4.0" in text and "tags:\n- biomedical\n- knowledge-graph\n- obo" in text
    assert (
        "derived from the hp ontology (version hp/releases/2025-05-06), distributed under: "
        "https://creativecommons.org/licenses/by/4.0/" in text
    )


def test_obo_without_a_declared_licence_is_restricted(tmp_path):
    kg = make_kg(tmp_path / "kg", origin="obo", sources=[("HP", "hp", None, "ENG", 0, 5)])
    manifest = json.loads((kg / "manifest.json").read_text())
    manifest["ontology"]["licence"] = None
    (kg / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError, match="the ontology hp declares no licence"):
        publish_dataset(kg, PublishOptions(repo_id="my-lab/hpo", public=True, dry_run=True))


def test_a_derived_folders_licence_is_its_lineage(tmp_path):
    restricted = make_kg(tmp_path / "kg-restricted", sources=RESTRICTED)
    open_kg = make_kg(tmp_path / "kg-open", sources=OPEN)
    defs = derived(tmp_path / "defs", restricted)
    lic = assess(defs)
    assert lic.origin == "umls" and lic.restricted and "MDR (SRL 3)" in " ".join(lic.reasons)
    assert [s["folder"] for s in lic.chain] == ["defs", "kg-restricted"] and lic.release == "2025AA"
    with pytest.raises(UserError, match="MDR"):
        publish_dataset(defs, PublishOptions(repo_id="my-lab/defs", public=True, dry_run=True))
    ok = derived(tmp_path / "defs-open", open_kg)
    result = publish_dataset(ok, PublishOptions(repo_id="my-lab/defs", public=True, dry_run=True))
    text = (result.staged.folder / "README.md").read_text()
    assert "generated by the model `gpt-x`" in text and "| `kgbuild generate-definitions` |" in text


def test_a_kg_missing_when_the_folder_was_made_means_the_licence_cannot_be_established(tmp_path):
    defs = derived(tmp_path / "defs", tmp_path / "gone")
    lic = assess(defs)
    assert lic.restricted and lic.origin == "unknown"
    assert any("could not be established" in r for r in lic.reasons)
    result = CliRunner().invoke(app, ["publish", str(defs), "--repo-id", "my-lab/defs", "--public", "--dry-run"])
    assert result.exit_code == 1 and "refusing to publish publicly" in result.output
    assert not (tmp_path / "defs.hub").exists()
    result = CliRunner().invoke(
        app,
        ["publish", str(defs), "--repo-id", "my-lab/defs", "--public", "--dry-run", "--i-have-redistribution-rights"],
    )
    assert result.exit_code == 0, result.output
    assert "dry run: verified repository folder" in result.output and (tmp_path / "defs.hub" / "README.md").exists()


def test_kg_without_manifest_cannot_tell_umls_from_obo(tmp_path):
    kg = make_kg(tmp_path / "kg", sources=OPEN, manifest=False)
    lic = assess(kg)
    assert lic.restricted and lic.origin == "unknown" and lic.sources_from.startswith("sources table")
    with pytest.raises(UserError, match="origin .* could not be established"):
        publish_dataset(kg, PublishOptions(repo_id="my-lab/kg", public=True, dry_run=True))
