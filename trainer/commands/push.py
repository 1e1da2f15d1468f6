"""`trainer push`: the command; the work is in trainer/push.py, imported when the command runs (so that
`trainer --help` loads neither huggingface_hub nor the model card code)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import typer

from kgbuild.core.console import err, user_errors
from kgbuild.core.options import options_block
from kgbuild.publish import PUBLISH_FLAGS, PublishOptions


@user_errors
@options_block(PublishOptions, "options", PUBLISH_FLAGS)
def push(
    model_dir: Path = typer.Argument(..., help="A trained sentence-transformers folder (e.g. run/final)."),
    run_manifest: Path | None = typer.Option(
        None, "--run-manifest", help="manifest.json of trainer run-all (default: in MODEL_DIR or its parent)."
    ),
    dataset: list[str] = typer.Option([], "--dataset", help="A Hub dataset the model was trained on (repeatable)."),
    options: PublishOptions = None,
) -> None:
    """Publish MODEL_DIR to the Hugging Face Hub with a model card (base model, phases, data, evaluation)."""
    from kgbuild.core.render import Renderer
    from trainer.push import push_model

    options = dataclasses.replace(options, report=Renderer())
    result = push_model(model_dir, options, run_manifest=run_manifest, datasets=dataset)
    facts = result.staged.facts
    err.print(
        f"model: {facts.dimension}-dim, phase {facts.phase or '?'}; run manifest "
        f"{facts.run_path or 'not found'}; card "
        + ("from MODEL_DIR (current)" if result.staged.card_reused else "built from the run manifest")
    )
    err.print(result.staged.licence.line())
    err.print(result.line(), style="green")


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: trainer push run/final --repo-id my-lab/biolord-umls --dry-run")(push)
