"""Issue 13, defect by defect, over real HTTP on loopback: what the fake provider billed (`billed_usd`, `paid`)
against what the run recorded and counted. Money is spent when a request is sent, not when an answer is kept."""

from __future__ import annotations

import json
import os
import signal
import socket
import threading
import time
from pathlib import Path

import duckdb
import pytest
from test_llm_kill import start_child

from kgbuild.core.errors import UserError
from kgbuild.llm.client import RunStopped
from kgbuild.llm.generate import DefinitionGenerator
from tests.helpers.llm_fake_server import Action
from tests.helpers.llm_helpers import fast_config, write_kg

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures


def rows(out: Path) -> list[dict]:
    return duckdb.sql(f"SELECT * FROM read_parquet('{out}/llm_definitions/*.parquet')").to_arrow_table().to_pylist()


# -- 1, 2: nothing in --out is ever deleted ------------------------------------------------------------------------


@pytest.mark.slow
def test_batch_interrupted_on_a_new_out_keeps_the_ledger_and_the_rerun_pays_nothing_twice(tmp_path, fake):
    kg = write_kg(tmp_path / "kg", n_extra=26)  # 30 prompts, one batch
    out = tmp_path / "defs"
    server = fake(polls_to_finish=10_000)  # the batch runs "for a day"
    child = start_child(kg, out, server.base_url, mode="batch")
    try:
        deadline = time.monotonic() + 60
        while server.batches_created < 1 and time.monotonic() < deadline and child.poll() is None:
            time.sleep(0.05)
        assert server.batches_created == 1, child.stderr.read().decode() if child.poll() is not None else "no batch"
        child.send_signal(signal.SIGINT)  # Ctrl-C while polling
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    ledger = json.loads((out / "batches" / "ledger.json").read_text())
    assert [j["state"] for j in ledger["jobs"]] == ["submitted"]  # the folder and its ledger survive

    server.polls_to_finish = 1
    summary = DefinitionGenerator(kg, out, fast_config(server, batch=True, batch_poll_s=0.01)).run()
    assert server.batches_created == 1 and summary.batches_resumed == 1  # resumed, not submitted again
    assert len(server.paid) == 30 and max(server.paid.values()) == 1
    assert len(rows(out)) == 30 and summary.done == 30


def test_a_503_on_the_results_download_is_retried_and_nothing_is_paid_twice(kg40, tmp_path, fake):
    faults = {"download": 0}

    def fault(method, path):
        if path.endswith("/content") and faults["download"] < 2:
            faults["download"] += 1
            return 503
        return None

    server = fake(http_fault=fault)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg40, out, fast_config(server, batch=True, batch_poll_s=0.01)).run()
    assert faults["download"] == 2 and summary.done == 44
    assert server.batches_created == 1 and max(server.paid.values()) == 1


def test_two_runs_started_together_on_a_new_out_one_wins_the_other_touches_nothing(kg, tmp_path, fake):
    server = fake(plan=lambda c: Action(delay_s=0.3))
    out = tmp_path / "defs"
    barrier = threading.Barrier(2)
    results: list[object] = []

    def run() -> None:
        barrier.wait()
        try:
            results.append(DefinitionGenerator(kg, out, fast_config(server)).run())
        except UserError as exc:
            results.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    errors = [r for r in results if isinstance(r, UserError)]
    assert len(results) == 2 and len(errors) == 1 and "another generate-definitions run" in str(errors[0])
    assert len(rows(out)) == 4 and max(server.paid.values()) == 1  # the winner kept everything it paid for


def test_out_overlapping_the_kg_or_holding_foreign_files_is_refused(kg, tmp_path, fake):
    server = fake()
    for out in (kg, kg / "defs", tmp_path):
        with pytest.raises(UserError, match="the input --kg"):
            DefinitionGenerator(kg, out, fast_config(server))
    mine = tmp_path / "notes"
    mine.mkdir()
    (mine / "thesis.docx").write_text("years of work")
    with pytest.raises(UserError, match="did not write"):
        DefinitionGenerator(kg, mine, fast_config(server))
    assert (mine / "thesis.docx").read_text() == "years of work" and not server.received


# -- 3: an answer without usage is kept ----------------------------------------------------------------------------


