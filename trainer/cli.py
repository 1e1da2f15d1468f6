"""`trainer`: composes one module per command (trainer/commands/)."""

from __future__ import annotations

import typer

from kgbuild.console import set_debug
from trainer import __version__, push
from trainer.commands import evaluate, phases, run_all

app = typer.Typer(
    name="trainer",
    help="Train and evaluate BioLORD-2023-style embedding models: contrastive → self-distillation → averaging.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trainer {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    set_debug(debug)


for module in (run_all, phases, evaluate, push):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
