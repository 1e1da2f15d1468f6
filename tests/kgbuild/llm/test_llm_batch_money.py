"""Issue 25, items 1, 4 and 12-15: batch mode as safe as the online path. A pending batch is never bought again by an
online rerun; a batch is labelled with the model it was sent with; a dead server stops the polls; a key echoed by the
Batch API is never printed; a budget is used nearly to the end in waves and never crossed; a line refused for good is
not resubmitted, and a download cut short is fetched again, not bought again. The loopback server bills (at the
batch discount) and counts what it billed."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import duckdb
import httpx
import pytest
from typer.testing import CliRunner

from kgbuild.cli import app
from kgbuild.core.errors import UserError
from kgbuild.llm.client import RunStopped
from kgbuild.llm.generate import DefinitionGenerator
from tests.helpers.llm_helpers import fast_config, write_kg

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures


def rows(out: Path) -> list[dict]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{out}/llm_definitions/*.parquet')").to_arrow_table().to_pylist()


def batch_config(server, **overrides):
    return fast_config(server, batch=True, batch_poll_s=0.01, **overrides)


def leave_a_pending_batch(kg: Path, out: Path, server, **overrides) -> None:
    """A --batch run that submits its batch, then stops (the key is refused while it polls): the batch is pending
    at the provider, and the ledger says so."""
    server.http_fault = lambda method, path: 401 if method == "GET" and path.startswith("/v1/batches/") else None
    with pytest.raises(UserError, match="refused"):
        DefinitionGenerator(kg, out, batch_config(server, **overrides)).run()
    server.http_fault = None
    ledger = json.loads((out / "batches" / "ledger.json").read_text())
    assert [j["state"] for j in ledger["jobs"]] == ["submitted"]


# -- 1: an online rerun over a pending batch -------------------------------------------------------------------------


def test_an_online_rerun_refuses_to_buy_again_what_a_pending_batch_holds(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=26)  # 30 prompts, one batch
    out = tmp_path / "defs"
    server = fake(polls_to_finish=10_000)
    leave_a_pending_batch(kg, out, server)

    with pytest.raises(UserError, match="still pending at the provider") as refused:
        DefinitionGenerator(kg, out, fast_config(server)).run()
    assert "--batch" in str(refused.value) and "--abandon-batches" in str(refused.value)
    assert not server.received  # not one request bought online

    # --batch collects it, and nothing is paid twice.
    server.polls_to_finish = 1
    DefinitionGenerator(kg, out, batch_config(server)).run()
    assert len(server.paid) == 30 and max(server.paid.values()) == 1 and not server.received


def test_abandon_batches_cancels_at_the_provider_then_sends_online_once(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=26)
    out = tmp_path / "defs"
    server = fake(polls_to_finish=10_000)
    leave_a_pending_batch(kg, out, server)

    summary = DefinitionGenerator(kg, out, fast_config(server, abandon_batches=True)).run()
    assert summary.batches_abandoned == 1
    assert [b["status"] for b in server.batches.values()] == ["cancelled"]  # cancelled before it was processed
    assert summary.done == 30 and {r["backend"] for r in rows(out) if r["status"] == "ok"} == {"online"}
    assert len(server.paid) == 30 and max(server.paid.values()) == 1  # the batch billed nothing; online once
    ledger = json.loads((out / "batches" / "ledger.json").read_text())
    assert {j["state"] for j in ledger["jobs"]} == {"cleaned"}


def test_abandoning_a_batch_that_finished_meanwhile_keeps_its_paid_answers(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=26)
    out = tmp_path / "defs"
    server = fake(polls_to_finish=10_000)
    leave_a_pending_batch(kg, out, server)
    server.polls_to_finish = 1
    (batch_id,) = server.batches
    httpx.get(f"{server.base_url}/batches/{batch_id}")  # the provider finishes it (and bills it) meanwhile

    summary = DefinitionGenerator(kg, out, fast_config(server, abandon_batches=True)).run()
    assert not server.received  # nothing online: every answer came from the batch
    assert summary.done == 30 and {r["backend"] for r in rows(out)} == {"batch"}
    assert len(server.paid) == 30 and max(server.paid.values()) == 1


# -- 4: a batch is labelled with the model it was sent with --------------------------------------------------------


def test_a_batch_resumed_with_another_model_is_labelled_and_priced_as_sent(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=26)
    out = tmp_path / "defs"
    server = fake(polls_to_finish=10_000)
    leave_a_pending_batch(kg, out, server, model="gpt-4o-mini")

    (first_batch,) = server.batches
    server.polls_to_finish = 1
    DefinitionGenerator(kg, out, batch_config(server, model="gpt-4o")).run()
    got = rows(out)
    resumed = [r for r in got if r["batch_id"] == first_batch]
    assert len(resumed) == 30 and {r["model"] for r in resumed} == {"gpt-4o-mini"}
    for r in resumed:  # gpt-4o-mini's prices (0.15 / 0.60 per 1M) at the batch discount, not gpt-4o's
        assert r["cost_usd"] == pytest.approx((r["prompt_tokens"] * 0.15 + r["completion_tokens"] * 0.60) / 2e6)
    # The new --model's requests are other requests (the model is part of the key), bought once and labelled so.
    new = [r for r in got if r["batch_id"] != first_batch]
    assert len(new) == 30 and {r["model"] for r in new} == {"gpt-4o"}
    assert set(server.paid.values()) == {2}  # each prompt (the fake counts prompts) once per model


# -- 12: a server that dies while batches are polled ---------------------------------------------------------------


def test_polls_give_up_on_a_dead_server_and_leave_the_ledger_for_the_rerun(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=26)
    out = tmp_path / "defs"
    server = fake(polls_to_finish=10_000)
    server.on_batch_create = lambda n: threading.Timer(0.1, server.stop).start()  # dies once the batch is in
    config = batch_config(server, batch_poll_give_up_s=1.0)
    with pytest.raises(RunStopped, match="has not answered a batch poll") as stop:
        DefinitionGenerator(kg, out, config).run()
    assert "--batch" in str(stop.value)
    ledger = json.loads((out / "batches" / "ledger.json").read_text())
    assert [j["state"] for j in ledger["jobs"]] == ["submitted"]


# -- 13: a Batch API error that echoes the key ---------------------------------------------------------------------


def test_a_batch_error_echoing_the_authorization_header_never_prints_the_key(kg, tmp_path, fake):
    secret = "sk-proj-abcdefghijklmnop0123456789"

    def fault(method, path):
        if method == "POST" and path == "/v1/batches":
            return {"status": 400, "message": "invalid request from {authorization}"}
        return None

    server = fake(http_fault=fault)
    result = CliRunner().invoke(
        app,
        ["generate-definitions", "--kg", str(kg), "--out", str(tmp_path / "defs"), "--base-url", server.base_url]
        + ["--batch", "--no-progress"],
        env={"OPENAI_API_KEY": secret},
    )
    assert result.exit_code == 1
    assert any(secret in a for a in server.authorizations)  # the server did echo it
    assert secret not in result.output and "internal error" not in result.output
    assert "the Batch API refused a request" in result.output and "[redacted]" in result.output


# -- 14: a budget used nearly to the end, in waves, never crossed -------------------------------------------------


def test_a_batch_budget_is_used_in_waves_to_85_percent_and_never_crossed(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=200)
    whole = fake()
    DefinitionGenerator(kg, tmp_path / "whole", batch_config(whole)).run()
    job = whole.billed_usd  # what the whole job costs at the provider, batch discount included

    server = fake()
    cap = 0.9 * job
    summary = DefinitionGenerator(kg, tmp_path / "defs", batch_config(server, budget_usd=cap)).run()
    assert server.billed_usd <= cap  # never crossed
    assert server.billed_usd >= 0.85 * cap  # and used (33% before waves)
    assert server.batches_created > 1 and summary.stopped_by_budget
    assert summary.sent + summary.not_sent == summary.selected == 204  # what was not sent is counted, once
    assert max(server.paid.values()) == 1


# -- 15: lines that cannot succeed are not resubmitted; a download cut short is fetched again -----------------------


def test_a_line_refused_for_good_is_recorded_not_resubmitted(kg40, tmp_path, fake):
    refused: set[str] = set()

    def line_plan(custom_id: str):
        if len(refused) < 5 or custom_id in refused:
            refused.add(custom_id)
            return 400  # context_length_exceeded: it would fail the same way in every round
        return "ok"

    server = fake(line_plan=line_plan)
    summary = DefinitionGenerator(kg40, tmp_path / "defs", batch_config(server)).run()
    assert server.batches_created == 1  # no second round for the 400s
    got = rows(tmp_path / "defs")
    assert sum(r["status"] == "error" for r in got) == 5 and summary.done == 39


def test_a_download_cut_short_is_fetched_again_not_bought_again(kg40, tmp_path, fake):
    downloads = {"n": 0}

    def fault(method, path):
        if method == "GET" and path.endswith("/content"):
            downloads["n"] += 1
            if downloads["n"] == 1:
                return ("truncate", 10)  # the first download of the output ends after 10 of 44 lines
        return None

    server = fake(http_fault=fault)
    summary = DefinitionGenerator(kg40, tmp_path / "defs", batch_config(server)).run()
    assert summary.done == 44 and server.batches_created == 1 and max(server.paid.values()) == 1
    assert downloads["n"] == 2
