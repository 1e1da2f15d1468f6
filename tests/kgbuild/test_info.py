"""`kgbuild info DIR` on real outputs: a KG and its pairs."""

from __future__ import annotations

import re

from typer.testing import CliRunner

from kgbuild.cli import app


def test_info_says_what_a_kg_and_its_pairs_hold(sample_kg, tmp_path):
    from kgbuild.pairs.build import build_pairs

    kg = CliRunner().invoke(app, ["info", str(sample_kg)])
    assert kg.exit_code == 0, kg.output
    lines = dict(re.split(r"\s{2,}", line, maxsplit=1) for line in kg.stdout.splitlines())
    assert lines["made by"].startswith("extract --umls") and lines["UMLS release"] == "SAMPLE-2025AA"
    assert lines["table concepts"] == "486 rows in 1 file(s)" and lines["sources"] == "ICD10CM, MSH, SNOMEDCT_US"
    pairs = tmp_path / "pairs"
    build_pairs(sample_kg, pairs, progress=False)
    out = CliRunner().invoke(app, ["info", str(pairs)]).stdout
    assert "pairs splits" in out and "train" in out and "test" in out
    missing = CliRunner().invoke(app, ["info", str(tmp_path / "nope")])
    assert missing.exit_code == 1 and "not a folder" in missing.stderr
