"""The spending cap: every attempt is charged at its worst-case price before it is sent, and settled to what the
server's answer says it cost. An attempt whose cost the answer does not tell (a timeout, a dropped connection, a body
without usage) stays charged at the worst case, because the provider may bill it. So `spent` is an upper bound of
what the provider billed for this run, and `spent + reserved` never crosses the cap.

The worst case of a prompt is one token per UTF-8 byte (no tokenizer makes more) until the server has answered;
from then on it follows the highest tokens-per-byte ratio seen, with a margin. The worst case of a completion is
twice max_tokens until the server's first answer shows how it bills (a server may bill past max_tokens, and the
attempts that time out before that first answer would otherwise be counted too low; not in Batch mode, where no
attempt times out unseen), then max_tokens, or the longest
completion the server has billed if it ignored max_tokens; the attempts already counted at the worst case are then
counted again at that length.
"""

from __future__ import annotations

import asyncio
from typing import Any

from kgbuild.core.errors import UserError
from kgbuild.llm.pricing import Price

# Chat formats add a few tokens per message (role, separators) and a few per request.
_PER_MESSAGE, _PER_REQUEST = 8, 8
# Learned ratios vary a little between prompts (names in other scripts, numbers): keep a margin.
_MARGIN = 1.25
# Completions before the server's first answer with usage: it has not shown yet that it keeps to max_tokens.
_UNCALIBRATED = 2.0


def prompt_bytes(body: dict[str, Any]) -> int:
    return sum(len(m["content"].encode("utf-8")) for m in body["messages"])


class Budget:
    """Reserve the worst case before each attempt, settle after it: the cap is never crossed.

    `reserve` waits while attempts in flight hold reservations that may free room, and returns None only when the
    attempt cannot fit even with nothing in flight: a run uses its budget nearly to the end."""

    def __init__(self, cap: float | None, price: Price | None, *, max_tokens: int, batch: bool = False):
        self.cap = cap
        self.price = price
        self.batch = batch
        self.max_tokens = max_tokens
        self.spent = 0.0  # settled attempts: billed cost, or the worst case where the cost is unknown
        self.reserved = 0.0  # attempts in flight, at their worst case
        self.in_flight = 0
        self.unknown_cost_attempts = 0  # attempts charged at the worst case because nothing said what they cost
        self.tokens_per_byte: float | None = None  # the highest prompt ratio the server has billed
        self.max_completion = max_tokens
        self.calibrated = False  # an answer with usage has come: the learned figures replace the first guesses
        self._unknown_completion_tokens = 0  # completion tokens assumed for the attempts charged at the worst case
        self._changed = asyncio.Event()  # set whenever an attempt settles: waiting reservations look again

    # -- pricing ---------------------------------------------------------------------------------------------------

    def worst_case(self, body: dict[str, Any]) -> float:
        if self.price is None:
            return 0.0
        n_bytes = prompt_bytes(body)
        overhead = _PER_MESSAGE * len(body["messages"]) + _PER_REQUEST
        prompt = n_bytes
        if self.tokens_per_byte is not None:
            prompt = min(n_bytes, int(n_bytes * self.tokens_per_byte * _MARGIN))
        return self.price.cost(prompt + overhead, self._completion_worst(), batch=self.batch)

    def _completion_worst(self) -> int:
        # A Batch line is never cut off by our timeout, so nothing billed can go unseen: max_tokens bounds it.
        if self.calibrated or self.batch:
            return self.max_completion
        return int(self.max_completion * _UNCALIBRATED)

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return self.price.cost(prompt_tokens, completion_tokens, batch=self.batch) if self.price else 0.0

    def check_one_fits(self, body: dict[str, Any]) -> None:
        """Say at the start, before anything is sent, when the cap cannot cover even one request."""
        if self.cap is None or self.price is None:
            return
        worst = self.worst_case(body)
        if self.spent + worst > self.cap:
            raise UserError(
                f"--budget-usd {self.cap:g} cannot cover one request: its worst case is ${worst:.6f} "
                f"(the prompt at one token per byte until the server has billed one, the answer at "
                f"{self._completion_worst()} tokens), so nothing was sent",
                fix=f"raise --budget-usd to at least {worst:.6f}, or lower --max-tokens",
            )

    # -- reserving -------------------------------------------------------------------------------------------------

    def try_reserve(self, body: dict[str, Any]) -> float | None:
        """The reservation, or None when the worst case does not fit now."""
        worst = self.worst_case(body)
        if self.cap is not None and self.spent + self.reserved + worst > self.cap:
            return None
        self.reserved += worst
        self.in_flight += 1
        return worst

    async def reserve(self, body: dict[str, Any]) -> float | None:
        """Like try_reserve, but waits for attempts in flight to settle when they might make room."""
        while (reservation := self.try_reserve(body)) is None:
            if self.in_flight == 0:
                return None
            self._changed.clear()
            await self._changed.wait()
        return reservation

    def settle(self, reservation: float, answer: Any | None, body: dict[str, Any]) -> None:
        """Settle one attempt. `answer` None: its cost is unknown (charged at the reservation, the worst case).
        `answer` a float: that cost (0.0 for an attempt that was not billed). Else an Answer with token counts."""
        self._unreserve(reservation, 1)
        if answer is None:
            self.spent += reservation
            self._count_unknown()
        elif isinstance(answer, float | int):
            self.spent += float(answer)
        else:
            self.charge(answer.prompt_tokens, answer.completion_tokens, answer.usage_estimated, body)
        self._notify()

    def charge(self, prompt_tokens: int, completion_tokens: int, estimated: bool, body: dict[str, Any]) -> None:
        """Count one answer: its billed cost, or the worst case when the server did not say (`estimated`)."""
        if estimated:
            self.spent += self.worst_case(body)
            self._count_unknown()
        else:
            self.spent += self.cost(prompt_tokens, completion_tokens)
            self.learn(prompt_tokens, completion_tokens, body)

    def learn(self, prompt_tokens: int, completion_tokens: int, body: dict[str, Any]) -> None:
        self.calibrated = True
        n_bytes = prompt_bytes(body)
        overhead = _PER_MESSAGE * len(body["messages"]) + _PER_REQUEST
        if n_bytes:
            ratio = max(0.0, prompt_tokens - overhead) / n_bytes
            self.tokens_per_byte = max(self.tokens_per_byte or 0.0, ratio)
        # A server that bills more than max_tokens: the worst case follows what it bills, from now on and for the
        # attempts already charged at the worst case (it may have billed them that much too).
        if completion_tokens > self.max_completion:
            self.max_completion = completion_tokens
            missing = self.unknown_cost_attempts * completion_tokens - self._unknown_completion_tokens
            if missing > 0:
                self.spent += self.cost(0, missing)
                self._unknown_completion_tokens += missing

    def _count_unknown(self) -> None:
        self.unknown_cost_attempts += 1
        self._unknown_completion_tokens += self._completion_worst()

    def release(self, reservation: float, *, n: int = 1) -> None:
        """Give back reservations (`n` attempts) once what they cost has been charged, or when never sent."""
        self._unreserve(reservation, n)
        self._notify()

    def _unreserve(self, reservation: float, n: int) -> None:
        self.in_flight = max(0, self.in_flight - n)
        # Nothing in flight: exactly zero, not the rounding left by many additions and subtractions.
        self.reserved = max(0.0, self.reserved - reservation) if self.in_flight else 0.0

    def _notify(self) -> None:
        self._changed.set()
