from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kgbuild.core.console import err, out, user_errors
from kgbuild.core.contracts import check_folder, unknown_parquet_files
from kgbuild.core.errors import UserError


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
    out.print(table)  # the result on stdout; messages on stderr
    unknown = unknown_parquet_files(folder)
    if unknown:
        shown = ", ".join(unknown[:8]) + (f" and {len(unknown) - 8} more" if len(unknown) > 8 else "")
        # Part of the report, failed or not (a warning would wait for success).
        err.print(f"not checked, no contract for them: {shown}", style="yellow", soft_wrap=True)
    if failures:
        detail = Table("table", "check", "detail", title="failed checks")
        for c in failures:
            detail.add_row(c.table, c.name, c.detail)
        err.print(detail)
        raise UserError(
            f"{len(failures)} contract check(s) failed in {len({c.table for c in failures})} table(s) (listed above)",
            path=folder,
            fix="rerun the kgbuild command that wrote this folder (or restore the failing files)",
        )
    err.print(f"all {sum(len(c) for c in results.values())} checks passed", style="green")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: kgbuild validate kg/")(validate)
