"""The events protocol: a library's Task reports start, progress and end however its block is left, and the CLI's
Renderer turns them into the one progress display (plain lines in a log file) and messages."""

from __future__ import annotations

import pytest

from kgbuild.core.events import Event, Task, say, silent
from kgbuild.core.render import Renderer


def test_task_reports_start_progress_end_and_the_end_of_a_failed_block():
    events: list[Event] = []
    with Task(events.append, "build-pairs", 3, unit="steps", folder="x") as task:
        task.advance()
        task.update(3, note="done")
    assert [e.kind for e in events] == ["start", "progress", "progress", "end"]
    assert events[0].total == 3 and events[0].unit == "steps" and events[0].data == {"folder": "x"}
    assert [e.done for e in events[1:]] == [1, 3, 3] and events[2].text == "done"
    assert events[-1].data["ok"] is True

    events.clear()
    with pytest.raises(ValueError), Task(events.append, "extract", 2):
        raise ValueError("boom")
    assert events[-1].kind == "end" and events[-1].data["ok"] is False


def test_silent_is_the_default_and_says_nothing(capsys):
    with Task(silent, "extract", 2) as task:
        task.advance(2)
    say(silent, "extract", "hello", "warning")
    assert capsys.readouterr() == ("", "")


def test_renderer_in_a_log_file_prints_plain_lines_and_messages(capsys, monkeypatch):
    monkeypatch.setenv("KGBUILD_PROGRESS_EVERY_S", "0")
    render = Renderer(progress=None)  # plain lines, every closing line
    with Task(render, "names", 4, unit="names") as task:
        for _ in range(4):
            task.advance()
    say(render, "names", "4 names embedded", "success")
    say(render, "names", "one table empty", "warning")
    err = capsys.readouterr().err
    assert "names: 4/4 (100%)" in err
    assert "4 names embedded" in err and "warning: one table empty" in err


def test_renderer_without_progress_prints_messages_only(capsys):
    render = Renderer(progress=False)
    with Task(render, "names", 4) as task:
        task.advance(4)
    say(render, "names", "kept")
    assert capsys.readouterr().err.strip() == "kept"
