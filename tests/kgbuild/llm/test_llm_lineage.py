"""generate-definitions carries the KG's lineage into its manifest, and build-pairs --definitions carries it on."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from kgbuild.core import lineage
from kgbuild.core.errors import UserError
from kgbuild.core.render import Renderer
from kgbuild.llm import DefinitionGenerator
from kgbuild.pairs import PairOptions, build_pairs
from kgbuild.publish.licence import assess
from tests.helpers.llm_helpers import fast_config

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the loopback-server fixture


def test_definitions_and_the_pairs_made_with_them_keep_the_kg_lineage(sample_kg, tmp_path, fake, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-t")
    kg, defs, pairs = tmp_path / "kg", tmp_path / "defs", tmp_path / "pairs"
    shutil.copytree(sample_kg, kg)
    origin = lineage.origin(kg)
    DefinitionGenerator(kg, defs, fast_config(fake(), limit=3)).run()
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


@pytest.mark.slow
def test_two_models_in_one_folder_are_listed_and_build_pairs_takes_one(sample_kg, tmp_path, fake, monkeypatch):
    """Issue 25, item 4: the model an answer came from is part of its identity. Two runs with two models into one
    --out keep both (paid for), the manifest lists both, and build-pairs takes one model's answers, never a mix."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-t")
    kg, defs = tmp_path / "kg", tmp_path / "defs"
    shutil.copytree(sample_kg, kg)
    server = fake()
    DefinitionGenerator(kg, defs, fast_config(server, limit=4, model="gpt-4o-mini")).run()
    DefinitionGenerator(kg, defs, fast_config(server, limit=4, model="gpt-4o")).run()
    manifest = json.loads((defs / "manifest.json").read_text())
    listed = {m["model"]: m for m in manifest["models"]}
    assert set(listed) == {"gpt-4o-mini", "gpt-4o"} and listed["gpt-4o"]["ok"] == listed["gpt-4o-mini"]["ok"] == 4

    def llm_pairs(folder):
        return duckdb.sql(
            f"SELECT count(*) FROM read_parquet('{folder}/pairs.parquet') WHERE kind = 'llm_definition'"
        ).fetchall()[0][0]

    def used(folder):
        return json.loads((folder / "manifest.json").read_text())["inputs"]["definitions"]

    build_pairs(kg, tmp_path / "pairs", definitions=defs)  # the model of the run that wrote the folder last
    assert used(tmp_path / "pairs")["model"] == "gpt-4o"
    build_pairs(kg, tmp_path / "pairs-mini", definitions=defs, options=PairOptions(definitions_model="gpt-4o-mini"))
    assert used(tmp_path / "pairs-mini")["model"] == "gpt-4o-mini"
    # One model's four definitions each time, not both models' eight.
    assert llm_pairs(tmp_path / "pairs") == llm_pairs(tmp_path / "pairs-mini") > 0
    with pytest.raises(UserError, match="no answers of model 'gpt-5'"):
        build_pairs(kg, tmp_path / "pairs-x", definitions=defs, options=PairOptions(definitions_model="gpt-5"))

    (defs / "manifest.json").unlink()  # a folder whose run was killed before its manifest: no way to tell
    with pytest.raises(UserError, match="several models: gpt-4o"):
        build_pairs(kg, tmp_path / "pairs-y", definitions=defs)


def test_definitions_print_plain_progress_lines_in_a_log_file(sample_kg, tmp_path, fake, monkeypatch, capfd):
    """Issue 31, item 2: the demo's LLM step ran 35 minutes without a line when stderr was a log file."""
    monkeypatch.setenv("OPENAI_API_KEY", "sk-t")
    monkeypatch.setenv("KGBUILD_PROGRESS_EVERY_S", "0")
    DefinitionGenerator(sample_kg, tmp_path / "defs", fast_config(fake(), limit=3), report=Renderer()).run()
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("definitions: ")]
    assert lines and lines[-1].startswith("definitions: 3/3 (100%)") and "ok 3" in lines[-1], lines
