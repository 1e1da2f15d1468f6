"""What a generate-definitions run is given (GenerateConfig, RetryPolicy, CheckConfig: the defaults and help of the
command's options), what it sends (Request) and what it counts (Summary): the types every part of the run shares (the
generator, the recorder, the online and the batch runners). Light to import: the command reads its options here."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from kgbuild.core.options import described
from kgbuild.redact import redact

# Below this much free space a shard is not started: the run stops sending before a write fails half-way.
MIN_FREE_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = described(6, "Attempts per request (retries + 1).")
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    # A server asking for a longer wait than this (a 429 with Retry-After: 86400) stops the run instead of freezing it.
    max_retry_after_s: float = 120.0
    # The circuit breaker: this many consecutive failed attempts of one kind (at least; the run's concurrency if
    # larger, since one wave of workers fails together) lasting this long, with no success in between.
    breaker_attempts: int = 8
    breaker_seconds: float = 10.0
    # 429s are rate limiting, which the cool-down handles, until nothing but 429s has come back for this long: a
    # storm (a server that only rate limits, without Retry-After) then stops the run like any other failure.
    breaker_429_seconds: float = 60.0


@dataclass(frozen=True)
class CheckConfig:
    min_words: int = described(20, "Output check: fewer words is too_short.")
    max_words: int = described(110, "Output check: more words is too_long.")


@dataclass
class GenerateConfig:
    model: str = described("gpt-4o-mini", "Model name sent to the server.")
    base_url: str | None = described(
        None,
        "An OpenAI-compatible server (vLLM, llama.cpp, Ollama), e.g. http://127.0.0.1:8000/v1. "
        "Default: OpenAI (or $OPENAI_BASE_URL).",
    )
    limit: int | None = described(None, "Only the first N target concepts (in send order).")
    concurrency: int = described(64, "Requests in flight.")
    rpm: float | None = described(None, "Requests per minute at most.")
    tpm: float | None = described(None, "Tokens per minute at most (prompt estimate + max tokens).")
    budget_usd: float | None = described(None, "Stop before this run's spend would cross X dollars.")
    batch: bool = described(False, "Use the OpenAI Batch API (half price, up to 24 h).")
    only_missing: bool = described(True, "Concepts without a definition (default), or all concepts.")
    order: str = described("degree", "degree: most-connected first; cui: by identifier.")
    retry_failed: bool = described(
        False,
        "Also re-send answers that failed an output check (empty, refusal, truncated, too short/long, not naming "
        "the concept).",
    )
    temperature: float = described(0.0, "Sampling temperature (0: the most likely answer).")
    max_tokens: int = described(160, "Tokens per answer; longer is kept, marked truncated.")
    seed: int | None = described(None, "Sent to servers that support it.")
    timeout_s: float = described(60.0, "Seconds per attempt (a deadline for the whole answer) before it is retried.")
    prices: Path | None = described(None, "A price table like kgbuild/llm/prices.toml.")
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    checks: CheckConfig = field(default_factory=CheckConfig)
    flush_rows: int = 5000
    flush_seconds: float = 10.0
    # Free space kept on the disk of --out (a shard is not started below it), and how often a run whose disk filled
    # up tries again to write the answers it holds.
    min_free_bytes: int = MIN_FREE_BYTES
    disk_retry_s: float = 5.0
    # An online run with batches pending from an earlier --batch run: refused unless they are cancelled first.
    abandon_batches: bool = described(
        False,
        "Online run over a folder with batches still pending: cancel them at the provider first (what they "
        "already hold is collected), then send the rest online. Without it such a run is refused.",
    )
    # The quality breaker: stop when more than this share of a window of answers fails the output checks.
    quality_window: int = 50
    quality_max_failing: float = 0.9
    # Batch API
    batch_max_lines: int = 50_000
    batch_max_bytes: int = 190_000_000  # the API allows 200 MB per input file
    batch_poll_s: float = described(60.0, "Seconds between Batch status polls.")
    batch_max_enqueued_tokens: int | None = described(
        None, "Your Batch queue limit (input tokens); batches are submitted while the queue stays under it."
    )
    batch_max_rounds: int = 3
    # Polls that keep failing (a dead server) stop the run after this long; the ledger keeps the batches.
    batch_poll_give_up_s: float = 900.0

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
            out[f.name] = (
                asdict(value)
                if hasattr(value, "__dataclass_fields__")
                else (str(value) if isinstance(value, Path) else value)
            )
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
    batches_abandoned: int = 0  # cancelled at the provider with --abandon-batches (what they held is collected)
    poll_failures: int = 0  # Batch polls that failed after their retries (looked at again at the next poll)
    elapsed_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def line(self) -> str:
        cost = "unpriced model" if self.unpriced else f"${self.spent_usd:.4f}"
        if not self.unpriced and self.unknown_cost_attempts:
            cost += f" at most ({self.unknown_cost_attempts} attempts at their worst case)"
        if self.budget_usd is not None:
            cost += f" of ${self.budget_usd:.2f} budget"
        text = (
            f"done {self.done}, cached {self.cached}, failed {self.failed_checks + self.errors} "
            f"({self.failed_checks} checks, {self.errors} errors), requests {self.http_attempts}, "
            f"tokens {self.prompt_tokens} in / {self.completion_tokens} out, {cost}, {self.elapsed_s:.1f} s"
        )
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


class RequestStream:
    """The requests of a run, in send order (None now and then while cached ones are skipped: a chance to yield),
    with a look at the first one and a count of the targets not yet looked at. What a stopped run does not send is
    counted from that, never rendered: a huge KG with a tiny budget stops at once."""

    def __init__(self, items: Iterator[Request | None], left: Callable[[], int]):
        self._items = items
        self._left = left  # targets the items have not reached yet
        self._head: list[Request] = []

    @classmethod
    def of(cls, requests: list[Request]) -> RequestStream:
        """A stream over a list (a batch's re-queued requests)."""
        taken = [0]

        def items() -> Iterator[Request]:
            for req in requests:
                taken[0] += 1
                yield req

        return cls(items(), lambda: len(requests) - taken[0])

    def without(self, custom_ids: set[str]) -> RequestStream:
        """This stream less the requests of `custom_ids` (in batches already); what is left is counted in this one."""
        return RequestStream((r for r in self if r is None or r.custom_id not in custom_ids), self.remaining)

    def __iter__(self) -> RequestStream:
        return self

    def __next__(self) -> Request | None:
        if self._head:
            return self._head.pop()
        return next(self._items)

    def peek(self) -> Request | None:
        """The first request to send (kept for iteration); None when there is none."""
        if not self._head:
            for item in self._items:
                if item is not None:
                    self._head.append(item)
                    break
        return self._head[0] if self._head else None

    def remaining(self) -> int:
        """Targets not yet looked at (a held first request included): not sent, and some may be cached."""
        return len(self._head) + max(0, self._left())


def estimate_prompt_tokens(messages: list[dict[str, str]]) -> int:
    # ~4 characters per English token; 3 keeps the estimate above the real count for rate limits and budget.
    return sum(len(m["content"]) for m in messages) // 3 + 8 * len(messages)
