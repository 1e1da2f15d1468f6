"""`DefinitionGenerator`: the library object behind `kgbuild generate-definitions`.

    from kgbuild.llm import DefinitionGenerator, GenerateConfig
    summary = DefinitionGenerator("kg", "defs", GenerateConfig(model="gpt-4o-mini", budget_usd=5)).run()
    print(summary.line())

Flow: KG facts (streamed, most-connected first) → prompt → request key → skip if cached → bounded queue →
N async workers (rate limits, retries) → output checks → journal + Parquet shards → contract check → manifest.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai

from kgbuild.atomic import check_overlap
from kgbuild.contracts import check_or_raise, table_files
from kgbuild.errors import UserError
from kgbuild.llm.budget import Budget
from kgbuild.llm.cache import CHECK_FAILURES, ERROR, OK, TABLE, DefinitionStore, is_ours, request_key, short_key
from kgbuild.llm.checks import CheckConfig, check_answer, clean_text
from kgbuild.llm.client import (
    Answer,
    AttemptTimeout,
    BudgetExhausted,
    Completer,
    MalformedResponse,
    RetryPolicy,
    RunStopped,
    api_key_from_env,
    error_text,
    make_client,
    redact,
)
from kgbuild.llm.pricing import load_price
from kgbuild.llm.prompt import TEMPLATE_TEXT, TEMPLATE_VERSION, KGFacts, Selection, render_messages
from kgbuild.llm.ratelimit import RateLimiter
from kgbuild.manifest import write_manifest


@dataclass
class GenerateConfig:
    model: str = "gpt-4o-mini"
    base_url: str | None = None
    limit: int | None = None
    concurrency: int = 64
    rpm: float | None = None
    tpm: float | None = None
    budget_usd: float | None = None
    batch: bool = False
    only_missing: bool = True
    order: str = "degree"
    retry_failed: bool = False
    temperature: float = 0.0
    max_tokens: int = 160
    seed: int | None = None
    timeout_s: float = 60.0
    prices: Path | None = None
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    checks: CheckConfig = field(default_factory=CheckConfig)
    flush_rows: int = 5000
    flush_seconds: float = 10.0
    # Batch API
    batch_max_lines: int = 50_000
    batch_max_bytes: int = 190_000_000  # the API allows 200 MB per input file
    batch_poll_s: float = 60.0
    batch_max_enqueued_tokens: int | None = None
    batch_max_rounds: int = 3

    def params(self) -> dict[str, Any]:
        """The generation parameters that go into every request body and key."""
        params: dict[str, Any] = {"temperature": self.temperature, "max_tokens": self.max_tokens}
        if self.seed is not None:
            params["seed"] = self.seed
        return params

    def to_json(self) -> dict[str, Any]:
        out = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = asdict(value) if hasattr(value, "__dataclass_fields__") else (
                str(value) if isinstance(value, Path) else value)
        out["base_url"] = redact(self.base_url)  # a URL may carry credentials (https://user:key@host)
        return out


@dataclass
class Summary:
    selected: int = 0  # target concepts (after --limit)
    cached: int = 0  # already answered in DEFS_DIR: not sent
    sent: int = 0  # requests given to the server (one per key; retries not counted)
    done: int = 0  # answered and passing the checks
    failed_checks: int = 0  # answered (paid) but failing an output check
    errors: int = 0  # no usable answer after the retries
    http_attempts: int = 0
    retries: int = 0
    cooldowns: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0  # the answers kept (estimated for those without usage)
    spent_usd: float = 0.0  # every attempt sent: billed cost, or the worst case where unknown (what the budget counts)
    unknown_cost_attempts: int = 0  # attempts charged at the worst case (timeouts, dropped, no usage)
    estimated_usage: int = 0  # answers kept without (complete) usage: their tokens are estimates
    unpriced: bool = False
    budget_usd: float | None = None
    stopped_by_budget: bool = False
    not_sent: int = 0  # targets left unsent: the budget would have been crossed, or the run stopped
    stopped: str | None = None  # why the run stopped early (quota, a dead server, a refused key); None if it did not
    recovered_rows: int = 0  # rows of a killed run found in its journal
    batches_submitted: int = 0
    batches_resumed: int = 0
    poll_failures: int = 0  # Batch polls that failed after their retries (looked at again at the next poll)
    elapsed_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        cost = "unpriced model" if self.unpriced else f"${self.spent_usd:.4f}"
        if not self.unpriced and self.unknown_cost_attempts:
            cost += f" at most ({self.unknown_cost_attempts} attempts at their worst case)"
        if self.budget_usd is not None:
            cost += f" of ${self.budget_usd:.2f} budget"
        text = (f"done {self.done}, cached {self.cached}, failed {self.failed_checks + self.errors} "
                f"({self.failed_checks} checks, {self.errors} errors), requests {self.http_attempts}, "
                f"tokens {self.prompt_tokens} in / {self.completion_tokens} out, {cost}, {self.elapsed_s:.1f} s")
        if self.stopped_by_budget:
            text += f"; stopped before the budget: {self.not_sent} not sent"
        elif self.stopped:
            text += f"; stopped early: {self.not_sent} not sent"
        return text


@dataclass(slots=True)
class Request:
    key: str
    cui: str
    names: list[str]
    body: dict[str, Any]
    est_prompt_tokens: int

    @property
    def custom_id(self) -> str:
        return self.key[:32]


def estimate_prompt_tokens(messages: list[dict[str, str]]) -> int:
    # ~4 characters per English token; 3 keeps the estimate above the real count for rate limits and budget.
    return sum(len(m["content"]) for m in messages) // 3 + 8 * len(messages)


class DefinitionGenerator:
    def __init__(self, kg: Path | str, out: Path | str, config: GenerateConfig | None = None, *,
                 progress: bool = False, on_row: Callable[[dict[str, Any]], None] | None = None):
        self.kg = Path(kg)
        self.out = Path(out)
        self.config = config or GenerateConfig()
        self.progress = progress
        self.on_row = on_row
        self.summary = Summary(budget_usd=self.config.budget_usd)
        self._bar: _ProgressBar | None = None
        self.price = load_price(self.config.model, self.config.prices)
        self._validate()

    def _validate(self) -> None:
        """Every check that needs no server, before anything is written."""
        c = self.config
        if not self.kg.is_dir() or not table_files(self.kg, "concepts"):
            raise UserError("no KG here (concepts table missing)", path=self.kg,
                            fix="pass the output folder of `kgbuild extract` as --kg")
        if self.out.exists() and not self.out.is_dir():
            raise UserError("--out is a file", path=self.out, fix="give a folder (new, or one from an earlier run)")
        check_overlap(self.out, {"--kg": self.kg})
        if self.out.is_dir() and any(self.out.iterdir()) and not is_ours(self.out):
            raise UserError("--out holds files that generate-definitions did not write", path=self.out,
                            fix="give a new folder, or the DEFS folder of an earlier run to resume it")
        if c.timeout_s <= 0:
            raise UserError("--timeout must be positive", fix="e.g. --timeout 60")
        if c.retry.max_attempts < 1:
            raise UserError("--max-attempts must be at least 1", fix="e.g. --max-attempts 6")
        api_key_from_env(c.base_url)
        if c.concurrency < 1:
            raise UserError("--concurrency must be at least 1", fix="e.g. --concurrency 64")
        if c.limit is not None and c.limit < 0:
            raise UserError("--limit must be zero or more")
        for name in ("rpm", "tpm", "budget_usd"):
            value = getattr(c, name)
            if value is not None and value <= 0:
                raise UserError(f"--{name.replace('_', '-')} must be positive", fix="leave it out for no limit")
        if c.budget_usd is not None and self.price is None:
            raise UserError(f"no price for model {c.model!r}, so --budget-usd cannot be enforced",
                            path=c.prices or "kgbuild/llm/prices.toml",
                            fix=f'add [models."{c.model}"] with input/output prices, or pass --prices FILE')
        self.summary.unpriced = self.price is None

    # -- requests --------------------------------------------------------------------------------------------------

    def _requests(self, facts: KGFacts, skip: set[bytes]) -> Iterator[Request | None]:
        """The requests to send, in order; None now and then while skipping cached ones (a chance to yield)."""
        params = self.config.params()
        model = self.config.model
        for f in facts:
            messages = render_messages(f)
            key = request_key(model, messages, params, TEMPLATE_VERSION)
            if short_key(key) in skip:
                self.summary.cached += 1
                if self.summary.cached % 2000 == 0:
                    yield None  # a long cached stretch: let the workers' answers in (see `produce`)
                continue
            if f.shared_name:
                # Two concepts with the same name and facts make the same request: send it once. Only concepts
                # whose name another target shares are remembered, so this set stays small.
                skip.add(short_key(key))
            yield Request(key=key, cui=f.cui, names=f.names, body={"model": model, "messages": messages, **params},
                          est_prompt_tokens=estimate_prompt_tokens(messages))

    def row(self, req: Request, *, answer: Answer | None, attempts: int, backend: str, batch_id: str | None = None,
            error: str | None = None) -> dict[str, Any]:
        """The table row of one finished request (answered, or failed with `error`)."""
        base = {"key": req.key, "cui": req.cui, "model": self.config.model, "prompt_version": TEMPLATE_VERSION,
                "attempts": max(1, attempts), "backend": backend, "batch_id": batch_id,
                "created_at": datetime.now(UTC)}
        if answer is None:
            return {**base, "text": None, "finish_reason": None, "prompt_tokens": 0, "completion_tokens": 0,
                    "usage_estimated": False, "cost_usd": 0.0, "status": ERROR, "error": redact(error)}
        text = redact(clean_text(answer.text))
        prompt = "\n".join(m["content"] for m in req.body["messages"])
        status, reason = check_answer(text, answer.finish_reason, answer.refusal, req.names, self.config.checks,
                                      prompt=prompt, template=TEMPLATE_TEXT)
        cost = self.price.cost(answer.prompt_tokens, answer.completion_tokens, batch=backend == "batch") \
            if self.price else 0.0
        return {**base, "text": text or None, "finish_reason": answer.finish_reason,
                "prompt_tokens": max(1, answer.prompt_tokens), "completion_tokens": answer.completion_tokens,
                "usage_estimated": answer.usage_estimated, "cost_usd": cost, "status": status, "error": reason}

    def record(self, store: DefinitionStore, row: dict[str, Any]) -> None:
        store.add(row)
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
        if self._bar is not None:
            self._bar.advance(self.summary)

    # -- running ---------------------------------------------------------------------------------------------------

    def run(self) -> Summary:
        return asyncio.run(self.arun())

    async def arun(self) -> Summary:
        started = time.monotonic()
        c = self.config
        selection = Selection(only_missing=c.only_missing, order=c.order, limit=c.limit)
        self._bar = None
        # The KG is read (and its problems reported) before anything is written to --out. Nothing in --out is ever
        # deleted, whatever happens: a stopped run may already have paid (a submitted batch, requests in flight),
        # and its journal and ledger are what let the rerun resume instead of paying again.
        with KGFacts(self.kg, selection) as facts:
            self.summary.selected = facts.count
            store = DefinitionStore(self.out, flush_rows=c.flush_rows, flush_seconds=c.flush_seconds)
            with store:
                self.summary.recovered_rows = store.recovered_rows
                skip = store.skip_keys(retry_failed=c.retry_failed)
                self._bar = _ProgressBar(facts.count, enabled=self.progress)
                with self._bar:
                    requests = self._requests(facts, skip)
                    if c.batch:
                        from kgbuild.llm.batch import BatchRunner

                        await BatchRunner(self, store).run(requests)
                    else:
                        await self._run_online(store, requests)
        # The store is closed (flushed, compacted): the shards must now read as one valid table.
        check_or_raise(TABLE, self.out)
        self.summary.statuses = DefinitionStore(self.out).counts()
        self.summary.elapsed_s = time.monotonic() - started
        self._write_manifest()
        if self.summary.stopped:
            stop = RunStopped(self.summary.stopped)
            stop.summary = self.summary
            raise stop
        return self.summary

    async def _run_online(self, store: DefinitionStore, requests: Iterator[Request | None]) -> None:
        c = self.config
        s = self.summary
        budget = Budget(c.budget_usd, self.price, max_tokens=c.max_tokens)
        limiter = RateLimiter(rpm=c.rpm, tpm=c.tpm, max_cooldown_s=c.retry.max_retry_after_s)
        client = make_client(base_url=c.base_url, timeout_s=c.timeout_s, max_connections=c.concurrency)
        completer = Completer(client, limiter, c.retry, timeout_s=c.timeout_s, budget=budget)
        completer.breaker.attempts = max(c.retry.breaker_attempts, c.concurrency)
        # Bounded: the producer waits when the workers are busy, so memory does not grow with the job.
        queue: asyncio.Queue[Request | None] = asyncio.Queue(maxsize=2 * c.concurrency)
        halted = asyncio.Event()  # the budget is spent or the run stopped: nothing more is sent

        async def produce() -> None:
            for req in requests:
                if req is None:
                    await asyncio.sleep(0)
                    continue
                if halted.is_set():
                    s.not_sent += 1 + sum(1 for r in requests if r is not None)
                    break
                await queue.put(req)
            # Not in a `finally`: on an error the task group cancels the workers, and a put on a full queue
            # would wait for them forever.
            for _ in range(c.concurrency):
                await queue.put(None)

        async def work() -> None:
            while (req := await queue.get()) is not None:
                if halted.is_set():
                    s.not_sent += 1
                    continue
                row = await self._send(completer, req)
                if row is None:  # not sent: the budget has no room, or the run stopped
                    s.not_sent += 1
                    halted.set()
                    continue
                self.record(store, row)
                if completer.stop_reason is not None:
                    halted.set()

        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(produce())
                for _ in range(c.concurrency):
                    tg.create_task(work())
        finally:
            s.retries += completer.retries
            s.http_attempts += completer.attempts
            s.cooldowns += limiter.cooldowns
            s.spent_usd += budget.spent + budget.reserved  # reserved: attempts cut off by Ctrl-C, at the worst case
            s.unknown_cost_attempts += budget.unknown_cost_attempts + budget.in_flight
            s.stopped = s.stopped or completer.stop_reason
            s.stopped_by_budget = s.stopped_by_budget or (s.not_sent > 0 and s.stopped is None)
            await client.close()

    async def _send(self, completer: Completer, req: Request) -> dict[str, Any] | None:
        """The row of one request, or None when it was never sent (no room in the budget, or the run stopped)."""
        try:
            answer, attempts = await completer.complete(req.body, req.est_prompt_tokens + self.config.max_tokens)
        except (BudgetExhausted, RunStopped) as exc:
            attempts = getattr(exc, "attempts", 0)
            if attempts == 0:
                return None
            self.summary.sent += 1
            why = "the budget had no room for another attempt" if isinstance(exc, BudgetExhausted) else str(exc)
            return self.row(req, answer=None, attempts=attempts, backend="online", error=why[:500])
        except (openai.OpenAIError, MalformedResponse, AttemptTimeout, json.JSONDecodeError, OSError) as exc:
            self.summary.sent += 1
            return self.row(req, answer=None, attempts=getattr(exc, "attempts", 1), backend="online",
                            error=error_text(exc))
        self.summary.sent += 1
        return self.row(req, answer=answer, attempts=attempts, backend="online")

    def _write_manifest(self) -> None:
        kg_tables = {}
        for table in ("concepts", "names", "relations"):
            files = table_files(self.kg, table)
            kg_tables[table] = {"files": [str(Path(f).relative_to(self.kg)) for f in files],
                                "bytes": sum(Path(f).stat().st_size for f in files)}
        params = self.config.to_json()
        params["template_version"] = TEMPLATE_VERSION
        price = asdict(self.price) if self.price else None
        write_manifest(self.out, command="generate-definitions", inputs={"kg": str(self.kg), "tables": kg_tables},
                       parameters=params, tables={TABLE: sum(self.summary.statuses.values())},
                       timings={"total": self.summary.elapsed_s},
                       extra={"summary": asdict(self.summary), "price_per_1m_tokens": price,
                              "statuses": {"ok": OK, "retried_every_run": ERROR,
                                           "retried_with_retry_failed": list(CHECK_FAILURES)}})


class _ProgressBar:
    """A rich progress bar on stderr with the running counts and dollars; silent when disabled."""

    def __init__(self, total: int, *, enabled: bool):
        self.total = total
        self.enabled = enabled
        self._progress = None
        self._task = None
        self._last = 0.0
        self._summary: Summary | None = None

    def __enter__(self) -> _ProgressBar:
        if self.enabled:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            from kgbuild.console import err

            self._progress = Progress(TextColumn("definitions"), BarColumn(), MofNCompleteColumn(),
                                      TimeRemainingColumn(), TextColumn("{task.fields[stats]}"), console=err)
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
