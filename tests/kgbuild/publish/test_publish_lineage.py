"""The licence guard reads the lineage block that build-pairs carries forward: the KG may be gone by publish time.

The chain is real: the bundled sample extracted (ICD10CM at SRL 4, SNOMED CT at SRL 9), build-pairs, then the KG
folder deleted before `kgbuild publish --dry-run`.
"""

from __future__ import annotations

import json
import shutil

import pytest
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.core import lineage
from kgbuild.core.errors import UserError
from kgbuild.core.manifest import write_manifest
from kgbuild.pairs import build_pairs
from kgbuild.publish.licence import assess
from kgbuild.umls.extract import ExtractOptions, extract_umls
from tests.helpers.publish_kg import make_kg, write_table

OPEN = [("MSH", "MeSH", "2025", "ENG", 0, 5)]
RESTRICTED = [("MDR", "MedDRA", "27.1", "ENG", 3, 2), ("MSH", "MeSH", "2025", "ENG", 0, 3)]


def publish(*args: str):
    return CliRunner().invoke(app, ["publish", *args, "--repo-id", "my-lab/pairs", "--dry-run"])


def pairs_without_their_kg(tmp_path, kg, name="pairs"):
    """build-pairs from `kg`, then the KG deleted: only the pairs folder's own manifest is left to read."""
    out = tmp_path / name
    build_pairs(kg, out)
    shutil.rmtree(kg)
    return out


def test_restricted_sample_pairs_need_the_acknowledgement_after_the_kg_is_deleted(sample_kg, tmp_path):
    kg = tmp_path / "kg"
    shutil.copytree(sample_kg, kg)
    pairs = pairs_without_their_kg(tmp_path, kg)
    block = json.loads((pairs / "manifest.json").read_text())["lineage"]
    [origin] = block["origins"]
    assert origin["origin"] == "umls" and origin["release"] == "SAMPLE-2025AA" and origin["filters"]["max_srl"] is None
    assert {s["sab"]: s["srl"] for s in origin["sources"]} == {"ICD10CM": 4, "MSH": 0, "SNOMEDCT_US": 9}
    assert [s["command"] for s in block["steps"]] == ["extract --umls"]

    result = publish(str(pairs), "--public")
    assert result.exit_code == 1 and "refusing to publish publicly" in result.output
    assert "SNOMED CT content (affiliate licence): SNOMEDCT_US" in result.output and "ICD10CM (SRL 4)" in result.output
    assert "predates lineage" not in result.output
    result = publish(str(pairs), "--public", "--i-have-redistribution-rights", "--stage-dir", str(tmp_path / "hub"))
    assert result.exit_code == 0, result.output
    card = (tmp_path / "hub" / "README.md").read_text()
    assert "release **SAMPLE-2025AA**" in card and "| SNOMEDCT_US |" in card and "Read from the sources table." in card
    assert "| `kgbuild build-pairs` |" in card and "| `kgbuild extract --umls` |" in card  # the steps, newest first
    assert card.index("kgbuild build-pairs") < card.index("kgbuild extract --umls")


def test_open_sample_pairs_publish_publicly_after_the_kg_is_deleted(sample_meta, tmp_path, capsys):
    kg = tmp_path / "kg"
    extract_umls(sample_meta, kg, ExtractOptions(max_srl=0))  # MSH only
    pairs = pairs_without_their_kg(tmp_path, kg)
    lic = assess(pairs)
    assert not lic.restricted and [s.sab for s in lic.sources] == ["MSH"] and lic.extract_parameters["max_srl"] == 0
    assert "predates lineage" not in capsys.readouterr().err
    result = publish(str(pairs), "--public")
    assert result.exit_code == 0, result.output


def test_definitions_from_another_kg_bring_their_sources_into_the_pairs(tmp_path):
    open_kg = make_kg(tmp_path / "kg-open", sources=OPEN)
    restricted = make_kg(tmp_path / "kg-restricted", sources=RESTRICTED)
    defs = tmp_path / "defs"  # generate-definitions' manifest as it is now written: the KG's lineage carried
    defs.mkdir()
    write_manifest(
        defs,
        command="generate-definitions",
        inputs={"kg": str(restricted)},
        parameters={"model": "m"},
        tables={},
        timings={},
        extra={"lineage": lineage.carry(restricted)},
    )
    both = lineage.carry(open_kg, defs)
    assert [o["kg"] for o in both["origins"]] == ["kg-open", "kg-restricted"]
    assert [(s["folder"], s["command"]) for s in both["steps"]] == [
        ("kg-open", "extract --umls"),
        ("kg-restricted", "extract --umls"),
        ("defs", "generate-definitions"),
    ]
    pairs = tmp_path / "pairs"
    pairs.mkdir()
    write_table(pairs, "definitions", [("C0015967", "AT0001", "MSH", "A rise.", "umls")])
    write_manifest(
        pairs,
        command="build-pairs",
        inputs={"kg": {"path": str(open_kg)}},
        parameters={},
        tables={},
        timings={},
        extra={"lineage": both},
    )
    shutil.rmtree(open_kg)
    shutil.rmtree(restricted)
    lic = assess(pairs)
    assert lic.restricted and "MDR (SRL 3)" in " ".join(lic.reasons)
    assert any("more than one knowledge graph: kg-open (umls), kg-restricted (umls)" in r for r in lic.reasons)
    assert [s["folder"] for s in lic.chain] == ["pairs", "defs", "kg-restricted", "kg-open"]


def test_the_same_kg_read_twice_is_one_origin(tmp_path):
    kg = make_kg(tmp_path / "kg", sources=OPEN)
    defs = tmp_path / "defs"
    defs.mkdir()
    write_manifest(
        defs,
        command="generate-definitions",
        inputs={"kg": str(kg)},
        parameters={},
        tables={},
        timings={},
        extra={"lineage": lineage.carry(kg)},
    )
    block = lineage.carry(kg, defs)
    assert len(block["origins"]) == 1 and len(block["steps"]) == 2


def test_an_input_without_lineage_is_refused_with_the_rebuild_hint_and_nothing_staged(tmp_path):
    kg = make_kg(tmp_path / "kg", sources=RESTRICTED)
    old = tmp_path / "defs"
    old.mkdir()
    write_table(old, "definitions", [("C0015967", "L1", "LLM", "A rise in body temperature.", "llm")])
    write_manifest(old, command="generate-definitions", inputs={"kg": str(kg)}, parameters={}, tables={}, timings={})
    assert lineage.carry(kg, old) is None  # rather than a block that leaves the old folder's sources out

    with pytest.raises(UserError, match="no lineage block") as info:
        assess(old)  # its origin is never guessed by following the manifests back to a KG
    assert "rebuild it" in str(info.value) and str(old / "manifest.json") in str(info.value)
    result = CliRunner().invoke(app, ["publish", str(old), "--repo-id", "my-lab/defs", "--dry-run"])
    assert result.exit_code == 1 and "no lineage block" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "defs.hub").exists()


def test_a_kg_is_its_own_origin_without_a_warning(tmp_path, capsys):
    kg = make_kg(tmp_path / "kg", sources=RESTRICTED)
    lic = assess(kg)
    assert lic.restricted and lic.sources_from == f"sources table of {kg}" and lic.release == "2025AA"
    assert capsys.readouterr().err == ""
