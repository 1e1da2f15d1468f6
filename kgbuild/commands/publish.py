from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from kgbuild.core.console import err, out, user_errors
from kgbuild.publish.licence import ACK_FLAG


@user_errors
def publish(
    data_dir: Path = typer.Argument(..., help="An output folder of extract, build-pairs or generate-definitions."),
    repo_id: str = typer.Option(..., "--repo-id", help="The Hub dataset repository, ORG/NAME."),
    public: bool = typer.Option(False, "--public", help="Make a new repository public (default: private)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Stage and verify the repository folder; upload nothing."),
    stage_dir: Path | None = typer.Option(
        None,
        "--stage-dir",
        help="Where to build the repository folder (kept). Default: DATA_DIR.hub for --dry-run, "
        "else a temporary folder removed after the upload.",
    ),
    revision: str | None = typer.Option(None, "--revision", help="Upload to this branch (created when missing)."),
    rights: bool = typer.Option(
        False,
        ACK_FLAG,
        help="Acknowledge that your licences allow public redistribution of "
        "restricted content (UMLS SRL > 0, SNOMED CT, unknown sources).",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing stage folder."),
) -> None:
    """Publish the tables of DATA_DIR as a Hugging Face dataset: one config per table, a generated card, contracts.

    The folder is built and verified locally first (every config loads with datasets.load_dataset and matches its
    contract); the token comes from HF_TOKEN or `hf auth login`.
    """
    from kgbuild.publish.dataset import publish_dataset

    result = publish_dataset(
        data_dir,
        repo_id=repo_id,
        public=public,
        dry_run=dry_run,
        stage_dir=stage_dir,
        revision=revision,
        acknowledge_rights=rights,
        force=force,
    )
    table = Table("config", "rows", "shards", "MB", title=f"{repo_id} (dataset)")
    for t in result.staged.tables:
        table.add_row(t.name, f"{t.rows:,}", str(len(t.shards)), f"{t.bytes / 1e6:.1f}")
    out.print(table)  # the result on stdout; messages on stderr
    err.print(result.staged.licence.line())
    if result.uploaded is None:
        err.print(f"dry run: verified repository folder in {result.staged.folder}; nothing uploaded", style="green")
        return
    up = result.uploaded
    where = f" (branch {up.revision})" if up.revision else ""
    err.print(f"uploaded to {up.url}{where}, {'private' if up.private else 'public'}", style="green")
    if result.stage_kept:
        err.print(f"staged folder kept in {result.staged.folder}")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: kgbuild publish pairs/ --repo-id my-lab/umls-pairs --dry-run")(publish)
