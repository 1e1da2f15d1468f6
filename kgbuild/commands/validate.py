from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kgbuild.console import err, user_errors
from kgbuild.contracts import check_folder
from kgbuild.errors import UserError


@user_errors
def validate(
    folder: Path = typer.Argument(..., help="An output folder of extract, build-pairs or generate-definitions."),
) -> None:
    """Re-check every table in FOLDER against its contract in data_contracts/."""
    results = check_folder(folder)
    table = Table("table", "checks", "failed", title=str(folder))
    failures = []
    for name, checks in results.items():
        failed = [c for c in checks if not c.passed]
        failures += failed
        table.add_row(name, str(len(checks)), str(len(failed)))
    err.print(table)
    if failures:
        detail = "; ".join(f"{c.table}.{c.name}: {c.detail}" for c in failures[:12])
        raise UserError(f"{len(failures)} contract checks failed: {detail}", path=folder)
    err.print(f"[green]all {sum(len(c) for c in results.values())} checks passed[/green]")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: kgbuild validate kg/")(validate)
