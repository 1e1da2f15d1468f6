"""Fault injection over real HTTP (loopback server) through the real openai SDK: every test counts what the server
received and billed, and asserts that no concept was lost and no answer was paid twice."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import duckdb
import pytest

from kgbuild.core.errors import UserError
from kgbuild.llm.generate import DefinitionGenerator
from tests.helpers.llm_fake_server import Action, FakeOpenAI
from tests.helpers.llm_helpers import fast_config

pytest_plugins = ["tests.helpers.llm_fixtures"]  # the KG, loopback-server and config fixtures


def rows(out: Path) -> dict[str, dict]:
    table = duckdb.sql(f"SELECT * FROM read_parquet('{out}/llm_definitions/*.parquet')").to_arrow_table()
    return {r["cui"]: r for r in table.to_pylist()}


def assert_nothing_lost_or_paid_twice(server: FakeOpenAI, out: Path, n_targets: int) -> None:
    got = rows(out)
    assert len(got) == n_targets
    assert {r["status"] for r in got.values()} == {"ok"}
    assert len(server.paid) == n_targets  # every prompt answered once...
    assert max(server.paid.values()) == 1  # ...and never twice


def test_429_with_retry_after_is_honoured_and_pauses_everyone(kg40, tmp_path, fake):
    # The first 8 requests all get "429, retry after 0.4 s": one shared pause, not 8 parallel backoffs.
    server = fake(plan=lambda c: Action(status=429, headers={"retry-after": "0.4"}) if c.n <= 8 else None)
    out = tmp_path / "defs"
    started = time.monotonic()
    summary = DefinitionGenerator(kg40, out, fast_config(server, concurrency=8)).run()
    elapsed = time.monotonic() - started

    assert_nothing_lost_or_paid_twice(server, out, 44)
    assert server.statuses[429] == 8
    assert elapsed >= 0.4  # the wait the server asked for
    first_retry = sorted(server.request_times)[8]
    assert first_retry - server.request_times[0] >= 0.35  # nobody came back before the Retry-After
    assert summary.retries == 8 and summary.cooldowns >= 1
    assert summary.http_attempts == 44 + 8


def test_500_and_503_storm_retried_boundedly(kg40, tmp_path, fake):
    # Every prompt fails twice (500 then 503) before it is answered.
    server = fake(plan=lambda c: Action(status=500 if c.attempt == 1 else 503) if c.attempt <= 2 else None)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg40, out, fast_config(server)).run()

    assert_nothing_lost_or_paid_twice(server, out, 44)
    assert set(server.received.values()) == {3}
    assert {r["attempts"] for r in rows(out).values()} == {3}
    assert summary.done == 44 and summary.errors == 0


def test_persistent_5xx_stops_after_max_attempts_and_the_rerun_sends_only_those(kg40, tmp_path, fake):
    broken = "Test disorder 0003"
    server = fake(plan=lambda c: Action(status=502) if c.concept == broken else None)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg40, out, fast_config(server)).run()
    got = rows(out)
    bad = [r for r in got.values() if r["status"] != "ok"]
    assert len(bad) == 1 and bad[0]["status"] == "error" and bad[0]["attempts"] == 4 and "502" in bad[0]["error"]
    assert summary.errors == 1 and summary.done == 43
    assert max(server.received.values()) == 4  # max_attempts, then it gave up

    server.plan = None  # the server recovers; a rerun sends exactly the one missing request
    before = dict(server.received)
    summary = DefinitionGenerator(kg40, out, fast_config(server)).run()
    sent_again = {k: n - before.get(k, 0) for k, n in server.received.items() if n != before.get(k, 0)}
    assert list(sent_again.values()) == [1]
    assert summary.cached == 43 and summary.done == 1
    assert_nothing_lost_or_paid_twice(server, out, 44)


def test_non_retryable_400_is_not_retried(kg, tmp_path, fake):
    server = fake(plan=lambda c: Action(status=400) if c.concept == "Acute appendicitis" else None)
    out = tmp_path / "defs"
    DefinitionGenerator(kg, out, fast_config(server)).run()
    row = rows(out)["C0085693"]
    assert row["status"] == "error" and row["attempts"] == 1 and row["error"].startswith("HTTP 400")
    assert sorted(server.received.values()) == [1, 1, 1, 1]


def test_timeouts_are_retried(kg, tmp_path, fake):
    # The first answer to every prompt comes after 4 s, past the client's 1 s timeout.
    server = fake(plan=lambda c: Action(delay_s=4) if c.attempt == 1 else None)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, fast_config(server, timeout_s=1.0)).run()
    assert set(server.received.values()) == {2}
    assert summary.done == 4 and summary.retries == 4
    # The timed-out attempts were answered by the server after the client gave up: billed, but never used
    # twice; what the client received and stored is one answer per prompt.
    assert {r["attempts"] for r in rows(out).values()} == {2}


@pytest.mark.parametrize(
    "raw",
    [b'{"id": "x", "choi', b"<html>502 Bad Gateway</html>", b'{"foo": 1}'],
    ids=["truncated-json", "html", "no-choices"],
)
def test_malformed_bodies_are_retried(kg, tmp_path, fake, raw):
    server = fake(plan=lambda c: Action(raw=raw) if c.attempt == 1 else None)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()
    assert summary.done == 4 and summary.errors == 0
    assert set(server.received.values()) == {2}
    assert {r["status"] for r in rows(out).values()} == {"ok"}


def test_dropped_connections_are_retried(kg, tmp_path, fake):
    server = fake(plan=lambda c: Action(drop=True) if c.attempt == 1 else None)
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()
    assert summary.done == 4 and set(server.received.values()) == {2}
    assert_nothing_lost_or_paid_twice(server, out, 4)


def test_output_checks_mark_rows_and_retry_failed_resends_only_them(kg, tmp_path, fake):
    answers = {
        "Appendicitis": Action(text="Appendicitis " + "is inflammation " * 80, finish_reason="length"),
        "Acute appendicitis": Action(text="I'm sorry, but I cannot help with that request."),
        "Inflammatory disorder of digestive tract": Action(text=""),
        "Lonely concept": Action(text="A thing. " * 12),
    }
    server = fake(plan=lambda c: answers.get(c.concept))
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()
    got = {r["cui"]: r["status"] for r in rows(out).values()}
    assert got == {"C0003615": "truncated", "C0085693": "refusal", "C0021390": "empty", "C0000005": "unnamed"}
    assert summary.failed_checks == 4 and summary.done == 0
    assert set(server.received.values()) == {1}  # a check failure is stored, not silently re-bought

    # A plain rerun does not pay for them again...
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()
    assert summary.cached == 4 and set(server.received.values()) == {1}
    # ...--retry-failed does, once, and the good answers replace the failed rows (one row per key).
    server.plan = None
    summary = DefinitionGenerator(kg, out, fast_config(server, retry_failed=True)).run()
    assert summary.done == 4 and set(server.received.values()) == {2}
    got = rows(out)
    assert len(got) == 4 and {r["status"] for r in got.values()} == {"ok"}


def test_budget_stops_before_the_cap(kg40, tmp_path, fake):
    server = fake()
    out = tmp_path / "defs"
    # gpt-4o-mini: $0.15 / $0.60 per 1M tokens; a request costs about $0.0001, the worst case about $0.0002.
    summary = DefinitionGenerator(kg40, out, fast_config(server, budget_usd=0.002)).run()
    assert summary.stopped_by_budget
    assert 0 < summary.done < 44 and summary.not_sent == 44 - summary.done
    assert summary.cost_usd <= 0.002
    spent = duckdb.sql(f"SELECT sum(cost_usd) FROM read_parquet('{out}/llm_definitions/*.parquet')").fetchall()[0][0]
    assert spent == pytest.approx(summary.cost_usd) and spent <= 0.002
    assert sum(server.paid.values()) == summary.done


def test_cost_comes_from_usage(kg, tmp_path, fake):
    server = fake()
    out = tmp_path / "defs"
    summary = DefinitionGenerator(kg, out, fast_config(server)).run()
    for r in rows(out).values():
        assert r["cost_usd"] == pytest.approx((r["prompt_tokens"] * 0.15 + r["completion_tokens"] * 0.60) / 1e6)
    assert summary.prompt_tokens == sum(r["prompt_tokens"] for r in rows(out).values()) > 0


def test_requests_really_run_concurrently(kg40, tmp_path, fake):
    server = fake(plan=lambda c: Action(delay_s=0.2))
    out = tmp_path / "defs"
    started = time.monotonic()
    DefinitionGenerator(kg40, out, fast_config(server, concurrency=16)).run()
    assert server.max_in_flight >= 12
    assert time.monotonic() - started < 44 * 0.2 / 2  # far from one at a time


def test_rpm_limit_spaces_requests(kg, tmp_path, fake):
    server = fake()
    out = tmp_path / "defs"
    DefinitionGenerator(kg, out, fast_config(server, rpm=240)).run()  # 4 per second, bucket of 4
    times = sorted(server.request_times)
    assert len(times) == 4
    DefinitionGenerator(kg, tmp_path / "defs2", fast_config(server, rpm=120, only_missing=False)).run()
    times = sorted(server.request_times[4:])  # 5 requests at 2 per second with a bucket of 2
    assert times[-1] - times[0] >= 1.2


def test_wrong_key_stops_the_run_with_one_error(kg, tmp_path, fake):
    server = fake(plan=lambda c: Action(status=401))
    with pytest.raises(UserError, match="401"):
        DefinitionGenerator(kg, tmp_path / "defs", fast_config(server)).run()
    assert sum(server.received.values()) <= 8  # the workers in flight, not one per concept retried


def test_a_second_run_on_the_same_folder_is_refused(kg, tmp_path, fake):
    release = threading.Event()
    server = fake(plan=lambda c: (release.wait(5), None)[1])
    out = tmp_path / "defs"
    first = threading.Thread(target=lambda: DefinitionGenerator(kg, out, fast_config(server)).run())
    first.start()
    try:
        deadline = time.monotonic() + 5
        while not server.received and time.monotonic() < deadline:
            time.sleep(0.02)
        with pytest.raises(UserError, match="another generate-definitions run"):
            DefinitionGenerator(kg, out, fast_config(server)).run()
    finally:
        release.set()
        first.join(10)
    assert len(rows(out)) == 4


@pytest.mark.slow
def test_tpm_limit_spaces_requests(kg, tmp_path, fake):
    server = fake()
    # ~300 estimated tokens a request (prompt estimate + max_tokens) against 300 tokens a second.
    DefinitionGenerator(kg, tmp_path / "defs", fast_config(server, tpm=18_000, max_tokens=100)).run()
    times = sorted(server.request_times)
    assert len(times) == 4 and times[-1] - times[0] >= 0.5