@pytest.mark.parametrize("usage", ["none", "null", "no_completion"])
def test_an_answer_without_usage_is_kept_with_estimated_tokens_and_not_bought_again(kg, tmp_path, fake, usage):
    server = fake(plan=lambda c: Action(usage=usage))
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()
    got = rows(out)
    assert {r["status"] for r in got} == {"ok"} and all(r["usage_estimated"] for r in got)
    assert all(r["completion_tokens"] > 10 and r["prompt_tokens"] > 10 for r in got)  # estimated, never 0
    assert summary.done == 4 and summary.estimated_usage == 4 and set(server.received.values()) == {1}
    # The budget's count stays an upper bound of the bill: the worst case for each answer whose cost is unknown.
    assert summary.unknown_cost_attempts == 4 and summary.spent_usd >= server.billed_usd
    again = DefinitionGenerator(kg, out, fast_config(server)).run()
    assert again.cached == 4 and set(server.received.values()) == {1}


# -- 4, 5: the budget -----------------------------------------------------------------------------------------------


def mean_cost_per_request(kg, tmp_path, fake) -> float:
    server = fake()
    DefinitionGenerator(kg, tmp_path / "probe", fast_config(server)).run()
    return server.billed_usd / sum(server.paid.values())


@pytest.mark.parametrize(
    "hostile",
    [
        pytest.param("timeouts", marks=pytest.mark.slow),
        "one-token-per-char",
        "overlong",
        pytest.param("all", marks=pytest.mark.slow),
    ],
)
def test_the_cap_holds_against_a_server_that_bills_more_than_it_answers(kg40, tmp_path, fake, hostile):
    cap = 0.0025
    timeouts = hostile in ("timeouts", "all")
    server = fake(
        plan=lambda c: Action(delay_s=0.6) if timeouts and c.attempt == 1 else None,
        prompt_tokens="chars" if hostile in ("one-token-per-char", "all") else "quarter",
        overlong=1.5 if hostile in ("overlong", "all") else 1.0,
    )
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg40, out, fast_config(server, budget_usd=cap, timeout_s=0.3, concurrency=4)).run()
    time.sleep(0.8)  # let the server bill the attempts still running after the client gave up
    assert server.billed_usd <= cap, (server.billed_usd, summary.spent_usd)
    assert summary.spent_usd >= server.billed_usd - 1e-12  # what we counted is never below the bill
    assert summary.spent_usd <= cap
    assert summary.done > 0


def test_a_faithful_server_gets_at_least_90_percent_of_the_budget(kg40, tmp_path, fake):
    per_request = mean_cost_per_request(kg40, tmp_path, fake)
    cap = 29 * per_request  # a budget worth about 29 requests of the 44
    server = fake()
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg40, out, fast_config(server, budget_usd=cap)).run()
    assert summary.stopped_by_budget and summary.not_sent == 44 - summary.done
    assert 0.9 * cap <= server.billed_usd <= cap, server.billed_usd / cap
    assert summary.spent_usd == pytest.approx(server.billed_usd)
    assert summary.cost_usd == pytest.approx(server.billed_usd)


# -- 7, 9: stop fast, say why, exit non-zero ------------------------------------------------------------------------


def test_a_429_asking_for_a_day_stops_the_run_with_one_line_and_keeps_the_answers(kg40, tmp_path, fake):
    server = fake(plan=lambda c: Action(status=429, headers={"retry-after": "86400"}) if c.n > 10 else None)
    out = tmp_path / "defs"
    started = time.monotonic()
    with pytest.raises(RunStopped, match="quota exhausted until .*rerun") as stopped:
        DefinitionGenerator(kg40, out, fast_config(server, concurrency=2)).run()
    assert time.monotonic() - started < 60  # not the day the server asked for (a bound against freezing only)
    kept = rows(out)
    assert len(kept) >= 9 and {r["status"] for r in kept} <= {"ok", "error"}
    assert stopped.value.summary.stopped and stopped.value.summary.not_sent > 0
    assert json.loads((out / "manifest.json").read_text())["summary"]["stopped"].startswith("quota exhausted")


