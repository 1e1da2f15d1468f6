"""Libraries report, commands render (issue 29, item 2): each long step called from Python with the default reporter
prints nothing at all (stdout and stderr, at the file-descriptor level), and a reporter of its own hears the step's
start, progress and end."""

from __future__ import annotations

import pytest

from kgbuild.core.events import Event
from tests.helpers.llm_fake_server import FakeOpenAI
from tests.helpers.llm_helpers import fast_config
from tests.helpers.tiny_bert import build_tiny_model


def heard(events: list[Event], step: str) -> list[str]:
    """The kinds of the events of `step`, each kind once, in the order first heard."""
    return list(dict.fromkeys(e.kind for e in events if e.step == step))


def quiet(capfd, run) -> None:
    capfd.readouterr()
    run()
    assert capfd.readouterr() == ("", "")


def test_extract_umls_and_obo_say_nothing_and_report_their_tables(sample_meta, tmp_path, capfd):
    from kgbuild.sources.extract import extract_sources
    from kgbuild.umls.extract import extract_umls

    quiet(capfd, lambda: extract_umls(sample_meta, tmp_path / "kg"))
    events: list[Event] = []
    extract_umls(sample_meta, tmp_path / "kg2", report=events.append)
    assert heard(events, "extract") == ["start", "progress", "end"]
    assert events[-1].done == events[0].total and events[-1].data["ok"]

    obo = tmp_path / "tiny.obo"
    obo.write_text(
        "format-version: 1.2\nontology: tiny\n\n[Term]\nid: TINY:1\nname: root\n\n"
        '[Term]\nid: TINY:2\nname: leaf\nsynonym: "a leaf" EXACT []\nis_a: TINY:1\n',
        encoding="utf-8",
    )
    quiet(capfd, lambda: extract_sources([("--obo", obo, {})], tmp_path / "obo-kg"))
    events.clear()
    extract_sources([("--obo", obo, {})], tmp_path / "obo-kg2", report=events.append)
    assert heard(events, "extract") == ["start", "progress", "end"]


def test_build_pairs_says_nothing_and_reports_its_steps(sample_kg, tmp_path, capfd):
    from kgbuild.pairs import build_pairs

    quiet(capfd, lambda: build_pairs(sample_kg, tmp_path / "pairs"))
    events: list[Event] = []
    build_pairs(sample_kg, tmp_path / "pairs2", report=events.append)
    assert heard(events, "build-pairs") == ["start", "progress", "end"]


def test_generate_definitions_says_nothing_and_reports_its_answers(sample_kg, tmp_path, capfd, monkeypatch):
    from kgbuild.llm import DefinitionGenerator

    monkeypatch.setenv("OPENAI_API_KEY", "sk-t")
    with FakeOpenAI(max_lifetime_s=120) as server:
        quiet(capfd, lambda: DefinitionGenerator(sample_kg, tmp_path / "defs", fast_config(server, limit=3)).run())
        events: list[Event] = []
        summary = DefinitionGenerator(
            sample_kg, tmp_path / "defs2", fast_config(server, limit=3), report=events.append
        ).run()
    assert summary.done == 3
    assert heard(events, "definitions") == ["start", "progress", "end"]
    assert events[-1].done == 3 and "ok 3" in [e for e in events if e.kind == "progress"][-1].text


@pytest.fixture
def tiny(tmp_path_factory):
    """A tiny model, with transformers' own progress bars ("Loading weights") off: they are a third-party library's
    output, not ours (the CLI turns them off too, unless --verbose)."""
    from transformers.utils import logging

    model = build_tiny_model(tmp_path_factory.mktemp("models") / "tiny")
    logging.disable_progress_bar()
    yield model
    logging.enable_progress_bar()


def test_evaluate_model_and_build_index_say_nothing_and_report_their_texts(tiny, sample_kg, tmp_path, capfd):
    from trainer.evaluate import evaluate_model
    from trainer.linking import build_index

    sets = tmp_path / "evalsets"
    (sets / "biosses").mkdir(parents=True)
    rows = [("a heart attack", "myocardial infarction", 3.5), ("fever", "high temperature", 3.0), ("a cat", "x", 0.2)]
    lines = ["id\tsentence1\tsentence2\tannotator_a\tannotator_b\tannotator_c\tannotator_d\tannotator_e\tscore"]
    lines += [f"{i}\t{a}\t{b}\t0\t0\t0\t0\t0\t{s}" for i, (a, b, s) in enumerate(rows, 1)]
    (sets / "biosses" / "biosses.tsv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    quiet(capfd, lambda: evaluate_model(str(tiny), evalsets=sets, sets=["BIOSSES"], linking=False))
    events: list[Event] = []
    scores = evaluate_model(str(tiny), evalsets=sets, sets=["BIOSSES"], label="tiny", report=events.append)
    assert scores["BIOSSES"]["n"] == 3
    assert heard(events, "tiny BIOSSES") == ["start", "progress", "end"]

    quiet(capfd, lambda: build_index(str(tiny), sample_kg, tmp_path / "kg.index"))
    events.clear()
    build_index(str(tiny), sample_kg, tmp_path / "kg2.index", report=events.append)
    assert heard(events, "embedding names") == ["start", "progress", "end"]


def test_the_extract_command_renders_plain_progress_lines_in_a_log_file(sample_meta, tmp_path, monkeypatch):
    """Issue 31: a step longer than a few seconds prints a plain progress line in a log file (here every time)."""
    from typer.testing import CliRunner

    from kgbuild.cli import app

    monkeypatch.setenv("KGBUILD_PROGRESS_EVERY_S", "0")
    result = CliRunner().invoke(app, ["extract", "--umls", str(sample_meta), "--out", str(tmp_path / "kg")])
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("extract: ")]
    assert lines and lines[-1].startswith("extract: ") and "(100%)" in lines[-1] and "tables/s" in lines[-1], lines


def test_what_a_killed_run_left_is_removed_and_reported_not_printed(tmp_path, capfd):
    """The last message a library printed itself: the temporary folders of a killed run, removed by the next run on the
    same output, are an "info" event for its reporter (the CLI renders it; tests/kgbuild/bad_inputs check the line)."""
    import json
    import subprocess
    import sys

    from kgbuild.core.atomic import atomic_dir

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    for i, out in enumerate(["quiet", "heard"]):
        stale = tmp_path / f".{out}.tmp-{dead.pid}-0123abc{i}"
        stale.mkdir()
        (stale / ".kgbuild-output").write_text(json.dumps({"tool": "kgbuild", "pid": dead.pid}))

    def write(out: str, **report) -> None:
        with atomic_dir(tmp_path / out, force=False, **report) as tmp:
            (tmp / "manifest.json").write_text("{}")

    quiet(capfd, lambda: write("quiet"))
    events: list[Event] = []
    write("heard", report=events.append)
    assert [(e.kind, e.step) for e in events] == [("info", "output")]
    assert events[0].text.startswith("cleaned up 1 temporary folder(s)")
    assert events[0].data["removed"] == [f".heard.tmp-{dead.pid}-0123abc1"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["heard", "quiet"]  # both removed, both outputs written
