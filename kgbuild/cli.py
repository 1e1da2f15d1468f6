"""`kgbuild`: composes one module per command (kgbuild/commands/)."""

from __future__ import annotations

import typer

from kgbuild import __version__
from kgbuild.commands import build_pairs, demo, extract, generate_definitions, publish, validate
from kgbuild.console import set_debug

app = typer.Typer(
    name="kgbuild",
    help="Biomedical knowledge graphs (UMLS, OBO) to BioLORD-style training data.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"kgbuild {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    debug: bool = typer.Option(False, "--debug", help="Show full tracebacks."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    set_debug(debug)


for module in (extract, generate_definitions, build_pairs, publish, validate, demo):
    module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
