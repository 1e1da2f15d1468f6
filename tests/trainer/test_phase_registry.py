"""Adding a phase is one file plus its registration (issue 29, item 1): a phase registered here, from a test module,
is a table of the run config, a step of run-all's loop and a `trainer` command; and run-all is a library that reports
(kgbuild.core.events) and prints nothing when called from Python."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from kgbuild.core.console import _QUIET_ENV, make_app
from kgbuild.core.errors import UserError
from tests.helpers.run_toml import run_toml
from trainer.commands import phases as phase_commands
from trainer.config import Section, load_config
from trainer.phases import PHASES, Option, Phase, register
from trainer.run_all import run_all


class CopyConfig(Section):
    enabled: bool = False
    model: str = "weight_averaging"  # a model, or a name of the run


def _inputs(cfg) -> dict[str, Any]:
    return {"model": cfg.resolve_model(cfg.copy_model.model)}


def _run(ctx, cfg, inputs: dict[str, Any]) -> dict[str, Any]:
    """The trivial phase: its input model, saved as its output."""
    from sentence_transformers import SentenceTransformer

    ctx.refuse({"--model": Path(inputs["model"])})
    model = SentenceTransformer(inputs["model"], device="cpu")
    summary = {"model": inputs["model"]}
    ctx.save(model, "copy_model", summary, cfg.copy_model)
    return summary


COPY = Phase(
    name="copy_model",
    command="copy",
    folder="copied",
    verb="copying",
    status="copied",
    label="copy",
    title="5. Copy",
    config=CopyConfig,
    inputs=_inputs,
    run=_run,
    help="Copy a model (a test's phase).",
    epilog="Example: trainer copy --model run/final",
    options=(Option("model", "--model", "Model to copy; default [copy_model] model."),),
    model_keys=("model",),
    done=lambda phase, summary, out: f"copied {summary['model']} to {out}",
)


@pytest.fixture
def copy_phase():
    register(COPY)
    yield COPY
    del PHASES["copy_model"]


def workspace(tmp_path: Path, tiny_model: Path, pairs_dir: Path, **sections: dict[str, Any]) -> Path:
    shutil.copytree(tiny_model, tmp_path / "base")
    shutil.copytree(pairs_dir, tmp_path / "pairs")
    (tmp_path / "run.toml").write_text(run_toml(**sections), encoding="utf-8")
    return tmp_path / "run.toml"


ONLY_COPY = {
    "contrastive": {"enabled": False},
    "self_distillation": {"enabled": False},
    "weight_averaging": {"enabled": False},
    "evaluate": {"enabled": False},
    "copy_model": {"enabled": True, "model": "base"},
}


def test_a_registered_phase_is_a_table_of_the_run_config(tmp_path, copy_phase):
    (tmp_path / "base").mkdir()
    (tmp_path / "run.toml").write_text(run_toml(copy_model={"model": "base"}), encoding="utf-8")
    cfg = load_config(tmp_path / "run.toml")
    assert cfg.copy_model.model == str(tmp_path / "base")  # a model key: the folder beside the config
    assert cfg.phase_inputs("copy_model") == {"model": str(tmp_path / "base")}
    assert "copy_model" in cfg.to_dict() and cfg.phase_dir("copy_model") == tmp_path / "run" / "copied"
    (tmp_path / "bad.toml").write_text(run_toml(copy_model={"nope": 1}), encoding="utf-8")
    with pytest.raises(UserError, match="unknown key 'nope' in \\[copy_model\\]") as bad:
        load_config(tmp_path / "bad.toml")
    assert bad.value.line == (tmp_path / "bad.toml").read_text().splitlines().index("nope = 1") + 1


def test_an_unregistered_phase_is_an_unknown_table(tmp_path):
    (tmp_path / "run.toml").write_text(run_toml(copy_model={"model": "base"}), encoding="utf-8")
    with pytest.raises(UserError, match="unknown section \\[copy_model\\]"):
        load_config(tmp_path / "run.toml")


def test_a_registered_phase_runs_in_run_all_and_reports(tmp_path, tiny_model, pairs_dir, copy_phase):
    cfg = load_config(workspace(tmp_path, tiny_model, pairs_dir, **ONLY_COPY))
    events = []
    manifest = run_all(cfg, report=events.append)
    assert manifest["phases"]["copy_model"]["status"] == "copied"
    assert (tmp_path / "run" / "copied" / "modules.json").is_file()
    assert "copy_model (phase 1 of 1): copying into" in " ".join(e.text for e in events)
    # resumed: skipped, and said so
    events.clear()
    assert run_all(cfg, report=events.append)["phases"]["copy_model"]["status"] == "skipped (complete)"
    assert any(e.text.startswith("copy_model: complete in") for e in events)


def test_a_registered_phase_is_a_trainer_command(tmp_path, tiny_model, copy_phase):
    app = make_app("trainer", "test", "0")
    phase_commands.register(app)
    runner = CliRunner()
    shown = runner.invoke(app, ["copy", "--help"], env={"COLUMNS": "120"})
    assert shown.exit_code == 0 and "--model" in shown.output and "Model to copy" in shown.output
    assert "Example: trainer copy --model run/final" in shown.output and "--out" in shown.output
    result = runner.invoke(app, ["copy", "--model", str(tiny_model), "--out", str(tmp_path / "copied")])
    assert result.exit_code == 0, result.output
    assert "copied" in result.output and (tmp_path / "copied" / "modules.json").is_file()
    again = runner.invoke(app, ["copy", "--model", str(tiny_model), "--out", str(tmp_path / "copied")])
    assert again.exit_code == 1 and "already exists" in again.output  # the PhaseRun's refusal


@pytest.mark.slow
def test_run_all_from_python_prints_nothing(tmp_path, tiny_model, pairs_dir):
    """The library with its default reporter: no progress, no message, on either stream. Run in a child whose
    third-party libraries have their own bars and advice switched off, as the CLI switches them off (their settings,
    the caller's choice); what is left is run-all's own output: none."""
    from test_evaluation import write_evalsets

    write_evalsets(tmp_path / "evalsets")
    config = workspace(tmp_path, tiny_model, pairs_dir, steps=2, data={"evalsets": "evalsets"})
    code = (
        "import json, sys; from trainer.config import load_config; from trainer.run_all import run_all; "
        "m = run_all(load_config(sys.argv[1])); "
        "open(sys.argv[2], 'w').write(json.dumps({p: e['status'] for p, e in m['phases'].items()}))"
    )
    env = {**os.environ, **_QUIET_ENV, "PYTHONWARNINGS": "ignore"}
    child = subprocess.run(
        [sys.executable, "-c", code, str(config), str(tmp_path / "statuses.json")],
        env=env,
        capture_output=True,
        text=True,
    )
    assert child.returncode == 0, child.stderr[-3000:]
    assert child.stdout == "" and child.stderr == "", child.stderr[-3000:]
    statuses = json.loads((tmp_path / "statuses.json").read_text())
    assert statuses == {"contrastive": "trained", "self_distillation": "trained", "weight_averaging": "averaged"}


def test_evaluate_during_training_gives_the_run_evaluators_to_the_trainer(tmp_path, tiny_model, pairs_dir):
    """Step 4, off by default: with evaluate_during_training the trainer scores [evaluate]'s sets at every
    save_steps; the setting stays out of the manifest's parameters (and so of the fingerprints)."""
    from test_evaluation import write_evalsets

    from trainer.phase_folder import PhaseRun

    write_evalsets(tmp_path / "evalsets")
    training = {"max_steps": 2, "batch_size": 8, "save_steps": 1, "evaluate_during_training": True}
    cfg = load_config(workspace(tmp_path, tiny_model, pairs_dir, data={"evalsets": "evalsets"}, contrastive=training))
    assert "evaluate_during_training" not in cfg.section("contrastive")
    phase = PHASES["contrastive"]
    summary = phase.run(PhaseRun(tmp_path / "out"), cfg, cfg.phase_inputs("contrastive"))
    assert [e["step"] for e in summary["evaluations"]] == [1, 2]
    assert any("spearman" in k.lower() for k in summary["evaluations"][0]), summary["evaluations"][0]
    default = load_config(tmp_path / "run.toml", ["contrastive.evaluate_during_training=false"])
    assert "evaluations" not in phase.run(PhaseRun(tmp_path / "off"), default, default.phase_inputs("contrastive"))