def test_insufficient_quota_is_fatal_at_once(kg40, tmp_path, fake):
    server = fake(
        plan=lambda c: Action(
            status=429, error_code="insufficient_quota", error_message="You exceeded your current quota"
        )
    )
    with pytest.raises(RunStopped, match="quota"):
        DefinitionGenerator(kg40, tmp_path / "defs", fast_config(server, concurrency=4)).run()
    assert sum(server.received.values()) <= 4  # the workers in flight, no retry


def test_timeout_is_a_deadline_for_the_whole_attempt(kg, tmp_path, fake):
    # A server trickling its answer one byte every 50 ms: each read succeeds, the answer takes minutes.
    server = fake(plan=lambda c: Action(trickle_s=0.05) if c.attempt == 1 else None)
    out = tmp_path / "defs"
    started = time.monotonic()
    summary = DefinitionGenerator(kg, out, fast_config(server, timeout_s=1.0)).run()
    assert time.monotonic() - started < 60  # a trickle of minutes per answer is cut at each 1 s deadline
    assert summary.done == 4 and summary.retries == 4 and set(server.received.values()) == {2}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_dead_server_trips_the_breaker_in_a_few_attempts(kg40, tmp_path):
    config = fast_config(type("S", (), {"base_url": f"http://127.0.0.1:{_free_port()}/v1"})(), concurrency=8)
    started = time.monotonic()
    with pytest.raises(RunStopped, match="connection refused") as stopped:
        DefinitionGenerator(kg40, tmp_path / "defs", config).run()
    summary = stopped.value.summary
    assert time.monotonic() - started < 60  # against 66 s and 2,856 attempts before the breaker
    assert summary.http_attempts <= 2 * 8 and summary.spent_usd == 0  # refused connections are never billed


@pytest.mark.slow
def test_a_hanging_server_trips_the_breaker(kg40, tmp_path, fake):
    server = fake(plan=lambda c: Action(delay_s=20))
    config = fast_config(server, concurrency=4, timeout_s=0.3)
    config.retry = type(config.retry)(max_attempts=4, backoff_base_s=0.01, backoff_max_s=0.05, breaker_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(RunStopped, match="timeout"):
        DefinitionGenerator(kg40, tmp_path / "defs", config).run()
    assert time.monotonic() - started < 60 and sum(server.received.values()) < 44


# -- 10, 11: the Batch API ------------------------------------------------------------------------------------------


def test_every_batch_api_call_survives_transient_errors_and_create_is_never_doubled(kg40, tmp_path, fake):
    seen: dict[str, int] = {}

    def fault(method, path):
        kind = {("POST", "/v1/batches"): "create", ("POST", "/v1/files"): "upload"}.get((method, path))
        if method == "GET" and path.startswith("/v1/batches/"):
            kind = "poll"
        if kind is None:
            return None
        seen[kind] = seen.get(kind, 0) + 1
        if kind == "create" and seen[kind] == 1:
            return ("after", 500)  # created, but the answer is lost: the retry must find it, not create another
        if kind == "upload" and seen[kind] == 1:
            return 503
        if kind == "poll" and seen[kind] <= 9:  # flaky for longer than one call's retries: polling goes on
            return 502
        return None

    server = fake(http_fault=fault, polls_to_finish=2)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg40, out, fast_config(server, batch=True, batch_poll_s=0.01)).run()
    assert server.batches_created == 1 and summary.done == 44 and summary.poll_failures >= 2
    assert len(server.paid) == 44 and max(server.paid.values()) == 1 and server.files == {}


def test_expired_requests_answered_in_a_later_round_are_not_reported_as_failed(kg40, tmp_path, fake):
    expired: set[str] = set()

    def line_plan(custom_id: str):
        if server.batches_created == 1 and len(expired) < 15 and custom_id not in expired:
            expired.add(custom_id)
            return "expire"
        return "ok"

    server = fake(line_plan=line_plan)
    summary = DefinitionGenerator(kg40, tmp_path / "defs", fast_config(server, batch=True, batch_poll_s=0.01)).run()
    assert server.batches_created == 2 and summary.done == 44 and summary.errors == 0
    assert "failed 0 " in summary.line()


# -- 12: secrets ----------------------------------------------------------------------------------------------------


