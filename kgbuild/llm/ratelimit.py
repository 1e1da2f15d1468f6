"""Client-side rate limits: token buckets for requests and tokens per minute, and one cool-down shared by all
workers after a 429, so a storm of rate-limit answers pauses the whole run once instead of N times in parallel."""

from __future__ import annotations

import asyncio
import time


class TokenBucket:
    """Refills at `per_minute / 60` per second up to one second's worth (at least 1).

    A request larger than the bucket waits for a full bucket and leaves it in debt, so the average rate still holds.
    Waiters are served in arrival order (the lock is held while sleeping).
    """

    def __init__(self, per_minute: float, *, burst_seconds: float = 1.0):
        if per_minute <= 0:
            raise ValueError("per_minute must be positive")
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * burst_seconds)
        self.tokens = self.capacity
        self.updated = time.monotonic()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = time.monotonic()
        self.tokens = min(self.capacity, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    async def take(self, n: float) -> None:
        async with self._lock:
            need = min(n, self.capacity)
            while True:
                self._refill()
                if self.tokens >= need:
                    self.tokens -= n
                    return
                await asyncio.sleep((need - self.tokens) / self.rate)

    def adjust(self, delta: float) -> None:
        """Correct an estimate once the real count is known: positive delta takes more, negative gives back."""
        self._refill()
        self.tokens = min(self.capacity, self.tokens - delta)


class RateLimiter:
    """RPM and TPM buckets (either may be off) plus the shared 429 cool-down."""

    def __init__(self, *, rpm: float | None = None, tpm: float | None = None, max_cooldown_s: float = 120.0):
        self.rpm = TokenBucket(rpm) if rpm else None
        self.tpm = TokenBucket(tpm) if tpm else None
        self.cooldown_until = 0.0
        self.cooldowns = 0  # how many times a 429 started (or extended) the shared pause
        self.max_cooldown_s = max_cooldown_s  # a server asking for more stops the run instead (client.Completer)

    def cool_down(self, seconds: float) -> None:
        until = time.monotonic() + min(max(0.0, seconds), self.max_cooldown_s)
        if until > self.cooldown_until:
            self.cooldown_until = until
            self.cooldowns += 1

    async def acquire(self, est_tokens: int) -> None:
        while (wait := self.cooldown_until - time.monotonic()) > 0:
            await asyncio.sleep(wait)
        if self.rpm:
            await self.rpm.take(1)
        if self.tpm:
            await self.tpm.take(est_tokens)

    def settle(self, est_tokens: int, actual_tokens: int) -> None:
        if self.tpm:
            self.tpm.adjust(actual_tokens - est_tokens)
