"""One recorder for both runners (online and Batch): an answer (or a failure) becomes a checked, redacted, priced
row; the row goes to the store, the summary counts it and the progress reports it. The recorder is the only writer
of the summary, the store and the progress: the generator and the runners tell it what happened (a request sent,
a batch submitted, money spent, a stop) through its methods. It also watches quality: a server that only echoes or
refuses is stopped after a window of answers, not paid for a whole KG."""

from __future__ import annotations

import contextlib
from collections import Counter, deque
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

from kgbuild.core.events import Reporter, Task, silent
from kgbuild.llm.cache import ERROR, OK, DefinitionStore
from kgbuild.llm.checks import check_answer, clean_text, repair_text
from kgbuild.llm.client import Answer, redact
from kgbuild.llm.config import GenerateConfig, Request, Summary
from kgbuild.llm.pricing import Price, load_price
from kgbuild.llm.prompt import TEMPLATE_TEXT, TEMPLATE_VERSION


class Recorder:
    def __init__(
        self,
        config: GenerateConfig,
        price: Price | None,
        *,
        report: Reporter = silent,
        on_row: Callable[[dict[str, Any]], None] | None = None,
    ):
        self.config = config
        self.price = price
        self.summary = Summary(budget_usd=config.budget_usd, unpriced=price is None)
        self.store: DefinitionStore | None = None  # given by `recording`
        self.report = report
        self._task: Task | None = None
        self.on_row = on_row
        self._prices = {config.model: price}
        # The quality breaker: the statuses of the last `quality_window` answers, and an example of each failure.
        self._window: deque[str] = deque(maxlen=config.quality_window)
        self._examples: dict[str, str] = {}
        self.quality_stop: str | None = None  # set once the share of failing answers is over the threshold

    def price_of(self, model: str) -> Price | None:
        """A row is priced at the model it was sent to (a resumed batch may have been sent with another --model)."""
        if model not in self._prices:
            self._prices[model] = load_price(model, self.config.prices)
        return self._prices[model]

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
        model = str(req.body.get("model") or self.config.model)  # what the request was sent with: its identity
        base = {
            "key": req.key,
            "cui": req.cui,
            "model": model,
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
                "repairs": None,
                "finish_reason": None,
                "prompt_tokens": 0,
                "completion_tokens": 0,
                "usage_estimated": False,
                "cost_usd": 0.0,
                "status": ERROR,
                "error": redact(error),
            }
        text, repairs = repair_text(answer.text)
        text = redact(clean_text(text))
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
        price = self.price_of(model)
        cost = price.cost(answer.prompt_tokens, answer.completion_tokens, batch=backend == "batch") if price else 0.0
        return {
            **base,
            "text": text or None,
            "repairs": "; ".join([*answer.repairs, *repairs]) or None,
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
        self._watch_quality(row)
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
        self._progress()

    @contextlib.contextmanager
    def recording(self, store: DefinitionStore, total: int) -> Iterator[Recorder]:
        """Inside the block, rows go to `store` (closed on the way out) and the progress of `total` answers is
        reported as the "definitions" step. Answers from the cache are reported as reused: not part of the rate."""
        self.store = store
        with store, Task(self.report, "definitions", total, unit="answers") as self._task:
            try:
                yield self
            finally:
                self._progress()  # the final counts
        self._task = None

    def _progress(self) -> None:
        if self._task is None:
            return
        s = self.summary
        stats = f"ok {s.done} · cached {s.cached} · failed {s.failed_checks + s.errors} · ${s.cost_usd:.4f}"
        self._task.update(s.cached + s.done + s.failed_checks + s.errors, note=stats, reused=s.cached)

    def flush(self) -> bool:
        """Write the rows held to the store; False while its disk is full."""
        return self.store.flush()

    # -- what the generator and the runners report: the summary's only writer -----------------------------------

    def selected(self, n: int) -> None:
        self.summary.selected = n

    def recovered(self, rows: int) -> None:
        self.summary.recovered_rows = rows

    def cached(self) -> None:
        """A target already answered in the folder: not sent."""
        self.summary.cached += 1

    def sent(self, n: int = 1) -> None:
        self.summary.sent += n

    def not_sent(self, n: int = 1) -> None:
        self.summary.not_sent += n

    def stop(self, reason: str | None) -> None:
        """The run stops early; the first reason is the one kept."""
        self.summary.stopped = self.summary.stopped or reason

    def stopped_by_budget(self) -> None:
        self.summary.stopped_by_budget = True

    def attempted(self, *, http: int = 0, retries: int = 0, cooldowns: int = 0) -> None:
        s = self.summary
        s.http_attempts += http
        s.retries += retries
        s.cooldowns += cooldowns

    def spent(self, usd: float, *, unknown_cost_attempts: int = 0) -> None:
        """Money the budget counted (billed, or the worst case where unknown)."""
        self.summary.spent_usd += usd
        self.summary.unknown_cost_attempts += unknown_cost_attempts

    def batch(self, what: str) -> None:
        """A Batch event counted in the summary: "submitted", "resumed", "abandoned" or "poll_failed"."""
        field = {"poll_failed": "poll_failures"}.get(what, f"batches_{what}")
        setattr(self.summary, field, getattr(self.summary, field) + 1)

    def finished(self, elapsed_s: float, statuses: dict[str, int]) -> None:
        self.summary.elapsed_s = elapsed_s
        self.summary.statuses = statuses

    def _watch_quality(self, row: dict[str, Any]) -> None:
        """Errors (no answer) are the circuit breaker's business; answers that fail the checks are quality's."""
        status = row["status"]
        if status == ERROR or self.config.quality_window <= 0:
            return
        self._window.append(status)
        if status != OK and status not in self._examples:
            self._examples[status] = (row.get("text") or row.get("error") or "")[:80]
        self._judge(self.config.quality_window)

    def judge_batch(self) -> str | None:
        """After a batch is collected: judge the answers so far even if fewer than a window (a first batch of a few
        hundred must not buy the next waves when it shows a server that only echoes or refuses)."""
        return self._judge(min(self.config.quality_window, _MIN_JUDGED))

    def _judge(self, min_answers: int) -> str | None:
        """Trip when, over the last `quality_window` answers (at least `min_answers` of them), the share failing
        the output checks is above `quality_max_failing`; the reason names the three most common failures."""
        if self.quality_stop is not None or len(self._window) < max(1, min_answers):
            return self.quality_stop
        failing = Counter(s for s in self._window if s != OK)
        share = sum(failing.values()) / len(self._window)
        if share > self.config.quality_max_failing:
            common = "; ".join(f"{st} {n} (e.g. {self._examples.get(st, '')!r})" for st, n in failing.most_common(3))
            self.quality_stop = (
                f"{share:.0%} of the last {len(self._window)} answers failed the output checks ({common}), so the "
                "run stopped before paying for more — check --model and the server (a model that echoes or refuses "
                "will not do better on the rest); answers so far are kept"
            )
            self.stop(self.quality_stop)
        return self.quality_stop


# A batch is judged once it holds this many answers (or a whole window, if smaller).
_MIN_JUDGED = 20