def test_the_api_key_never_reaches_rows_messages_or_the_manifest(kg, tmp_path, fake, monkeypatch):
    key = "sk-proj-SECRETabcdef1234567890"
    monkeypatch.setenv("OPENAI_API_KEY", key)
    echo = "invalid request; you sent {authorization}"
    server = fake(plan=lambda c: Action(status=400, error_message=echo) if c.concept == "Appendicitis" else None)
    out = tmp_path / "defs"
    DefinitionGenerator(kg, out, fast_config(server)).run()
    assert any(key in a for a in server.authorizations)  # the server did get it...
    stored = json.dumps(rows(out), default=str) + (out / "manifest.json").read_text()
    assert "Bearer [redacted]" in stored
    assert key not in stored and "SECRETabcdef" not in stored  # ...and nothing we wrote has it
    # Credentials in a --base-url never reach the manifest either.
    with_userinfo = fast_config(server, base_url=f"https://user:{key}@llm.example/v1").to_json()["base_url"]
    assert key not in with_userinfo and with_userinfo.endswith("@llm.example/v1")

    server.plan = lambda c: Action(status=401, error_message=echo)
    with pytest.raises(RunStopped) as stopped:
        DefinitionGenerator(kg, tmp_path / "defs2", fast_config(server)).run()
    assert "401" in str(stopped.value) and key not in str(stopped.value)


def test_nothing_succeeded_is_exit_1_in_the_cli(kg, tmp_path, fake):
    from typer.testing import CliRunner

    from kgbuild.cli import app

    server = fake(plan=lambda c: Action(status=400))
    result = CliRunner().invoke(
        app,
        [
            "generate-definitions",
            "--kg",
            str(kg),
            "--out",
            str(tmp_path / "defs"),
            "--base-url",
            server.base_url,
            "--no-progress",
        ],
        env={"OPENAI_API_KEY": "sk-test", **{k: v for k, v in os.environ.items() if k == "PATH"}},
    )
    assert result.exit_code == 1 and "none of the 4 requests got an answer" in result.stderr
    assert "HTTP 400" in result.stderr


# -- Ctrl-C, online and batch, on a new and on an existing --out ----------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["online", "batch"])
@pytest.mark.parametrize("existing", [False, True], ids=["new-out", "existing-out"])
def test_ctrl_c_keeps_everything_paid_for_and_the_rerun_pays_nothing_twice(tmp_path, fake, mode, existing):
    kg = write_kg(tmp_path / "kg", n_extra=26)  # 30 prompts
    out = tmp_path / "defs"
    batch = mode == "batch"
    server = fake()
    first = 0
    if existing:  # an earlier run answered 4 prompts into this folder
        DefinitionGenerator(kg, out, fast_config(server, limit=4, batch=batch, batch_poll_s=0.01)).run()
        first = 4
    if batch:
        server.polls_to_finish = 10_000  # the new batch runs "for a day"
    else:
        server.plan = lambda c: Action(delay_s=30, drop=True) if sum(server.paid.values()) >= first + 10 else None
    child = start_child(kg, out, server.base_url, mode=mode, flush_rows=3)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and child.poll() is None:
            if server.batches_created > int(existing) if batch else sum(server.paid.values()) >= first + 10:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # the answers received are journalled
        child.send_signal(signal.SIGINT)
        if not batch:
            # The first Ctrl-C waits for the requests in flight; these hang unanswered (never billed), so the user
            # presses Ctrl-C again, which gives them up at once.
            time.sleep(0.3)
            child.send_signal(signal.SIGINT)
        child.wait(30)
    finally:
        if child.poll() is None:
            child.kill()
    assert (out / ("batches" if batch else "journal")).is_dir()  # nothing was deleted
    paid_before = sum(server.paid.values())

    server.plan = None
    server.polls_to_finish = 1
    summary = DefinitionGenerator(kg, out, fast_config(server, batch=batch, batch_poll_s=0.01)).run()
    assert len(server.paid) == 30 and max(server.paid.values()) == 1  # every prompt bought once, in all
    if batch:  # the interrupted batch is resumed, not submitted again
        assert summary.batches_resumed == 1 and server.batches_created == 1 + int(existing)
    else:  # every answer the interrupted run received was kept
        assert summary.cached == paid_before >= first + 10
    assert len(rows(out)) == 30 and {r["status"] for r in rows(out)} == {"ok"}
