"""The online path: N async workers over a bounded queue, each request reserved in the budget before it is sent,
rate limited, retried by the Completer, and recorded as it is answered."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import openai

from kgbuild.llm.budget import Budget
from kgbuild.llm.client import (
    AttemptTimeout,
    BudgetExhausted,
    Completer,
    MalformedResponse,
    RunStopped,
    error_text,
    make_client,
)
from kgbuild.llm.config import Request, RequestStream
from kgbuild.llm.ratelimit import RateLimiter
from kgbuild.llm.recorder import Recorder


class OnlineRunner:
    def __init__(self, recorder: Recorder):
        self.recorder = recorder
        self.config = recorder.config
        self.price = recorder.price
        self.summary = recorder.summary
        self.in_flight = 0  # requests handed to the server and not yet recorded (what a second Ctrl-C gives up)
        self._halted = asyncio.Event()  # the budget is spent or the run stopped: nothing more is sent
        self._completer: Completer | None = None

    def stop(self, reason: str) -> None:
        """Send nothing more; the requests in flight finish (within their attempt deadline) and are recorded."""
        self.recorder.stop(reason)
        if self._completer is not None:
            self._completer.stop(reason)
        self._halted.set()

    async def run(self, requests: RequestStream) -> None:
        c = self.config
        s, rec = self.summary, self.recorder  # the summary is read here; the recorder writes it
        budget = Budget(c.budget_usd, self.price, max_tokens=c.max_tokens)
        if (first := requests.peek()) is not None:
            budget.check_one_fits(first.body)
        limiter = RateLimiter(rpm=c.rpm, tpm=c.tpm, max_cooldown_s=c.retry.max_retry_after_s)
        client = make_client(base_url=c.base_url, timeout_s=c.timeout_s, max_connections=c.concurrency)
        completer = Completer(client, limiter, c.retry, timeout_s=c.timeout_s, budget=budget)
        completer.breaker.attempts = max(c.retry.breaker_attempts, c.concurrency)
        self._completer = completer
        if s.stopped:  # stopped before the workers started (a signal while the KG was read)
            completer.stop(s.stopped)
        # Bounded: the producer waits when the workers are busy, so memory does not grow with the job.
        queue: asyncio.Queue[Request | None] = asyncio.Queue(maxsize=2 * c.concurrency)
        halted = self._halted

        async def produce() -> None:
            for req in requests:
                if req is None:
                    await asyncio.sleep(0)
                    continue
                if halted.is_set():
                    rec.not_sent(1 + requests.remaining())  # counted, not rendered: a huge KG stops at once
                    break
                await queue.put(req)
            # Not in a `finally`: on an error the task group cancels the workers, and a put on a full queue
            # would wait for them forever.
            for _ in range(c.concurrency):
                await queue.put(None)

        async def work() -> None:
            while (req := await queue.get()) is not None:
                if halted.is_set():
                    rec.not_sent()
                    continue
                self.in_flight += 1
                try:
                    row = await self._send(completer, req)
                finally:
                    self.in_flight -= 1
                if row is None:  # not sent: the budget has no room, or the run stopped
                    rec.not_sent()
                    halted.set()
                    continue
                self.recorder.record(row)
                if (why := self.recorder.quality_stop or self.recorder.store.disk_full_reason) is not None:
                    self.stop(why)
                if completer.stop_reason is not None:
                    halted.set()

        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(produce())
                for _ in range(c.concurrency):
                    tg.create_task(work())
        finally:
            rec.attempted(http=completer.attempts, retries=completer.retries, cooldowns=limiter.cooldowns)
            # reserved: attempts cut off by Ctrl-C, at the worst case
            rec.spent(
                budget.spent + budget.reserved, unknown_cost_attempts=budget.unknown_cost_attempts + budget.in_flight
            )
            rec.stop(completer.stop_reason)
            if s.not_sent > 0 and s.stopped is None:
                rec.stopped_by_budget()
            await client.close()

    async def _send(self, completer: Completer, req: Request) -> dict[str, Any] | None:
        """The row of one request, or None when it was never sent (no room in the budget, or the run stopped)."""
        try:
            answer, attempts = await completer.complete(req.body, req.est_prompt_tokens + self.config.max_tokens)
        except (BudgetExhausted, RunStopped) as exc:
            attempts = getattr(exc, "attempts", 0)
            if attempts == 0:
                return None
            self.recorder.sent()
            why = "the budget had no room for another attempt" if isinstance(exc, BudgetExhausted) else str(exc)
            return self.recorder.row(req, answer=None, attempts=attempts, backend="online", error=why[:500])
        except (openai.OpenAIError, MalformedResponse, AttemptTimeout, json.JSONDecodeError, OSError) as exc:
            self.recorder.sent()
            return self.recorder.row(
                req, answer=None, attempts=getattr(exc, "attempts", 1), backend="online", error=error_text(exc)
            )
        self.recorder.sent()
        return self.recorder.row(req, answer=answer, attempts=attempts, backend="online")
