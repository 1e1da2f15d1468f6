from __future__ import annotations

from pathlib import Path

import typer

from kgbuild.console import err, user_errors
from kgbuild.errors import UserError


def _most_common_error(out: Path) -> str:
    import duckdb

    from kgbuild.contracts import table_files

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
    model: str = typer.Option("gpt-4o-mini", "--model", help="Model name sent to the server."),
    base_url: str = typer.Option(
        None,
        "--base-url",
        help="An OpenAI-compatible server (vLLM, llama.cpp, Ollama), "
        "e.g. http://127.0.0.1:8000/v1. Default: OpenAI (or $OPENAI_BASE_URL).",
    ),
    limit: int = typer.Option(None, "--limit", help="Only the first N target concepts (in send order)."),
    concurrency: int = typer.Option(64, "--concurrency", help="Requests in flight."),
    rpm: float = typer.Option(None, "--rpm", help="Requests per minute at most."),
    tpm: float = typer.Option(None, "--tpm", help="Tokens per minute at most (prompt estimate + max tokens)."),
    budget_usd: float = typer.Option(None, "--budget-usd", help="Stop before this run's spend would cross X dollars."),
    batch: bool = typer.Option(False, "--batch", help="Use the OpenAI Batch API (half price, up to 24 h)."),
    only_missing: bool = typer.Option(
        True, "--only-missing/--all", help="Concepts without a definition (default), or all concepts."
    ),
    order: str = typer.Option("degree", "--order", help="degree: most-connected first; cui: by identifier."),
    retry_failed: bool = typer.Option(
        False,
        "--retry-failed",
        help="Also re-send answers that failed an output "
        "check (empty, refusal, truncated, too short/long, not naming the concept).",
    ),
    temperature: float = typer.Option(0.0, "--temperature", help="Sampling temperature (0: the most likely answer)."),
    max_tokens: int = typer.Option(160, "--max-tokens", help="Tokens per answer; longer is kept, marked truncated."),
    seed: int = typer.Option(None, "--seed", help="Sent to servers that support it."),
    timeout: float = typer.Option(
        60.0, "--timeout", help="Seconds per attempt (a deadline for the whole answer) before it is retried."
    ),
    max_attempts: int = typer.Option(6, "--max-attempts", help="Attempts per request (retries + 1)."),
    prices: Path = typer.Option(None, "--prices", help="A price table like kgbuild/llm/prices.toml."),
    min_words: int = typer.Option(20, "--min-words", help="Output check: fewer words is too_short."),
    max_words: int = typer.Option(110, "--max-words", help="Output check: more words is too_long."),
    poll: float = typer.Option(60.0, "--poll", help="Seconds between Batch status polls."),
    max_enqueued_tokens: int = typer.Option(
        None,
        "--max-enqueued-tokens",
        help="Your Batch queue limit (input tokens); batches are submitted while the queue stays under it.",
    ),
    abandon_batches: bool = typer.Option(
        False,
        "--abandon-batches",
        help="Online run over a folder with batches still pending: cancel them at the provider first (what they "
        "already hold is collected), then send the rest online. Without it such a run is refused.",
    ),
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
    from kgbuild.llm.checks import CheckConfig
    from kgbuild.llm.client import RetryPolicy, RunStopped
    from kgbuild.llm.generate import DefinitionGenerator, GenerateConfig

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
        summary = DefinitionGenerator(
            kg, out, config, progress=progress, on_event=lambda message: err.print(message, style="yellow")
        ).run()
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
