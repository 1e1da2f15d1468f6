"""Libraries report, commands render: the one protocol between them.

A long step of a library (extract, build-pairs, the definitions, a training phase, an evaluation) takes a `report`
callable and sends it `Event`s; it never prints. Called from Python it defaults to `silent`; a notebook or another
program passes its own callable (or a list's `append`). The CLI passes `kgbuild.core.render.Renderer`, the one place
where events become rich bars, plain progress lines in a log file, and messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["start", "progress", "end", "info", "warning", "success"]


@dataclass(frozen=True)
class Event:
    kind: Kind
    step: str  # what the event is about: "extract", "build-pairs", "definitions", a phase, an evaluation set
    text: str = ""  # a message; on "progress", a note shown beside the count (the loss, the dollars spent)
    done: int = 0  # "progress": the count reached so far (not an increment)
    total: int | None = None  # "start": the count that means finished
    unit: str = ""  # "start": what is counted ("names", "steps", "answers"), for the rate
    reused: int = 0  # "progress": how much of `done` an earlier run did (resumed): not part of this run's rate
    data: dict[str, Any] = field(default_factory=dict)  # facts for a program that listens (scores, paths, counts)


Reporter = Callable[[Event], None]


def silent(event: Event) -> None:
    """The default reporter: a library called from Python says nothing."""


class Task:
    """A counted step, reported as start / progress / end: `with Task(report, "build-pairs", 4, unit="steps") as t:
    t.advance()`. The end is reported however the block is left, so a renderer never keeps a bar open."""

    def __init__(self, report: Reporter, step: str, total: int, *, unit: str = "", **data: Any):
        self.report, self.step, self.total, self.unit, self.data = report, step, total, unit, data
        self.done, self.reused, self.note = 0, 0, ""

    def __enter__(self) -> Task:
        self.report(Event("start", self.step, total=self.total, unit=self.unit, data=self.data))
        return self

    def update(self, done: int, *, note: str | None = None, reused: int | None = None) -> None:
        """Move to `done` (a count that is known, not added up: the trainer's global step)."""
        self.done = done
        self.note = self.note if note is None else note
        self.reused = self.reused if reused is None else reused
        self.report(Event("progress", self.step, self.note, done=self.done, total=self.total, reused=self.reused))

    def advance(self, n: int = 1, *, reused: bool = False) -> None:
        self.reused += n if reused else 0
        self.update(self.done + n)

    def __exit__(self, exc_type: object, *exc: object) -> None:
        self.report(
            Event(
                "end", self.step, done=self.done, total=self.total, reused=self.reused, data={"ok": exc_type is None}
            )
        )


def say(report: Reporter, step: str, text: str, kind: Kind = "info", **data: Any) -> None:
    """A message for whoever renders: "info", "warning" (the run goes on, the user should know) or "success"."""
    report(Event(kind, step, text, data=data))
