from __future__ import annotations

import dataclasses
from pathlib import Path

import typer
from rich.table import Table

from kgbuild.core.console import err, out, user_errors
from kgbuild.core.options import options_block
from kgbuild.publish import PUBLISH_FLAGS, PublishOptions


@user_errors
@options_block(PublishOptions, "options", PUBLISH_FLAGS)
def publish(
    data_dir: Path = typer.Argument(..., help="An output folder of extract, build-pairs or generate-definitions."),
    options: PublishOptions = None,
) -> None:
    """Publish the tables of DATA_DIR as a Hugging Face dataset: one config per table, a generated card, contracts.

    The folder is built and verified locally first (every config loads with datasets.load_dataset and matches its
    contract); the token comes from HF_TOKEN or `hf auth login`.
    """
    from kgbuild.core.render import Renderer
    from kgbuild.publish import publish_dataset

    result = publish_dataset(data_dir, dataclasses.replace(options, report=Renderer()))
    table = Table("config", "rows", "shards", "MB", title=f"{options.repo_id} (dataset)")
    for t in result.staged.tables:
        table.add_row(t.name, f"{t.rows:,}", str(len(t.shards)), f"{t.bytes / 1e6:.1f}")
    out.print(table)  # the result on stdout; messages on stderr
    err.print(result.staged.licence.line())
    err.print(result.line(), style="green")
    if result.kept and result.uploaded is not None:
        err.print(f"staged folder kept in {result.folder}")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: kgbuild publish pairs/ --repo-id my-lab/umls-pairs --dry-run")(publish)
