"""`kgbuild info DIR` on real outputs: a KG and its pairs."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from kgbuild.cli import app


def test_info_says_what_a_kg_and_its_pairs_hold(sample_kg, tmp_path):
    from kgbuild.pairs.build import build_pairs

    kg = CliRunner().invoke(app, ["info", str(sample_kg)])
    assert kg.exit_code == 0, kg.output
    lines = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in kg.stdout.splitlines())
    assert lines["made by"].startswith("extract --umls") and lines["UMLS release"] == "SAMPLE-2025AA"
    assert lines["table concepts"] == "486 rows in 1 file" and lines["sources"] == "ICD10CM, MSH, SNOMEDCT_US"
    pairs = tmp_path / "pairs"
    build_pairs(sample_kg, pairs)
    out = CliRunner().invoke(app, ["info", str(pairs)]).stdout
    assert "pairs splits" in out and "train" in out and "test" in out
    missing = CliRunner().invoke(app, ["info", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "not a folder" in missing.stderr


GARBAGE_MANIFESTS = [
    "[]",
    "null",
    '"a string"',
    '{"command": "trainer run-all", "phases": "x"}',
    '{"command": "trainer run-all", "phases": {"contrastive": 5}}',
    '{"kind": "kgbuild-linking-index", "model": 3}',
    "{not json",
]


@pytest.mark.parametrize("text", GARBAGE_MANIFESTS)
def test_info_on_a_garbage_manifest_is_one_line(tmp_path, text):
    """Issue 28, item 10: a manifest of the wrong shape was an internal error in 16 of 22 cases."""
    from typer.testing import CliRunner

    from kgbuild.cli import app

    (tmp_path / "manifest.json").write_text(text)
    result = CliRunner().invoke(app, ["info", str(tmp_path)])
    assert result.exit_code == 1 and "internal error" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "manifest.json" in errors[0]


def test_info_on_a_truncated_parquet_names_the_file(tmp_path):
    from typer.testing import CliRunner

    from kgbuild.cli import app

    (tmp_path / "names.parquet").write_bytes(b"PAR1 cut short")
    result = CliRunner().invoke(app, ["info", str(tmp_path)])
    assert result.exit_code == 1 and "names.parquet: not a readable Parquet file" in result.output, result.output


def test_info_on_a_run_fits_80_columns(tmp_path):
    """Issue 31, item 3: a run's scores were one 184-character line, split mid-word by the terminal."""
    import json

    headline = {f"set number {i}": 81.25 for i in range(8)}
    phase = {"status": "trained", "steps": 5, "output": str(tmp_path / ("a-long-folder-name-" * 4) / "contrastive")}
    manifest = {
        "command": "trainer run-all",
        "created_at": "2026-12-07T05:00:00+00:00",
        "phases": {"contrastive": phase, "self_distillation": phase},
        "scores": {"base": {"headline": headline}, "self_distillation": {"headline": headline}},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    result = CliRunner().invoke(app, ["info", str(tmp_path)], env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    assert "set number 3 81.25" in result.stdout.replace("\n", " ")  # wrapped between the items, not inside one


def test_info_on_an_obo_kg_its_pairs_and_a_run_phase_folder(tmp_path):
    """Issue 31, item 7: "made by unknown" on run/final; an OBO KG without its languages; pairs without lineage;
    "1 rows"; "– steps"."""
    import json
    from pathlib import Path

    obo = Path(__file__).parents[1] / "fixtures" / "obo" / "mini.obo"
    kg, pairs = tmp_path / "kg", tmp_path / "pairs"
    assert CliRunner().invoke(app, ["extract", "--obo", str(obo), "--out", str(kg)]).exit_code == 0
    assert CliRunner().invoke(app, ["build-pairs", "--kg", str(kg), "--out", str(pairs)]).exit_code == 0
    out = CliRunner().invoke(app, ["info", str(kg)]).stdout
    assert "hp (mini/releases/2026-01-01)" in out and "creativecommons.org/licenses/by/4.0" in out
    assert re.search(r"languages\s+ENG \(14 concepts\)", out), out
    out = CliRunner().invoke(app, ["info", str(pairs)]).stdout
    assert re.search(r"made from\s+obo KG .*kg: hp mini/releases/2026-01-01", out), out
    assert re.search(r"step\s+extract --obo", out) and " 1 rows" not in out and "1 file(s)" not in out, out

    run = tmp_path / "run"
    for phase, folder, info in (
        ("contrastive", "contrastive", {"steps": 5}),
        ("weight_averaging", "final", {"models": [str(run / "contrastive"), str(run / "b")], "weights": [0.3, 0.7]}),
    ):
        (run / folder).mkdir(parents=True)
        (run / folder / "trainer_phase.json").write_text(json.dumps({"phase": phase, **info}))
    manifest = {
        "command": "trainer run-all",
        "phases": {
            "contrastive": {"status": "trained", "output": str(run / "contrastive"), "steps": 5},
            "weight_averaging": {"status": "averaged", "output": str(run / "final"), "weights": [0.3, 0.7]},
        },
        "scores": {"weight_averaging": {"headline": {"KG linking acc@1": 50.0}}},
    }
    (run / "manifest.json").write_text(json.dumps(manifest))
    out = CliRunner().invoke(app, ["info", str(run / "final")]).stdout
    assert re.search(r"made by\s+trainer weight_averaging", out) and "averaged contrastive, b (weights 0.3/0.7)" in out
    assert re.search(r"part of\s+the trainer run-all in", out) and "KG linking acc@1 50.0" in out, out
    out = CliRunner().invoke(app, ["info", str(run)]).stdout
    assert "– steps" not in out and "5 steps" in out and "averaged" not in out.split("phase contrastive")[1][:30]
