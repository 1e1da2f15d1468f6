"""One chat completion with our own retry policy: AsyncOpenAI with the SDK's retries off, tenacity doing them.

Only 408/409/429/5xx, timeouts, connection errors and malformed bodies are retried, a bounded number of times;
Retry-After (or retry-after-ms) is honoured up to a cap, otherwise exponential backoff with full jitter. A 429 also
starts the shared cool-down of the rate limiter, so every worker pauses, not just the one that was told.

Money: every attempt is charged to the budget before it is sent, at its worst-case price, and settled when the
server's answer says what it cost. An attempt that may have reached the model (a timeout, a dropped connection, a
200 we cannot read) stays charged at the worst case: the provider may bill it.

Fast failure: a quota error, or a server asking to wait longer than the cap, stops the run (`RunStopped`); so does
the circuit breaker after a streak of identical failures with no success in between.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from kgbuild.core.errors import UserError
from kgbuild.llm.budget import Budget
from kgbuild.llm.config import RetryPolicy
from kgbuild.llm.ratelimit import RateLimiter
from kgbuild.redact import redact

RETRY_STATUS = frozenset({408, 409, 429})
# The SDK's typed `chat.completions.create` walks the TypedDict annotations of every parameter on every call:
# measured at ~1.6 ms of CPU per request, more than all the rest of the client. We send the same JSON through the
# SDK's generic `post` (same auth, base URL, timeouts, error classes) and read the few fields we keep ourselves.
_POST_OPTIONS: dict[str, Any] = {"security": {"bearer_auth": True}}


class MalformedResponse(Exception):
    """A 200 whose body is not a chat completion (truncated JSON, an HTML error page, no choices)."""


class AttemptTimeout(Exception):
    """The attempt's deadline passed (a whole-attempt deadline: a server trickling bytes does not extend it)."""


class BudgetExhausted(Exception):
    """No attempt of this request fits in the budget any more."""


class RunStopped(UserError):
    """The run stops early: nothing more is sent; answers received so far are kept. `summary` is the run's."""

    summary: Any = None


@dataclass
class Answer:
    text: str | None
    finish_reason: str | None
    refusal: str | None
    prompt_tokens: int
    completion_tokens: int
    usage_estimated: bool = False  # the server sent no (complete, plausible) usage: the counts are our estimates
    repairs: tuple[str, ...] = ()  # what was done to the server's bytes to keep the answer (recorded in its row)


# -- secrets ---------------------------------------------------------------------------------------------------------


def api_key_from_env(base_url: str | None) -> str:
    """The key comes from the environment only. Local servers (a --base-url) usually need none."""
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        return key
    if base_url or os.environ.get("OPENAI_BASE_URL"):
        return "no-key"
    raise UserError(
        "OPENAI_API_KEY is not set",
        fix="export OPENAI_API_KEY=… (or pass --base-url for a local OpenAI-compatible server)",
    )


