"""generate-definitions carries the KG's lineage into its manifest, and build-pairs --definitions carries it on."""

from __future__ import annotations

import json
import shutil

from llm_helpers import fast_config

from kgbuild import lineage
from kgbuild.llm import DefinitionGenerator
from kgbuild.pairs import build_pairs
from kgbuild.publish.licence import assess

pytest_plugins = ["llm_fixtures"]  # the loopback-server fixture


def test_definitions_and_the_pairs_made_with_them_keep_the_kg_lineage(sample_kg, tmp_path, fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-t")
    kg, defs, pairs = tmp_path / "kg", tmp_path / "defs", tmp_path / "pairs"
    shutil.copytree(sample_kg, kg)
    origin = lineage.origin(kg)
    DefinitionGenerator(kg, defs, fast_config(fake(), limit=3), progress=False).run()
    carried = json.loads((defs / "manifest.json").read_text())["lineage"]
    assert carried == origin and {s["sab"] for s in carried["origins"][0]["sources"]} >= {"SNOMEDCT_US"}

    build_pairs(kg, pairs, definitions=defs)
    shutil.rmtree(kg)
    shutil.rmtree(defs)
    block = json.loads((pairs / "manifest.json").read_text())["lineage"]
    assert block["origins"] == origin["origins"]  # the same KG through both inputs: one origin
    assert [s["command"] for s in block["steps"]] == ["extract --umls", "generate-definitions"]
    lic = assess(pairs)
    assert lic.restricted and lic.release == "SAMPLE-2025AA" and any("SNOMEDCT_US" in r for r in lic.reasons)
    assert [s["command"] for s in lic.chain] == ["build-pairs", "generate-definitions", "extract --umls"]
