"""One recorder for both runners (online and Batch): an answer (or a failure) becomes a checked, redacted, priced
row; the row goes to the store, the summary counts it and the progress bar shows it."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from kgbuild.llm.cache import ERROR, OK, DefinitionStore
from kgbuild.llm.checks import check_answer, clean_text
from kgbuild.llm.client import Answer, redact
from kgbuild.llm.config import GenerateConfig, Request, Summary
from kgbuild.llm.pricing import Price
from kgbuild.llm.prompt import TEMPLATE_TEXT, TEMPLATE_VERSION


class Recorder:
    def __init__(
        self,
        config: GenerateConfig,
        price: Price | None,
        summary: Summary,
        store: DefinitionStore,
        *,
        bar: ProgressBar | None = None,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.config = config
        self.price = price
        self.summary = summary
        self.store = store
        self.bar = bar
        self.on_row = on_row

    def row(
        self,
        req: Request,
        *,
        answer: Answer | None,
        attempts: int,
        backend: str,
        batch_id: str | None = None,
        error: str | None = None,
    ) -> dict[str, Any]:
        """The table row of one finished request (answered, or failed with `error`)."""
        base = {
            "key": req.key,
            "cui": req.cui,
            "model": self.config.model,
            "prompt_version": TEMPLATE_VERSION,
            "attempts": max(1, attempts),
            "backend": backend,
            "batch_id": batch_id,
            "created_at": datetime.now(UTC),
        }
        if answer is None:
            return {
                **base,
                "text": None,
                "finish_reason": None,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "usage_estimated": False,
                "cost_usd": 0.0,
                "status": ERROR,
                "error": redact(error),
            }
        text = redact(clean_text(answer.text))
        prompt = "\n".join(m["content"] for m in req.body["messages"])
        status, reason = check_answer(
            text,
            answer.finish_reason,
            answer.refusal,
            req.names,
            self.config.checks,
            prompt=prompt,
            template=TEMPLATE_TEXT,
        )
        cost = (
            self.price.cost(answer.prompt_tokens, answer.completion_tokens, batch=backend == "batch")
            if self.price
            else 0.0
        )
        return {
            **base,
            "text": text or None,
            "finish_reason": answer.finish_reason,
            "prompt_tokens": max(1, answer.prompt_tokens),
            "completion_tokens": answer.completion_tokens,
            "usage_estimated": answer.usage_estimated,
            "cost_usd": cost,
            "status": status,
            "error": reason,
        }

    def record(self, row: dict[str, Any]) -> None:
        self.store.add(row)
        s = self.summary
        s.prompt_tokens += row["prompt_tokens"]
        s.completion_tokens += row["completion_tokens"]
        s.cost_usd += row["cost_usd"]
        s.estimated_usage += bool(row.get("usage_estimated"))
        if row["status"] == OK:
            s.done += 1
        elif row["status"] == ERROR:
            s.errors += 1
        else:
            s.failed_checks += 1
        if self.on_row is not None:
            self.on_row(row)
        if self.bar is not None:
            self.bar.advance(self.summary)


class ProgressBar:
    """A rich progress bar on stderr with the running counts and dollars; silent when disabled."""

    def __init__(self, total: int, *, enabled: bool):
        self.total = total
        self.enabled = enabled
        self._progress = None
        self._task = None
        self._last = 0.0
        self._summary: Summary | None = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from kgbuild.console import err

            self._progress = Progress(
                TextColumn("definitions"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[stats]}"),
                console=err,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task("definitions", total=self.total, stats="")
        return self

    def advance(self, s: Summary) -> None:
        self._summary = s
        if self._progress is None:
            return
        now = time.monotonic()
        if now - self._last < 0.2:  # redrawing per row would cost more than the request at 300/s
            return
        self._last = now
        stats = f"ok {s.done} · cached {s.cached} · failed {s.failed_checks + s.errors} · ${s.cost_usd:.4f}"
        self._progress.update(self._task, completed=s.cached + s.done + s.failed_checks + s.errors, stats=stats)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            if self._summary is not None:
                self._last = 0.0
                self.advance(self._summary)  # the final counts, whatever the throttle skipped
            self._progress.__exit__(*exc)
