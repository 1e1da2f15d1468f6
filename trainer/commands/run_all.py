"""`trainer run-all --config run.toml`: contrastive → self-distillation → weight averaging (→ multilingual)."""

from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.console import err, user_errors
from trainer.commands.common import SET_OPTION, resolve_config


@user_errors
def run_all(
    config: Path = typer.Option(..., "--config", "-c", help="Run config (TOML), one table per phase."),
    overrides: list[str] = SET_OPTION,
    force: bool = typer.Option(False, "--force", help="Retrain every phase, even finished ones."),
) -> None:
    """Run the enabled phases in order, evaluate after each, resume finished ones, write manifest.json."""
    from trainer.run_all import run_all as run

    cfg = resolve_config(config, overrides)
    manifest = run(cfg, force=force)
    if manifest:
        err.print(f"[green]run complete: {cfg.output_dir} (manifest.json)[/green]")


def register(app: typer.Typer) -> None:
    app.command("run-all",
                epilog="Example: trainer run-all --config run.toml --set contrastive.max_steps=100")(run_all)
