"""The output checks on a corpus of good and bad answers (tests/fixtures/llm_answers), each checked against the
project's own prompt for its concept, and end to end: a server that echoes the prompt gets no `ok` row."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from kgbuild.llm import checks
from kgbuild.llm.checks import CHECKS, check_answer, clean_text, repair_text
from kgbuild.llm.config import CheckConfig
from kgbuild.llm.generate import DefinitionGenerator
from kgbuild.llm.prompt import INSTRUCTIONS, SYSTEM, TEMPLATE_TEXT, Facts, render_messages
from tests.helpers.llm_fake_server import Action
from tests.helpers.llm_helpers import fast_config

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "llm_answers" / "answers.jsonl"
ANSWERS = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]


def prompt_of(concept: str, synonyms: list[str]) -> str:
    facts = Facts(
        ord=0,
        cui="C1",
        preferred_name=concept,
        synonyms=synonyms,
        semantic_types=["Disease or Syndrome"],
        parents=["Inflammatory disorder of digestive tract"],
        relations=[f"{concept} has finding site Appendix"],
    )
    return "\n".join(m["content"] for m in render_messages(facts))


def check(text: str, concept: str, synonyms: list[str]) -> tuple[str, str | None]:
    """As the recorder checks an answer: repaired (reasoning, control characters), cleaned, then checked."""
    return check_answer(
        clean_text(repair_text(text)[0]),
        "stop",
        None,
        [concept, *synonyms],
        CheckConfig(),
        prompt=prompt_of(concept, synonyms),
        template=TEMPLATE_TEXT,
    )


@pytest.mark.parametrize("answer", ANSWERS, ids=[f"{a['expect']}-{a['why']}" for a in ANSWERS])
def test_corpus(answer):
    status, reason = check(answer["text"], answer["concept"], answer["synonyms"])
    assert status == answer["expect"], reason


def test_the_corpus_has_both_sides():
    expected = {a["expect"] for a in ANSWERS}
    assert {"ok", "echo", "meta", "refusal"} <= expected and sum(a["expect"] == "ok" for a in ANSWERS) >= 10


@pytest.mark.parametrize("part", ["user", "system+user", "instructions", "system"])
def test_verbatim_echoes_of_the_prompt_are_caught(part):
    prompt = prompt_of("Appendicitis", ["Epityphlitis"])
    user = prompt.split("\n", 1)[1]  # without the system line
    text = {
        "user": user,
        "system+user": prompt,
        "instructions": f"Appendicitis. {INSTRUCTIONS}",
        "system": f"{SYSTEM} Appendicitis is an inflammation of the appendix that causes pain and fever.",
    }[part]
    assert check(text, "Appendicitis", ["Epityphlitis"])[0] == "echo"


def test_a_server_that_echoes_the_prompt_leaves_no_ok_row(kg, tmp_path, fake):
    def echo(call):
        return Action(text=call.body["messages"][1]["content"])

    server = fake(plan=echo)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()
    statuses = duckdb.sql(f"SELECT status FROM read_parquet('{out}/llm_definitions/*.parquet')").fetchall()
    assert {s for (s,) in statuses} == {"echo"} and summary.done == 0 and summary.failed_checks == 4


def test_every_check_is_a_status_of_the_contract_and_every_failure_status_has_its_check():
    from kgbuild.llm.cache import CHECK_FAILURES, ERROR, OK, STATUSES

    assert set(CHECKS) == set(CHECK_FAILURES) and STATUSES[:2] == (OK, ERROR)


def test_a_registered_check_is_tried_in_its_turn(monkeypatch):
    """Adding a check is one registered function: it is tried after the ones before it, and its status is stored."""
    monkeypatch.setattr(checks, "CHECKS", dict(checks.CHECKS))
    checks.check("shouting")(lambda a, config: "all capitals" if a.text.isupper() else None)
    text = "APPENDICITIS IS AN INFLAMMATION OF THE VERMIFORM APPENDIX " * 3
    assert check_answer(text, "stop", None, ["Appendicitis"], CheckConfig()) == ("shouting", "all capitals")
    assert check_answer(text, "length", None, ["Appendicitis"], CheckConfig())[0] == "truncated"  # tried first
