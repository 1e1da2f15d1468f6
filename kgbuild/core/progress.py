"""The one progress display of a long step: a rich bar on a terminal; in a log file (a job scheduler, `2> log`) a plain
line every KGBUILD_PROGRESS_EVERY_S seconds (default 30) with done/total, rate and ETA, and one at the end."""

from __future__ import annotations

import contextlib
import math
import os
import sys
import time
from collections.abc import Iterator

DEFAULT_EVERY_S = 30.0
QUICK_S = 5.0  # a step done sooner, with no line yet, prints no closing line in a log file (ten quick sets, ten lines)
_plain = {"on": False}


@contextlib.contextmanager
def plain(on: bool = True) -> Iterator[None]:
    """Inside the block no bar, only the plain lines, even on a terminal (a command's --no-progress)."""
    before, _plain["on"] = _plain["on"], on or _plain["on"]
    try:
        yield
    finally:
        _plain["on"] = before


def progress_option():
    """The --progress/--no-progress option of every command with a long step."""
    import typer

    return typer.Option(
        True,
        "--progress/--no-progress",
        help="A bar on a terminal (a log file gets a plain line every 30 s); --no-progress: those lines only.",
    )


def every_s() -> float:
    """Seconds between two plain lines: KGBUILD_PROGRESS_EVERY_S (tests set it short), else 30."""
    try:
        return float(os.environ.get("KGBUILD_PROGRESS_EVERY_S") or DEFAULT_EVERY_S)
    except ValueError:
        return DEFAULT_EVERY_S


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    return f"{seconds // 60}m{seconds % 60:02d}s"


class Bar:
    """Progress on stderr: a rich bar with ETA on a terminal (gone when done if `transient`); in a log file (or with
    `enabled` None) a plain line every `every_s()` seconds and one at the end (in a log file, not after a quick step:
    only `enabled` None asks for every closing line); nothing when `enabled` is False. `unit` names what is counted in
    the plain line's rate ("names", "steps"); `note` adds a field (the loss) to both."""

    def __init__(self, total: int, label: str, *, enabled: bool | None, unit: str = "", transient: bool = False):
        self.total, self.label, self.unit, self.transient = total, label, unit, transient
        self.enabled = None if enabled and _plain["on"] else enabled
        self._progress = self._task = None
        self.done, self._lines, self._printed = 0, False, -1
        self.reused = 0  # done by an earlier run (resumed chunks, a resumed checkpoint): not part of this run's rate
        self.note = ""

    def __enter__(self) -> Bar:
        from kgbuild.core.console import err

        if self.enabled and err.is_terminal:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._progress = Progress(
                TextColumn(self.label),
                BarColumn(),
                MofNCompleteColumn(),
                TimeRemainingColumn(),
                TextColumn("{task.fields[note]}"),
                console=err,
                transient=self.transient,
            )
            self._progress.__enter__()
            self._task = self._progress.add_task(self.label, total=self.total, note="")
        elif self.enabled is not False:
            self._lines = True
            self._start = self._last = time.monotonic()
        return self

    @property
    def redrawn(self) -> bool:
        """A rich bar, redrawn at every update (plain lines come at most every `every_s()` seconds anyway)."""
        return self._progress is not None

    def advance(self, n: int, *, reused: bool = False) -> None:
        self.done += n
        self.reused += n if reused else 0
        if self._progress is not None:
            self._progress.update(self._task, advance=n, note=self.note)
        elif self._lines and n and time.monotonic() - self._last >= every_s():
            self._line()

    def update(self, done: int, *, note: str | None = None) -> None:
        """Move to `done` (a count that is known, not added up: the trainer's global step)."""
        if note is not None:
            self.note = note
        self.advance(done - self.done)

    def _line(self) -> None:
        self._last = now = time.monotonic()
        self._printed = self.done
        elapsed = now - self._start
        rate = (self.done - self.reused) / elapsed if elapsed > 0 else 0.0
        left = max(0, self.total - self.done) / rate if rate > 0 else float("nan")
        eta = "" if math.isnan(left) or self.done >= self.total else f", ETA {duration(left)}"
        reused = f" ({self.reused:,} from an earlier run)" if self.reused else ""
        speed = f", {rate:,.1f} {self.unit}/s" if self.unit and rate > 0 else ""
        note = f", {self.note}" if self.note else ""
        print(
            f"{self.label}: {self.done:,}/{self.total:,} ({100 * self.done / max(1, self.total):.0f}%){reused}, "
            f"{duration(elapsed)} elapsed{speed}{eta}{note}",
            file=sys.stderr,
            flush=True,
        )

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(*exc)
        elif self._lines and exc[0] is None and self._printed != self.done:  # the last line says it finished
            quick = time.monotonic() - self._start < min(QUICK_S, every_s())
            if self._printed >= 0 or not quick or self.enabled is None:
                self._line()
