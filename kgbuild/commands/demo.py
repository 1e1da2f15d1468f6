from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.core.console import user_errors


@user_errors
def demo(
    workdir: Path = typer.Option(Path("kgbuild-demo"), "--workdir", help="Folder for every output (replaced)."),
    steps: int = typer.Option(30, "--steps", help="Training steps per phase (CPU budget)."),
    llm_concepts: int = typer.Option(12, "--llm-concepts", help="Concepts the local LLM writes definitions for."),
    no_llm: bool = typer.Option(False, "--no-llm", help="Skip LLM definitions even if the local model is installed."),
    llm_server: str = typer.Option(
        "auto",
        "--llm-server",
        help="Local server for the LLM step: transformers (no compile), llama.cpp (the "
        "local-llm extra), or auto (llama.cpp when installed, else transformers).",
    ),
    evalsets: Path | None = typer.Option(
        None, "--evalsets", envvar="KGBUILD_EVALSETS", help="Folder of the evaluation sets (optional)."
    ),
) -> None:
    """The whole pipeline, offline, on the bundled sample: extract → LLM definitions → build-pairs →
    publish --dry-run → trainer run-all → evaluation, base vs trained."""
    from kgbuild.demo import DemoOptions, run_demo

    run_demo(
        workdir,
        DemoOptions(steps=steps, llm_concepts=llm_concepts, evalsets=evalsets, llm=not no_llm, llm_server=llm_server),
    )


def register(app: typer.Typer) -> None:
    app.command(epilog="Example: kgbuild demo --workdir demo/ --evalsets ../shared/evalsets")(demo)
