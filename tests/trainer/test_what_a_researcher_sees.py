"""Issue 31, "done means": what `trainer run-all` and `trainer evaluate` print when run as a researcher runs them, in a
subprocess with stderr to a file (not a terminal) and an 80-column terminal for stdout."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from test_evaluation import write_evalsets

from tests.helpers.run_toml import run_toml

# What the libraries print when their logging or bars leak (sentence-transformers, transformers, datasets, tqdm).
LIBRARY_LINES = re.compile(
    r"Loading SentenceTransformer|No device provided|Batches:|Generating .* split|Loading weights|Saving model to|"
    r"Writing model shards|Filter:|Map:|it/s\]|examples/s|Information Retrieval Evaluation|Use pytorch device"
)
INTERVAL = "0"  # a plain progress line at every step: what a log file gets every 30 s


def trainer(*args: str, cwd: Path, stderr: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "COLUMNS": "80", "KGBUILD_PROGRESS_EVERY_S": INTERVAL}
    env.pop("KGBUILD_EVALSETS", None)
    with stderr.open("w") as log:
        return subprocess.run(
            [sys.executable, "-m", "trainer", *args], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=log, text=True
        )


@pytest.mark.slow
def test_run_all_in_a_log_file_is_quiet_alive_and_80_columns(tmp_path, tiny_model, pairs_dir):
    shutil.copytree(tiny_model, tmp_path / "base")
    shutil.copytree(pairs_dir, tmp_path / "pairs")
    write_evalsets(tmp_path / "evalsets")
    (tmp_path / "run.toml").write_text(run_toml(data={"pairs": "pairs", "evalsets": "evalsets"}), encoding="utf-8")
    log = tmp_path / "stderr.log"
    result = trainer("run-all", "--config", "run.toml", cwd=tmp_path, stderr=log)
    stderr = log.read_text()
    assert result.returncode == 0, stderr
    assert not LIBRARY_LINES.search(stderr), stderr
    lines = stderr.splitlines()
    # training: a line per step (the interval is 0), the last one at the end of the phase
    for label in ("contrastive", "self-distillation"):
        steps = [line for line in lines if line.startswith(f"{label}: ") and "/5 (" in line]
        assert [s.split(":")[1].split("/")[0].strip() for s in steps] == ["1", "2", "3", "4", "5"], stderr
        assert "steps/s" in steps[-1] and "loss" in steps[-1]
    # evaluation: a line per set and model, after each phase
    for model in ("base", "contrastive", "self_distillation", "weight_averaging"):
        for row in ("BIOSSES", "STS-B", "KG linking"):
            assert any(line.startswith(f"{model} {row}: ") and "(100%)" in line for line in lines), (model, row)
    out = result.stdout.splitlines()
    assert "KG linking" in result.stdout and max(len(line) for line in out) <= 80, result.stdout


@pytest.mark.slow
def test_evaluate_two_models_named_alike_attaches_no_published_figure(tmp_path, tiny_model):
    """Two folders named like the mpnet and MiniLM bases ("…mpnet/final"), weights of neither: no published column,
    and the two columns told apart."""
    models = [tmp_path / "all-mpnet-base-v2" / "final", tmp_path / "all-MiniLM-L6-v2-mpnet" / "final"]
    for m in models:
        shutil.copytree(tiny_model, m)
    write_evalsets(tmp_path / "evalsets")
    log = tmp_path / "stderr.log"
    args = ["evaluate", *map(str, models), "--evalsets", "evalsets", "--json", "scores.json"]
    result = trainer(*args, cwd=tmp_path, stderr=log)
    stderr = log.read_text()
    assert result.returncode == 0, stderr
    assert not LIBRARY_LINES.search(stderr), stderr
    assert "published" not in result.stdout and "R1" not in result.stdout, result.stdout
    assert max(len(line) for line in result.stdout.splitlines()) <= 80, result.stdout
    assert "M1 = all-mpnet-base-v2/final" in result.stdout and "M2 = all-MiniLM-L6-v2-mpnet/final" in result.stdout
    import json

    assert json.loads((tmp_path / "scores.json").read_text())["references"] == {}
