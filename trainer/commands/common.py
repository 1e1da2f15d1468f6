"""What the phase commands share: the optional run config plus `--set section.key=value` overrides."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import typer

from kgbuild.core.console import shown
from kgbuild.core.errors import UserError
from trainer.config import RunConfig, apply_overrides, build_config, load_config, override_keys

CONFIG_OPTION = typer.Option(None, "--config", "-c", help="Run config (TOML); its values are the defaults.")
SET_OPTION = typer.Option(None, "--set", help="Override a config value: section.key=value (repeatable).")
FORCE_OPTION = typer.Option(False, "--force", help="Replace an existing output folder.")


def resolve_config(config: Path | None, overrides: list[str] | None) -> RunConfig:
    """The run config from --config (paths relative to it) or the defaults (paths relative to the cwd)."""
    if config is not None:
        return load_config(config, overrides)
    raw = apply_overrides({}, overrides or [], None)
    return build_config(raw, base_dir=Path.cwd(), overridden=override_keys(overrides))


@contextlib.contextmanager
def interruptible(kept: Path | None, *, what: str = "the checkpoints so far") -> Iterator[None]:
    """Ctrl-C says what is kept and how to resume (exit 130), not only "interrupted"."""
    try:
        yield
    except KeyboardInterrupt:
        where = f"{what} are kept in {shown(kept)}; " if kept is not None and Path(kept).exists() else ""
        stop = UserError(f"interrupted: {where}rerun the same command to resume (nothing finished is trained again)")
        stop.exit_code = 130
        raise stop from None
