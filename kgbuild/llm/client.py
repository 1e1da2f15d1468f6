"""One chat completion with our own retry policy: AsyncOpenAI with the SDK's retries off, tenacity doing them.

Only 408/409/429/5xx, timeouts, connection errors and malformed bodies are retried, a bounded number of times;
Retry-After (or retry-after-ms) is honoured, otherwise exponential backoff with full jitter. A 429 also starts the
shared cool-down of the rate limiter, so every worker pauses, not just the one that was told.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx2
import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from kgbuild.errors import UserError
from kgbuild.llm.ratelimit import RateLimiter

RETRY_STATUS = frozenset({408, 409, 429})
# The SDK's typed `chat.completions.create` walks the TypedDict annotations of every parameter on every call:
# measured at ~1.6 ms of CPU per request, more than all the rest of the client. We send the same JSON through the
# SDK's generic `post` (same auth, base URL, timeouts, error classes) and read the few fields we keep ourselves.
_POST_OPTIONS: dict[str, Any] = {"security": {"bearer_auth": True}}


class MalformedResponse(Exception):
    """A 200 whose body is not a chat completion (truncated JSON, an HTML error page, no choices)."""


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 6
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    max_retry_after_s: float = 120.0  # a server asking for longer than this is waited for this long, then retried


@dataclass
class Answer:
    text: str | None
    finish_reason: str | None
    refusal: str | None
    prompt_tokens: int
    completion_tokens: int


def api_key_from_env(base_url: str | None) -> str:
    """The key comes from the environment only. Local servers (a --base-url) usually need none."""
    key = os.environ.get("OPENAI_API_KEY")
    if key:
        return key
    if base_url or os.environ.get("OPENAI_BASE_URL"):
        return "no-key"
    raise UserError("OPENAI_API_KEY is not set", fix="export OPENAI_API_KEY=… (or pass --base-url for a local "
                    "OpenAI-compatible server)")


def make_client(*, base_url: str | None, timeout_s: float, max_connections: int) -> openai.AsyncOpenAI:
    limits = httpx2.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
    http = httpx2.AsyncClient(limits=limits, timeout=httpx2.Timeout(timeout_s, connect=min(10.0, timeout_s)))
    return openai.AsyncOpenAI(api_key=api_key_from_env(base_url), base_url=base_url, max_retries=0,
                              timeout=timeout_s, http_client=http)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError):  # includes APITimeoutError
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in RETRY_STATUS or exc.status_code >= 500
    return isinstance(exc, MalformedResponse | json.JSONDecodeError | openai.APIResponseValidationError)


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
            import time

            return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def error_text(exc: BaseException) -> str:
    if isinstance(exc, openai.APIStatusError):
        text = f"HTTP {exc.status_code}: {exc.message}"
    else:
        text = f"{type(exc).__name__}: {exc}"
    return text[:500]


def answer_from_body(body: Any) -> Answer:
    """The fields we keep from a chat completion body (an HTTP answer, or a line of a Batch output file)."""
    try:
        choice = body["choices"][0]
        message = choice["message"]
        usage = body["usage"]
        text = message.get("content")
        if text is not None and not isinstance(text, str):
            raise TypeError("content is not text")
        return Answer(text=text, finish_reason=choice.get("finish_reason"), refusal=message.get("refusal"),
                      prompt_tokens=int(usage["prompt_tokens"]),
                      completion_tokens=int(usage.get("completion_tokens") or 0))
    except (KeyError, IndexError, TypeError, ValueError, AttributeError) as exc:
        raise MalformedResponse(f"not a chat completion ({type(exc).__name__}: {exc}): {str(body)[:200]}") from None


def parse_completion(raw: bytes) -> Answer:
    try:
        body = json.loads(raw)
    except ValueError:
        raise MalformedResponse(f"the body is not JSON: {raw[:200]!r}") from None
    return answer_from_body(body)


class Completer:
    """Sends one request with retries, rate limits and the shared cool-down; counts attempts."""

    def __init__(self, client: openai.AsyncOpenAI, limiter: RateLimiter, policy: RetryPolicy):
        self.client = client
        self.limiter = limiter
        self.policy = policy
        self._backoff = wait_random_exponential(multiplier=policy.backoff_base_s, max=policy.backoff_max_s)
        self.retries = 0

    def _wait(self, state: RetryCallState) -> float:
        asked = retry_after_s(state.outcome.exception())
        if asked is not None:
            return min(asked, self.policy.max_retry_after_s)
        return self._backoff(state)

    async def complete(self, body: dict[str, Any], est_tokens: int) -> tuple[Answer, int]:
        """(answer, attempts). Raises the last exception when attempts run out or the error is not retryable;
        the exception carries `.attempts`."""
        attempts = 0
        retrying = AsyncRetrying(stop=stop_after_attempt(self.policy.max_attempts), wait=self._wait,
                                 retry=retry_if_exception(is_retryable), reraise=True)
        try:
            async for attempt in retrying:
                with attempt:
                    attempts += 1
                    if attempts > 1:
                        self.retries += 1
                    await self.limiter.acquire(est_tokens)
                    try:
                        resp = await self.client.post("/chat/completions", body=body, cast_to=httpx2.Response,
                                                      options=_POST_OPTIONS)
                    except openai.RateLimitError as exc:
                        # Pause everyone: the server's wait if it gave one, else this attempt's backoff.
                        self.limiter.cool_down(retry_after_s(exc) or self.policy.backoff_base_s * 2 ** (attempts - 1))
                        raise
                    answer = parse_completion(resp.content)
                    self.limiter.settle(est_tokens, answer.prompt_tokens + answer.completion_tokens)
        except Exception as exc:
            exc.attempts = attempts  # type: ignore[attr-defined]
            raise
        return answer, attempts
