"""One recorder for both runners (online and Batch): an answer (or a failure) becomes a checked, redacted, priced
row; the row goes to the store, the summary counts it and the progress bar shows it. It also watches quality: a
server that only echoes or refuses is stopped after a window of answers, not paid for a whole KG."""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

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
        if self.bar is not None:
            self.bar.advance(self.summary)

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
            self.summary.stopped = self.summary.stopped or self.quality_stop
        return self.quality_stop


# A batch is judged once it holds this many answers (or a whole window, if smaller).
_MIN_JUDGED = 20


class ProgressBar:
    """The definitions' progress (core.progress.Bar) with the running counts and dollars: a bar on a terminal, a
    plain line every 30 s in a log file; silent when disabled. Answers from the cache are not part of the rate."""

    def __init__(self, total: int, *, enabled: bool):
        from kgbuild.core.progress import Bar

        self.bar = Bar(total, "definitions", enabled=enabled, unit="answers")
        self._last = 0.0
        self._summary: Summary | None = None

    def __enter__(self) -> ProgressBar:
        self.bar.__enter__()
        return self

    def advance(self, s: Summary) -> None:
        self._summary = s
        now = time.monotonic()
        if now - self._last < 0.2:  # redrawing per row would cost more than the request at 300/s
            return
        self._last = now
        self.bar.reused = s.cached
        stats = f"ok {s.done} · cached {s.cached} · failed {s.failed_checks + s.errors} · ${s.cost_usd:.4f}"
        self.bar.update(s.cached + s.done + s.failed_checks + s.errors, note=stats)

    def __exit__(self, *exc: object) -> None:
        if self._summary is not None:
            self._last = 0.0
            self.advance(self._summary)  # the final counts, whatever the throttle skipped
        self.bar.__exit__(*exc)
