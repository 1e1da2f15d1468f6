"""`kgbuild demo` end to end on the bundled sample, LLM step included (transformers serve over the SmolLM2 GGUF)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from kgbuild.cli import app

pytestmark = pytest.mark.slow


def _score_rows(text: str) -> dict[str, list[str]]:
    """The rows of the demo's score table (metric → one figure per model), wherever the text holds it."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("│").split("│")]
        if line.startswith("│") and len(cells) > 2 and re.fullmatch(r"(KG|XL) .*acc@\d+", cells[0]):
            rows[cells[0]] = cells[1:]
    return rows


def test_demo_runs_every_step_and_the_model_loads(tmp_path, monkeypatch):
    """The README's main command as printed there (its defaults: 30 steps a phase, 12 LLM definitions): every step
    runs, every output loads with its consumer, and the score table is the README's, figure for figure (the demo is
    deterministic on a CPU: seeds, greedy decoding, one request at a time)."""
    from kgbuild.llm.local_server import choose_backend, smollm2_gguf

    gguf, why = smollm2_gguf()
    backend, why = choose_backend("transformers") if gguf else (None, why)
    if backend is None:
        pytest.skip(f"the demo's LLM step cannot run: {why}")
    monkeypatch.delenv("KGBUILD_EVALSETS", raising=False)  # KG linking only: the sets are scored elsewhere
    work = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--workdir", str(work), "--llm-server", "transformers"], env={"COLUMNS": "80"}
    )
    assert result.exit_code == 0, result.output
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    printed = readme.split("```text", 1)[1].split("```", 1)[0]  # the demo's output, the README's first block
    assert _score_rows(printed), "the README's demo output has no score table"
    assert _score_rows(result.output) == _score_rows(printed), "the README's demo table differs from a fresh run"
    for folder in (
        "kg",
        "definitions",
        "pairs",
        "hub",
        "run/contrastive",
        "run/self_distillation",
        "run/final",
        "run/multilingual",
    ):
        assert (work / folder).is_dir(), folder
    assert "local transformers server" in result.output and "definitions written: 12;" in result.output
    assert "written in" in result.output
    # The definitions travel forward: build-pairs recorded them as its input.
    pairs_manifest = json.loads((work / "pairs" / "manifest.json").read_text())
    assert "definitions" in json.dumps(pairs_manifest["inputs"])
    manifest = json.loads((work / "run" / "manifest.json").read_text())
    assert set(manifest["scores"]) == {"base", "contrastive", "self_distillation", "weight_averaging", "multilingual"}
    # BioLORD-2023-M from the sample's Spanish and French names: the cross-lingual rows before and after.
    assert {"XL linking SPA acc@1", "XL linking FRE acc@1"} <= set(manifest["scores"]["multilingual"]["headline"])
    assert "KG linking acc@1" in manifest["scores"]["weight_averaging"]["headline"]
    # The staged dataset repository loads with datasets, config by config.
    from datasets import load_dataset

    pairs = load_dataset(str(work / "hub"), "pairs", split="train")  # train concepts only: the Hub splits are real
    assert pairs.column_names[:2] == ["anchor", "positive"] and set(pairs["split"]) == {"train"}
    assert [(len(pairs),)] == duckdb.execute(
        f"SELECT count(*) FROM '{work}/pairs/pairs.parquet' WHERE split = 'train'"
    ).fetchall()
    from sentence_transformers import SentenceTransformer

    assert SentenceTransformer(str(work / "run" / "final")).encode(["oral candidiasis"]).shape == (1, 384)


# The demo with llama.cpp asked for and absent (whatever this machine has installed): the install hint is printed.
_NO_LLAMA = """
import importlib.util, sys
find_spec = importlib.util.find_spec
importlib.util.find_spec = lambda name, *a: None if name == "llama_cpp" else find_spec(name, *a)
from kgbuild.cli import app
from kgbuild.core.console import run_app
run_app(app, sys.argv[1:])
"""


def test_the_demo_console_at_80_columns(tmp_path):
    """What a new user sees in an 80-column terminal: our steps with their row counts, the install hint with its
    brackets intact, our progress for each training phase and no library bars or raw trainer dicts, result tables on
    stdout that fit; --verbose (anywhere on the line) brings the libraries' output back."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    env = {**os.environ, "COLUMNS": "80", "KGBUILD_PROGRESS_EVERY_S": "0"}  # a line at every step of a phase
    env.pop("KGBUILD_EVALSETS", None)
    cmd = [sys.executable, "-c", _NO_LLAMA, "demo", "--steps", "2", "--llm-server", "llama.cpp"]
    quiet = subprocess.run([*cmd, "--workdir", str(tmp_path / "q")], capture_output=True, text=True, cwd=root, env=env)
    assert quiet.returncode == 0, quiet.stderr[-2000:]
    err = " ".join(quiet.stderr.split())
    assert "no local LLM: llama_cpp not installed: pip install 'llama-cpp-python[server]>=0.3'" in err
    assert "{'loss'" not in quiet.stdout + quiet.stderr and "it/s" not in quiet.stderr
    assert "Loading weights" not in quiet.stderr and "Computing widget examples" not in quiet.stderr
    # our progress, as plain lines: stderr is a pipe here, not a terminal
    assert "contrastive: 2/2 (100%)" in quiet.stderr and "self-distillation: 2/2 (100%)" in quiet.stderr
    # Row counts for every step that writes tables.
    assert "rows: names 775, codes 573" in err and "rows: descriptions 486, pairs" in err
    assert "parallel ENG–SPA: 213 pairs" in err and "parallel ENG–FRE: 70 pairs" in err
    assert "staged and verified: crosslingual_linking (validation/test), descriptions (train)" in err
    assert "pairs (train/validation/test), parallel (train/validation/test)" in err
    assert "contrastive (phase 1 of 4)" in err and "the run has about" in err and "Batches:" not in err
    # Results on stdout, within 80 columns, headers whole.
    assert "self-dist." in quiet.stdout and "multiling." in quiet.stdout and "XL SPA acc@1" in quiet.stdout
    assert max(len(line) for line in quiet.stdout.splitlines()) <= 80 and "…" not in quiet.stdout
    assert max(len(line) for line in quiet.stderr.splitlines() if "━" in line or "─" in line) <= 80
    loud = subprocess.run(
        [*cmd, "--workdir", str(tmp_path / "v"), "--verbose"], capture_output=True, text=True, cwd=root, env=env
    )
    assert loud.returncode == 0 and "it/s" in loud.stderr
