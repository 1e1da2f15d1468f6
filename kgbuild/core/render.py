"""The CLI's side of kgbuild.core.events: events become the one progress display (core.progress.Bar: a rich bar on a
terminal, a plain line every 30 s in a log file) and messages on stderr. Only commands create a Renderer."""

from __future__ import annotations

import time

from kgbuild.core.events import Event
from kgbuild.core.progress import Bar

_REDRAW_S = 0.2  # a bar redrawn per row would cost more than the work at hundreds of rows a second


class Renderer:
    """A reporter for the CLI. `progress`: True, a bar on a terminal (plain lines in a log file); None, plain lines
    only, every closing line included; False, no progress at all (messages still print)."""

    def __init__(self, progress: bool | None = True):
        self.progress = progress
        self._bars: dict[str, Bar] = {}
        self._drawn: dict[str, float] = {}

    def __call__(self, event: Event) -> None:
        from kgbuild.core.console import err, warn

        if event.kind == "start":
            bar = Bar(
                event.total or 0,
                event.step,
                enabled=self.progress,
                unit=event.unit,
                transient=bool(event.data.get("transient")),
            )
            self._bars[event.step] = bar.__enter__()
            self._drawn[event.step] = 0.0
        elif event.kind in ("progress", "end") and event.step in self._bars:
            bar = self._bars[event.step]
            now = time.monotonic()
            if (
                event.kind == "progress"
                and bar.redrawn  # plain lines keep their own interval (a test's 0 s: a line per step)
                and now - self._drawn[event.step] < _REDRAW_S
                and event.done < (event.total or 0)
            ):
                bar.note = event.text or bar.note  # drawn with the next update, or at the end
                return
            self._drawn[event.step] = now
            bar.reused = event.reused
            bar.update(event.done, note=event.text or None)
            if event.kind == "end":
                del self._bars[event.step]
                bar.__exit__(None if event.data.get("ok", True) else RuntimeError, None, None)
        elif event.kind == "warning":
            warn(event.text)
        elif event.kind == "success":
            err.print(event.text, style="green", soft_wrap=True)
        elif event.kind == "info":
            err.print(event.text, soft_wrap=True)
