"""`trainer run-all --config run.toml`: contrastive → self-distillation → weight averaging (→ multilingual)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import typer

from kgbuild.core.console import err, user_errors
from kgbuild.core.progress import plain, progress_option
from trainer.commands.common import SET_OPTION, interruptible, resolve_config


def summary_table(manifest: dict[str, Any]) -> str:
    """Scores after each phase, the base model's first, with the published reference numbers where they exist: the
    table of `trainer evaluate`, phases as its columns."""
    from trainer.score_table import render, run_rows

    header, rows = run_rows(manifest)
    return render(
        header, rows, "table", "scores after each phase (Spearman ×100; linking acc %)", models=len(manifest["scores"])
    )


@user_errors
def run_all(
    config: Path = typer.Option(..., "--config", "-c", help="Run config (TOML), one table per phase."),
    overrides: list[str] = SET_OPTION,
    force: bool = typer.Option(False, "--force", help="Retrain every phase, even finished ones."),
    keep_checkpoints: bool = typer.Option(
        False,
        "--keep-checkpoints",
        help="Keep each finished phase's checkpoints (default: deleted once its model is saved).",
    ),
    progress: bool = progress_option(),
) -> None:
    """Run the enabled phases in order, evaluate after each, resume finished ones, write manifest.json."""
    from kgbuild.core.render import Renderer
    from trainer.run_all import run_all as run

    cfg = resolve_config(config, [*(overrides or []), *(["model.keep_checkpoints=true"] if keep_checkpoints else [])])
    with interruptible(cfg.output_dir, what="the finished phases and the checkpoints of the one under way"):
        with plain(not progress):  # the evaluations' bars too
            manifest = run(cfg, force=force, report=Renderer(progress=progress or None))
    if manifest:  # the main process (under torchrun the others return nothing)
        if manifest.get("scores"):
            sys.stdout.write(summary_table(manifest))  # the result on stdout; messages on stderr
        err.print(f"run complete: {cfg.output_dir} (manifest.json)", style="green")


def register(app: typer.Typer) -> None:
    app.command("run-all", epilog="Example: trainer run-all --config run.toml --set contrastive.max_steps=100")(
        run_all
    )
