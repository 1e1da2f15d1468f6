"""Issue 28: the trainer keeps the promises kgbuild keeps. Hostile but realistic uses of `trainer` and `kgbuild demo`,
one table row each, through the real CLI in a fresh workspace. Every row asserts: the exit code, no traceback, the
one error line; and that the workspace — every input and every earlier output — is byte-for-byte what it was.

Workspace: base/ (a tiny BERT model), base2/ (a copy), pairs/ (literal build-pairs output), mine/ (a user's folder
with their own run.toml and notes), run.toml (the minimal run config, output_dir run/).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from run_toml import run_toml
from typer.testing import CliRunner

from trainer.cli import app as trainer_app


@dataclass
class Case:
    id: str
    args: str
    message: str  # a regex the one error line must match
    code: int = 1
    setup: Callable[[Path], None] | None = None
    app: str = "trainer"


def config(*, replace: tuple[str, str] | None = None, **sections) -> Callable[[Path], None]:
    """Write run.toml with these sections; `replace` edits its text (TOML's own spellings, such as nan)."""

    def write(w: Path) -> None:
        text = run_toml(**sections)
        (w / "run.toml").write_text(text.replace(*replace) if replace else text)

    return write


CASES = [
    # 1. outputs over inputs
    Case(
        "contrastive-out-is-pairs",
        "contrastive --base base --pairs pairs --out pairs --force",
        r"same path as the input --pairs",
    ),
    Case(
        "contrastive-out-in-pairs",
        "contrastive --base base --pairs pairs --out pairs/model",
        r"inside the input --pairs",
    ),
    Case(
        "contrastive-out-is-base",
        "contrastive --base base --pairs pairs --out base --force",
        r"same path as the input --base",
    ),
    Case("contrastive-out-holds-pairs", "contrastive --base base --pairs pairs --out . --force", r"holds the input"),
    Case("average-out-is-a-model", "average base base2 --out base --force", r"same path as the input model 1"),
    Case(
        "run-all-over-user-folder",
        "run-all --config run.toml",
        r"holds files that trainer run-all did not write",
        setup=config(model={"output_dir": "mine"}),
    ),
    Case(
        "run-all-over-pairs",
        "run-all --config run.toml",
        r"output_dir is the same path as the input \[data\] pairs",
        setup=config(model={"output_dir": "pairs"}),
    ),
    Case(
        "run-all-holding-pairs",
        "run-all --config run.toml",
        r"output_dir holds the input \[data\] pairs",
        setup=config(model={"output_dir": "."}),
    ),
    Case(
        "demo-over-user-folder",
        "demo --workdir mine --no-llm",
        r"--workdir holds files that kgbuild demo did not write",
        app="kgbuild",
    ),
    # 2. garbage numbers never become a model
    Case("average-weight-nan", "average base base2 --weights nan,1 --out avg", r"nan|finite"),
    Case("average-weight-inf", "average base base2 --weights inf,1 --out avg", r"inf|finite"),
    Case(
        "learning-rate-inf",
        "contrastive --base base --pairs pairs --out c --set contrastive.learning_rate=inf",
        r"learning_rate",
    ),
    Case(
        "scale-nan",
        "run-all --config run.toml",
        r"scale",
        setup=config(contrastive={"scale": 1.5}, replace=("scale = 1.5", "scale = nan")),
    ),
    Case("seed-negative", "run-all --config run.toml", r"seed", setup=config(model={"seed": -5})),
    Case("seed-too-large", "run-all --config run.toml", r"seed", setup=config(model={"seed": 2**66})),
]


def _digest(w: Path) -> dict[str, str]:
    out = {}
    for path in sorted(w.rglob("*")):
        rel = str(path.relative_to(w))
        if path.is_symlink():
            out[rel] = "link:" + os.readlink(path)
        elif path.is_file():
            out[rel] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            out[rel] = "dir"
    return out


@pytest.fixture
def workspace(tmp_path, tiny_model, pairs_dir, monkeypatch) -> Path:
    w = tmp_path / "w"
    w.mkdir()
    shutil.copytree(tiny_model, w / "base")
    shutil.copytree(tiny_model, w / "base2")
    shutil.copytree(pairs_dir, w / "pairs")
    (w / "mine").mkdir()
    (w / "mine" / "run.toml").write_text("# my own experiment config, months of tuning\n")
    (w / "mine" / "notes.txt").write_text("years of work")
    (w / "run.toml").write_text(run_toml())
    monkeypatch.chdir(w)
    return w


def invoke(app_name: str, args: str):
    if app_name == "kgbuild":
        from kgbuild.cli import app
    else:
        app = trainer_app
    return CliRunner().invoke(app, args.split())


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_use_is_one_line_and_changes_nothing(case: Case, workspace: Path):
    if case.setup:
        case.setup(workspace)
    before = _digest(workspace)
    result = invoke(case.app, case.args)
    assert result.exit_code == case.code, result.output
    assert "Traceback" not in result.output and "internal error" not in result.output, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and re.search(case.message, errors[0]), result.output
    assert _digest(workspace) == before  # inputs, earlier outputs and the user's files untouched


# -- what must succeed -----------------------------------------------------------------------------------------------


def test_weights_near_the_float_limit_average_without_overflow(workspace: Path):
    import torch
    from sentence_transformers import SentenceTransformer

    result = invoke("trainer", "average base base2 --weights 1e308,1e308 --out avg")
    assert result.exit_code == 0, result.output
    model = SentenceTransformer(str(workspace / "avg"), device="cpu")
    assert all(torch.isfinite(p).all() for p in model.parameters())
    assert json.loads((workspace / "avg" / "trainer_phase.json").read_text())["weights"] == [0.5, 0.5]


def test_a_nan_model_is_never_saved_as_a_finished_phase(workspace: Path):
    import torch
    from sentence_transformers import SentenceTransformer

    broken = SentenceTransformer(str(workspace / "base"), device="cpu")
    with torch.no_grad():
        next(broken.parameters()).fill_(float("nan"))
    broken.save(str(workspace / "nan-model"))
    result = invoke("trainer", "average nan-model base --out avg")
    assert result.exit_code == 1 and "NaN or infinite" in result.output, result.output
    assert not (workspace / "avg").exists()


def test_push_refuses_a_symbolic_link_in_the_model_folder(workspace: Path, tmp_path):
    secret = tmp_path / "id_rsa"
    secret.write_text("-----BEGIN PRIVATE KEY-----")
    (workspace / "base" / "extra.txt").symlink_to(secret)
    before = _digest(workspace)
    result = invoke("trainer", "push base --repo-id me/model --dry-run --stage-dir staged")
    assert result.exit_code == 1, result.output
    assert "symbolic link (extra.txt ->" in result.output and "Traceback" not in result.output
    assert not (workspace / "staged").exists() and _digest(workspace) == before


def test_publish_refuses_a_symbolic_link_in_the_data_folder(workspace: Path, tmp_path):
    from kgbuild.cli import app

    secret = tmp_path / "private.parquet"
    shutil.copy(next((workspace / "pairs").glob("*.parquet")), secret)
    (workspace / "pairs" / "linked.parquet").symlink_to(secret)
    result = CliRunner().invoke(app, ["publish", "pairs", "--repo-id", "me/data", "--dry-run", "--stage-dir", "st"])
    assert result.exit_code == 1 and "symbolic link (linked.parquet ->" in result.output, result.output
    assert not (workspace / "st").exists()


# -- 6: a checkpoint left half-written ------------------------------------------------------------------------------


def test_a_half_written_checkpoint_is_removed_and_the_run_resumes_from_the_last_complete_one(tmp_path):
    from trainer.phase_folder import resume_checkpoint

    checkpoints = tmp_path / "checkpoints" / "contrastive"
    checkpoints.mkdir(parents=True)
    (checkpoints / "phase-fingerprint.txt").write_text("key\n")
    for step in (5, 10):
        (checkpoints / f"checkpoint-{step}").mkdir()
        (checkpoints / f"checkpoint-{step}" / "model.safetensors").write_bytes(b"weights")
    (checkpoints / "checkpoint-5" / "trainer_state.json").write_text(json.dumps({"global_step": 5}))
    (checkpoints / "checkpoint-10" / "trainer_state.json").write_text('{"global_st')  # killed while writing it
    assert resume_checkpoint(checkpoints, "key") == str(checkpoints / "checkpoint-5")
    assert not (checkpoints / "checkpoint-10").exists()
