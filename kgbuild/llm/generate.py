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
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import openai

from kgbuild.contracts import check_or_raise, table_files
from kgbuild.errors import UserError
from kgbuild.llm.cache import CHECK_FAILURES, ERROR, OK, TABLE, DefinitionStore, request_key, short_key
from kgbuild.llm.checks import CheckConfig, check_answer, clean_text
from kgbuild.llm.client import (
    Answer,
    Completer,
    MalformedResponse,
    RetryPolicy,
    api_key_from_env,
    error_text,
    make_client,
)
from kgbuild.llm.pricing import Price, load_price
from kgbuild.llm.prompt import TEMPLATE_VERSION, KGFacts, Selection, render_messages
from kgbuild.llm.ratelimit import RateLimiter
from kgbuild.manifest import write_manifest

# A wrong key, a missing model or a wrong --base-url fail every request the same way: stop instead of
# writing 400k error rows.
_FATAL = (openai.AuthenticationError, openai.PermissionDeniedError, openai.NotFoundError)


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
    cost_usd: float = 0.0
    unpriced: bool = False
    budget_usd: float | None = None
    stopped_by_budget: bool = False
    not_sent: int = 0  # targets left because the budget would have been crossed
    recovered_rows: int = 0  # rows of a killed run found in its journal
    batches_submitted: int = 0
    batches_resumed: int = 0
    elapsed_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        cost = "unpriced model" if self.unpriced else f"${self.cost_usd:.4f}"
        if self.budget_usd is not None:
            cost += f" of ${self.budget_usd:.2f} budget"
        text = (f"done {self.done}, cached {self.cached}, failed {self.failed_checks + self.errors} "
                f"({self.failed_checks} checks, {self.errors} errors), requests {self.http_attempts}, "
                f"tokens {self.prompt_tokens} in / {self.completion_tokens} out, {cost}, {self.elapsed_s:.1f} s")
        if self.stopped_by_budget:
            text += f"; stopped before the budget: {self.not_sent} not sent"
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


class Budget:
    """Reserve the worst case before sending, settle to the real cost after: the cap is never crossed."""

    def __init__(self, cap: float | None, price: Price | None, *, batch: bool, max_tokens: int):
        self.cap = cap
        self.price = price
        self.batch = batch
        self.max_tokens = max_tokens
        self.spent = 0.0
        self.reserved = 0.0
        self.tokens_per_char = 0.0  # the highest ratio seen: estimates follow the real tokenizer

    def worst_case(self, req: Request) -> float:
        if self.price is None:
            return 0.0
        chars = sum(len(m["content"]) for m in req.body["messages"])
        prompt = max(req.est_prompt_tokens, int(chars * self.tokens_per_char * 1.1) + 1)
        return self.price.cost(prompt, self.max_tokens, batch=self.batch)

    def try_reserve(self, req: Request) -> float | None:
        worst = self.worst_case(req)
        if self.cap is not None and self.spent + self.reserved + worst > self.cap:
            return None
        self.reserved += worst
        return worst

    def settle(self, reservation: float, req: Request, cost: float, prompt_tokens: int) -> None:
        self.reserved -= reservation
        self.spent += cost
        chars = sum(len(m["content"]) for m in req.body["messages"])
        if prompt_tokens and chars:
            self.tokens_per_char = max(self.tokens_per_char, prompt_tokens / chars)


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
                "attempts": attempts, "backend": backend, "batch_id": batch_id, "created_at": datetime.now(UTC)}
        if answer is None:
            return {**base, "text": None, "finish_reason": None, "prompt_tokens": 0, "completion_tokens": 0,
                    "cost_usd": 0.0, "status": ERROR, "error": error}
        text = clean_text(answer.text)
        status, reason = check_answer(text, answer.finish_reason, answer.refusal, req.names, self.config.checks)
        cost = self.price.cost(answer.prompt_tokens, answer.completion_tokens, batch=backend == "batch") \
            if self.price else 0.0
        return {**base, "text": text or None, "finish_reason": answer.finish_reason,
                "prompt_tokens": answer.prompt_tokens, "completion_tokens": answer.completion_tokens,
                "cost_usd": cost, "status": status, "error": reason}

    def record(self, store: DefinitionStore, row: dict[str, Any]) -> None:
        store.add(row)
        s = self.summary
        s.prompt_tokens += row["prompt_tokens"]
        s.completion_tokens += row["completion_tokens"]
        s.cost_usd += row["cost_usd"]
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
        created = not self.out.exists()
        # The KG is read (and its problems reported) before anything is written to --out.
        with KGFacts(self.kg, selection) as facts:
            self.summary.selected = facts.count
            store = DefinitionStore(self.out, flush_rows=c.flush_rows, flush_seconds=c.flush_seconds)
            try:
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
            except BaseException:
                if created and not store.files():  # a run that stopped before its first answer leaves nothing
                    shutil.rmtree(self.out, ignore_errors=True)
                raise
        self.summary.elapsed_s = time.monotonic() - started
        # The store is closed (flushed, compacted): the shards must now read as one valid table.
        check_or_raise(TABLE, self.out)
        self.summary.statuses = DefinitionStore(self.out).counts()
        self.summary.elapsed_s = time.monotonic() - started
        self._write_manifest()
        return self.summary

    async def _run_online(self, store: DefinitionStore, requests: Iterator[Request]) -> None:
        c = self.config
        budget = Budget(c.budget_usd, self.price, batch=False, max_tokens=c.max_tokens)
        limiter = RateLimiter(rpm=c.rpm, tpm=c.tpm)
        client = make_client(base_url=c.base_url, timeout_s=c.timeout_s, max_connections=c.concurrency)
        completer = Completer(client, limiter, c.retry)
        # Bounded: the producer waits when the workers are busy, so memory does not grow with the job.
        queue: asyncio.Queue[tuple[Request, float] | None] = asyncio.Queue(maxsize=2 * c.concurrency)

        async def produce() -> None:
            for req in requests:
                if req is None:
                    await asyncio.sleep(0)
                    continue
                reservation = budget.try_reserve(req)
                if reservation is None:
                    self.summary.stopped_by_budget = True
                    self.summary.not_sent = 1 + sum(1 for r in requests if r is not None)
                    break
                self.summary.sent += 1
                await queue.put((req, reservation))
            # Not in a `finally`: on an error the task group cancels the workers, and a put on a full queue
            # would wait for them forever.
            for _ in range(c.concurrency):
                await queue.put(None)

        async def work() -> None:
            while (item := await queue.get()) is not None:
                req, reservation = item
                row = await self._send(completer, req)
                budget.settle(reservation, req, row["cost_usd"], row["prompt_tokens"])
                self.record(store, row)

        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(produce())
                for _ in range(c.concurrency):
                    tg.create_task(work())
        except* UserError as group:
            raise group.exceptions[0] from None
        finally:
            self.summary.retries += completer.retries
            self.summary.cooldowns += limiter.cooldowns
            await client.close()

    async def _send(self, completer: Completer, req: Request) -> dict[str, Any]:
        try:
            answer, attempts = await completer.complete(req.body, req.est_prompt_tokens + self.config.max_tokens)
        except _FATAL as exc:
            raise UserError(f"the server refused the request ({error_text(exc)})",
                            fix="check OPENAI_API_KEY, --model and --base-url") from None
        except (openai.OpenAIError, MalformedResponse, json.JSONDecodeError) as exc:
            self.summary.http_attempts += getattr(exc, "attempts", 1)
            return self.row(req, answer=None, attempts=getattr(exc, "attempts", 1), backend="online",
                            error=error_text(exc))
        self.summary.http_attempts += attempts
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