# httpcore's pool looks at each of its connections for every request it places: at 64-128 in flight that scan cost
# the client a fifth of its CPU (BENCHMARKS.md). Several small pools, each request to the least busy, keep it short.
_POOL_SIZE = 16
_PROXY_ENV = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class PooledTransport(httpx2.AsyncBaseTransport):
    """Connection pools of `_POOL_SIZE` connections; a request goes to the pool with the fewest open responses."""

    def __init__(self, max_connections: int):
        n = max(1, -(-max_connections // _POOL_SIZE))
        size = -(-max_connections // n)
        limits = httpx2.Limits(max_connections=size, max_keepalive_connections=size)
        self._pools = [httpx2.AsyncHTTPTransport(limits=limits) for _ in range(n)]
        self._busy = [0] * n

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        i = self._busy.index(min(self._busy))
        self._busy[i] += 1
        try:
            response = await self._pools[i].handle_async_request(request)
        except BaseException:
            self._busy[i] -= 1
            raise
        response.stream = _Released(response.stream, lambda: self._release(i))
        return response

    def _release(self, i: int) -> None:
        self._busy[i] -= 1

    async def aclose(self) -> None:
        for pool in self._pools:
            await pool.aclose()


class _Released(httpx2.AsyncByteStream):
    """A response body that tells its pool when it is closed (the connection is free again)."""

    def __init__(self, stream: Any, release: Callable[[], None]):
        self._stream = stream
        self._release: Callable[[], None] | None = release

    async def __aiter__(self):
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        try:
            await self._stream.aclose()
        finally:
            if self._release is not None:
                self._release, release = None, self._release
                release()


def make_client(*, base_url: str | None, timeout_s: float, max_connections: int) -> openai.AsyncOpenAI:
    timeout = httpx2.Timeout(timeout_s, connect=min(10.0, timeout_s))
    if any(os.environ.get(name) for name in _PROXY_ENV):  # httpx's own client routes through the proxy
        limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        http = httpx2.AsyncClient(limits=limits, timeout=timeout)
    else:
        http = httpx2.AsyncClient(transport=PooledTransport(max_connections), timeout=timeout)
    return openai.AsyncOpenAI(
        api_key=api_key_from_env(base_url), base_url=base_url, max_retries=0, timeout=timeout_s, http_client=http
    )


# -- classifying failures --------------------------------------------------------------------------------------------


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError | AttemptTimeout):  # APIConnectionError includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRY_STATUS or exc.status_code >= 500
    return isinstance(exc, MalformedResponse | json.JSONDecodeError | openai.APIResponseValidationError)


def never_sent(exc: BaseException) -> bool:
    """True when the request cannot have reached the server (the connection was never made): nothing was billed."""
    cause = exc.__cause__ or exc.__context__
    return isinstance(exc, openai.APIConnectionError) and isinstance(cause, httpx2.ConnectError)


def is_quota_error(exc: BaseException) -> bool:
    """OpenAI's 'insufficient_quota' 429: no retry can succeed until the account is topped up."""
    if not isinstance(exc, openai.APIStatusError) or exc.status_code != 429:
        return False
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error", body) if isinstance(body, dict) else {}
    codes = {
        getattr(exc, "code", None),
        error.get("code") if isinstance(error, dict) else None,
        error.get("type") if isinstance(error, dict) else None,
    }
    return "insufficient_quota" in codes


def failure_kind(exc: BaseException) -> str:
    """What the circuit breaker compares: attempts failing the same way in a row."""
    if isinstance(exc, openai.APIStatusError):
        return f"HTTP {exc.status_code}"
    if never_sent(exc):
        return "connection refused"
    if isinstance(exc, AttemptTimeout | openai.APITimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError):
        return "connection error"
    return "malformed answer"


def retry_after_s(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (retry-after-ms, retry-after in seconds or as an HTTP date)."""
    response = getattr(exc, "response", None)
    if response is None:
        return None
    headers = response.headers
    try:
        if "retry-after-ms" in headers:
            return max(0.0, float(headers["retry-after-ms"]) / 1000)
        value = headers.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_text(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        text = f"HTTP {exc.status_code}: {exc.message}"
    elif isinstance(exc, AttemptTimeout):
        text = f"timeout: {exc}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return redact(text)[:500]


# -- reading answers -------------------------------------------------------------------------------------------------


def estimate_tokens(text: str) -> int:
    """~4 characters per English token (for answers without usage: an estimate, marked as such)."""
    return max(1, -(-len(text) // 4))


def answer_from_body(body: Any, *, prompt_chars: int = 0, repairs: tuple[str, ...] = ()) -> Answer:
    """The fields we keep from a chat completion body (an HTTP answer, or a line of a Batch output file).

    A body without usage (or with part of it) is still an answer: it was paid for. Its token counts are estimated
    (from `prompt_chars` and the text) and marked, never taken as 0. So is usage that cannot be true (zero tokens
    for a prompt we sent, a tenth of what the text can be, fractions): a lying server must not switch the budget
    off. `content` may be a string or a list of parts (several servers answer `[{"type": "text", ...}]`)."""
    try:
        choice = body["choices"][0]
        message = choice["message"]
        text = _content_text(message.get("content"))
        refusal = message.get("refusal")
        refusal = None if refusal is None else str(refusal)
        finish_reason = choice.get("finish_reason")
        finish_reason = None if finish_reason is None else str(finish_reason)
    except (KeyError, IndexError, TypeError, AttributeError) as exc:
        raise MalformedResponse(
            redact(f"not a chat completion ({type(exc).__name__}: {exc}): {str(body)[:200]}")
        ) from None
    usage = body.get("usage") if isinstance(body, dict) else None
    usage = usage if isinstance(usage, dict) else {}
    prompt_tokens, completion_tokens = _count(usage.get("prompt_tokens")), _count(usage.get("completion_tokens"))
    said = (usage.get("prompt_tokens"), usage.get("completion_tokens"))
    answer_chars = len(text or refusal or "")
    unusable = (prompt_tokens is None and said[0] is not None) or (completion_tokens is None and said[1] is not None)
    if unusable or (
        None not in (prompt_tokens, completion_tokens)
        and not _plausible(prompt_tokens, prompt_chars, completion_tokens, answer_chars)
    ):
        prompt_tokens = completion_tokens = None
        repairs = (*repairs, f"implausible usage {said[0]!r}/{said[1]!r} tokens replaced by estimates")
    estimated = prompt_tokens is None or completion_tokens is None
    if prompt_tokens is None:
        prompt_tokens = max(1, prompt_chars // 4)
    if completion_tokens is None:
        completion_tokens = estimate_tokens(text or refusal or "")
    return Answer(
        text=text,
        finish_reason=finish_reason,
        refusal=refusal,
        prompt_tokens=prompt_tokens,
        completion_tokens=completion_tokens,
        usage_estimated=estimated,
        repairs=repairs,
    )


def _content_text(content: Any) -> str | None:
    if content is None or isinstance(content, str):
        return content
    if isinstance(content, list):  # content parts: the text parts, in order
        parts = [p.get("text") for p in content if isinstance(p, dict) and p.get("type", "text") == "text"]
        if all(isinstance(p, str) for p in parts):
            return "".join(parts)
    raise TypeError("content is neither text nor a list of text parts")


# No tokenizer averages more than this many characters per token over a prompt or an answer of real text: usage
# below it is not what the provider bills.
_MAX_CHARS_PER_TOKEN = 12


def _plausible(prompt_tokens: int, prompt_chars: int, completion_tokens: int, answer_chars: int) -> bool:
    if prompt_chars and prompt_tokens * _MAX_CHARS_PER_TOKEN < prompt_chars:
        return False
    return not answer_chars or completion_tokens * _MAX_CHARS_PER_TOKEN >= answer_chars


def _count(value: Any) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, float) and not value.is_integer():
        return None  # a fraction of a token is no count a provider bills
    try:
        n = int(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return n if n >= 0 else None


def parse_completion(raw: bytes, *, prompt_chars: int = 0) -> Answer:
    repairs: tuple[str, ...] = ()
    try:
        decoded = raw.decode("utf-8")
    except UnicodeDecodeError:  # a paid answer with broken bytes: kept, the bytes replaced and the repair recorded
        decoded = raw.decode("utf-8", errors="replace")
        repairs = ("invalid UTF-8 replaced",)
    try:
        body = json.loads(decoded)
    except ValueError:
        raise MalformedResponse(redact(f"the body is not JSON: {raw[:200]!r}")) from None
    return answer_from_body(body, prompt_chars=prompt_chars, repairs=repairs)


# -- the circuit breaker ---------------------------------------------------------------------------------------------


class CircuitBreaker:
    """Trips when consecutive failed attempts of one kind, with no success in between, reach `attempts` and span
    `seconds` (from the send of the first). A refused connection or a non-retryable 4xx trips on the count alone:
    waiting does not change them. 429s (rate limiting, handled by the cool-down) must span `seconds_429`."""

    def __init__(self, *, attempts: int, seconds: float, seconds_429: float = 60.0):
        self.attempts = attempts
        self.seconds = seconds
        self.seconds_429 = seconds_429
        self._kind: str | None = None
        self._count = 0
        self._since = 0.0

    def success(self) -> None:
        self._kind, self._count = None, 0

    def failure(self, exc: BaseException, sent_at: float) -> str | None:
        """Record a failed attempt; the reason to stop, when the breaker trips."""
        kind = failure_kind(exc)
        if kind != self._kind:
            self._kind, self._count, self._since = kind, 0, sent_at
        self._count += 1
        immediate = kind == "connection refused" or not is_retryable(exc)
        span = self.seconds_429 if isinstance(exc, openai.RateLimitError) else self.seconds
        if self._count >= self.attempts and (immediate or time.monotonic() - self._since >= span):
            return (
                f"the server failed {self._count} attempts in a row ({kind}; last: {error_text(exc)}), "
                "so the run stopped"
            )
        return None


# -- one request -----------------------------------------------------------------------------------------------------


class Completer:
    """Sends one request with retries, rate limits, the shared cool-down, the budget and the circuit breaker."""

    def __init__(
        self,
        client: openai.AsyncOpenAI,
        limiter: RateLimiter,
        policy: RetryPolicy,
        *,
        timeout_s: float,
        budget: Budget | None = None,
        breaker: CircuitBreaker | None = None,
    ):
        self.client = client
        self.limiter = limiter
        self.policy = policy
        self.timeout_s = timeout_s
        self.budget = budget or Budget(None, None, max_tokens=0)
        self.breaker = breaker or CircuitBreaker(
            attempts=policy.breaker_attempts, seconds=policy.breaker_seconds, seconds_429=policy.breaker_429_seconds
        )
        self._backoff = wait_random_exponential(multiplier=policy.backoff_base_s, max=policy.backoff_max_s)
        self.retries = 0
        self.attempts = 0  # every attempt sent
        self.stop_reason: str | None = None  # set once: no new attempt is started after it

    def stop(self, reason: str) -> None:
        if self.stop_reason is None:
            self.stop_reason = reason

    def _wait(self, state: RetryCallState) -> float:
        asked = retry_after_s(state.outcome.exception())
        if asked is not None:
            return min(asked, self.policy.max_retry_after_s)
        return self._backoff(state)

    def _retry(self, exc: BaseException) -> bool:
        return self.stop_reason is None and is_retryable(exc)

    async def complete(
        self, body: dict[str, Any], est_tokens: int, on_attempt: Callable[[], None] | None = None
    ) -> tuple[Answer, int]:
        """(answer, attempts). Raises the last exception when attempts run out or the error is not retryable, and
        `BudgetExhausted` when no attempt fits in the budget; the exception carries `.attempts`. Raises `RunStopped`
        (after recording the reason with `stop`) when the run must stop."""
        attempts = 0
        chars = sum(len(m["content"]) for m in body["messages"])
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.policy.max_attempts),
            wait=self._wait,
            retry=retry_if_exception(self._retry),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if self.stop_reason is not None:
                        raise RunStopped(self.stop_reason)
                    await self.limiter.acquire(est_tokens)
                    reservation = await self.budget.reserve(body)
                    if reservation is None:
                        raise BudgetExhausted("the budget has no room for this request")
                    attempts += 1
                    self.attempts += 1
                    if attempts > 1:
                        self.retries += 1
                    if on_attempt is not None:
                        on_attempt()
                    sent_at = time.monotonic()
                    try:
                        answer = await self._attempt(body, chars)
                    except BaseException as exc:
                        # An answer with an error status, or no connection at all, was not billed; anything else
                        # (a timeout, a dropped connection, an unreadable 200, Ctrl-C) may have been.
                        billed = not (isinstance(exc, openai.APIStatusError) or never_sent(exc))
                        self.budget.settle(reservation, None if billed else 0.0, body)
                        if isinstance(exc, Exception):
                            self._on_failure(exc, sent_at)
                        raise
                    self.budget.settle(reservation, answer, body)
                    self.breaker.success()
                    self.limiter.settle(est_tokens, answer.prompt_tokens + answer.completion_tokens)
        except Exception as exc:
            exc.attempts = attempts  # type: ignore[attr-defined]
            raise
        return answer, attempts

    async def _attempt(self, body: dict[str, Any], chars: int) -> Answer:
        try:
            async with asyncio.timeout(self.timeout_s):
                resp = await self.client.post(
                    "/chat/completions", body=body, cast_to=httpx2.Response, options=_POST_OPTIONS
                )
                content = resp.content
        except TimeoutError:
            raise AttemptTimeout(f"no complete answer within {self.timeout_s:g} s") from None
        return parse_completion(content, prompt_chars=chars)

    def _on_failure(self, exc: Exception, sent_at: float) -> None:
        if isinstance(exc, openai.RateLimitError):
            asked = retry_after_s(exc)
            if is_quota_error(exc):
                self._stop_now(
                    f"the account's quota is exhausted ({error_text(exc)}); answers so far are kept; "
                    "rerun the same command once the quota is raised"
                )
            if asked is not None and asked > self.policy.max_retry_after_s:
                until = datetime.now(UTC).timestamp() + asked
                when = datetime.fromtimestamp(until, UTC).strftime("%Y-%m-%d %H:%M UTC")
                self._stop_now(
                    f"quota exhausted until {when} (the server asks to wait {asked:,.0f} s); answers so "
                    "far are kept; rerun the same command later"
                )
            # Pause everyone: the server's wait if it gave one, else this attempt's backoff.
            self.limiter.cool_down(asked if asked is not None else self.policy.backoff_base_s)
        elif isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError | openai.NotFoundError):
            # A wrong key, a missing model or a wrong --base-url fail every request the same way.
            self._stop_now(
                f"the server refused the request ({error_text(exc)})",
                fix="check OPENAI_API_KEY, --model and --base-url",
            )
        if (reason := self.breaker.failure(exc, sent_at)) is not None:
            self._stop_now(
                reason,
                fix="check that the server at --base-url is up and answering, then rerun: answers so far are kept",
            )

    def _stop_now(self, reason: str, *, fix: str | None = None) -> None:
        self.stop(reason if fix is None else f"{reason} — {fix}")
        raise RunStopped(self.stop_reason) from None
