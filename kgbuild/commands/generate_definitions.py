from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.core.console import err, user_errors
from kgbuild.core.errors import UserError
from kgbuild.core.options import option
from kgbuild.core.render import Renderer
from kgbuild.llm.config import CheckConfig, GenerateConfig, RetryPolicy  # light: the SDK loads in the command


def _most_common_error(out: Path) -> str:
    import duckdb

    from kgbuild.core.contracts import table_files

    files = table_files(out, "llm_definitions")
    if not files:
        return "no rows"
    rows = duckdb.sql(
        "SELECT error, count(*) AS n FROM read_parquet($files) WHERE status = 'error' "
        "GROUP BY error ORDER BY n DESC LIMIT 1",
        params={"files": files},
    ).fetchall()
    return rows[0][0] if rows else "no error recorded"


@user_errors
def generate_definitions(
    kg: Path = typer.Option(..., "--kg", help="KG folder written by `kgbuild extract`."),
    out: Path = typer.Option(..., "--out", help="DEFS folder: the cache of answers; a rerun resumes it."),
    model: str = option(GenerateConfig, "model", "--model"),
    base_url: str = option(GenerateConfig, "base_url", "--base-url"),
    limit: int = option(GenerateConfig, "limit", "--limit"),
    concurrency: int = option(GenerateConfig, "concurrency", "--concurrency"),
    rpm: float = option(GenerateConfig, "rpm", "--rpm"),
    tpm: float = option(GenerateConfig, "tpm", "--tpm"),
    budget_usd: float = option(GenerateConfig, "budget_usd", "--budget-usd"),
    batch: bool = option(GenerateConfig, "batch", "--batch"),
    only_missing: bool = option(GenerateConfig, "only_missing", "--only-missing/--all"),
    order: str = option(GenerateConfig, "order", "--order"),
    retry_failed: bool = option(GenerateConfig, "retry_failed", "--retry-failed"),
    temperature: float = option(GenerateConfig, "temperature", "--temperature"),
    max_tokens: int = option(GenerateConfig, "max_tokens", "--max-tokens"),
    seed: int = option(GenerateConfig, "seed", "--seed"),
    timeout: float = option(GenerateConfig, "timeout_s", "--timeout"),
    max_attempts: int = option(RetryPolicy, "max_attempts", "--max-attempts"),
    prices: Path = option(GenerateConfig, "prices", "--prices"),
    min_words: int = option(CheckConfig, "min_words", "--min-words"),
    max_words: int = option(CheckConfig, "max_words", "--max-words"),
    poll: float = option(GenerateConfig, "batch_poll_s", "--poll"),
    max_enqueued_tokens: int = option(GenerateConfig, "batch_max_enqueued_tokens", "--max-enqueued-tokens"),
    abandon_batches: bool = option(GenerateConfig, "abandon_batches", "--abandon-batches"),
    progress: bool = typer.Option(True, "--progress/--no-progress", help="Show a progress bar (stderr)."),
) -> None:
    """Write 40-60 word definitions grounded in the KG for the concepts that lack one, cached and resumable.

    The API key comes from OPENAI_API_KEY only.

    Answers are cached by request key in OUT: a rerun sends only what is missing (and what got no answer).

    The first Ctrl-C (or SIGTERM) stops sending and waits for the requests in flight (paid for) to be answered and
    kept; a second one gives them up at once. kill -9 loses at most the requests in flight; nothing in OUT is ever
    deleted. A full disk stops sending and keeps the answers held in memory until space is freed.

    Money: every attempt is counted at its worst-case price until the server's answer gives its cost, so
    --budget-usd is never crossed. A quota error, a server asking to wait longer than 2 minutes, a refused key, or a
    run of identical failures (a dead or hanging server, a storm of 429s) stops the run early with exit code 1; so
    does a run in which no request got an answer, and one in which most answers fail the output checks (a model
    that echoes or refuses). An answer whose usage cannot be true is counted at its worst case.
    """
    # Imported here: the openai SDK takes a third of a second to import, which every other command would pay.
    from kgbuild.llm.client import RunStopped
    from kgbuild.llm.generate import DefinitionGenerator

    config = GenerateConfig(
        model=model,
        base_url=base_url,
        limit=limit,
        concurrency=concurrency,
        rpm=rpm,
        tpm=tpm,
        budget_usd=budget_usd,
        batch=batch,
        only_missing=only_missing,
        order=order,
        retry_failed=retry_failed,
        temperature=temperature,
        max_tokens=max_tokens,
        seed=seed,
        timeout_s=timeout,
        prices=prices,
        retry=RetryPolicy(max_attempts=max_attempts),
        checks=CheckConfig(min_words=min_words, max_words=max_words),
        batch_poll_s=poll,
        batch_max_enqueued_tokens=max_enqueued_tokens,
        abandon_batches=abandon_batches,
    )
    try:
        summary = DefinitionGenerator(kg, out, config, report=Renderer(progress=progress)).run()
    except RunStopped as stop:  # quota, a dead server, a refused key: what was received is kept, then one red line
        if stop.summary is not None:
            typer.echo(stop.summary.line())
        raise
    typer.echo(summary.line())  # the one summary line, on stdout for scripts
    if summary.sent and not summary.done and not summary.failed_checks:
        raise UserError(
            f"none of the {summary.sent} requests got an answer ({_most_common_error(out)})",
            path=out,
            fix="check the server and --model, then rerun the same command",
        )
    if summary.errors:
        err.print("rerun the same command to re-send the requests that got no answer", soft_wrap=True)


def register(app: typer.Typer) -> None:
    app.command(
        "generate-definitions",
        epilog="Example: OPENAI_API_KEY=… kgbuild generate-definitions --kg kg --out defs --limit 1000 --budget-usd 2",
    )(generate_definitions)
