"""Issue 25, items 5-7 and 9, over real HTTP: no answer, however odd its text or its usage, stops a job, and a
server whose `usage` lies cannot switch the budget off. The fake bills what it really served (`billed_usd`), whatever
usage it reports."""

from __future__ import annotations

import json

import duckdb
import pytest

from kgbuild.llm.generate import DefinitionGenerator
from tests.helpers.llm_fake_server import Action, default_text
from tests.helpers.llm_helpers import fast_config

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures


def rows(out) -> list[dict]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{out}/llm_definitions/*.parquet')").to_arrow_table().to_pylist()


def _raw_body(concept: str) -> bytes:
    """A 200 whose answer holds bytes that are not UTF-8 (the server's encoding is broken, the answer is paid)."""
    text = default_text(concept).replace("biomedical", "bio\udcffmedical")
    body = {
        "id": "x",
        "object": "chat.completion",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 200, "completion_tokens": 70, "total_tokens": 270},
    }
    return json.dumps(body, ensure_ascii=False).encode("utf-8", "surrogateescape")


# name -> (the server's action for a concept, the status the row must get, the repair it must record)
HOSTILE = {
    "lone surrogate": (lambda c: Action(text=default_text(c).replace(" is a ", " is \ud83d a ")), "ok", "surrogates"),
    "NUL": (lambda c: Action(text=default_text(c).replace(" is a ", " is\x00 a ")), "ok", "control characters"),
    "RTL override": (lambda c: Action(text="\u202e" + default_text(c)), "ok", "bidirectional"),
    "1 MB answer": (lambda c: Action(text=default_text(c) + " x" * 500_000), "too_long", "cut from"),
    "think block": (lambda c: Action(text="<think>Define it plainly.</think>\n" + default_text(c)), "ok", "reasoning"),
    "think, no answer": (lambda c: Action(text="<think>" + default_text(c)), "empty", "reasoning"),
    "invalid UTF-8": (lambda c: Action(raw=_raw_body(c)), "ok", "invalid UTF-8"),
    "content parts": (lambda c: Action(parts=True), "ok", None),
    "usage all zeros": (lambda c: Action(usage="zeros"), "ok", "implausible usage"),
    "usage a tenth": (lambda c: Action(usage="tenth"), "ok", "implausible usage"),
    "usage as fractions": (lambda c: Action(usage="fraction"), "ok", "implausible usage"),
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_a_hostile_answer_is_stored_repaired_or_marked_and_the_job_finishes(kg, tmp_path, fake, kind):
    make, status, repair = HOSTILE[kind]
    server = fake(plan=lambda call: make(call.concept))
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()  # the contract check runs inside

    got = rows(out)
    assert len(got) == 4 and {r["status"] for r in got} == {status}
    if repair is None:
        assert all(r["repairs"] is None for r in got)
    else:
        assert all(repair in r["repairs"] for r in got), got[0]["repairs"]
    if status == "ok":
        text = next(r["text"] for r in got if r["cui"] == "C0003615")
        assert text.startswith("Appendicitis") and "\x00" not in text and "\u202e" not in text
        assert "<think>" not in text and "biomedical concept" in text.replace("\ufffd", "")
    # Paid once; the rerun sends nothing (every hostile answer is cached like any other).
    assert len(server.paid) == 4 and max(server.paid.values()) == 1
    assert summary.sent == 4
    again = DefinitionGenerator(kg, out, fast_config(server)).run()
    assert again.cached == 4 and again.sent == 0 and max(server.paid.values()) == 1


def test_every_kind_of_hostile_answer_in_one_job_never_stops_it(kg40, tmp_path, fake):
    kinds = list(HOSTILE.values())
    server = fake(plan=lambda call: kinds[call.n % len(kinds)][0](call.concept))
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg40, out, fast_config(server, concurrency=4)).run()
    assert summary.sent == 44 and len(rows(out)) == 44 and max(server.paid.values()) == 1


def test_an_error_message_with_a_lone_surrogate_is_stored(kg, tmp_path, fake):
    server = fake(plan=lambda call: Action(status=400, error_message="bad \ud83d request"))
    out = tmp_path / "defs"
    DefinitionGenerator(kg, out, fast_config(server)).run()
    got = rows(out)
    assert {r["status"] for r in got} == {"error"} and all("bad \ufffd request" in r["error"] for r in got)


@pytest.mark.parametrize("lie", ["zeros", "tenth", "fraction"])
def test_lying_usage_cannot_cross_the_budget(kg40, tmp_path, fake, lie):
    """The job costs about $0.003 at the fake's real counts; the cap is a third of that. A server whose usage says
    (nearly) nothing was billed used to be taken at its word: every request sent, the cap crossed 5x."""
    server = fake(plan=lambda call: Action(usage=lie))
    out = tmp_path / "defs"
    cap = 0.001
    summary = DefinitionGenerator(kg40, out, fast_config(server, budget_usd=cap)).run()
    assert 0 < server.billed_usd <= cap  # what the provider billed, counted by the provider
    assert summary.spent_usd <= cap and summary.stopped_by_budget and summary.not_sent > 0
    got = rows(out)
    assert got and all(r["usage_estimated"] and "implausible usage" in r["repairs"] for r in got)
    # What the run counted is at least what was billed: the estimate errs on the provider's side.
    assert summary.spent_usd >= server.billed_usd
