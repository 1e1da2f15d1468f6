"""The whole Batch API flow against the loopback server: files, batches, polling, output and error files in both
shapes, shuffled output, expiry, splitting, the ledger across a kill, and clean-up."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections import Counter
from pathlib import Path

import duckdb
import pytest
from test_llm_kill import start_child

from kgbuild.core.errors import UserError
from kgbuild.llm.generate import DefinitionGenerator
from tests.helpers.llm_helpers import fast_config, write_kg

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures


def table(out: Path) -> list[dict]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{out}/llm_definitions/*.parquet')").to_arrow_table().to_pylist()


def batch_config(server, **overrides):
    return fast_config(server, batch=True, batch_poll_s=0.01, **overrides)


def first_time(verdict, *, only=None):
    """A line plan: `verdict` the first time a custom_id is seen (for those in `only`, or all), ok afterwards."""
    seen: Counter[str] = Counter()

    def plan(custom_id: str):
        seen[custom_id] += 1
        if seen[custom_id] == 1 and (only is None or custom_id in only):
            return verdict
        return "ok"

    plan.seen = seen
    return plan


def test_batch_flow_end_to_end(kg40, tmp_path, fake):
    server = fake(polls_to_finish=3, line_plan=first_time(500, only=None))
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg40, out, batch_config(server, batch_max_lines=10)).run()

    rows = table(out)
    assert len(rows) == 44 and {r["status"] for r in rows} == {"ok"}
    assert {r["backend"] for r in rows} == {"batch"} and all(r["batch_id"] for r in rows)
    # 44 requests in shards of at most 10 lines: 5 batches; every line failed once (HTTP 500 in the error file,
    # the shape real OpenAI uses) and was re-queued once: 5 more batches.
    assert server.batches_created == 10 and summary.batches_submitted == 10
    assert max(server.paid.values()) == 1 and len(server.paid) == 44
    # Priced at the batch discount: half of the online price of the same tokens.
    for r in rows:
        assert r["cost_usd"] == pytest.approx((r["prompt_tokens"] * 0.15 + r["completion_tokens"] * 0.60) / 2e6)
    # Uploaded inputs and downloaded results are deleted, remotely and locally; the ledger says so.
    assert server.files == {}
    ledger = json.loads((out / "batches" / "ledger.json").read_text())
    assert {j["state"] for j in ledger["jobs"]} == {"cleaned"}
    assert sorted(p.name for p in (out / "batches").iterdir()) == ["ledger.json"]

    # A rerun finds everything cached: no file, no batch.
    summary = DefinitionGenerator(kg40, out, batch_config(server)).run()
    assert summary.cached == 44 and server.batches_created == 10


@pytest.mark.parametrize("shape", ["openai", "llmock"])
def test_expired_batch_resubmits_only_the_missing_requests(kg40, tmp_path, fake, shape):
    expired_ids: set[str] = set()

    def line_plan(custom_id: str):
        # In the first batch, every third request expires; later batches finish.
        if server.batches_created == 1 and len(line_plan.seen) % 3 == 0 and custom_id not in line_plan.seen:
            line_plan.seen.add(custom_id)
            expired_ids.add(custom_id)
            return "expire"
        line_plan.seen.add(custom_id)
        return "ok"

    line_plan.seen = set()
    server = fake(line_plan=line_plan, error_shape=shape)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg40, out, batch_config(server)).run()

    assert len(expired_ids) == 15
    assert server.batches_created == 2  # the expired batch, then one with its missing requests only
    second_input = [b for b in server.batches.values()][1]["request_counts"]["total"]
    assert second_input == 15
    rows = table(out)
    assert len(rows) == 44 and {r["status"] for r in rows} == {"ok"}
    assert max(server.paid.values()) == 1 and summary.done == 44


def test_failed_batch_is_recorded_not_resubmitted_in_the_same_run(kg, tmp_path, fake):
    server = fake(max_batch_lines=2)  # the server rejects our 4-line file (like a queue-limit failure)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, batch_config(server)).run()
    rows = table(out)
    assert {r["status"] for r in rows} == {"error"} and summary.errors == 4
    assert "too_many_lines" in rows[0]["error"]
    assert server.batches_created == 1 and not server.paid

    # The next run re-sends them; with smaller files the server accepts them.
    summary = DefinitionGenerator(kg, out, batch_config(server, batch_max_lines=2)).run()
    assert summary.done == 4 and server.batches_created == 3
    assert {r["status"] for r in table(out)} == {"ok"} and len(table(out)) == 4


def test_a_server_without_batch_api_gives_one_clear_error(kg, tmp_path, fake):
    server = fake(batch_api=False)
    with pytest.raises(UserError, match="no Batch API"):
        DefinitionGenerator(kg, tmp_path / "defs", batch_config(server)).run()


@pytest.mark.slow
@pytest.mark.parametrize("when", ["after-create", "while-polling"])
def test_kill_then_restart_resumes_the_same_batches(tmp_path, fake, when):
    kg = write_kg(tmp_path / "kg", n_extra=16)  # 20 requests, shards of 8: 3 batches
    out = tmp_path / "defs"
    child_pid: list[int] = []
    killed = threading.Event()

    def on_batch_create(n: int) -> None:
        # after-create: killed inside batches.create of the 2nd batch, before it hears the answer (and before the
        # ledger write) — the batch exists on the server, the ledger says "uploaded".
        if when == "after-create" and n == 2 and not killed.is_set():
            os.kill(child_pid[0], signal.SIGKILL)
            killed.set()

    server = fake(on_batch_create=on_batch_create, polls_to_finish=10_000 if when == "while-polling" else 1)
    child = start_child(kg, out, server.base_url, mode="batch", batch_lines=8)
    child_pid.append(child.pid)
    try:
        if when == "while-polling":
            # Let all three batches be submitted, then kill the child while it polls.
            deadline = 60
            while server.batches_created < 3 and deadline > 0 and child.poll() is None:
                threading.Event().wait(0.05)
                deadline -= 0.05
            child.send_signal(signal.SIGKILL)
            killed.set()
        assert child.wait(60) == -signal.SIGKILL, child.stderr.read().decode()
    finally:
        if child.poll() is None:
            child.kill()
    created_before = server.batches_created
    assert killed.is_set() and created_before in (2, 3)
    ledger = json.loads((out / "batches" / "ledger.json").read_text())
    if when == "after-create":
        assert [j["state"] for j in ledger["jobs"]] == ["submitted", "uploaded"]

    server.polls_to_finish = 1
    summary = DefinitionGenerator(kg, out, batch_config(server, batch_max_lines=8)).run()
    # The batch created before the kill is found again (batches.list + metadata), not created twice.
    shards = Counter((b["metadata"] or {}).get("kgbuild_shard") for b in server.batches.values())
    assert set(shards.values()) == {1} and len(shards) == 3
    assert summary.batches_resumed >= 1
    rows = table(out)
    assert len(rows) == 20 and {r["status"] for r in rows} == {"ok"}
    assert len(server.paid) == 20 and max(server.paid.values()) == 1
    assert server.files == {}


def test_enqueued_token_limit_submits_a_batch_only_when_the_queue_has_room(kg40, tmp_path, fake):
    active_at_create: list[int] = []

    def on_batch_create(n: int) -> None:
        active_at_create.append(
            sum(b["status"] not in ("completed", "expired", "failed", "cancelled") for b in server.batches.values())
        )

    server = fake(polls_to_finish=3, on_batch_create=on_batch_create)
    out = tmp_path / "defs"
    # A shard of 10 prompts is ~1,500 estimated input tokens: a 2,000-token queue holds one batch at a time.
    summary = DefinitionGenerator(
        kg40, out, batch_config(server, batch_max_lines=10, batch_max_enqueued_tokens=2_000)
    ).run()
    assert summary.done == 44 and server.batches_created == 5
    assert active_at_create == [1, 1, 1, 1, 1]  # the new one only: the previous had finished
