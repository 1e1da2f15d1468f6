"""`trainer run-all --config run.toml`: contrastive → self-distillation → weight averaging (→ multilingual)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from rich.table import Table

from kgbuild.core.console import err, out, user_errors
from trainer.commands.common import SET_OPTION, interruptible, resolve_config


def summary_table(manifest: dict[str, Any]) -> Table:
    """Scores after each phase, the base model's first, with the published reference numbers where they exist."""
    scores = {name: entry.get("headline", {}) for name, entry in manifest.get("scores", {}).items()}
    reference = manifest.get("reference") or {}
    published = reference.get("scores", {})
    metrics = list(dict.fromkeys(m for headline in scores.values() for m in headline))
    columns = list(scores) + ([f"published ({reference['name']})"] if published else [])
    table = Table("metric", *columns, title=manifest.get("parameters", {}).get("model", {}).get("output_dir"))
    for metric in metrics:
        row = [metric] + [f"{scores[name][metric]:.2f}" if metric in scores[name] else "" for name in scores]
        if published:
            row.append(f"{published[metric]:.2f}" if metric in published else "")
        table.add_row(*row)
    return table


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
) -> None:
    """Run the enabled phases in order, evaluate after each, resume finished ones, write manifest.json."""
    from trainer.run_all import run_all as run

    cfg = resolve_config(config, [*(overrides or []), *(["model.keep_checkpoints=true"] if keep_checkpoints else [])])
    with interruptible(cfg.output_dir, what="the finished phases and the checkpoints of the one under way"):
        manifest = run(cfg, force=force)
    if manifest:  # the main process (under torchrun the others return nothing)
        if manifest.get("scores"):
            out.print(summary_table(manifest))  # the result on stdout; messages on stderr
        err.print(f"run complete: {cfg.output_dir} (manifest.json)", style="green")


def register(app: typer.Typer) -> None:
    app.command("run-all", epilog="Example: trainer run-all --config run.toml --set contrastive.max_steps=100")(
        run_all
    )
