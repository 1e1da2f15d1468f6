"""`trainer push`: the command; the work is in trainer/push.py, imported when the command runs (so that
`trainer --help` loads neither huggingface_hub nor the model card code)."""

from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.core.console import err, user_errors
from kgbuild.publish import ACK_FLAG


@user_errors
def push(
    model_dir: Path = typer.Argument(..., help="A trained sentence-transformers folder (e.g. run/final)."),
    repo_id: str = typer.Option(..., "--repo-id", help="The Hub model repository, ORG/NAME."),
    public: bool = typer.Option(False, "--public", help="Make a new repository public (default: private)."),
    dry_run: bool = typer.Option(False, "--dry-run", help="Stage and verify the repository folder; upload nothing."),
    stage_dir: Path | None = typer.Option(
        None,
        "--stage-dir",
        help="Where to build the repository folder (kept). "
        "Default: MODEL_DIR.hub for --dry-run, else a temporary folder.",
    ),
    revision: str | None = typer.Option(None, "--revision", help="Upload to this branch (created when missing)."),
    run_manifest: Path | None = typer.Option(
        None, "--run-manifest", help="manifest.json of trainer run-all (default: in MODEL_DIR or its parent)."
    ),
    dataset: list[str] = typer.Option([], "--dataset", help="A Hub dataset the model was trained on (repeatable)."),
    rights: bool = typer.Option(
        False,
        ACK_FLAG,
        help="Acknowledge that your licences allow public redistribution of a model trained on restricted content.",
    ),
    force: bool = typer.Option(False, "--force", help="Replace an existing stage folder."),
) -> None:
    """Publish MODEL_DIR to the Hugging Face Hub with a model card (base model, phases, data, evaluation)."""
    from trainer.push import push_model

    result = push_model(
        model_dir,
        repo_id=repo_id,
        public=public,
        dry_run=dry_run,
        stage_dir=stage_dir,
        revision=revision,
        acknowledge_rights=rights,
        force=force,
        run_manifest=run_manifest,
        datasets=dataset,
    )
    err.print(
        f"model: {result.facts.dimension}-dim, phase {result.facts.phase or '?'}; run manifest "
        f"{result.facts.run_path or 'not found'}; card "
        + ("from MODEL_DIR (current)" if result.card_reused else "built from the run manifest")
    )
    err.print(result.licence.line())
    if result.uploaded is None:
        err.print(f"dry run: verified model folder in {result.folder}; nothing uploaded", style="green")
        return
    up = result.uploaded
    err.print(
        f"uploaded to {up.url}{f' (branch {up.revision})' if up.revision else ''}, "
        f"{'private' if up.private else 'public'}",
        style="green",
    )


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: trainer push run/final --repo-id my-lab/biolord-umls --dry-run")(push)
