"""`trainer evalsets fetch DIR`: the public evaluation sets from their sources, checksummed, in the layout that
`trainer evaluate --evalsets DIR` reads; each set's licence is printed (stdout), one line a set."""

from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.core.console import err, user_errors
from kgbuild.core.render import Renderer
from trainer.evalsets import MIRROR_ENV, NAMES, RAW_GITHUB, fetch, licence_line

app = typer.Typer(
    name="evalsets",
    help="The public evaluation sets: fetch them from their sources.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command(
    "fetch",
    epilog="Example: trainer evalsets fetch evalsets/ && trainer evaluate all-MiniLM-L6-v2 --evalsets evalsets/",
)
@user_errors
def fetch_command(
    out: Path = typer.Argument(
        ..., metavar="DIR", help="Folder to write (created; an earlier fetch is replaced only with --force)."
    ),
    force: bool = typer.Option(False, "--force", help="Replace an earlier `trainer evalsets fetch` output."),
    mirror: str = typer.Option(
        None,
        "--mirror",
        envvar=MIRROR_ENV,
        help=f"Base URL laid out as OWNER/REPO/COMMIT/PATH (default {RAW_GITHUB}).",
    ),
    only: list[str] = typer.Option(
        None,
        "--sets",
        "--only",
        help=f"Fetch only these sets, named as `trainer evaluate --sets` names them ({', '.join(NAMES)}); "
        "repeatable. A set's folder name (umnsrs, sick, …) works too.",
    ),
) -> None:
    """Download UMNSRS, MayoSRS, EHR-Rel, SICK, STS-B, NCBI-disease and BC5CDR from the public
    repositories and snapshot commits they were published at, check every file's sha256, build the files the readers
    need (mayosrs.tsv, the mention tables), and write them atomically. BIOSSES is not fetched (a RAR archive)."""
    chosen = fetch(out, force=force, base=mirror, only=only or None, report=Renderer())
    for spec in chosen:
        typer.echo(licence_line(spec))
    written = sum(1 for spec in chosen if not spec.skipped)
    err.print(
        f"{written} set(s) written to {out}; score them with: trainer evaluate MODEL --evalsets {out}",
        style="green",
        soft_wrap=True,
    )


def register(root: typer.Typer) -> None:
    root.add_typer(app)
